"""Secrets never leak: a key given where a variable's name belongs, or inside llm.base_url, is
refused (exit 2) without being shown; and the assistant, run as a process with a canary key
through every failure of a scripted cloud on loopback (refused, 401, 429, 500, a stall, a hang,
a broken tool call), never prints it, in text or JSON logs at debug level, on stdout or in its
state files, even when the server's error message repeats it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import parse_config
from assistant.errors import ConfigError
from assistant.secrets import REDACTED, RedactingFilter, looks_like_a_key, remember_secret
from tests.llm_server import Reply, ScriptedServer, ToolCall, closed_port

REPO = Path(__file__).resolve().parent.parent
CANARY = "sk-canary-7f3a9c0e5b1d4a2f8e6c"


@pytest.mark.parametrize(("value", "key_like"), [
    ("OPENAI_API_KEY", False), ("ASSISTANT_TEST_KEY", False), ("openai_key", False),
    ("GROQ_API_KEY_2", False), (CANARY, True), ("sk-proj-abc123", True),
    ("3f9a0c1e5b7d4a2f8e6c0b1d", True), ("AIzaSyD4fake0Key9Value", True), ("my key", True),
])
def test_what_looks_like_a_key(value: str, key_like: bool) -> None:
    assert looks_like_a_key(value) is key_like


@pytest.mark.parametrize(("text", "key"), [
    (f"llm:\n  api_key_env: {CANARY}\n", "llm.api_key_env"),
    (f"llm:\n  base_url: https://user:{CANARY}@api.example.com/v1\n", "llm.base_url"),
    (f"llm:\n  base_url: 'https://api.example.com/v1?key={CANARY}'\n", "llm.base_url"),
    (f"llm:\n  base_url: 'https://api.example.com/v1?api-version=1&token={CANARY}'\n",
     "llm.base_url"),
])
def test_a_key_in_the_config_is_refused_unseen(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.yaml")
    assert info.value.key == key and info.value.line == 2
    assert CANARY not in str(info.value) and "not shown" in str(info.value)


def test_an_ordinary_query_is_allowed() -> None:
    config = parse_config("llm:\n  base_url: 'https://x.example.com/v1?api-version=2024-06-01'\n")
    assert config.llm.base_url.endswith("api-version=2024-06-01")


def run(args: list[str], config: Path, stdin: str = "", timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_CANARY_KEY": CANARY}
    return subprocess.run([sys.executable, "-m", "assistant", *args, "--config", str(config)],
                          input=stdin, capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=timeout)


def test_check_config_refuses_a_key_without_echoing_it(tmp_path: Path) -> None:
    for text in (f"llm: {{enabled: true, api_key_env: {CANARY}}}\n",
                 f"llm: {{base_url: 'https://u:{CANARY}@h.example.com/v1'}}\n"):
        config = tmp_path / "c.yaml"
        config.write_text(text)
        for command in (["check-config"], ["ask", "-v", "hello"]):
            proc = run(command, config)
            assert proc.returncode == 2, proc.stderr
            assert "Traceback" not in proc.stderr
            assert CANARY not in proc.stdout + proc.stderr


def test_the_redacting_filter_masks_messages_and_tracebacks() -> None:
    remember_secret(CANARY)
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test_secrets.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("the cloud answered HTTP 401: Incorrect API key provided: %s", CANARY)
        try:
            raise RuntimeError(f"bad key {CANARY}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert len(records) == 2
    assert all(CANARY not in r for r in records) and REDACTED in records[0]
    assert "RuntimeError: bad key [redacted]" in records[1]


CONFIG = """\
state: {{path: {state}}}
llm:
  enabled: true
  base_url: {url}
  api_key_env: ASSISTANT_CANARY_KEY
  first_token_timeout_s: 1.0
  stall_timeout_s: 1.0
  connect_timeout_s: 1.0
  breaker_failures: 100
local_llm: {{enabled: false}}
devices:
  - {{id: kitchen_light, name: kitchen light, kind: light, pin: 17}}
"""
QUESTIONS = ["what is the capital of france", "who wrote hamlet", "how far is the moon",
             "tell me a joke", "what is a prime number", "why is the sky blue"]


def failures(key: str) -> list[Reply]:
    """Each failure the cloud path has; the error texts repeat the key, as some servers do."""
    return [
        Reply(status=401, error=f"Incorrect API key provided: {key}"),
        Reply(status=500, error=f"internal error while serving {key}"),
        Reply(status=429, error=f"rate limit for {key}"),
        Reply(text="The answer starts and then the server stops sending", stall_after_tokens=2),
        Reply(header_delay_s=3.0),
        Reply(tool_calls=[ToolCall("control_device", '{"device": "kitchen_light", "act')]),
    ]


def leaks(tmp_path: Path, proc: subprocess.CompletedProcess[str]) -> list[str]:
    where = [name for name, text in (("stdout", proc.stdout), ("stderr", proc.stderr))
             if CANARY in text]
    for file in tmp_path.rglob("*"):
        if file.is_file() and CANARY.encode() in file.read_bytes():
            where.append(str(file))
    return where


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_canary_key_never_leaks_through_any_failure(tmp_path: Path, log_format: str) -> None:
    state = tmp_path / "state"
    with ScriptedServer() as server:
        server.script(*failures(CANARY))
        config = tmp_path / "assistant.yaml"
        config.write_text(CONFIG.format(state=state / "state.json", url=server.url))
        proc = run(["ask", "--json", "-v", "--log-format", log_format], config,
                   stdin="\n".join(QUESTIONS) + "\n")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    # The key really was in use: every request carried it...
    assert len(server.authorizations) >= len(failures(CANARY))
    assert set(server.authorizations) == {f"Bearer {CANARY}"}
    # ...every failure was met (and logged at debug level)...
    for reason in ("http_401", "http_500", "rate_limit", "stall", "first_token_timeout"):
        assert reason in proc.stdout + proc.stderr, reason
    # ...the key appears nowhere...
    assert leaks(tmp_path, proc) == []
    # ...though the server's messages that repeat it were logged, masked.
    assert REDACTED in proc.stderr


def test_a_canary_key_never_leaks_when_the_cloud_is_unreachable(tmp_path: Path) -> None:
    config = tmp_path / "assistant.yaml"
    config.write_text(CONFIG.format(state=tmp_path / "state" / "state.json",
                                    url=f"http://127.0.0.1:{closed_port()}/v1"))
    proc = run(["ask", "--json", "-v"], config, stdin=QUESTIONS[0] + "\n")
    assert proc.returncode == 0, proc.stderr
    assert "refused" in proc.stdout
    assert leaks(tmp_path, proc) == []
