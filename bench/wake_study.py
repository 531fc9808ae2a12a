"""What the second stage of the wake word sees, per first-stage detection, for calibration.

    .venv/bin/python bench/wake_study.py [--voice-seed 1] [--per-level 120] [--negatives-min 15]
    .venv/bin/python bench/wake_study.py --per-level 0 --negatives-level 20 --negatives-noise babble \
        --out bench/results/wake_study_babble20.json     # the negatives alone, in a noisy room

Runs the first stage as the pipeline builds it (microWakeWord at VERIFIED_THRESHOLD on the
noise-suppressed copy) over wake+command recordings made like the robustness bench's, and over
near-miss-heavy negatives. For every detection it records what each second-stage opinion says
about the window the pipeline would check (WAKE_WINDOW_MS before, WAKE_TAIL_MS after):
microWakeWord's peak over the window, openWakeWord's peak, and whisper's transcript with the
wake phrase as prompt (and its second look at the window with a shorter tail where the
pipeline takes one, ``wake.second_look``, or with --whisper-tail-ms for every window; and, for
comparison, without the prompt), and how far its speech stands above its background (which
picks the noisy-room thresholds). Writes bench/results/wake_study.json
and prints how each ``wake.sensitivity`` and a grid of other thresholds would have done.

By default it uses voices (seed 1) and negatives (seed 1) that the robustness bench (seed 0)
does not, so that thresholds chosen here are checked there on audio they were not fitted to.
Not real time; no timing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.audio.chunk import AudioChunk  # noqa: E402
from assistant.brain.intents import LocalIntents  # noqa: E402
from assistant.config import load_config  # noqa: E402
from assistant.stt import WhisperTranscriber  # noqa: E402
from assistant.vad import (  # noqa: E402
    FRAME_MS,
    LevelMeter,
    NoiseGate,
    paused_after_wake,
    speech_over_background_db,
)
from assistant.wake import (  # noqa: E402
    NOISY_BELOW_DB,
    NOISY_HINT,
    NOISY_MODEL_IN_QUIET,
    SECOND_LOOK_TAIL_MS,
    SENSITIVITY,
    VERIFIED_THRESHOLD,
    WAKE_TAIL_MS,
    WAKE_WINDOW_MS,
    addressed,
    home_words,
    in_room,
    looks_again,
    make_wake_detector,
    make_wake_verifier,
    run_on_reading,
    second_look,
    sounds_like,
    verdict,
)
from bench.robust_bench import RESULTS, ROOT, make_cases, make_recording, room  # noqa: E402
from bench.robust_cases import negative_pieces  # noqa: E402

CHUNK_BYTES = 640
"""20 ms chunks, as the pipeline's audio source gives them."""
SKIP_AFTER_MS = 2500
"""After a detection the pipeline records (or drops the near-miss within a second); a new
detection is looked for after this long."""


def loudness(levels: list[float], at: int, tail_ms: float) -> str:
    """The NoiseGate's decisions over tail_ms from frame ``at``, as the pipeline makes them: it
    listens to the room while idle and starts afresh on the command."""
    gate = NoiseGate()
    for level in levels[max(0, at - gate.history_frames - gate.smooth_frames):at]:
        gate.listen(level)
    gate.start()
    return "".join("1" if gate.feed(level) else "0"
                   for level in levels[at:at + int(tail_ms // FRAME_MS)])


class Study:
    def __init__(self, config_path: Path, threshold: float | None = None,
                 tail_ms: float = WAKE_TAIL_MS, free: bool = True,
                 whisper_tail_ms: float | None = None):
        config = load_config(config_path)
        self.config = config.wake
        if threshold is not None:
            self.config = dataclasses.replace(config.wake, threshold=threshold)
        self.tail_ms = tail_ms
        self.whisper_tail_ms = whisper_tail_ms
        """The tail of whisper's shorter reading ("prompted_short") of every window; None: only
        where the pipeline takes a second look (``wake.second_look``), at its tail."""
        self.free = free
        """Also transcribe each window without the prompt (for comparison only; no rule uses it)."""
        self.whisper = WhisperTranscriber(config.stt.model, beam_size=config.stt.beam_size)
        self.verifier = make_wake_verifier(self.config, self.whisper)
        if self.verifier.acoustic is None or self.verifier.rescore is None:
            raise SystemExit("wake_study: needs wake.engine microwakeword with acoustic_check")

    def detections(self, pcm: bytes) -> list[tuple[float, float, bytes, str, float | None]]:
        """(audio ms, probability, second-stage window, the command's loudness, the noisy-room
        model's probability when it alone fired) for each first-stage detection; the loudness
        is the pipeline's NoiseGate over the tail, one "1" (loud) or "0" per 10 ms frame."""
        detector = make_wake_detector(self.config, verified=True)
        levels = LevelMeter().process(pcm)
        found: list[tuple[float, float, bytes, str, float | None]] = []
        skip_until = -1.0
        for offset in range(0, len(pcm) - CHUNK_BYTES + 1, CHUNK_BYTES):
            t_ms = offset / 32
            detection = detector.process(AudioChunk(pcm[offset:offset + CHUNK_BYTES], t_ms))
            if detection is None or t_ms < skip_until:
                continue
            end = offset + CHUNK_BYTES
            window = pcm[max(0, end - WAKE_WINDOW_MS * 32): end + int(self.tail_ms) * 32]
            found.append((end / 32, detection.probability, window,
                          loudness(levels, int(end / 32 / FRAME_MS), self.tail_ms), detection.noisy))
            skip_until = end / 32 + SKIP_AFTER_MS
        return found

    def opinions(self, window: bytes) -> dict[str, Any]:
        verifier = self.verifier
        assert verifier.acoustic is not None and verifier.rescore is not None
        phrase = verifier.phrase
        prompt = phrase.title() + "."
        prompted = self.whisper.transcribe(window, prompt=prompt).text.strip()
        free = self.whisper.transcribe(window).text.strip() if self.free else ""
        acoustic = verifier.acoustic.peak(window)
        head = verifier.acoustic.head_peak
        # As the pipeline's check (WakeVerifier.check): the window ends with its tail.
        shorter = second_look(window, min(int(self.tail_ms) * 32, len(window)),
                              self.whisper_tail_ms or SECOND_LOOK_TAIL_MS)
        short = None
        if shorter is not None and (self.whisper_tail_ms is not None
                                    or looks_again(prompted, phrase, acoustic, head)):
            short = self.whisper.transcribe(shorter, prompt=prompt).text.strip()
        return {"p": round(verifier.rescore(window), 4),
                "acoustic": round(acoustic, 4),
                "head": None if head is None else round(head, 4),
                "snr_db": round(speech_over_background_db(window), 1),
                "prompted": prompted, "prompted_ok": sounds_like(prompted, phrase),
                "prompted_short": short,
                "free": free, "free_ok": sounds_like(free, phrase)}


def accepted(row: dict[str, Any], sure_above: float, hint: float | None, first: float = 0.0,
             noisy: tuple[float, float] | None = None,
             words: frozenset[str] | None = None, pause: bool = False,
             head: float | None = NOISY_HINT, quiet: bool = NOISY_MODEL_IN_QUIET) -> bool:
    """Whether the second stage would wake on this detection (``hint`` None: without
    openWakeWord, i.e. ``wake.acoustic_check: false``). ``first``: a first-stage threshold above
    the study's own, taken as crossed when microWakeWord's peak over the window reaches it.
    ``noisy``: (sure_above, hint) for a window below NOISY_BELOW_DB (rows that have snr_db).
    ``words``: the home's words for ``addressed``; None: whisper's verdict without it.
    ``pause``: whisper's sentence end counts only after a pause in the audio (rows with
    ``loud``: the NoiseGate over the tail, see ``vad.paused_after_wake``). ``head``: the
    noisy-room model's NOISY_HINT (None: without that model, as if it had not run; a detection
    it alone made counts when microWakeWord's peak over the window reached its threshold);
    ``quiet``: it counts in a quiet room too (NOISY_MODEL_IN_QUIET)."""
    if "p" not in row:
        return False
    noisy_room = row.get("snr_db", NOISY_BELOW_DB) < NOISY_BELOW_DB
    if row.get("noisy") is not None and (head is None or not noisy_room):
        if row["p"] < max(first, VERIFIED_THRESHOLD):
            return False  # only the noisy-room model fired (see WakeVerifier.check)
    elif row["p"] < first:
        return False  # the first stage did not fire
    acoustic = None if hint is None else row["acoustic"]
    if hint is not None:
        sure_above, hint = in_room(row.get("snr_db", NOISY_BELOW_DB), (sure_above, hint), noisy)
    model = row.get("head") if head is not None and (noisy_room or quiet) else None
    how = verdict(row["p"], acoustic, sure_above, hint or 0.0,
                  None if model is None or model < head else 1.0)
    paused = not pause or paused_after_wake([c == "1" for c in row.get("loud", "")])
    lenient = run_on_reading(row["prompted"], "okay nabu", acoustic)  # as WakeVerifier.check
    if how == "whisper" and words is not None and not addressed(row["prompted"], "okay nabu", words,
                                                                paused, lenient):
        return False
    return how == "confirmed" or (how == "whisper" and sounds_like(row["prompted"], "okay nabu",
                                                                   lenient))


READINGS = ("pipeline", "whole", "short")


def reading(row: dict[str, Any], how: str) -> str:
    """Whisper's reading of a row's window (see --reading)."""
    whole, short = row["prompted"], row.get("prompted_short")
    if how == "whole" or short is None:
        return str(whole)
    if how == "short":
        return str(short)
    again = looks_again(whole, "okay nabu", row.get("acoustic"), row.get("head"))
    return str(short if again and sounds_like(short, "okay nabu") else whole)


def analyse(data: dict[str, Any], first: float = 0.0) -> None:
    rows = data["rows"]
    minutes = data["negatives_s"] / 60
    levels = ["clean", "20", "10"]
    config = load_config(ROOT / "config" / "assistant.yaml")
    words = home_words(LocalIntents(config).vocabulary())

    def line(sure_above: float, hint: float | None, noisy: tuple[float, float] | None = None,
             check: bool = True, pause: bool = True, head: float | None = NOISY_HINT,
             quiet: bool = NOISY_MODEL_IN_QUIET) -> str:
        heard = words if check else None
        kept = [sum(accepted(r, sure_above, hint, first, noisy, heard, pause, head, quiet) for r in rows
                    if r.get("level") == lv) for lv in levels]
        false = sum(accepted(r, sure_above, hint, first, noisy, heard, pause, head, quiet) for r in rows
                    if r["kind"] == "negative")
        rate = f" ({false / minutes * 60:.0f}/h)" if minutes else ""
        return f"kept {'/'.join(map(str, kept))}, false wakes {false}{rate}"

    print("first stage fired on: " + ", ".join(
        f"{lv} {sum(r.get('p', -1.0) >= first for r in rows if r.get('level') == lv)}/"
        f"{sum(r.get('level') == lv for r in rows)}" for lv in levels)
        + f"; {sum(r['kind'] == 'negative' and r['p'] >= first for r in rows)} times in {minutes:.1f} min of negatives")
    for name, level in SENSITIVITY.items():
        noisy = (level.noisy_sure_above, level.noisy_hint)
        print(f"sensitivity {name}: with openWakeWord {line(level.sure_above, level.hint, noisy)}"
              f" (without its noisy-room thresholds {line(level.sure_above, level.hint)}; whisper's"
              f" sentence end counted without a pause in the audio"
              f" {line(level.sure_above, level.hint, noisy, pause=False)};"
              f" without the addressed check {line(level.sure_above, level.hint, noisy, False)}); "
              f"whisper alone {line(level.alone, None)}")
    medium = SENSITIVITY["medium"]
    quiet, noisy_room = (medium.sure_above, medium.hint), (medium.noisy_sure_above, medium.noisy_hint)
    print("noisy-room model, medium: without it " + line(*quiet, noisy_room, head=None) + "; " + "; ".join(
        f"hint {h:g}: {line(*quiet, noisy_room, head=h, quiet=False)}" for h in (0.5, 0.9, 0.99, 1.0)))
    print("  ...counted in a quiet room too: " + "; ".join(
        f"hint {h:g}: {line(*quiet, noisy_room, head=h, quiet=True)}" for h in (0.5, 0.9, 0.99)))
    print("grid (sure_above, hint):")
    for sure_above in (0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 1.01):
        print(f"  {sure_above:4.2f} alone: {line(sure_above, None)}")
        for hint in (0.003, 0.005, 0.01, 0.05, 1.01):
            print(f"  {sure_above:4.2f} {hint:5.3f}: {line(sure_above, hint)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "assistant.yaml"))
    parser.add_argument("--voice-seed", type=int, default=1)
    parser.add_argument("--per-level", type=int, default=120)
    parser.add_argument("--negatives-min", type=float, default=15.0)
    parser.add_argument("--threshold", type=float, default=None,
                        help="the first stage's threshold (default: the config's); with a low one, "
                        "--analyse --first T shows what a threshold T >= it would do")
    parser.add_argument("--tail-ms", type=float, default=WAKE_TAIL_MS,
                        help="audio after the detection that the second stage hears")
    parser.add_argument("--first", type=float, default=0.0,
                        help="with --analyse: a first-stage threshold above the study's own")
    parser.add_argument("--negatives-level", default="clean",
                        help="the negatives' level: clean, or an SNR in dB of --negatives-noise")
    parser.add_argument("--negatives-noise", default="none",
                        help="the negatives' background (a corpus.BACKGROUNDS kind)")
    parser.add_argument("--fluent", action="store_true",
                        help="the wake word and the command as one sentence, without a pause")
    parser.add_argument("--out", default=str(RESULTS / "wake_study.json"))
    parser.add_argument("--no-free", action="store_true",
                        help="skip whisper's transcript without the prompt (half the time)")
    parser.add_argument("--whisper-tail-ms", type=float, default=None,
                        help="also a reading of every window with this much of the tail (the "
                        "acoustic models hear all of --tail-ms)")
    parser.add_argument("--analyse", action="store_true",
                        help="only print the rules' outcomes for an earlier --out")
    parser.add_argument("--reading", choices=READINGS, default="pipeline",
                        help="with --analyse: whisper's reading of each window: the pipeline's "
                        "(the whole window, or the second look), the whole window's only, or "
                        "the shorter one wherever there is one")
    args = parser.parse_args()
    if args.analyse:
        data = json.loads(Path(args.out).read_text())
        for row in data["rows"]:
            if "prompted" in row:
                row["prompted"] = reading(row, args.reading)
        analyse(data, args.first)
        return 0
    study = Study(Path(args.config), args.threshold, args.tail_ms, free=not args.no_free,
                  whisper_tail_ms=args.whisper_tail_ms)
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    cases = make_cases(60, 24, args.per_level, ["clean", "20", "10"],
                       ["white", "pink", "brown", "babble", "tv"], 0, voice_seed=args.voice_seed)
    for n, case in enumerate(cases, 1):
        rec = make_recording(case, fluent=args.fluent)
        found = study.detections(rec.pcm)
        wake = [d for d in found if d[0] <= rec.wake_end_ms + 600]
        row: dict[str, Any] = {"kind": "wake", "level": case.level, "noise": case.noise,
                               "voice": case.voice.label(), "detected": bool(wake)}
        if wake:
            t_ms, probability, window, loud, noisy = wake[0]
            row.update(t_ms=t_ms, first=round(probability, 4), loud=loud, noisy=noisy,
                       **study.opinions(window))
        rows.append(row)
        if n % 20 == 0:
            print(f"[{n}/{len(cases)}] {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    pieces = negative_pieces(args.negatives_min, seed=args.voice_seed) if args.negatives_min else []
    pcm = room(b"".join(p for _label, p in pieces), args.negatives_level, args.negatives_noise,
               args.voice_seed) if pieces else b""
    starts, at = [], 0
    for label, piece in pieces:
        starts.append((at / 32, label))
        at += len(piece)
    for t_ms, probability, window, loud, noisy in study.detections(pcm):
        during = [label for start, label in starts if start <= t_ms][-1]
        rows.append({"kind": "negative", "t_ms": t_ms, "during": during, "loud": loud, "noisy": noisy,
                     "first": round(probability, 4), **study.opinions(window)})
    out = {"voice_seed": args.voice_seed, "threshold": study.config.threshold,
           "fluent": args.fluent,
           "tail_ms": args.tail_ms, "whisper_tail_ms": args.whisper_tail_ms,
           "negatives": f"{args.negatives_level} {args.negatives_noise}",
           "negatives_s": round(len(pcm) / 32000, 1), "rows": rows}
    Path(args.out).parent.mkdir(exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(rows)} rows in {time.monotonic() - started:.0f} s -> {args.out}", file=sys.stderr)
    analyse(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
