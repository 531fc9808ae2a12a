"""Falling back fast: the cloud answers HTTP 500, the local model answers; how long it takes.

    .venv/bin/python bench/fallback_bench.py [--runs 3] [--warm 5] [--model smollm2|qwen-standin|PATH]

Measured from the call to Router.answer (the end of the final transcript) to the first audio
chunk piper makes of the first sentence (the first reply audio), wall and CPU seconds of this
process. The scripted OpenAI-compatible server (tests/llm_server.py) answers every request with
HTTP 500 and counts them; the breaker is kept closed (breaker_failures 1000) so every question
really goes to the cloud first.

- cold: a new process per run, built as `assistant run` builds it (build_home with preload:
  local_llm.load auto starts loading and warming the model on a thread, piper is loaded); the
  first question is asked once the model is ready, as when someone speaks after start-up.
  "cold, at once" asks it the moment build_home returns, so it also waits for the load.
- warm: the following questions in the same process, each a different one (no cache of a whole
  prompt helps).
Target: <= 1.5 s, cold and warm.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = ("What is the capital of France?", "Who wrote Hamlet?", "How many legs does a spider "
             "have?", "What colour is the sky?", "Tell me a joke.", "What is two plus two?",
             "Why is the sea salty?", "What do bees make?")


def child(url: str, model: str | None, warm: int, at_once: bool) -> dict[str, Any]:
    from assistant.app import build_home
    from assistant.config import Config, LlmConfig, LocalLlmConfig
    from assistant.tts import PiperSynthesizer

    started = time.perf_counter()
    config = Config(llm=LlmConfig(enabled=True, base_url=url, breaker_failures=1000),
                    local_llm=LocalLlmConfig(model=model, load="auto"))
    tmp = tempfile.mkdtemp(prefix="fallback-")
    config = _with_state(config, tmp)
    home = build_home(config, preload=True)
    synth = PiperSynthesizer()
    next(iter(synth.synthesize("Ready.")))  # as the voice does before listening
    built_s = time.perf_counter() - started
    if not at_once:
        home.brain.local_llm.load()  # waits for the start-up thread
    ready_s = time.perf_counter() - started
    runs = [_ask(home, synth, q) for q in QUESTIONS[: warm + 1]]
    home.close()
    return {"built_s": built_s, "ready_s": ready_s, "runs": runs}


def _with_state(config: Any, tmp: str) -> Any:
    import dataclasses

    from assistant.config import StateConfig

    return dataclasses.replace(config, state=StateConfig(path=f"{tmp}/state.json"))


def _ask(home: Any, synth: Any, question: str) -> dict[str, Any]:
    first: list[float] = []

    def say(sentence: str) -> None:
        if not first:
            next(iter(synth.synthesize(sentence)))
            first.append(time.perf_counter())

    wall, cpu = time.perf_counter(), time.process_time()
    answer = home.brain.answer(question, say)
    return {"first_audio_s": first[0] - wall if first else None,
            "cpu_s": time.process_time() - cpu, "handled_by": answer.handled_by,
            "cloud_error": answer.slots.get("cloud_error"), "reply": answer.reply}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warm", type=int, default=5)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--at-once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from bench.honesty_bench import model_path

    model = model_path(args.model)
    if args.child:
        print(json.dumps(child(args.child, model, args.warm, args.at_once)))
        return 0
    from tests.llm_server import Reply, ScriptedServer

    rows: dict[str, list[dict[str, Any]]] = {"cold": [], "cold, at once": [], "warm": []}
    with ScriptedServer(default=Reply(status=500)) as server:
        for _ in range(args.runs):
            for at_once in (False, True):
                cmd = [sys.executable, __file__, "--child", server.url, "--model", args.model,
                       "--warm", str(args.warm if not at_once else 0)]
                out = subprocess.run(cmd + (["--at-once"] if at_once else []), check=True,
                                     capture_output=True, text=True,
                                     env={"OPENAI_API_KEY": "bench", "PATH": "/usr/bin:/bin",
                                          "HOME": str(Path.home()), "PYTHONPATH": str(ROOT)})
                result = json.loads(out.stdout.strip().splitlines()[-1])
                runs = result["runs"]
                rows["cold, at once" if at_once else "cold"].append(
                    {**runs[0], "ready_s": result["ready_s"]})
                if not at_once:
                    rows["warm"] += runs[1:]
        requests = len(server.requests)
    print(f"model: {args.model}; cloud requests answered 500: {requests}")
    print("case            runs  first audio median / max (s)  CPU-s median  handled_by")
    for name, runs in rows.items():
        audio = [r["first_audio_s"] for r in runs if r["first_audio_s"] is not None]
        cpu = [r["cpu_s"] for r in runs]
        by = {r["handled_by"] for r in runs}
        print(f"{name:15} {len(runs):4}  {statistics.median(audio):6.2f} / {max(audio):5.2f}"
              f"              {statistics.median(cpu):6.2f}        {','.join(sorted(by))}")
    ready = [r["ready_s"] for r in rows["cold"]]
    print(f"start-up to model ready (build_home + piper + load/warm): median "
          f"{statistics.median(ready):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
