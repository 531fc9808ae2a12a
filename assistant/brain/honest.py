"""The honest say(): a language model's sentences are checked one by one before they are spoken.

The router hands a ``HonestSpeaker`` to the cloud and local-model paths in place of say(). A
sentence the path marks as a ``Fact`` (made from the executor's results or the tools' own words)
is spoken as it is. Any other sentence is the model's: the checker (``assistant.brain.checker``)
judges it against the actions run so far in this answer and the real states of the devices it
names, and a false one is dropped before it reaches the speaker. After a false claim the rest
of that model's answer is dropped too: it goes on about something that did not happen.

When the path is done, ``settle()`` gives the sentences that make the reply say what really
happened: the executor's own sentence for each action or reading nobody spoke about truthfully,
the question a held tool call waits on, and, when a claim was dropped and nothing true took its
place, the real states asked about, "I can't check that without the internet.", "I didn't change
anything." or "I can't do that here.".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from assistant.brain.checker import DeviceState, Evidence, Verdict, judge
from assistant.brain.claims import (
    DEVICE_FAMILIES,
    GENERIC_THINGS,
    NO_TOOL_FAMILIES,
    Catalog,
    Claim,
    Fact,
    extract,
    live_topic,
    mentions,
    normalize,
)
from assistant.brain.types import ActionResult

_LOGGER = logging.getLogger(__name__)

NOTHING_CHANGED = "I didn't change anything."
CANT_HERE = "I can't do that here."
OFFLINE = "I can't check that without the internet."
NO_MUSIC = "Nothing is playing here, and I can't recognise music."
CANT_LOOK_UP = "I can't look that up."
MAX_STATES = 3
"""At most this many real states are read out in place of a dropped state claim."""
_MINOR = frozenset({"ack_without_action", "after_false_claim"})
"""Drops that take nothing true away: a bare "Sure." and what followed a false claim."""

Query = Callable[[str], ActionResult]
Describe = Callable[[ActionResult], str]


class HonestSpeaker:
    def __init__(self, catalog: Catalog, say: Callable[[str], None], results: list[ActionResult],
                 question: str, context: Sequence[str], query: Query, describe: Describe, *,
                 offline: str = OFFLINE):
        self.catalog = catalog
        self._say = say
        self.results = results
        """The path's own list: actions land in it while the answer is spoken."""
        self.question = question
        self.query = query
        self.describe = describe
        self.offline = offline
        self.live = live_topic(question)
        """The live topic the question asked about ("weather", "playing", ...), or None."""
        self.topic = topic(question, context, catalog)
        self.verdicts: list[Verdict] = []
        self.spoken: list[str] = []
        self.covered: set[str] = set()
        self._poisoned = False
        self._held: list[str] = []

    @property
    def asked_live(self) -> bool:
        return self.live is not None

    def __call__(self, sentence: str) -> None:
        if isinstance(sentence, Fact):
            self.covered |= mentions([sentence], self.catalog) & self._acted()
            self._speak(sentence)
        elif self._held:
            self._held.append(sentence)  # in order, behind a claim that waits for its tool call
        else:
            self._judge(sentence, hold=True)

    def _judge(self, sentence: str, *, hold: bool) -> None:
        if self._poisoned:
            self.verdicts.append(Verdict(sentence, False, "after_false_claim"))
            _LOGGER.info("Not spoken (after a false claim): %r", sentence)
            return
        claims = extract(sentence, self.catalog, self.asked_live, self.question)
        evidence = Evidence(tuple(self.results), self._states(claims), self.topic,
                            self.asked_live)
        verdict = judge(sentence, claims, evidence, self.catalog)
        if not verdict.ok and hold and _may_come_true(verdict):
            # "Sure, turning on the light." streams before the model's tool call does: it is
            # judged again when the model is done, and spoken then if the action ran.
            self._held.append(sentence)
            return
        self.verdicts.append(verdict)
        if verdict.ok:
            # A true sentence about an acted-on device needs no second one from the executor.
            self.covered |= verdict.devices | (mentions([sentence], self.catalog) & self._acted())
            self._speak(sentence)
            return
        _LOGGER.info("Not spoken (%s): %r", verdict.reason, sentence)
        if verdict.reason not in _MINOR:
            self._poisoned = True

    @property
    def dropped(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.ok]

    def report(self) -> list[dict[str, str]]:
        """The dropped sentences for the Answer's slots (and any still held, never spoken)."""
        held = [{"sentence": s, "reason": "held", "claim": "change"} for s in self._held]
        return [{"sentence": v.sentence, "reason": v.reason, "claim": v.kind}
                for v in self.dropped] + held

    def settle(self, question_asked: str | None = None) -> list[str]:
        """Sentences to say after the path is done, so that the reply is the whole truth.
        Held sentences are judged again first; those now true are spoken at once."""
        held, self._held = self._held, []
        for sentence in held:
            self._judge(sentence, hold=False)
        out: list[str] = []
        if question_asked and not self._asked(question_asked):
            out.append(question_asked)  # a held tool call: the user must hear what to answer
        for result in self.results:
            if result.action.device in self.covered:
                continue
            self.covered.add(result.action.device)
            out.append(self.describe(result))
        real = [v for v in self.dropped if v.reason not in _MINOR]
        if out or (self.spoken and not real) or not self.dropped:
            return list(dict.fromkeys(s for s in out if s and s not in self.spoken))
        return self._instead(real)

    def _instead(self, real: list[Verdict]) -> list[str]:
        """What to say when the model's claims were dropped and nothing true replaced them."""
        claims = [c for v in real for c in v.claims[:1]]
        asked = self.catalog.refer(normalize(self.question))
        if self.topic and (any(c.kind in ("state", "reading") for c in claims)
                           or self.question.rstrip().endswith("?")):
            sentences = []
            for device in sorted(self.topic)[:MAX_STATES]:
                result = self.query(device)
                self.results.append(result)
                sentences.append(self.describe(result))
            return sentences
        if any(c.kind == "live" for c in claims) or self.asked_live:
            return [NO_MUSIC if self.live == "playing" else self.offline]
        unknown = [u for u in asked.unknown if u.split()[-1] not in GENERIC_THINGS]
        if unknown and not asked.named and not asked.everything:
            return [f"I don't know a device called the {unknown[0]}."]
        if any(c.kind == "change" and c.families & (DEVICE_FAMILIES | {"echo"}) for c in claims):
            return [NOTHING_CHANGED]
        return [CANT_HERE]

    def _asked(self, question: str) -> bool:
        """Was the held question put to the user, in the model's words or in its own?"""
        about = mentions([question], self.catalog)
        return any(s == question or (s.rstrip().endswith("?")
                                     and mentions([s], self.catalog) & about)
                   for s in self.spoken)

    def _speak(self, sentence: str) -> None:
        self.spoken.append(sentence)
        self._say(sentence)

    def _acted(self) -> set[str]:
        return {r.action.device for r in self.results}

    def _states(self, claims: Sequence[Claim]) -> dict[str, DeviceState]:
        """The real states the claims need, read through the executor (a query changes nothing)."""
        wanted: set[str] = set()
        for claim in claims:
            if claim.kind not in ("state", "reading"):
                continue
            ref = claim.ref
            wanted |= ref.devices | ref.generic | self._acted()
            for area in ref.areas:
                wanted |= self.catalog.areas[area]
        states: dict[str, DeviceState] = {}
        for device in sorted(wanted & set(self.catalog.devices)):
            result = self.query(device)
            states[device] = DeviceState(result.state, dict(result.attributes))
        return states


def _may_come_true(verdict: Verdict) -> bool:
    """A device change claimed before any action ran: a tool call may still make it true."""
    claim = verdict.claims[0] if verdict.claims else None
    return (claim is not None and verdict.reason in ("nothing_done", "not_done")
            and claim.kind == "change" and not claim.families & NO_TOOL_FAMILIES)


def topic(question: str, context: Sequence[str], catalog: Catalog) -> frozenset[str]:
    """The devices a question is about; the last turn's only when the question names no thing
    ("is it still on?"), so "is the back door locked" is not about the fan asked about before."""
    asked = catalog.refer(normalize(question))
    if asked.named or asked.unknown or asked.areas or asked.everything:
        return mentions([question], catalog)
    return mentions([question, *context[-2:]], catalog)


def executor_query(executor: Any) -> Query:
    """A Query reading through the one executor."""
    from assistant.brain.types import Action

    def query(device: str) -> ActionResult:
        return executor.run(Action(device, "query"))  # type: ignore[no-any-return]

    return query
