"""Wake word, first and second stage: recall and near-miss acceptance per threshold.

    .venv/bin/python bench/wake_check.py

For 29 synthetic voices, "okay nabu" and 8 near-misses ("okay now", "I'm okay now", "okay
Naboo from Star Wars", ...) each followed by more speech: microWakeWord's best probability,
and whether the second stage (whisper on 2 s before and 0.5 s after the peak) hears the wake
phrase. Prints, per first-stage threshold and trust level, how many wake words are kept and how
many near-misses get through. Not real time; no timing.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model  # noqa: E402

from assistant.stt import WhisperTranscriber  # noqa: E402
from assistant.wake import WakeVerifier  # noqa: E402
from bench import corpus  # noqa: E402

PHRASES = [("Okay Nabu.", "Turn on the kitchen light."), ("Okay Nabu.", "What time is it?"),
           ("Okay now.", "Turn on the kitchen light."), ("Okay nebula.", "Is far away."),
           ("I'm okay now.", "Thanks for asking."), ("Okay Naboo", "from Star Wars."),
           ("Okay, no boo.", "That is fine."), ("Okay, nah.", "Not today."),
           ("OK, new book.", "I bought it.")]
ESPEAK = ["en-us", "en-us+m3", "en-us+f2", "en", "en+m7", "en-us+f4", "en-gb-x-rp", "en-029",
          "en-gb-scotland", "en-us+f1", "en-us+f3", "en-us+m1", "en-us+m5"]


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-ms", type=int, default=2000, help="audio before the peak")
    parser.add_argument("--after-ms", type=int, default=500, help="audio after the peak")
    args = parser.parse_args()
    mww = MicroWakeWord.from_builtin(Model("okay_nabu"))
    features = MicroWakeWordFeatures()
    verifier = WakeVerifier(WhisperTranscriber(), "okay nabu")
    voices = [corpus.Voice("piper", speed=s) for s in (1.0, 0.85, 1.15)]
    voices += [corpus.Voice("espeak", v, s) for v in ESPEAK for s in (1.0, 0.85)]
    rows: list[tuple[bool, float, bool]] = []
    for wake, after in PHRASES:
        for voice in voices:
            pcm = (corpus.silence(0.5) + corpus.speak(wake, voice) + corpus.silence(0.3)
                   + corpus.speak(after, voice))
            mww.reset()
            features.reset()
            best, at_ms = 0.0, 0
            for n, frame in enumerate(features.process_streaming(pcm), 1):
                p = mww.process_streaming_prob(frame)
                if p is not None and p > best:
                    best, at_ms = p, n * 10
            cut = at_ms * 32
            check = verifier.check(pcm[max(0, cut - args.before_ms * 32): cut + args.after_ms * 32])
            rows.append((wake == "Okay Nabu.", best, check.ok))
            print(f"{wake:15s} {voice.label():26s} p={best:.3f} check={check.ok} {check.heard!r}",
                  file=sys.stderr)
    positives = [r for r in rows if r[0]]
    negatives = [r for r in rows if not r[0]]
    print("| stage 1 threshold | trusted above | wake words kept | near-misses through |")
    print("|---:|---:|---:|---:|")
    print(f"window: {args.before_ms} ms before the peak, {args.after_ms} ms after")
    for trust in (None, 0.95, 1.01):
        for threshold in (0.6, 0.85):
            def accepted(row: tuple[bool, float, bool], threshold: float = threshold,
                         trust: float | None = trust) -> bool:
                _, p, ok = row
                return p > threshold and (trust is None or ok or p >= trust)
            label = "no check" if trust is None else ("all checked" if trust > 1 else trust)
            print(f"| {threshold} | {label} | "
                  f"{sum(map(accepted, positives))}/{len(positives)} | "
                  f"{sum(map(accepted, negatives))}/{len(negatives)} |")


if __name__ == "__main__":
    main()
