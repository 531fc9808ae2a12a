"""The out-of-grammar guard: was the grammar's sentence really said?

A grammar recognizer fits any speech onto some sentence of the grammar ("what is the capital of
France" comes out as "what is the processor temperature"). Its result may act only when the
evidence says the words were there: each word's acoustic fit against a free phone loop over the
same frames (a forced word fits far worse than the sounds actually spoken), the whole
utterance's fit, and how much speech the grammar had to explain away as noise.

One frozen ``Evidence``, one pure ``decide(evidence, params) -> Verdict``; the parameters live in
``guard_params.json`` with what they were fitted on and the held-out figures they gave
(``bench/grammar_study.py`` fits them and calls this same function).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

PARAMS_FILE = Path(__file__).resolve().parent / "guard_params.json"


@dataclass(frozen=True)
class Evidence:
    engine: str
    """"pocketsphinx" or "vosk": which parameters apply."""
    complete: bool
    """The decode reached the end of a sentence of the grammar (a cut-off decode does not)."""
    words: int
    speech_frames: int
    """10 ms frames inside the grammar's words (silence and noise left out)."""
    score: float
    """Mean acoustic score per speech frame against the best sound of each frame (<= 0)."""
    llr: float
    """Mean per speech frame of the grammar's score minus a free phone loop's (<= 0 mostly)."""
    worst_word_llr: float
    """The lowest per-frame llr of any word but the first (whose start carries the boundary with
    the silence before it, and scored low on every voice): one forced word makes a result wrong."""
    worst_name_llr: float
    """The lowest per-frame llr of the words of device names and areas (0 when none is said):
    where a command for a device the home lacks differs from one it has."""
    worst_word_score: float
    """The lowest per-frame score of any word but the first (see ``worst_word_llr``)."""
    unexplained: float
    """Share of all frames the grammar called silence or noise while the phone loop heard
    speech sounds there: speech around or inside the command that the grammar has no words for."""
    garbage: float = 0.0
    """Share of the speech the search explained as sounds the grammar has no words for (its
    GARBAGE arcs, in place of a name or of a whole sentence)."""
    worst_name_score: float = 0.0
    """The lowest per-frame score of the words of names and areas (0 when none is said)."""
    inner_filler: float = 0.0
    """Share of the frames from the first word to the last that the grammar called silence or
    noise: a pause the command does not have, where unheard words may be."""
    rest_llr: float = 0.0
    """The llr per frame over all words but the first (a one-word command: that word), weighted
    by their frames: how well the command as a whole fits against the phone loop (the study's
    best single figure)."""
    rest_score: float = 0.0
    """The same mean of the grammar's own per-frame scores (no phone loop needed)."""
    phone_loop: bool = True
    """Whether the llr figures and ``unexplained`` were measured (a phone loop ran)."""
    confidence: float | None = None
    """Vosk: the lowest word confidence (0-1); None for pocketsphinx."""

    def row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Evidence:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


class Reason(StrEnum):
    ACCEPTED = "accepted"
    EMPTY = "empty"
    """No words at all."""
    INCOMPLETE = "incomplete"
    GARBAGE = "garbage"
    """Part of the speech was no word of the home: never a command."""
    UNCALIBRATED = "uncalibrated"
    """No parameters were fitted for this engine: nothing acts on its word alone."""
    WORD = "word"
    """Some word fits far worse than the sounds a phone loop hears there."""
    UTTERANCE = "utterance"
    """The command's words as a whole fit far worse than the sounds heard."""
    NAME = "name"
    """A word of a name or an area fits far worse than the sounds heard there."""
    UNEXPLAINED = "unexplained"


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: Reason
    margin: float = 0.0
    """How far the deciding value was from its threshold (positive = on the accepting side)."""


@dataclass(frozen=True)
class GuardParams:
    """Thresholds on the evidence; None leaves a figure out of the decision."""

    min_rest_llr: float | None = None
    min_rest_score: float | None = None
    min_worst_word_llr: float | None = None
    min_worst_name_llr: float | None = None
    max_unexplained: float | None = None
    min_worst_word_score: float | None = None
    min_worst_name_score: float | None = None
    max_inner_filler: float | None = None
    min_confidence: float | None = None
    """Vosk only."""
    fitted_on: dict[str, Any] = field(default_factory=dict)
    """Recorded by the study: material, voices, counts."""
    held_out: dict[str, Any] = field(default_factory=dict)
    """The figures these parameters gave on voices never used for fitting."""


def decide(evidence: Evidence, params: GuardParams | None) -> Verdict:
    """Pure: may the grammar's sentence act?"""
    if evidence.words == 0:
        return Verdict(False, Reason.EMPTY)
    if not evidence.complete:
        return Verdict(False, Reason.INCOMPLETE)
    if evidence.garbage > 0:
        return Verdict(False, Reason.GARBAGE)
    if params is None:
        return Verdict(False, Reason.UNCALIBRATED)
    if evidence.confidence is not None or params.min_confidence is not None:
        if params.min_confidence is None or evidence.confidence is None:
            return Verdict(False, Reason.UNCALIBRATED)
        margin = evidence.confidence - params.min_confidence
        return Verdict(margin >= 0, Reason.ACCEPTED if margin >= 0 else Reason.WORD, margin)
    if not evidence.phone_loop and _needs_loop(params):
        return Verdict(False, Reason.UNCALIBRATED)
    checks = [(value, reason) for value, reason in (
        (_above(evidence.rest_llr, params.min_rest_llr), Reason.UTTERANCE),
        (_above(evidence.rest_score, params.min_rest_score), Reason.UTTERANCE),
        (_above(evidence.worst_word_llr, params.min_worst_word_llr), Reason.WORD),
        (_above(evidence.worst_name_llr, params.min_worst_name_llr), Reason.NAME),
        (_below(evidence.unexplained, params.max_unexplained), Reason.UNEXPLAINED),
        (_above(evidence.worst_word_score, params.min_worst_word_score), Reason.WORD),
        (_above(evidence.worst_name_score, params.min_worst_name_score), Reason.NAME),
        (_below(evidence.inner_filler, params.max_inner_filler), Reason.UNEXPLAINED),
    ) if value is not None]
    if not checks:
        return Verdict(False, Reason.UNCALIBRATED)
    margin, reason = min(checks, key=lambda check: check[0])
    return Verdict(margin >= 0, Reason.ACCEPTED if margin >= 0 else reason, margin)


def _above(value: float, threshold: float | None) -> float | None:
    return None if threshold is None else value - threshold


def _below(value: float, threshold: float | None) -> float | None:
    return None if threshold is None else threshold - value


def _needs_loop(params: GuardParams) -> bool:
    return any(t is not None for t in (params.min_rest_llr, params.min_worst_word_llr,
                                       params.min_worst_name_llr, params.max_unexplained))


def rest_means(words: list[tuple[int, float, float | None]]) -> tuple[float, float]:
    """Pure: (score, llr) per frame over all words but the first (all of them when there is
    only one), weighted by frames, from (frames, score per frame, llr per frame) of each word
    in order; (0, 0) for none."""
    rest = words[1:] if len(words) > 1 else words
    frames = sum(f for f, _s, _l in rest)
    if not frames:
        return 0.0, 0.0
    return (sum(f * s for f, s, _l in rest) / frames,
            sum(f * (llr or 0.0) for f, _s, llr in rest) / frames)


def load_params(engine: str, path: Path = PARAMS_FILE) -> GuardParams | None:
    """The fitted parameters for an engine, or None when none were fitted for it."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8")).get(engine)
    if not data:
        return None
    names = {f.name for f in fields(GuardParams)}
    return GuardParams(**{k: v for k, v in data.items() if k in names})
