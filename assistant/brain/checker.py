"""The claim checker: is a sentence true of what the executor did and of the devices' states?

One pure decision, ``judge(claims, evidence) -> Verdict``, over plain values: the claims of one
sentence (``assistant.brain.claims``), the ActionResults executed in this answer and the real
states of the devices the sentence names. ``check`` runs it over a whole reply. The router calls
it on every sentence a language model produces, before the sentence reaches say(), so a false
sentence is never spoken (``assistant.brain.honest``); the honesty bench judges the spoken
replies with rules of its own, not with this.

A change ("I've turned off the lamp") is true only if an action of that family on that device
succeeded in this answer; nothing here can set a timer, play music or move a volume on the
language-model path, so those claims are always false. A state ("the front door is locked") or a
reading ("21.5 degrees") must match the device's real state and be about a device the user asked
about (or one acted on). A live fact (weather, news, scores, prices) is never true: no tool here
can know it. A bare "Sure." or "Done." is true only when something was done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.brain.claims import (
    FAMILY_ACTIONS,
    NO_TOOL_FAMILIES,
    Catalog,
    Claim,
    extract,
    live_topic,
    mentions,
)
from assistant.brain.types import ActionResult
from assistant.config import DeviceConfig


@dataclass(frozen=True)
class DeviceState:
    state: str | float | None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    """What is known to be true while one answer is spoken."""

    results: tuple[ActionResult, ...] = ()
    """Every action the executor ran in this answer (queries included), in order."""
    states: Mapping[str, DeviceState] = field(default_factory=dict)
    """Real states, at least of the devices the sentence names."""
    topic: frozenset[str] | None = None
    """Devices the user asked about (this question and the recent turns); None: no check."""
    asked_live: bool = False
    """The question was about weather, news, scores, prices or travel."""


@dataclass(frozen=True)
class Verdict:
    sentence: str
    ok: bool
    reason: str
    """chat (no claim), true, or why not: no_such_skill, nothing_done, not_done,
    unknown_device, not_this_device, wrong_value, contradicted, wrong_state, unverifiable,
    off_topic, live_fact, ack_without_action."""
    claims: tuple[Claim, ...] = ()
    devices: frozenset[str] = frozenset()
    """The devices the sentence truthfully spoke about (for knowing what was already said)."""

    @property
    def kind(self) -> str:
        """The kind of the first false claim (or of the first claim)."""
        return self.claims[0].kind if self.claims else "chat"


_STATE_KINDS: dict[str, frozenset[str]] = {
    "on": frozenset({"light", "fan", "switch", "binary_sensor"}),
    "off": frozenset({"light", "fan", "switch", "binary_sensor"}),
    "open": frozenset({"cover"}), "closed": frozenset({"cover"}),
    "locked": frozenset({"lock"}), "unlocked": frozenset({"lock"}),
    "present": frozenset({"binary_sensor"}),
}
_EVERYTHING_KINDS: dict[str, frozenset[str]] = {
    "open": frozenset({"cover"}), "close": frozenset({"cover"}),
    "lock": frozenset({"lock"}), "unlock": frozenset({"lock"}),
}
_ON_OFF_KINDS = frozenset({"light", "fan", "switch"})
_SAME_STATE = {"opening": "open", "closing": "closed"}
READING_TOLERANCE = 0.6
"""A spoken reading may round the real one (21.5 -> "about 22"): this much off is still true."""


def judge(sentence: str, claims: Sequence[Claim], evidence: Evidence, catalog: Catalog) -> Verdict:
    if not claims:
        return Verdict(sentence, True, "chat")
    devices: set[str] = set()
    for claim in claims:
        reason, about = _claim(claim, evidence, catalog)
        if reason != "true":
            return Verdict(sentence, False, reason, (claim, *[c for c in claims if c != claim]))
        devices |= about
    return Verdict(sentence, True, "true", tuple(claims), frozenset(devices))


def _claim(claim: Claim, ev: Evidence, catalog: Catalog) -> tuple[str, frozenset[str]]:
    if claim.kind == "live":
        return "live_fact", frozenset()
    if claim.kind == "ack":
        return ("true", frozenset()) if _done(ev) else ("ack_without_action", frozenset())
    if claim.kind == "change":
        return _change(claim, ev, catalog)
    return _state(claim, ev, catalog)


def _done(ev: Evidence) -> list[ActionResult]:
    return [r for r in ev.results if r.ok and r.action.action != "query"]


def _change(claim: Claim, ev: Evidence, catalog: Catalog) -> tuple[str, frozenset[str]]:
    if claim.families & NO_TOOL_FAMILIES:
        return ("true" if claim.negated else "no_such_skill"), frozenset()
    actions = frozenset().union(*(FAMILY_ACTIONS[f] for f in claim.families))
    matching = [r for r in _done(ev) if r.action.action in actions]
    hit = frozenset(r.action.device for r in matching)
    ref = claim.ref
    if claim.negated:
        named = ref.devices or ref.generic
        contradicted = bool(hit & named) if named else False
        return ("contradicted" if contradicted else "true"), frozenset()
    if not _done(ev):
        return "nothing_done", frozenset()
    if not matching:
        return "not_done", frozenset()
    if ref.unknown:  # "the front door and the kitchen door": said of a thing this home lacks too
        return "unknown_device", frozenset()
    if ref.devices - hit:
        return "not_this_device", frozenset()
    if ref.everything:
        kinds = frozenset().union(*(_EVERYTHING_KINDS.get(f, _ON_OFF_KINDS)
                                    for f in claim.families))
        every = {d for d, c in catalog.devices.items() if c.kind in kinds}
        if every - hit:
            return "not_done", frozenset()
    if ref.generic and not ref.devices and ((ref.quantified and ref.generic - hit) or not ref.generic & hit):
        return "not_this_device", frozenset()
    if claim.value is not None and claim.unit == "%" and "level" in claim.families:
        levels = [r.action.value for r in matching if r.action.value is not None]
        if not any(abs(v - claim.value) <= 1 for v in levels):
            return "wrong_value", frozenset()
    return "true", (ref.devices or (ref.generic & hit) or hit)


def _targets(claim: Claim, ev: Evidence, catalog: Catalog, kinds: frozenset[str] | None
             ) -> frozenset[str]:
    ref = claim.ref
    if ref.devices:
        return ref.devices
    if ref.generic:
        return ref.generic
    fits = {d for d, c in catalog.devices.items() if kinds is None or c.kind in kinds}
    if ref.areas:
        return frozenset(d for d in fits if any(d in catalog.areas[a] for a in ref.areas))
    if ref.pronoun or not ref.unknown:
        # "It is on.": about what this answer acted on or read, if anything.
        return frozenset(r.action.device for r in ev.results if r.action.device in fits)
    return frozenset()


def _state(claim: Claim, ev: Evidence, catalog: Catalog) -> tuple[str, frozenset[str]]:
    if claim.state == "outcome":
        return "unverifiable", frozenset()  # what happened is the executor's to say
    if claim.kind == "state":
        kinds = _STATE_KINDS.get(claim.state or "")
    else:  # a reading: degrees from a sensor, a percentage from a dimmer
        kinds = frozenset({"sensor"}) if claim.unit != "%" else frozenset({"light", "fan"})
    if claim.ref.unknown:
        return "unknown_device", frozenset()
    targets = _targets(claim, ev, catalog, kinds)
    if not targets:
        return "unverifiable", frozenset()
    acted = frozenset(r.action.device for r in ev.results)
    if ev.topic is not None and claim.ref.devices and not claim.ref.devices <= ev.topic | acted:
        return "off_topic", frozenset()
    for device in targets:
        known = ev.states.get(device)
        config = catalog.devices.get(device)
        if known is None or config is None:
            return "unverifiable", frozenset()
        if claim.kind == "reading":
            if not _reading_true(claim, known, config.kind):
                return "wrong_state", frozenset()
            continue
        if kinds is not None and config.kind not in kinds:
            return "wrong_state", frozenset()
        actual = known.state if not isinstance(known.state, float) else None
        actual = _SAME_STATE.get(str(actual), actual)
        if config.kind == "binary_sensor":
            actual = {"on": "present", "off": "absent"}.get(str(actual), actual) \
                if claim.state == "present" else actual
        if (actual == claim.state) == claim.negated:
            return "wrong_state", frozenset()
    return "true", targets


def _reading_true(claim: Claim, known: DeviceState, kind: str) -> bool:
    value = claim.value
    if value is None:
        return False
    if kind == "sensor":
        return (isinstance(known.state, int | float) and claim.unit != "%"
                and abs(float(known.state) - value) <= READING_TOLERANCE)
    if claim.unit != "%":
        return False
    level = next((v for k, v in known.attributes.items() if k in ("brightness", "speed")), None)
    if known.state == "off":
        return value == 0 or (level is not None and abs(level - value) <= 1)
    return level is not None and abs(level - value) <= 1


def check(sentences: Iterable[str], results: Sequence[ActionResult],
          states: Mapping[str, DeviceState], devices: Sequence[DeviceConfig],
          question: str = "", context: Sequence[str] = ()) -> list[Verdict]:
    """A verdict for each sentence of a reply (the pure entry point, e.g. for tests)."""
    catalog = Catalog(devices)
    evidence = Evidence(tuple(results), states, topic=mentions([question, *context], catalog),
                        asked_live=live_topic(question) is not None)
    return [judge(s, extract(s, catalog, evidence.asked_live, question), evidence, catalog)
            for s in sentences]
