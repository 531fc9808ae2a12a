"""Whisper's reading of every wake window of the evidence runs, as the second stage reads one.

    .venv/bin/python bench/wake_readings.py --split fit|test

The second stage asks whisper only when the cheap evidence leaves a detection in doubt
(``assistant.wake.decision``); to fit where that doubt lies, every window's reading is kept
here: ``bench/results/wake_readings_<split>.json``, read by ``bench/wake_fit.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import load_config  # noqa: E402
from assistant.stt import WhisperTranscriber  # noqa: E402
from assistant.wake.reading import prompts_for, read_window  # noqa: E402
from bench.robust_bench import RESULTS, ROOT  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["fit", "test"], required=True)
    args = parser.parse_args()
    config = load_config(ROOT / "config" / "assistant.yaml")
    whisper = WhisperTranscriber(config.stt.model, beam_size=config.stt.beam_size)
    data = np.load(RESULTS / f"wake_evidence_{args.split}.npz", allow_pickle=True)
    windows = data["windows"]
    first, _second = prompts_for("okay nabu")
    out = []
    again = 0
    started = time.process_time()
    for i, window in enumerate(windows):
        pcm = window.tobytes()
        prompts: list[str] = []

        def transcribe(prompt: str, pcm: bytes = pcm, prompts: list[str] = prompts) -> str:
            prompts.append(prompt)
            return whisper.transcribe(pcm, prompt=prompt).text

        text, _reading = read_window(transcribe, "okay nabu")
        out.append(text)
        again += len(prompts) > 1
        if i % 200 == 0:
            print(f"{args.split}: {i}/{len(windows)}, {time.process_time() - started:.0f} CPU-s", flush=True)
    (RESULTS / f"wake_readings_{args.split}.json").write_text(json.dumps(out))
    print(f"{args.split}: {len(out)} readings, {(time.process_time() - started) / len(out):.2f} "
          f"CPU-s each, {again} read a second time (the first prompt, {first!r}, lacked the phrase)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
