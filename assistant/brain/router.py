"""The router: local intents -> skills -> cloud LLM -> local LLM -> a spoken apology.

Every answer records which path produced it (Answer.handled_by) and when its first sentence was
ready (timings_ms["first_sentence"], from the call to the first say()).

When the cloud fails half-way: if nothing was said and no device changed, the next path starts
afresh and the user never notices. If sentences were already spoken or an action already ran,
the answer is *not* handed to another model: a second model cannot continue a half-spoken
sentence, would repeat or contradict what was heard, and could run a toggle twice. The user
instead hears one short "Sorry, I lost the connection." and the answer stays "cloud".

A language model's words are never trusted about what happened: each sentence is checked before
it is spoken (``assistant.brain.honest``), a false one is dropped and the reply then says what
really happened. Dropped sentences are listed in ``Answer.slots["dropped"]``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from assistant.brain.breaker import CircuitBreaker
from assistant.brain.claims import Catalog
from assistant.brain.honest import CANT_LOOK_UP, OFFLINE, HonestSpeaker, executor_query
from assistant.brain.memory import Memory, build_messages
from assistant.brain.tools import DeviceTools
from assistant.brain.types import ActionResult, Answer, Executor, HandledBy
from assistant.config import Config
from assistant.errors import LLMError, ModelMissingError

_LOGGER = logging.getLogger(__name__)

APOLOGY = "Sorry, I can't answer that right now."
LOST = "Sorry, I lost the connection."

Say = Callable[[str], None]


class LocalPath(Protocol):
    def handle(self, text: str, confidence: float | None = None,
               doubt: str | None = None) -> Answer | None: ...


class SkillsPath(Protocol):
    def handle(self, text: str) -> Answer | None: ...


class LlmPath(Protocol):
    def answer(self, messages: list[dict[str, Any]], say: Say,
               results: list[ActionResult] | None = None) -> Any: ...


class Router:
    def __init__(self, local: LocalPath | None, cloud: LlmPath | None, local_llm: LlmPath | None,
                 config: Config, executor: Executor, *, no_cloud: bool = False,
                 tools: DeviceTools | None = None, memory: Memory | None = None,
                 breaker: CircuitBreaker | None = None,
                 clock: Callable[[], float] = time.monotonic, skills: SkillsPath | None = None):
        self.local = local
        self.skills = skills
        self.last_reply = ""
        """What the previous answer said, for "what did you say" (assistant.brain.skills)."""
        self._turn: _Turn | None = None
        self.cloud = cloud
        self.local_llm = local_llm
        self.config = config
        self.executor = executor
        self.no_cloud = no_cloud
        self.clock = clock
        self.tools = tools or DeviceTools(config.devices, executor)
        llm = config.llm
        self.memory = memory or Memory(llm.memory_turns, llm.memory_timeout_s, clock)
        self.breaker = breaker or CircuitBreaker(llm.breaker_failures, llm.breaker_cooldown_s,
                                                 clock)
        # Built once and never changed: an identical prefix lets llama.cpp reuse its KV cache.
        self.system_prompt = f"{llm.system_prompt}\n\n{self.tools.describe()}"
        self.catalog = Catalog(config.devices)
        self._skipped = ""  # why the cloud was skipped in the current answer, if it was
        self._pending_before: object = None

    def answer(self, text: str, say: Say, confidence: float | None = None,
               doubt: str | None = None) -> Answer:
        """confidence: the transcript's, when it was heard (0-1); low makes the local path
        careful, as does a doubt about it ("rescored", "unsure", "opposite":
        ``assistant.recheck``)."""
        if self._turn is not None and self._turn.spoken:
            self.last_reply = " ".join(self._turn.spoken)
        turn = self._turn = _Turn(self.clock, say)
        local = self.local.handle(text, confidence, doubt) if self.local is not None else None
        turn.mark("local")
        if local is None and self.skills is not None:  # answered like a local command
            local = self.skills.handle(text)
            turn.mark("skills")
        if local is not None:
            if local.reply:
                turn.say(local.reply)
            self.memory.add(text, local.reply)
            local.timings_ms = {**local.timings_ms, **turn.timings()}
            return local
        history = self.memory.messages()
        messages = build_messages(self.system_prompt, history, text)
        context = [str(m.get("content") or "") for m in history]
        self._skipped = ""
        self._pending_before = getattr(self.local, "pending", None)
        reasons: dict[str, str] = {}
        chain: tuple[tuple[HandledBy, LlmPath | None], ...] = (
            ("cloud", self._cloud_path()), ("local_llm", self._local_llm_path()))
        if self._skipped:
            reasons["cloud_error"] = self._skipped
        dropped: list[dict[str, str]] = []
        for name, path in chain:
            if path is None:
                continue
            results: list[ActionResult] = []
            honest = HonestSpeaker(self.catalog, turn.say, results, text, context,
                                   executor_query(self.executor), self.tools.spoken,
                                   offline=OFFLINE if name == "local_llm" else CANT_LOOK_UP)
            try:
                path.answer(messages, honest, results)
            except (LLMError, ModelMissingError) as exc:
                reason = getattr(exc, "reason", "model_missing")
                reasons[f"{name}_error"] = reason
                dropped += honest.report()
                turn.mark(name)
                if name == "cloud":
                    self.breaker.record_failure()
                _LOGGER.warning("%s failed (%s): %s", name, reason, exc)
                if turn.spoken or any(r.action.action != "query" for r in results):
                    turn.say(LOST)  # see the module docstring: never restart a begun answer
                    return self._done(text, name, turn, results, reasons, dropped,
                                      remember=False)
                continue
            if name == "cloud":
                self.breaker.record_success()
            for sentence in honest.settle(self._question()):
                turn.say(sentence)
            dropped += honest.report()
            turn.mark(name)
            return self._done(text, name, turn, results, reasons, dropped, remember=True)
        turn.say(APOLOGY)
        _LOGGER.warning("No path could answer %r: %s", text, reasons or "no LLM configured")
        return self._done(text, "fallback", turn, [], reasons, dropped, remember=False)

    def _cloud_path(self) -> LlmPath | None:
        if self.no_cloud or self.cloud is None or not self.config.llm.enabled:
            return None
        if not self.breaker.allow():
            _LOGGER.info("Cloud skipped: the breaker is %s", self.breaker.state)
            self._skipped = "breaker_open"
            return None
        return self.cloud

    def _local_llm_path(self) -> LlmPath | None:
        if self.local_llm is None or not self.config.local_llm.enabled:
            return None
        return self.local_llm

    def _question(self) -> str | None:
        """The question a tool call held in this answer waits on (see DeviceTools.hold)."""
        pending = getattr(self.local, "pending", None)
        if pending is None or pending is self._pending_before:
            return None
        return str(getattr(pending, "question", "")) or None

    def _done(self, text: str, by: HandledBy, turn: _Turn, results: list[ActionResult],
              reasons: dict[str, str], dropped: list[dict[str, str]], *,
              remember: bool) -> Answer:
        reply = " ".join(turn.spoken)
        if remember:
            self.memory.add(text, reply)
        # A tool call held for a yes (see DeviceTools.hold): listen for the answer at once.
        question = self._question()
        asked = question is not None
        slots: dict[str, Any] = dict(reasons)
        if dropped:
            slots["dropped"] = dropped  # what a model said that was not true, and why
        if asked:
            slots["confirm"] = question  # a yes/no question, as locally
        return Answer(text=text, handled_by=by, reply=reply, slots=slots,
                      results=results, timings_ms=turn.timings(), end_conversation=not asked)


class _Turn:
    """What was said in one answer, and when."""

    def __init__(self, clock: Callable[[], float], say: Say):
        self.clock = clock
        self._say = say
        self.start = clock()
        self.spoken: list[str] = []
        self.first: float | None = None
        self.marks: dict[str, float] = {}
        self._last = self.start

    def say(self, sentence: str) -> None:
        if self.first is None:
            self.first = self.clock()
        self.spoken.append(sentence)
        self._say(sentence)

    def mark(self, stage: str) -> None:
        now = self.clock()
        self.marks[stage] = (now - self._last) * 1000
        self._last = now

    def timings(self) -> dict[str, float]:
        out = dict(self.marks)
        if self.first is not None:
            out["first_sentence"] = (self.first - self.start) * 1000
        out["total"] = (self.clock() - self.start) * 1000
        return out


def build_router(config: Config, local: LocalPath | None, executor: Executor, *,
                 no_cloud: bool = False, preload: bool = False,
                 skills: SkillsPath | None = None) -> Router:
    """The full chain from a config. The local model starts loading and warming now (on a
    thread; the first answer that needs it waits) if local_llm.load is start, or auto with
    ``preload`` (``assistant run``)."""
    from assistant.brain.llm_cloud import CloudLLM
    from assistant.brain.llm_local import LocalLLM

    tools = DeviceTools(config.devices, executor, hold=getattr(local, "hold", None))
    router = Router(local, None, None, config, executor, no_cloud=no_cloud, tools=tools,
                    skills=skills)
    if config.llm.enabled and not no_cloud:
        cloud = CloudLLM(config.llm, tools)
        cloud.warm()
        router.cloud = cloud
    if config.local_llm.enabled:
        local_llm = LocalLLM(config.local_llm, tools, router.system_prompt)
        load = config.local_llm.load
        if load == "start" or (load == "auto" and preload):
            local_llm.load_in_background()
        router.local_llm = local_llm
    return router
