"""The wake decision: one pure function of the evidence and fitted parameters.

A logistic model weighs the evidence (``features``) into a score, the log-odds that a real wake
word was said; ``wake.sensitivity`` picks an operating point on it, fitted on the validation
curve of ``bench/wake_fit.py`` (wake words kept against false wakes per hour). Between the
operating point and a lower "borderline" point the command's own transcript breaks the tie: a
request to the assistant wakes it, other talk does not (``assistant.wake.request``). Two sets of
weights: one for a loud room, where the noisy-room model's embeddings give two more opinions,
and one for everywhere else. The parameters are data (``assistant/data/wake_decision.json``),
with a record of what they were fitted on and the figures they gave on material they were not.
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.errors import ModelMissingError
from assistant.wake.evidence import WakeEvidence, logit

PARAMS = Path(__file__).resolve().parent.parent / "data" / "wake_decision.json"
Level = Literal["low", "medium", "high"]
LEVELS: tuple[Level, ...] = ("low", "medium", "high")


def features(evidence: WakeEvidence) -> dict[str, float]:
    """The evidence as the numbers the weights multiply (every one of them, loud or not)."""
    return {
        "verifier": evidence.verifier,
        "micro": logit(evidence.micro_peak),
        "first": logit(evidence.probability) if evidence.probability > 0 else -12.0,
        "noisy_only": 1.0 if evidence.noisy_peak is not None and evidence.probability <= 0 else 0.0,
        "snr": min(evidence.snr_db, 60.0) / 10.0,
        "paused": 1.0 if evidence.paused else 0.0,
        "noisy_model": logit(evidence.noisy_peak),
        "open": logit(evidence.open_peak),
    }


@dataclass(frozen=True)
class Model:
    """One logistic model: score = bias + sum(weight * feature)."""

    weights: dict[str, float]
    bias: float
    scale: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per feature (mean, spread) the fit standardised with; the weights apply after it."""

    def score(self, values: dict[str, float]) -> float:
        total = self.bias
        for name, weight in self.weights.items():
            mean, spread = self.scale.get(name, (0.0, 1.0))
            total += weight * (values[name] - mean) / spread
        return total


@dataclass(frozen=True)
class OperatingPoint:
    wake_above: float
    """A score from here wakes the assistant."""
    borderline_above: float
    """A score from here to ``wake_above`` wakes it only if the command reads as a request."""


@dataclass(frozen=True)
class DecisionParams:
    quiet: Model
    loud: Model
    levels: dict[str, OperatingPoint]
    record: dict[str, Any] = field(default_factory=dict)
    """What the parameters were fitted on, and the figures they gave (fitted and held out)."""

    def to_json(self) -> dict[str, Any]:
        def model(m: Model) -> dict[str, Any]:
            return {"weights": m.weights, "bias": m.bias,
                    "scale": {k: list(v) for k, v in m.scale.items()}}

        return {"quiet": model(self.quiet), "loud": model(self.loud),
                "levels": {k: {"wake_above": v.wake_above, "borderline_above": v.borderline_above}
                           for k, v in self.levels.items()},
                "record": self.record}

    @staticmethod
    def from_json(data: dict[str, Any]) -> DecisionParams:
        def model(m: dict[str, Any]) -> Model:
            return Model({k: float(v) for k, v in m["weights"].items()}, float(m["bias"]),
                         {k: (float(v[0]), float(v[1])) for k, v in m.get("scale", {}).items()})

        return DecisionParams(model(data["quiet"]), model(data["loud"]),
                              {k: OperatingPoint(float(v["wake_above"]), float(v["borderline_above"]))
                               for k, v in data["levels"].items()},
                              dict(data.get("record", {})))


def digest(params: DecisionParams) -> str:
    """A short fingerprint of the fitted numbers (not the record)."""
    import hashlib

    numbers = {k: v for k, v in params.to_json().items() if k != "record"}
    return hashlib.sha256(json.dumps(numbers, sort_keys=True).encode()).hexdigest()[:16]


def load_params(path: str | Path = PARAMS) -> DecisionParams:
    path = Path(path)
    try:
        return DecisionParams.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelMissingError(f"the wake decision's parameters {path} are missing or broken "
                                f"({exc}); reinstall the assistant, or set wake.verify: false") from exc


class Outcome(enum.StrEnum):
    WAKE = "wake"
    """The evidence is enough: the assistant is awake."""
    BORDERLINE = "borderline"
    """Not quite: the command's transcript decides (a request wakes it)."""
    DROP = "drop"
    """Not a wake word: nothing is done, and the recording stops."""


@dataclass(frozen=True)
class WakeVerdict:
    outcome: Outcome
    score: float
    """The model's log-odds that a real wake word was said."""
    level: str
    threshold: float
    """The operating point's ``wake_above`` the score was held against."""
    evidence: WakeEvidence | None = None

    @property
    def ok(self) -> bool:
        """Whether the wake stands without looking at the command."""
        return self.outcome is Outcome.WAKE

    @property
    def probability(self) -> float:
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, self.score))))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome.value, "score": round(self.score, 3),
                               "level": self.level, "threshold": round(self.threshold, 3)}
        if self.evidence is not None:
            out["evidence"] = self.evidence.to_json()
        return out


def score(evidence: WakeEvidence, params: DecisionParams) -> float:
    model = params.loud if evidence.loud else params.quiet
    return model.score(features(evidence))


def decide(evidence: WakeEvidence, params: DecisionParams, level: str = "medium") -> WakeVerdict:
    """Pure: the verdict on one detection at a sensitivity level."""
    point = params.levels[level]
    value = score(evidence, params)
    if value >= point.wake_above:
        outcome = Outcome.WAKE
    elif value >= point.borderline_above:
        outcome = Outcome.BORDERLINE
    else:
        outcome = Outcome.DROP
    return WakeVerdict(outcome, value, level, point.wake_above, evidence)
