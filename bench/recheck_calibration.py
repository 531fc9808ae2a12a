"""Calibration of assistant.recheck's thresholds, on voices and sentences of its own.

    PYTHONPATH=. .venv/bin/python bench/recheck_calibration.py [--voices 44] [--seeds 1,2]

For each recording (a command of bench/robust_cases.py, or a sentence that is not a command for
this home: questions for the LLM, devices nobody configured), in quiet and at 20 and 10 dB:
whisper's free transcript, then what the recheck weighs. For transcripts the local intents do
not understand, a grid of (CLOSE_TO_HEARD, AHEAD_OF_OTHERS) is swept: "fixed" = the command
that was said, "wrong" = any other command (a non-command turned into a command counts as
wrong), "missed" = a command left as it was. For understood on/off/lock/open commands: the
margin of the transcript over its opposite (OPPOSITE_MARGIN must stay below the right ones).

The voices come from bench.corpus.voice_pool with seeds other than the robustness benchmark's
(seed 0); the pool is finite, so some voices recur at other speeds or with other sentences.
Writes bench/results/recheck_calibration.md. About 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus  # noqa: E402
from bench.robust_bench import room  # noqa: E402
from bench.robust_cases import COMMANDS  # noqa: E402

NOT_COMMANDS = [
    "turn on the attic light", "turn off the garage light", "unlock the back door",
    "open the window", "what's the capital of France", "tell me a joke",
    "how far away is the moon", "what should I cook tonight", "play some music",
    "turn up the volume", "is it going to rain tomorrow", "who wrote Hamlet",
    "set the thermostat to twenty degrees", "close the blinds", "turn on the TV", "lock the car",
    "what's the weather like", "remind me to call mom", "how do I make pancakes",
    "turn on the heater", "turn off the porch light", "open the shed door",
    "is the back door locked", "turn on the hallway light", "close the kitchen window",
]
NOISES = ["white", "pink", "brown", "babble", "tv"]
T = TypeVar("T")
RESULTS = Path(__file__).resolve().parent / "results" / "recheck_calibration.md"


@dataclass
class Row:
    level: str
    said: str
    heard: str
    reading: str
    truth: Any
    """The meaning of what was said, None for a non-command."""
    heard_score: float = 0.0
    scored: list[tuple[Any, str, float]] = field(default_factory=list)
    """(meaning as the recheck sees it, command, score) for each command weighed."""
    meant: dict[str, Any] = field(default_factory=dict)
    """What each weighed command does by the local intents ("forty percent" included)."""
    opposite_margin: float | None = None
    heard_meaning: Any = None
    ms: float | None = None
    """Time the recheck's scoring took (encoder output reused)."""


def calibration_args(description: str, voices: int) -> argparse.Namespace:
    """The options of a calibration script (this one and bench/answer_calibration.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--voices", type=int, default=voices, help="recordings per seed and level")
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--levels", default="clean,20,10")
    parser.add_argument("--report", action="store_true",
                        help="only write the report again from the last run's .json")
    return parser.parse_args()


def recordings(args: argparse.Namespace, items: Sequence[T], step: int,
               text: Callable[[T], str]) -> Iterator[tuple[str, corpus.Voice, T, bytes]]:
    """(level, voice, item, audio) for each recording of a calibration run: per level and
    seed, ``args.voices`` voices, each saying ``text`` of the item picked by ``step``, with
    quiet around it, mixed with one of NOISES below "clean"."""
    for level in args.levels.split(","):
        for seed in map(int, args.seeds.split(",")):
            for i, voice in enumerate(corpus.varied_voices(args.voices, seed=seed)):
                item = items[(i * step + seed) % len(items)]
                pcm = corpus.silence(0.3) + corpus.speak(text(item), voice) + corpus.silence(0.5)
                if level != "clean":
                    pcm = room(pcm, level, NOISES[i % len(NOISES)], i + 1000 * seed)
                yield level, voice, item, pcm


def main() -> None:
    args = calibration_args(__doc__.splitlines()[0], voices=44)
    if args.report:
        saved = json.loads(RESULTS.with_suffix(".json").read_text())
        report([Row(**_tuples(row)) for row in saved], 0.0, args)
        return

    from assistant.brain.intents import IntentMatch, LocalIntents
    from assistant.config import load_config
    from assistant.recheck import closest, opposite_of, sentence, with_number
    from assistant.stt import WhisperTranscriber
    from assistant.voice import _meaning, _recheck, _stt_prompt

    config = load_config(Path(__file__).resolve().parent.parent / "config" / "assistant.yaml")
    intents = LocalIntents(config)
    whisper = WhisperTranscriber(warm_up=True)
    recheck = _recheck(config, whisper, intents)
    prompt = _stt_prompt(intents)

    def meaning(text: str) -> Any:
        match = intents.match(text)
        return _meaning(match) if isinstance(match, IntentMatch) else None

    items = [(text, meaning(text)) for text, _ in COMMANDS] + [(t, None) for t in NOT_COMMANDS]
    rows: list[Row] = []
    started = time.monotonic()
    for level, voice, (said, truth), pcm in recordings(args, items, 7, lambda item: item[0]):
        heard = whisper.transcribe(pcm, prompt).text.strip()
        row = Row(level, said, heard, recheck.reading(heard) if heard else "other", truth,
                  heard_meaning=meaning(heard) if heard else None)
        if not heard:
            pass
        elif row.reading == "understood":
            other = opposite_of(heard)
            if other is not None:
                t0 = time.perf_counter()
                mine, theirs = whisper.score(pcm, [heard, other])
                row.ms = (time.perf_counter() - t0) * 1000
                row.opposite_margin = mine - theirs
        else:
            t0 = time.perf_counter()
            candidates = closest(
                with_number(recheck.phrases, heard, recheck.example_number), heard)
            scores = whisper.score(pcm, [heard, *(sentence(p.text) for p in candidates)])
            row.ms = (time.perf_counter() - t0) * 1000
            row.heard_score = scores[0]
            row.scored = [(p.meaning, p.text, s)
                          for p, s in zip(candidates, scores[1:], strict=True)]
            row.meant = {p.text: meaning(p.text) for p in candidates}
        rows.append(row)
        print(f"{level:5s} {voice.label():34s} {said!r:45s} heard={heard!r} "
              f"({row.reading})", flush=True)
    report(rows, time.monotonic() - started, args)


def decide(row: Row, close: float, ahead: float, close_unknown: float = 0.0) -> str | None:
    """The command the recheck would put in place of the transcript, or None."""
    from assistant.recheck import Phrase, choose

    scored = [(Phrase(text, m), s) for m, text, s in row.scored]
    best = choose(row.heard_score, scored,
                  close=close_unknown if row.reading == "unknown" else close, ahead=ahead)
    return None if best is None else best.text


def would_ask(row: Row, below: float) -> str | None:
    """The command the recheck would ask about (``worth_asking``) when it put none in place."""
    from assistant.recheck import AHEAD_OF_OTHERS, CLOSE_TO_HEARD, worth_asking

    if row.reading != "other" or decide(row, CLOSE_TO_HEARD, AHEAD_OF_OTHERS) is not None:
        return None
    asked = worth_asking(row.heard_score, _phrases(row), below=below)
    return None if asked is None else asked.text


def would_query(row: Row, below: float) -> str | None:
    """The question about the home the recheck would read when it put no command in place."""
    from assistant.recheck import AHEAD_OF_OTHERS, CLOSE_TO_HEARD, choose

    if row.reading != "other" or decide(row, CLOSE_TO_HEARD, AHEAD_OF_OTHERS) is not None:
        return None
    query = choose(row.heard_score, _phrases(row), close=below)
    return None if query is None or query.acts else query.text


def would_ask_unknown(row: Row, below: float) -> str | None:
    """The command the recheck would ask about for a transcript naming a device nobody
    configured (``ask_for_unknown``), ``below`` at most under it."""
    from assistant.recheck import ask_for_unknown

    if row.reading != "unknown" or below <= 0:
        return None
    asked = ask_for_unknown(row.heard, row.heard_score, _phrases(row), below=below)
    return None if asked is None else asked.text


def _tuples(value: Any) -> Any:
    """A row read back from JSON, its meanings hashable again (lists -> tuples)."""
    if isinstance(value, dict):
        return {key: _tuples(item) for key, item in value.items()}
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    return value


def _phrases(row: Row) -> list[tuple[Any, float]]:
    """The row's weighed commands as the recheck sees them (with whether each changes a device)."""
    from assistant.recheck import Phrase

    return [(Phrase(text, m, acts=_acts(row.meant[text])), s) for m, text, s in row.scored]


def _acts(meaning: Any) -> bool:
    return meaning is not None and any(action != "query" for _d, action, _v in meaning[1])


def is_right(row: Row, command: str) -> bool:
    return row.truth is not None and row.meant[command] == row.truth


def report(rows: list[Row], elapsed: float, args: argparse.Namespace) -> None:
    lines = ["# Recheck calibration", "",
             f"Command: `python bench/recheck_calibration.py --voices {args.voices} "
             f"--seeds {args.seeds} --levels {args.levels}`; {len(rows)} recordings, "
             + (f"{elapsed / 60:.1f} min." if elapsed else "(rewritten with --report)."), ""]
    rechecked = [r for r in rows if r.scored]
    understood = [r for r in rows if r.reading == "understood"]
    right = sum(r.heard_meaning is not None and r.heard_meaning == r.truth for r in understood)
    lines += [f"- Free transcript understood: {len(understood)} ({right} with the meaning said);"
              f" rechecked (not understood): {len(rechecked)}, of which "
              f"{sum(r.truth is not None for r in rechecked)} were commands.", ""]
    def times(rows: list[Row]) -> str:
        ms = sorted(r.ms for r in rows if r.ms is not None)
        if not ms:
            return "-"
        return f"median {ms[len(ms) // 2]:.0f} ms, p95 {ms[min(len(ms) - 1, int(len(ms) * 0.95))]:.0f} ms"

    lines += [f"- Time (2 cores, not paced): weighing the candidates of a transcript that was not "
              f"understood {times(rechecked)}; the opposite check of an understood command "
              f"{times(understood)}.", ""]
    lines += ["| CLOSE_TO_HEARD | AHEAD_OF_OTHERS | fixed | wrong | missed |", "|---:|---:|---:|---:|---:|"]
    details: dict[tuple[float, float], list[str]] = {}
    for close in (0.25, 0.5, 0.75, 1.0):
        for ahead in (0.1, 0.2, 0.3, 0.5):
            fixed = wrong = missed = 0
            notes = []
            for row in rechecked:
                got = decide(row, close, ahead)
                if got is None:
                    missed += row.truth is not None
                elif is_right(row, got):
                    fixed += 1
                else:
                    wrong += 1
                    notes.append(f"said {row.said!r}, heard {row.heard!r} -> {got!r}")
            details[(close, ahead)] = notes
            lines.append(f"| {close} | {ahead} | {fixed} | {wrong} | {missed} |")
    from assistant.recheck import (
        AHEAD_OF_OTHERS,
        ASK_BELOW,
        CLOSE_TO_HEARD,
        OPPOSITE_MARGIN,
        QUERY_BELOW,
        UNKNOWN_ASK_BELOW,
    )

    lines += ["", "Transcripts left as they were (not understood, no name nobody configured), "
              "asked about instead (``worth_asking``) by how far below the transcript a command "
              "that changes a device may score; asked right = the command said, asked wrong = "
              "another one (for a non-command: any). A wrong question is answered no.", "",
              "| ASK_BELOW | asked right | asked wrong | still missed |", "|---:|---:|---:|---:|"]
    for below in (0.75, 1.0, 1.25, 1.5, 2.0):
        asks = [(r, would_ask(r, below)) for r in rechecked]
        right_asks = sum(a is not None and is_right(r, a) for r, a in asks)
        wrong_asks = [f"{r.said!r} heard {r.heard!r} -> {a!r}" for r, a in asks
                      if a is not None and not is_right(r, a)]
        still = sum(a is None and r.truth is not None
                    and decide(r, CLOSE_TO_HEARD, AHEAD_OF_OTHERS) is None for r, a in asks)
        lines.append(f"| {below} | {right_asks} | {len(wrong_asks)} | {still} |"
                     + (f" ({'; '.join(wrong_asks[:4])})" if wrong_asks else ""))
    lines.append(f"\n(ASK_BELOW is {ASK_BELOW}.)")

    lines += ["", "Transcripts left as they were (not understood, no name nobody configured), read "
              "as a question about the home (a command that changes nothing) by how far below "
              "the transcript it may score; wrong = another meaning (for a non-command: any).",
              "", "| QUERY_BELOW | read right | read wrong |", "|---:|---:|---:|"]
    for below in (0.5, 0.75, 1.0, 1.25, 1.5):
        reads = [(r, would_query(r, below)) for r in rechecked]
        right_reads = sum(q is not None and is_right(r, q) for r, q in reads)
        wrong_reads = [f"{r.said!r} heard {r.heard!r} -> {q!r}" for r, q in reads
                       if q is not None and not is_right(r, q)]
        lines.append(f"| {below} | {right_reads} | {len(wrong_reads)} |"
                     + (f" ({'; '.join(wrong_reads[:3])})" if wrong_reads else ""))
    lines.append(f"\n(QUERY_BELOW is {QUERY_BELOW}.)")

    unknown = [r for r in rechecked if r.reading == "unknown"]
    lines += ["", f"Transcripts with a name nobody configured ({len(unknown)}, "
              f"{sum(r.truth is not None for r in unknown)} of them commands of this home), by "
              f"how far below the transcript a command may score (0 = it must score higher):",
              "", "| below by at most | fixed | wrong | missed |", "|---:|---:|---:|---:|"]
    for close_unknown in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0):
        readings = [(r, decide(r, CLOSE_TO_HEARD, AHEAD_OF_OTHERS)
                     or would_ask_unknown(r, close_unknown)) for r in unknown]
        fixed = sum(g is not None and is_right(r, g) for r, g in readings)
        wrongs = [f"{r.said!r} heard {r.heard!r} -> {g!r}" for r, g in readings
                 if g is not None and not is_right(r, g)]
        missed = sum(g is None and r.truth is not None for r, g in readings)
        lines.append(f"| {close_unknown} | {fixed} | {len(wrongs)} | {missed} |"
                     + (f" ({'; '.join(wrongs[:3])})" if wrongs else ""))

    lines.append(f"\n(0.0 is done; below it, a command that changes a device is asked about "
                 f"(``ask_for_unknown``; UNKNOWN_ASK_BELOW is {UNKNOWN_ASK_BELOW}). Read \"fixed\" "
                 "there as done or asked right, \"wrong\" as a question nobody meant, answered "
                 "no.)")

    lines += ["", f"Wrong at the chosen ({CLOSE_TO_HEARD}, {AHEAD_OF_OTHERS}):", ""]
    lines += [f"- {n}" for n in details.get((CLOSE_TO_HEARD, AHEAD_OF_OTHERS), [])] or ["- none"]
    lines += ["", "Commands missed at the chosen thresholds (best command: below the transcript by, "
              "ahead of the next meaning by):", ""]
    for row in rechecked:
        if row.truth is None or decide(row, CLOSE_TO_HEARD, AHEAD_OF_OTHERS) is not None:
            continue
        ranked = sorted(row.scored, key=lambda item: -item[2])
        if not ranked:
            continue
        best = ranked[0]
        rival = max((s for m, _t, s in ranked if m != best[0]), default=float("nan"))
        lines.append(f"- {row.level}: said {row.said!r}, heard {row.heard!r} ({row.reading}): "
                     f"{best[1]!r} {row.heard_score - best[2]:+.2f} / {best[2] - rival:.2f}")
    margins = sorted(round(r.opposite_margin, 2) for r in understood
                     if r.opposite_margin is not None and r.heard_meaning == r.truth)
    flips = [r for r in understood if r.opposite_margin is not None and r.truth is not None
             and r.heard_meaning != r.truth]
    lines += ["", f"Understood on/off, lock/unlock, open/close commands heard right: margin over "
              f"the opposite (OPPOSITE_MARGIN = {OPPOSITE_MARGIN}): {len(margins)} commands, "
              f"lowest {margins[:8]}, "
              f"{sum(m < OPPOSITE_MARGIN for m in margins)} below the margin (would be asked).",
              "", "Heard with another meaning: " + (", ".join(
                  f"said {r.said!r}, heard {r.heard!r}, margin {r.opposite_margin:.2f}"
                  for r in flips) or "none") + "."]
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)
    RESULTS.with_suffix(".json").write_text(
        json.dumps([dataclasses.asdict(r) for r in rows], indent=1, default=str) + "\n")
    print(text)


if __name__ == "__main__":
    main()
