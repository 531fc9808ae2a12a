"""The cloud path: any OpenAI-compatible chat endpoint, streamed sentence by sentence into say().

Timeouts are enforced here, not left to the client: the request and the stream run on a worker
thread and this thread waits on a queue against two deadlines, ``first_token_timeout_s`` (from
the request to the first text or tool-call token) and ``stall_timeout_s`` (between tokens,
measured from when a token arrived, so a slow say() is not mistaken for a stalled server).
Every failure is an LLMError whose ``reason`` says what happened (no_key, key_file, dns,
refused, tls, connection, timeout, http_<status>, rate_limit, first_token_timeout, stall, empty).
"""

from __future__ import annotations

import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from assistant.brain.claims import Fact
from assistant.brain.tools import DeviceTools
from assistant.brain.types import ActionResult
from assistant.config import LlmConfig
from assistant.errors import LLMError
from assistant.secrets import SecretFileError, load_api_key

_LOGGER = logging.getLogger(__name__)

MAX_ROUNDS = 3
"""Requests per answer: the question, the tool results, and one retry after a refused call."""


@dataclass
class LlmReply:
    text: str
    """Everything said, sentence by sentence, joined."""
    results: list[ActionResult] = field(default_factory=list)
    rounds: int = 1


@dataclass
class _Call:
    id: str = ""
    name: str = ""
    arguments: str = ""


class CloudLLM:
    def __init__(self, config: LlmConfig, tools: DeviceTools,
                 environ: Mapping[str, str] | None = None,
                 splitter_factory: Callable[[], Any] | None = None):
        self.config = config
        self.tools = tools
        self.environ = environ
        self._splitter_factory = splitter_factory or _default_splitter
        self._client: Any = None
        self._client_key: str | None = None

    def client(self) -> Any:
        try:
            key = load_api_key(self.config, self.environ)
        except SecretFileError as exc:
            raise LLMError(str(exc), reason="key_file") from exc
        if not key:
            raise LLMError(f"no API key: set {self.config.api_key_env} or llm.api_key_file",
                           reason="no_key")
        if self._client is None or key != self._client_key:
            import openai

            # The read timeout is only a backstop that ends the worker thread; the deadlines
            # that decide a fallback are the watchdog's, below.
            backstop = max(self.config.first_token_timeout_s, self.config.stall_timeout_s) + 1
            self._client = openai.OpenAI(
                base_url=self.config.base_url, api_key=key, max_retries=0,
                timeout=openai.Timeout(backstop, connect=self.config.connect_timeout_s))
            self._client_key = key
        return self._client

    def warm(self) -> None:
        """Import the client and build it now, not on the first question (~0.5 s)."""
        try:
            self.client()
        except LLMError as exc:
            _LOGGER.warning("The cloud LLM will be skipped: %s", exc)

    def answer(self, messages: list[dict[str, Any]], say: Callable[[str], None],
               results: list[ActionResult] | None = None) -> LlmReply:
        """Stream an answer into say(); device tool calls run through the shared executor.

        ``results`` (if given) receives every action as it runs, so a caller still knows what
        happened when this raises LLMError half-way.
        """
        client = self.client()
        done: list[ActionResult] = [] if results is None else results
        spoken: list[str] = []

        def speak(sentence: str) -> None:
            spoken.append(sentence)
            say(sentence)

        msgs = list(messages)
        retried = False
        held: list[str] = []
        for round_no in range(1, MAX_ROUNDS + 1):
            content, calls = self._round(client, msgs, speak)
            if not calls:
                if not spoken and held:
                    for question in dict.fromkeys(held):  # the model forgot to ask
                        speak(Fact(question))
                if not spoken:
                    if not done:
                        raise LLMError("the model sent an empty answer", reason="empty")
                    for result in done:  # the model ran a tool but said nothing about it
                        speak(Fact(self.tools.spoken(result)))
                return LlmReply(" ".join(spoken), done, round_no)
            outcomes = [self.tools.call(c.name, c.arguments) for c in calls]
            done.extend(o.result for o in outcomes if o.result is not None)
            msgs.append({"role": "assistant", "content": content or None, "tool_calls": [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments}} for c in calls]})
            msgs.extend({"role": "tool", "tool_call_id": c.id, "content": o.content}
                        for c, o in zip(calls, outcomes, strict=True))
            held.extend(o.spoken for o in outcomes if o.held)
            refused = [o.spoken for o in outcomes if o.result is None and not o.held]
            if refused and (retried or round_no == MAX_ROUNDS):
                # The model had its retry: tell the user plainly instead of a third attempt.
                for sentence in dict.fromkeys(refused):
                    speak(Fact(sentence))
                return LlmReply(" ".join(spoken), done, round_no)
            retried = retried or bool(refused)
        for result in done:  # out of rounds with tools still being called
            speak(Fact(self.tools.spoken(result)))
        return LlmReply(" ".join(spoken) or "", done, MAX_ROUNDS)

    def _round(self, client: Any, messages: list[dict[str, Any]],
               speak: Callable[[str], None]) -> tuple[str, list[_Call]]:
        request: dict[str, Any] = {
            "model": self.config.model, "messages": messages, "stream": True,
            "max_tokens": self.config.max_tokens, "temperature": self.config.temperature,
        }
        specs = self.tools.specs()
        if specs:
            request["tools"] = specs
        splitter = self._splitter_factory()
        text: list[str] = []
        calls: dict[int, _Call] = {}
        for chunk in self._watched(client, request):
            delta = chunk.choices[0].delta
            if delta.content:
                text.append(delta.content)
                for sentence in splitter.feed(delta.content):
                    speak(sentence)
            for tc in delta.tool_calls or ():
                call = calls.setdefault(tc.index if tc.index is not None else len(calls), _Call())
                call.id = tc.id or call.id
                if tc.function is not None:
                    call.name += tc.function.name or ""
                    call.arguments += tc.function.arguments or ""
        last = splitter.flush()
        if last:
            speak(last)
        ordered = [calls[i] for i in sorted(calls)]
        for i, call in enumerate(ordered):
            call.id = call.id or f"call_{i}"
        return "".join(text), ordered

    def _watched(self, client: Any, request: dict[str, Any]) -> Iterator[Any]:
        """The stream's chunks with content, under the first-token and stall deadlines."""
        # Unbounded, but a stream is bounded by max_tokens; the worker must never block on it.
        events: queue.Queue[tuple[str, Any, float]] = queue.Queue()
        stop = threading.Event()
        holder: list[Any] = []

        def pump() -> None:
            try:
                stream = client.chat.completions.create(**request)
                holder.append(stream)
                for chunk in stream:
                    if stop.is_set():
                        break
                    events.put(("chunk", chunk, time.monotonic()))
            except BaseException as exc:  # handed over to the waiting thread
                events.put(("error", exc, time.monotonic()))
            else:
                events.put(("end", None, time.monotonic()))
            finally:
                if stop.is_set():
                    _close(holder)

        started = time.monotonic()
        threading.Thread(target=pump, name="llm-cloud", daemon=True).start()
        first, last = True, started
        try:
            while True:
                limit = self.config.first_token_timeout_s if first else self.config.stall_timeout_s
                try:
                    kind, item, at = events.get(timeout=max(0.0, last + limit - time.monotonic()))
                except queue.Empty:
                    reason = "first_token_timeout" if first else "stall"
                    raise LLMError(f"no {'first token' if first else 'token'} from the cloud "
                                   f"within {limit:g} s", reason=reason) from None
                if kind == "end":
                    return
                if kind == "error":
                    raise translate_error(item) from item
                if item.choices and (item.choices[0].delta.content
                                     or item.choices[0].delta.tool_calls):
                    if first:
                        _LOGGER.debug("First cloud token after %.0f ms", (at - started) * 1000)
                    first, last = False, at
                    yield item
        finally:
            stop.set()
            _close(holder)


def _close(holder: list[Any]) -> None:
    for stream in holder:
        try:
            stream.close()
        except Exception:  # closing a half-read response from another thread may complain
            _LOGGER.debug("closing the cloud stream failed", exc_info=True)


def translate_error(exc: BaseException) -> LLMError:
    """An openai / httpx / OS error as an LLMError with a reason code."""
    import openai

    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, openai.RateLimitError):
        return LLMError("the cloud is rate limiting (HTTP 429)", reason="rate_limit")
    if isinstance(exc, openai.APIStatusError):
        return LLMError(f"the cloud answered HTTP {exc.status_code}: {exc.message}",
                        reason=f"http_{exc.status_code}")
    if isinstance(exc, openai.APITimeoutError):
        return LLMError("the cloud request timed out", reason="timeout")
    if isinstance(exc, openai.APIConnectionError):
        reason = _connection_reason(exc)
        return LLMError(f"cannot reach the cloud ({reason}): {_root(exc)}", reason=reason)
    return LLMError(f"the cloud request failed: {type(exc).__name__}: {exc}", reason="error")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _root(exc: BaseException) -> str:
    return str(list(_chain(exc))[-1]) or type(exc).__name__


def _connection_reason(exc: BaseException) -> str:
    for err in _chain(exc):
        if isinstance(err, ssl.SSLError | ssl.CertificateError):
            return "tls"
        if isinstance(err, socket.gaierror):
            return "dns"
        if isinstance(err, ConnectionRefusedError):
            return "refused"
    words = " ".join(str(e) for e in _chain(exc)).lower()
    if "ssl" in words or "certificate" in words or "tls" in words:
        return "tls"
    if "name or service" in words or "name resolution" in words or "getaddrinfo" in words \
            or "nodename" in words:
        return "dns"
    if "refused" in words:
        return "refused"
    return "connection"


def _default_splitter() -> Any:
    from assistant.tts import SentenceSplitter

    return SentenceSplitter()
