"""What the skills path costs: its start, and per sentence, for the sentences it answers and for
the ones it passes on (every sentence a language model gets pays that first).

    .venv/bin/python bench/skills_bench.py [--repeats 20]

Builds the skills of config/assistant.yaml plus docs/custom-sentences.md's example (the player's
gain, no amixer, no weather location, no network), then times ``Skills.handle`` in wall and
CPU seconds. Prints medians and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.audio.player import OutputGain  # noqa: E402
from assistant.brain.skills import Skills  # noqa: E402
from assistant.brain.skills.volume import GainMixer, VolumeControl  # noqa: E402
from assistant.brain.timers import TimerManager  # noqa: E402
from assistant.brain.types import Action, ActionResult  # noqa: E402
from assistant.config import load_config  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ANSWERED = ["turn up the volume", "volume 50%", "mute", "unmute", "wake me at 7",
            "set an alarm for 6:30 tomorrow", "what alarms do i have", "cancel all alarms",
            "what's the weather", "will it rain tomorrow", "what can you do", "repeat that",
            "movie time"]
PASSED_ON = ["what is the capital of france", "tell me a joke about cats",
             "who won the football game yesterday", "play some music",
             "how do i make pancakes", "what is the meaning of life",
             "turn on the kitchen light", "is the front door locked"]


class NullExecutor:
    def run(self, action: Action) -> ActionResult:
        return ActionResult(action, ok=True, state="on")


def timed(skills: Skills, sentences: list[str], repeats: int) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    for _ in range(repeats):
        for text in sentences:
            w, c = time.perf_counter(), time.process_time()
            skills.handle(text)
            wall.append((time.perf_counter() - w) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        doc = (REPO / "docs" / "custom-sentences.md").read_text()
        example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
        (Path(tmp) / "extra.yaml").write_text(example)
        config_text = (REPO / "config" / "assistant.yaml").read_text()
        (Path(tmp) / "assistant.yaml").write_text(
            config_text + "\nintents:\n  extra_sentences: extra.yaml\n")
        config = load_config(Path(tmp) / "assistant.yaml")
        w, c = time.perf_counter(), time.process_time()
        skills = Skills(config, NullExecutor(), timers=TimerManager(None, time.time),
                        volume=VolumeControl(GainMixer(OutputGain()), None))
        start_wall, start_cpu = time.perf_counter() - w, time.process_time() - c
    print(f"start: {start_wall * 1000:.0f} ms wall, {start_cpu * 1000:.0f} ms CPU")
    for name, sentences in (("answered", ANSWERED), ("passed on", PASSED_ON)):
        wall, cpu = timed(skills, sentences, args.repeats)
        print(f"{name:10} n={len(wall):4}  wall median {statistics.median(wall):.2f} ms, "
              f"p95 {p95(wall):.2f} ms; CPU median {statistics.median(cpu):.2f} ms, "
              f"p95 {p95(cpu):.2f} ms")


if __name__ == "__main__":
    main()
