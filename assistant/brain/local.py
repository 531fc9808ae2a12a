"""The local path of the router: match a sentence, run its actions, say a short reply."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from assistant.brain.intents import IntentMatch, LocalIntents, UnknownEntity
from assistant.brain.replies import build_reply
from assistant.brain.timers import TimerManager, timer_command
from assistant.brain.types import ActionResult, Answer, Executor

_LOGGER = logging.getLogger(__name__)


class LocalBrain:
    """Answers what the local templates understand; None hands the sentence to the next path."""

    def __init__(self, intents: LocalIntents, executor: Executor,
                 now: Callable[[], datetime] = datetime.now, timers: TimerManager | None = None):
        self.intents = intents
        self.executor = executor
        self.now = now
        self.timers = timers

    def handle(self, text: str) -> Answer | None:
        start = time.perf_counter()
        match = self.intents.match(text)
        matched = time.perf_counter()
        if match is None:
            _LOGGER.debug("Not a local command: %r", text)
            return None
        if isinstance(match, UnknownEntity):
            # Nothing runs: a command about an unknown device must never reach another one.
            _LOGGER.info("Unknown %s %r in %r", match.kind, match.text, text)
            results: list[ActionResult] = []
        elif match.reply in ("timer", "stop"):
            results = []
        else:
            results = [self.executor.run(action) for action in match.actions]
        if isinstance(match, IntentMatch) and match.reply == "timer":
            reply = (timer_command(match.intent, match.slots, self.timers) if self.timers
                     else "Timers are not available.")
        elif isinstance(match, IntentMatch) and match.reply == "stop":
            # Stopping the reply itself is done by the pipeline on barge-in; here: the ringing.
            if self.timers is not None:
                self.timers.stop_ringing()
            reply = ""
        else:
            reply = build_reply(match, results, self.intents.device_name, self.now())
        done = time.perf_counter()
        _LOGGER.info("Local %s: %d action(s), reply %r", match.intent, len(results), reply)
        return Answer(
            text=text,
            handled_by="local",
            reply=reply,
            intent=match.intent,
            slots=dict(match.slots),
            results=results,
            timings_ms={"intent": (matched - start) * 1000, "act": (done - matched) * 1000},
        )
