"""Commands in steady background noise through the real pipeline: end of speech, wake, transcript.

    .venv/bin/python bench/noise_bench.py [--noises white,pink,brown,babble,tv] [--snrs 20,10]
        [--commands 3] [--ns 0] [--agc 0] [--button] [--no-speculative] [--verbose]

Each recording is: 1 s of background, "okay nabu", 0.4 s, a command, 3 s; the background runs
through all of it, scaled so that the command is `snr` dB above it. Runs from the file as fast as
possible (not paced), so it measures decisions, not speed: per noise and SNR it prints wake
recall, how each command ended (silence / speculative / max_length), the error of the reported
end of speech against the real one, how long after the real end the decision came (in audio
time), and the transcript's word accuracy.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Config, load_config  # noqa: E402
from assistant.events import Event  # noqa: E402
from bench import corpus  # noqa: E402
from bench.rig import press_at, run_wav  # noqa: E402

COMMANDS = [
    "turn on the kitchen light",
    "set the living room lamp to forty percent",
    "turn off the ceiling fan",
    "what is the processor temperature",
    "switch on the bedroom light",
    "turn on the coffee maker",
]
EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "assistant.yaml"


def recording(command: str, voice: corpus.Voice, kind: str, snr_db: float, seed: int
              ) -> tuple[bytes, float, float]:
    """The noisy recording, the audio times (ms) at which the command really ends and the wake
    word ends."""
    speech = corpus.speak(command, voice)
    pcm = corpus.silence(1.0) + corpus.speak("Okay Nabu.", voice)
    wake_end_ms = len(pcm) / 32
    pcm += corpus.silence(0.4)
    end_ms = (len(pcm) + len(speech)) / 32
    pcm += speech + corpus.silence(3.0)
    if kind == "clean":
        bg = corpus.noise(len(pcm) / 32000, level=0.001, seed=seed)
        snr_db = 45.0
    else:
        bg = corpus.background(kind, len(pcm) / 32000, seed=seed)
    s = np.frombuffer(speech, dtype="<i2").astype(np.float64)
    b = np.frombuffer(bg, dtype="<i2").astype(np.float64)[: len(pcm) // 2]
    ps = np.mean(s[np.abs(s) > 300] ** 2)
    b *= np.sqrt(ps / (np.mean(b**2) * 10 ** (snr_db / 10)))
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64) + b
    return np.clip(x, -32768, 32767).astype("<i2").tobytes(), end_ms, wake_end_ms


def words(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split()


def word_accuracy(ref: str, hyp: str) -> float:
    """1 - word error rate (floored at 0)."""
    r, h = words(ref), words(hyp)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = d[j]
            d[j] = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev = cur
    return max(0.0, 1.0 - d[len(h)] / max(1, len(r)))


def run_one(config: Config, pcm: bytes, work: Path, button_ms: float | None, speculative: bool
            ) -> list[Event]:
    """Events of one run; with button_ms, listening starts there as if the button was pressed."""
    wav = work / "in.wav"
    corpus.write_wav(wav, pcm)

    def prepare(voice: Any) -> None:
        if not speculative:
            voice.pipeline.s.is_complete_command = lambda _text: False
        if button_ms is not None:
            voice.source = press_at(voice.source, button_ms, voice.pipeline.request_listen)

    return run_wav(config, wav, work / "out.wav", prepare=prepare)


_WAKE: list[Any] = []


def wake_peak(pcm: bytes, config: Config) -> float:
    """The highest okay_nabu probability the wake model gives the recording (as the wake stage
    would hear it): a margin, where recall is only yes or no."""
    from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

    from assistant.audio.clean import AudioCleaner

    if not _WAKE:
        _WAKE.append(MicroWakeWord.from_builtin(Model("okay_nabu")))
    mww = _WAKE[0]
    mww.reset()
    pcm = AudioCleaner(config.audio.noise_suppression, config.audio.auto_gain_dbfs).process(pcm)
    best = 0.0
    for features in MicroWakeWordFeatures().process_streaming(pcm):
        p = mww.process_streaming_prob(features)
        best = max(best, p or 0.0)
    return best


def first(events: list[Event], kind: str) -> dict[str, Any] | None:
    return next((e.data for e in events if e.type.value == kind), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--noises", default="clean,white,pink,brown,babble,tv")
    parser.add_argument("--snrs", default="20,10")
    parser.add_argument("--commands", type=int, default=3)
    parser.add_argument("--button", action="store_true",
                        help="start listening at the wake word's end without detecting it (end of speech only)")
    parser.add_argument("--no-speculative", action="store_true",
                        help="no early end on a complete transcript: the end-of-speech decision alone")
    parser.add_argument("--verbose", action="store_true", help="one line per command too")
    parser.add_argument("--ns", type=int, default=0, help="audio.noise_suppression (0-4)")
    parser.add_argument("--agc", type=int, default=0, help="audio.auto_gain_dbfs (0-31)")
    args = parser.parse_args()
    config = load_config(EXAMPLE)
    audio = dataclasses.replace(config.audio, noise_suppression=args.ns, auto_gain_dbfs=args.agc)
    config = dataclasses.replace(config, audio=audio,
                                 local_llm=dataclasses.replace(config.local_llm, enabled=False))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = dataclasses.replace(config, state=dataclasses.replace(
            config.state, path=str(work / "state.json")))
        print(f"# ns={args.ns} agc={args.agc} button={args.button} "
              f"speculative={not args.no_speculative}")
        print("noise  snr  wake p     ends(sil/spec/max)  end_err_ms(med,max)  decided_ms(med,max)  words")
        for kind in args.noises.split(","):
            for snr in [float(s) for s in args.snrs.split(",")] if kind != "clean" else [45.0]:
                report(config, kind, snr, args.commands, work, args.button, not args.no_speculative,
                       args.verbose)
    return 0


def report(config: Config, kind: str, snr: float, n: int, work: Path, button: bool, speculative: bool,
           verbose: bool = False) -> None:
    woke, reasons, errors, decided, accuracy, peaks = 0, [], [], [], [], []
    for i, voice in enumerate(corpus.voices(n)):
        command = COMMANDS[i % len(COMMANDS)]
        pcm, end_ms, wake_end_ms = recording(command, voice, kind, snr, seed=i + 1)
        events = run_one(config, pcm, work, wake_end_ms if button else None, speculative)
        peaks.append(wake_peak(pcm[: int(wake_end_ms + 500) * 32], config))
        eos, text = first(events, "end_of_speech"), first(events, "transcript")
        woke += first(events, "wake" if not button else "listening") is not None
        if eos is not None:
            reasons.append(eos["reason"])
            errors.append(eos["audio_ms"] - end_ms)
            decided.append(eos["decided_audio_ms"] - end_ms)
        accuracy.append(word_accuracy(command, text["raw"]) if text else 0.0)
        if verbose:
            print(f"    {voice.label():16} {command!r}: {eos} heard {text and text['raw']!r} "
                  f"(real end {end_ms:.0f})")
    counts = "/".join(str(sum(r == k for r in reasons)) for k in ("silence", "speculative", "max_length"))
    others = [r for r in reasons if r not in ("silence", "speculative", "max_length")]
    if others:
        counts += " +" + ",".join(others)

    def med_max(values: list[float]) -> str:
        if not values:
            return "-"
        return f"{statistics.median(values):+.0f},{max(values, key=abs):+.0f}"

    print(f"{kind:6} {snr:4.0f}  {woke}/{n} {statistics.mean(peaks):.2f}  {counts:18}  {med_max(errors):19}  "
          f"{med_max(decided):19}  {statistics.mean(accuracy):.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
