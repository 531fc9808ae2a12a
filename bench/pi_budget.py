"""What one spoken command costs, stage by stage, here and under a CPU quota that emulates a Pi.

    .venv/bin/python bench/pi_budget.py [--shares full,0.5,0.25] [--profiles full,lean]
        [--voices 3] [--commands 10]

Each recording (1 s of room hiss, "Okay Nabu.", 0.4 s, a command, 3 s) goes through `assistant
run`'s own pipeline (bench/rig.run_wav) paced in real time, wake word and second stage included,
one recording per run. Voices are bench/wake_corpus.py's test side (voices and synthesizers'
speakers nothing was fitted on). Commands are the robustness bench's: device commands the home
has and local questions. The shipped config's local model is loaded (the lean profile has none)
but no command reaches it: open questions are not measured here.

A share is the CPU the whole process may use, in cores of this machine, set with a cgroup v1
``cpu`` quota (period 10 ms; ../shared/STACK.md). Factors, from published single-core
benchmarks: a Pi 4 core does about a quarter of one core here, a Pi 5 core about half. A quota
slows every thread to that speed but also makes them share it, so it is pessimistic wherever a
Pi would spread work over its four cores (whisper's and piper's thread pools): a bound, not a
Pi. "full" is this 2-core machine without a quota.

CPU by stage: a sampler thread reads the process's CPU time every 20 ms (its own left out) and gives each slice to
the stages that were inside a call at that moment (split evenly when several were), so the
stages add up to the process's CPU; "loop" is everything outside them (reading and pacing the
audio, noise suppression, the endpointer, events, the player). Stages: the first wake stage,
the second wake stage (its verifier, and whisper's reading when it is in doubt), VAD, grammar
recognizer, whisper transcripts (speculative, final and the recheck), brain, reply synthesis.
Peak RSS is in the JSON only: this process also holds the voices it synthesizes with.
Writes bench/results/pi_budget.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus, wake_corpus  # noqa: E402
from bench.fast_path_bench import expected  # noqa: E402
from bench.pipeline_bench import percentile  # noqa: E402
from bench.rig import forget_last_recording  # noqa: E402
from bench.robust_cases import COMMANDS, Expect  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CGROUP = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 10_000
NAMES = {"full": "this machine (2 cores)", "0.5": "Pi 5 (0.5 core)", "0.25": "Pi 4 (0.25 core)"}


def join_quota(share: float) -> Path:
    """Puts this process (every thread) in a new cgroup limited to ``share`` cores."""
    group = CGROUP / f"assistant-bench-{os.getpid()}"
    group.mkdir()
    (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
    (group / "cpu.cfs_quota_us").write_text(str(int(share * PERIOD_US)))
    (group / "cgroup.procs").write_text(str(os.getpid()))
    return group


def leave_quota(group: Path) -> None:
    (CGROUP / "cgroup.procs").write_text(str(os.getpid()))
    group.rmdir()


class Ledger:
    """Which stages are inside a call, and the CPU each has been given."""

    def __init__(self) -> None:
        self.active: dict[str, int] = defaultdict(int)
        self.spent: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True, name="ledger")
        self._thread.start()

    def enter(self, stage: str) -> None:
        with self._lock:
            self.active[stage] += 1

    def leave(self, stage: str) -> None:
        with self._lock:
            self.active[stage] -= 1

    def _sample(self) -> None:
        # The sampler's own CPU (read on its thread) is left out of every stage.
        last, own = time.process_time(), time.thread_time()
        while not self._stop.wait(0.02):
            now, mine = time.process_time(), time.thread_time()
            with self._lock:
                busy = [s for s, n in self.active.items() if n > 0] or ["loop"]
                for stage in busy:
                    self.spent[stage] += max(0.0, now - last - (mine - own)) / len(busy)
            last, own = now, mine

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self.spent)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class Timed:
    """A stage behind the same interface, its calls (and the iterators they return) counted."""

    def __init__(self, inner: Any, stage: str, ledger: Ledger):
        self._inner, self._stage, self._ledger = inner, stage, ledger

    def _wrap(self, value: Any) -> Any:
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            self._ledger.enter(self._stage)
            try:
                out = value(*args, **kwargs)
            finally:
                self._ledger.leave(self._stage)
            if isinstance(out, Iterator):
                return self._iterate(out)
            return out

        return call

    def _iterate(self, items: Iterator[Any]) -> Iterator[Any]:
        while True:
            self._ledger.enter(self._stage)
            try:
                item = next(items)
            except StopIteration:
                return
            finally:
                self._ledger.leave(self._stage)
            yield item

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._wrap(self._inner)(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return self._wrap(getattr(self._inner, name))


def instrument(voice: Any, ledger: Ledger) -> None:
    pipeline = voice.pipeline
    s = pipeline.s
    for field, stage in (("wake", "wake first stage"), ("vad", "vad"), ("transcriber", "whisper"),
                         ("brain", "brain"), ("synthesizer", "reply synthesis"),
                         ("recheck", "whisper"), ("recheck_answer", "whisper"),
                         ("second_stage", "wake second stage"), ("grammar", "grammar")):
        if getattr(s, field) is not None:
            setattr(s, field, Timed(getattr(s, field), stage, ledger))
    pipeline.gate.detector = s.wake
    pipeline.gate.second = s.second_stage
    if pipeline.fast is not None:
        pipeline.fast.recognizer = s.grammar
    forget_last_recording(voice)


def config_text(profile: str, state: Path) -> str:
    text = (ROOT / "config" / "assistant.yaml").read_text()
    text = text.replace("path: ~/.local/state/assistant/state.json", f"path: {state}")
    if profile == "lean":
        text = "profile: lean\n" + text
    return text


def recordings(voices: int, commands: int, asks_first: set[str]
               ) -> list[tuple[str, str, Expect, bytes, float]]:
    """(voice, text, expectation, pcm, audio ms at which the command ends). Commands for a
    device marked ``confirm: true`` are left out: they ask before anything is switched."""
    out = []
    chosen = [(t, e) for t, e in COMMANDS if e.device not in asks_first][:commands]
    for v, voice in enumerate(wake_corpus.voices("test", voices, seed=7)):
        for text, exp in chosen:
            pcm = bytearray(corpus.silence(1.0) + corpus.speak("Okay Nabu.", voice)
                            + corpus.silence(0.4) + corpus.speak(text[0].upper() + text[1:] + ".", voice))
            end_ms = len(pcm) / 32
            pcm += corpus.silence(3.0)
            hiss = corpus.noise(len(pcm) / 32000, level=0.001, seed=v)
            out.append((repr(voice), text, exp, corpus.mix(bytes(pcm), hiss, 45), end_ms))
    return out


def judge(events: list[Any], exp: Expect) -> bool:
    replies = [e.data for e in events if e.type.value == "reply"]
    if not replies:
        return False
    done = [a for r in replies for a in r["actions"] if a["ok"]]
    if exp.action is None:
        return replies[0]["intent"] == exp.intent and not done
    return any(expected(a, exp) for a in done)


def measure(share: str, profile: str, voices: int, commands: int) -> dict[str, Any]:
    """One share and profile, in this process (a child of main)."""
    from assistant.config import load_config
    from bench.rig import run_wav, shared_models

    group = join_quota(float(share)) if share != "full" else None
    rows: list[dict[str, Any]] = []
    ledger = Ledger()
    try:
        with shared_models(), tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            cfg = tmp / "bench.yaml"
            cfg.write_text(config_text(profile, tmp / "state.json"))
            config = load_config(cfg)
            items = recordings(voices, commands, {d.id for d in config.devices if d.confirm})
            wav = tmp / "in.wav"
            corpus.write_wav(wav, corpus.silence(1.0) + corpus.speak("Turn on the lamp.")
                             + corpus.silence(1.0))
            run_wav(config, wav, tmp / "out.wav")  # load and warm every model, uncounted
            idle_pcm = corpus.mix(corpus.silence(20.0), corpus.noise(20.0, level=0.001), 45)
            for label, text, exp, pcm, end_ms in [("idle", "", Expect(), idle_pcm, 0.0)] + items:
                (tmp / "state.json").unlink(missing_ok=True)
                (tmp / "timers.json").unlink(missing_ok=True)
                corpus.write_wav(wav, pcm)
                marks: list[dict[str, float]] = []

                def prepare(voice: Any, marks: list[dict[str, float]] = marks) -> None:
                    instrument(voice, ledger)
                    marks.append(ledger.snapshot())

                def inspect(_home: Any, marks: list[dict[str, float]] = marks) -> None:
                    marks.append(ledger.snapshot())

                started = time.perf_counter()
                events = run_wav(config, wav, tmp / "out.wav", realtime=True,
                                 prepare=prepare, inspect=inspect)
                wall = time.perf_counter() - started
                cpu = {k: round(marks[1].get(k, 0.0) - marks[0].get(k, 0.0), 4)
                       for k in marks[1]}
                row: dict[str, Any] = {"voice": label, "said": text, "audio_s": len(pcm) / 32000,
                                       "wall_s": round(wall, 2), "cpu_s": cpu}
                if label != "idle":
                    row.update(timings(events, end_ms))
                    row["ok"] = judge(events, exp)
                    row["device_command"] = exp.action is not None
                rows.append(row)
                print(f"  [{share} {profile}] {label[:30]:30} {text!r}: {row.get('ok')} "
                      f"{row.get('to_gpio_ms')} cpu {sum(cpu.values()):.2f}", file=sys.stderr,
                      flush=True)
    finally:
        ledger.close()
        if group is not None:
            leave_quota(group)
    return {"share": share, "profile": profile, "rows": rows, "peak_rss_mb": peak_rss_mb()}


def timings(events: list[Any], end_ms: float) -> dict[str, Any]:
    """End of the spoken command -> GPIO change and -> first reply audio, in ms; how it was heard."""
    out: dict[str, Any] = {}
    eos = next((e.data for e in events if e.type.value == "end_of_speech"), None)
    reply = next((e.data for e in events if e.type.value == "reply"), None)
    heard: dict[str, Any] = next((e.data for e in events if e.type.value == "transcript"), {})
    out["stt"] = heard.get("stt")
    if reply is None:
        return out
    t = reply["timings_ms"]
    offset = (eos["audio_ms"] - end_ms) if eos else 0.0  # lags count from the endpointer's end
    if "action_lag_ms" in t:
        out["to_gpio_ms"] = round(t["action_lag_ms"] + offset)
    if "first_audio_lag_ms" in t:
        out["to_audio_ms"] = round(t["first_audio_lag_ms"] + offset)
    return out


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def summarize(run: dict[str, Any]) -> dict[str, Any]:
    idle = run["rows"][0]
    idle_rate = sum(idle["cpu_s"].values()) / idle["audio_s"]
    cmds = run["rows"][1:]
    stages = sorted({k for r in cmds for k in r["cpu_s"]})
    per_stage = {k: round(statistics.mean(r["cpu_s"].get(k, 0.0) for r in cmds), 3) for k in stages}
    totals = [sum(r["cpu_s"].values()) - idle_rate * r["audio_s"] for r in cmds]
    out: dict[str, Any] = {"share": run["share"], "profile": run["profile"],
                           "commands": len(cmds), "ok": sum(bool(r.get("ok")) for r in cmds),
                           "idle_cpu_per_audio_s": round(idle_rate, 4),
                           "cpu_per_command_s": {"median": round(statistics.median(totals), 3),
                                                 "p95": round(percentile(totals, 0.95), 3)},
                           "cpu_by_stage_s": per_stage, "peak_rss_mb": round(run["peak_rss_mb"])}
    for key, rows in (("to_gpio_ms", [r for r in cmds if r.get("device_command")]),
                      ("to_audio_ms", cmds)):
        values = [r[key] for r in rows if key in r]
        out[key] = {"median": round(statistics.median(values)) if values else None,
                    "p95": round(percentile(values, 0.95)) if values else None, "n": len(values)}
    out["grammar_settled"] = sum(r.get("stt") == "grammar" for r in cmds)
    return out


def table(summaries: list[dict[str, Any]]) -> str:
    lines = ["| CPU | profile | ok | command end → GPIO, median / p95 ms | → first reply audio | "
             "CPU-s per command, median / p95 | idle CPU-s per audio-s |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for s in summaries:
        g, a, c = s["to_gpio_ms"], s["to_audio_ms"], s["cpu_per_command_s"]
        lines.append(f"| {NAMES.get(s['share'], s['share'])} | {s['profile']} | "
                     f"{s['ok']}/{s['commands']} | {g['median']} / {g['p95']} | "
                     f"{a['median']} / {a['p95']} | {c['median']} / {c['p95']} | "
                     f"{s['idle_cpu_per_audio_s']} |")
    stages = sorted({k for s in summaries for k in s["cpu_by_stage_s"]})
    lines += ["", "Mean CPU-s per command by stage (the recording's whole run, listening included):",
              "", "| CPU | profile | " + " | ".join(stages) + " |",
              "|---|---|" + "---:|" * len(stages)]
    for s in summaries:
        lines.append(f"| {NAMES.get(s['share'], s['share'])} | {s['profile']} | "
                     + " | ".join(f"{s['cpu_by_stage_s'].get(k, 0.0):.3f}" for k in stages) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shares", default="full,0.5,0.25")
    parser.add_argument("--profiles", default="full,lean")
    parser.add_argument("--voices", type=int, default=3)
    parser.add_argument("--commands", type=int, default=10)
    parser.add_argument("--one", nargs=2, metavar=("SHARE", "PROFILE"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = measure(args.one[0], args.one[1], args.voices, args.commands)
        args.out.write_text(json.dumps(result))
        return 0
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for share in args.shares.split(","):
            for profile in args.profiles.split(","):
                out = Path(tmp) / f"{share}-{profile}.json"
                subprocess.run([sys.executable, __file__, "--one", share, profile,
                                "--voices", str(args.voices), "--commands", str(args.commands),
                                "--out", str(out)], check=True)
                runs.append(json.loads(out.read_text()))
    summaries = [summarize(r) for r in runs]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pi_budget.json").write_text(json.dumps({"summaries": summaries, "runs": runs},
                                                       indent=1))
    text = table(summaries)
    (RESULTS / "pi_budget.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
