"""Voice pipeline benchmark: synthesized wake+command recordings through the real pipeline.

    .venv/bin/python bench/pipeline_bench.py [--commands 20] [--negatives-min 10] [--fast]

Each recording (1 s quiet, "okay nabu", a short pause, a command, 3 s quiet) goes through
`assistant run`'s own pipeline in real-time mode (audio paced at the wall clock), so latencies
are the ones a user would feel. Prints per-stage latency (median, p95), wake recall, false wakes
on negatives (speech without the wake word, music-like tones, noise), idle CPU seconds per audio
second, and peak RSS. Writes the table to bench/results/pipeline.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import load_config  # noqa: E402
from assistant.events import Event  # noqa: E402
from bench import corpus  # noqa: E402
from bench.rig import run_wav  # noqa: E402
from bench.robust_bench import confirmed_wakes  # noqa: E402

COMMANDS = [
    ("turn on the kitchen light", "kitchen_light"),
    ("turn off the bedroom light", "bedroom_light"),
    ("set the living room lamp to forty percent", "living_room_lamp"),
    ("turn on the coffee maker", "coffee_maker"),
    ("turn off the ceiling fan", "ceiling_fan"),
    ("switch on the bedroom light", "bedroom_light"),
    ("turn off the kitchen light", "kitchen_light"),
    ("turn on the fan", "ceiling_fan"),
    ("what time is it", None),
    ("what is the processor temperature", None),
]
RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[index]


Marks = list[tuple[float, float]]


def make_recording(items: list[tuple[str, corpus.Voice]]) -> tuple[bytes, Marks]:
    """One long recording of wake+command segments; per segment the audio times (ms) at which
    the wake word ends and the command ends."""
    pcm = bytearray(corpus.silence(1.0))
    marks = []
    for text, voice in items:
        pcm += corpus.speak("Okay Nabu.", voice)
        wake_end_ms = len(pcm) / 32
        pcm += corpus.silence(0.4) + corpus.speak(text, voice)
        marks.append((wake_end_ms, len(pcm) / 32))
        pcm += corpus.silence(3.5)
    hiss = corpus.noise(len(pcm) / 32000, level=0.001, seed=len(pcm))
    return corpus.mix(bytes(pcm), hiss, 45), marks


def run_once(config_path: Path, wav: Path, realtime: bool) -> list[Event]:
    with tempfile.TemporaryDirectory() as tmp:
        return run_wav(load_config(config_path), wav, Path(tmp) / "out.wav", realtime=realtime)


def split(events: list[Event], marks: list[tuple[float, float]]) -> list[dict[str, dict]]:
    """Events grouped by the segment their wake word belongs to."""
    segments: list[dict[str, dict]] = [{} for _ in marks]
    current: dict[str, dict] | None = None
    for event in events:
        if event.type.value == "wake":
            t = event.data["audio_ms"]
            index = min(range(len(marks)), key=lambda i: abs(marks[i][0] - t))
            current = segments[index] if "wake" not in segments[index] else None
        if current is not None:
            current.setdefault(event.type.value, event.data)
            if event.type.value == "wake_check" and not event.data["ok"]:
                current.pop("wake", None)  # the second stage said it was no wake word
        if event.type.value == "done":
            current = None
    return segments


def bench_commands(config_path: Path, n: int, realtime: bool, work: Path) -> dict[str, Any]:
    stats: dict[str, list[float]] = {k: [] for k in (
        "wake_delay_ms", "eos_delay_ms", "stt_ms", "brain_ms", "action_ms", "first_audio_ms")}
    items = [(COMMANDS[i % len(COMMANDS)][0], v) for i, v in enumerate(corpus.voices(n))]
    pcm, marks = make_recording(items)
    wav = work / "commands.wav"
    corpus.write_wav(wav, pcm)
    events = run_once(config_path, wav, realtime)
    detected = correct = 0
    failures: list[str] = []
    for i, seg in enumerate(split(events, marks)):
        text, voice = items[i]
        device = COMMANDS[i % len(COMMANDS)][1]
        wake_end, command_end = marks[i]
        wake, reply, eos = seg.get("wake"), seg.get("reply"), seg.get("end_of_speech")
        if wake:
            detected += 1
            stats["wake_delay_ms"].append(wake["audio_ms"] - wake_end)
        if eos:
            stats["eos_delay_ms"].append(eos["decided_audio_ms"] - command_end)
        ok = reply is not None and reply["handled_by"] == "local" and (
            device is None or any(a["device"] == device and a["ok"] for a in reply["actions"]))
        correct += ok
        if not ok:
            heard = seg.get("transcript", {}).get("text")
            failures.append(f"{voice.label()} {text!r}: heard {heard!r}")
        if reply:
            t = reply["timings_ms"]
            stats["stt_ms"].append(t.get("stt_ms", float("nan")))
            stats["brain_ms"].append(t.get("brain_ms", float("nan")))
            # Lags are measured from the end of speech the endpointer saw; shift them to the
            # real end of the spoken command.
            offset = (eos["audio_ms"] - command_end) if eos else 0.0
            if "action_lag_ms" in t:
                stats["action_ms"].append(t["action_lag_ms"] + offset)
            if "first_audio_lag_ms" in t:
                stats["first_audio_ms"].append(t["first_audio_lag_ms"] + offset)
        print(f"  [{i + 1}/{n}] {voice.label():22} {text!r}: {'ok' if ok else 'FAIL'} "
              f"{eos.get('reason') if eos else ''} {reply['timings_ms'] if reply else ''}",
              flush=True)
    return {"stats": stats, "detected": detected, "correct": correct, "n": n,
            "failures": failures}


def assistant_rss_mb(config_path: Path, work: Path) -> float:
    """Peak RSS of one real `assistant run` process on the demo recording.

    Read from the child's VmHWM, which starts afresh at exec; the ru_maxrss that wait4 reports
    would include the memory this (large) benchmark process had when it forked."""
    import subprocess
    import time

    out = work / "rss.wav"
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "run", "--config", str(config_path),
                             "--demo", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_kb = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return peak_kb / 1024


def bench_negatives(config_path: Path, minutes: float, work: Path) -> dict[str, Any]:
    """Speech without the wake word, tones and noise; run as fast as possible (same decisions)."""
    sentences = [
        "The weather was nice today so we went for a walk in the park.",
        "Can you pass me the salt please?",
        "I think the meeting is at three o'clock on Thursday.",
        "Turn on the kitchen light.",
        "Okay, now let's see what happens next.",
        "My neighbour has a new car, it's blue.",
        "We should call grandma this weekend.",
        "The train was late again this morning.",
    ]
    pieces: list[bytes] = []
    total_s = 0.0
    i = 0
    voices = corpus.voices(24)
    while total_s < minutes * 60:
        kind = i % 4
        if kind == 0:
            piece = corpus.tones(20, seed=i)
        elif kind == 1:
            piece = corpus.noise(20, 0.05, ("white", "pink", "brown")[i % 3], seed=i)
        else:
            piece = b"".join(corpus.speak(s, voices[(i + j) % len(voices)]) + corpus.silence(0.5)
                             for j, s in enumerate(sentences))
        pieces.append(piece)
        total_s += len(piece) / 32000
        i += 1
    wav = work / "negatives.wav"
    corpus.write_wav(wav, b"".join(pieces))
    cpu0 = time.process_time()
    events = run_once(config_path, wav, realtime=False)
    cpu = time.process_time() - cpu0
    wakes = confirmed_wakes(events)
    return {"audio_s": total_s, "false_wakes": len(wakes), "cpu_s": cpu}


def bench_idle_cpu(config_path: Path, seconds: float, work: Path) -> float:
    """CPU seconds per audio second while listening for the wake word (mic + wake + loop)."""
    from assistant.audio.files import WavSource
    from assistant.wake import make_wake_detector

    config = load_config(config_path)
    wav = work / "idle.wav"
    corpus.write_wav(wav, corpus.noise(seconds, 0.003, "pink"))
    wake = make_wake_detector(config.wake)
    cpu0 = time.process_time()
    for chunk in WavSource(str(wav)):
        wake.process(chunk)
    return (time.process_time() - cpu0) / seconds


def table(result: dict[str, Any], negatives: dict[str, Any], idle: float, rss_mb: float) -> str:
    names = {
        "wake_delay_ms": "wake word end -> wake detected",
        "eos_delay_ms": "command end -> end of speech decided",
        "stt_ms": "speech to text (per final transcript)",
        "brain_ms": "intent + action + reply (brain)",
        "action_ms": "command end -> GPIO change",
        "first_audio_ms": "command end -> first reply audio",
    }
    lines = [
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}; "
        f"{result['n']} commands, real time.",
        "",
        "| stage | median ms | p95 ms |",
        "|---|---:|---:|",
    ]
    for key, label in names.items():
        values = [v for v in result["stats"][key] if v == v]
        if values:
            lines.append(f"| {label} | {statistics.median(values):.0f} | "
                         f"{percentile(values, 0.95):.0f} |")
    hours = negatives["audio_s"] / 3600
    lines += [
        "",
        f"- wake word detected: {result['detected']}/{result['n']}; "
        f"command carried out: {result['correct']}/{result['n']}",
        f"- false wakes: {negatives['false_wakes']} in {negatives['audio_s'] / 60:.1f} min of "
        f"speech without the wake word, tones and noise"
        + (f" ({negatives['false_wakes'] / hours:.1f}/h)" if hours else ""),
        f"- idle listening (wake word on the mic stream): {idle:.4f} CPU-s per audio-s",
        f"- peak RSS of `assistant run` (whisper, piper, wake word, VAD, intents): {rss_mb:.0f} MB",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--config", default=str(Path(__file__).resolve().parent.parent / "config"
                                              / "assistant.yaml"))
    parser.add_argument("--commands", type=int, default=20)
    parser.add_argument("--negatives-min", type=float, default=10.0)
    parser.add_argument("--fast", action="store_true", help="not paced (latencies not meaningful)")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cfg = work / "bench.yaml"
        cfg.write_text(_with_state(Path(args.config).read_text(), work / "state.json"))
        print(f"commands ({args.commands}, {'fast' if args.fast else 'real time'}):")
        result = bench_commands(cfg, args.commands, not args.fast, work)
        rss_mb = assistant_rss_mb(cfg, work)
        print(f"negatives ({args.negatives_min} min):")
        negatives = bench_negatives(cfg, args.negatives_min, work)
        idle = bench_idle_cpu(cfg, 60, work)
    out = table(result, negatives, idle, rss_mb)
    if result["failures"]:
        out += "\n- failures: " + "; ".join(result["failures"])
    print()
    print(out)
    (RESULTS / "pipeline.md").write_text(out + "\n")
    return 0


def _with_state(text: str, state: Path) -> str:
    """The example config with its state file moved to a temporary folder."""
    return text.replace("path: ~/.local/state/assistant/state.json", f"path: {state}")


if __name__ == "__main__":
    raise SystemExit(main())
