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
    """The lowest per-frame score of any word."""
    unexplained: float
    """Share of all frames the grammar called silence or noise while the phone loop heard
    speech sounds there: speech around or inside the command that the grammar has no words for."""
    garbage: float = 0.0
    """Share of the speech the search explained as sounds the grammar has no words for (its
    GARBAGE arcs, in place of a name or of a whole sentence)."""
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
    min_worst_word_llr: float
    min_worst_name_llr: float
    max_unexplained: float
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
    checks = (
        (evidence.worst_word_llr - params.min_worst_word_llr, Reason.WORD),
        (evidence.worst_name_llr - params.min_worst_name_llr, Reason.NAME),
        (params.max_unexplained - evidence.unexplained, Reason.UNEXPLAINED),
    )
    margin, reason = min(checks, key=lambda check: check[0])
    return Verdict(margin >= 0, Reason.ACCEPTED if margin >= 0 else reason, margin)


def load_params(engine: str, path: Path = PARAMS_FILE) -> GuardParams | None:
    """The fitted parameters for an engine, or None when none were fitted for it."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8")).get(engine)
    if not data:
        return None
    names = {f.name for f in fields(GuardParams)}
    return GuardParams(**{k: v for k, v in data.items() if k in names})
