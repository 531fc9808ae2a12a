"""Config: every kind of mistake is one message naming file, key and line; exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import declared_pins, load_config, parse_config
from assistant.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config" / "assistant.yaml"


def test_example_config_is_valid():
    config = load_config(EXAMPLE)
    assert config.source_path == str(EXAMPLE)
    assert {d.kind for d in config.devices} == {
        "light", "switch", "fan", "cover", "lock", "binary_sensor", "sensor"
    }
    assert 17 in declared_pins(config)


def test_defaults_when_empty():
    config = parse_config("", "empty.yaml")
    assert config.wake.model == "okay_nabu"
    assert config.devices == ()
    assert config.stt.vosk_grammar is True
    assert parse_config("stt:\n  vosk_grammar: false\n").stt.vosk_grammar is False


BAD = [
    ("unknown key", "wake:\n  modle: hey_jarvis\n", 2, "wake.modle", "unknown key 'modle'"),
    ("wrong type", "endpoint:\n  silence_s: long\n", 2, "endpoint.silence_s", "expected a number"),
    ("bool for int", "stt:\n  threads: yes\n", 2, "stt.threads", "expected a whole number"),
    ("grammar not a bool", "stt:\n  engine: vosk\n  vosk_grammar: 1\n", 3, "stt.vosk_grammar",
     "expected true or false"),
    ("bad choice", "stt:\n  engine: sphinx\n", 2, "stt.engine", "'sphinx' is not one of"),
    (
        "duplicate id",
        "devices:\n  - {id: a, name: one, kind: light, pin: 3}\n"
        "  - {id: a, name: two, kind: light, pin: 4}\n",
        3, "devices[1].id", "duplicate device id 'a'",
    ),
    (
        "pin twice",
        "devices:\n  - {id: a, name: one, kind: light, pin: 3}\n"
        "  - {id: b, name: two, kind: switch, pin: 3}\n",
        3, "devices[1].pin", "GPIO 3 is already used by device 'a'",
    ),
    (
        "same spoken name",
        "devices:\n  - {id: a, name: lamp, kind: light, pin: 3}\n"
        "  - {id: b, name: desk, aliases: [Lamp], kind: light, pin: 4}\n",
        3, "devices[1].name", "already used by device 'a'",
    ),
    ("missing pin", "devices:\n  - {id: a, name: one, kind: light}\n", 2, "devices[0].pin",
     "needs a pin"),
    ("not a BCM pin", "devices:\n  - {id: a, name: one, kind: light, pin: 40}\n", 2,
     "devices[0].pin", "not a BCM pin"),
    ("missing name", "devices:\n  - {id: a, kind: light, pin: 4}\n", 2, "devices[0].name",
     "missing required key 'name'"),
    ("sensor source", "devices:\n  - {id: t, name: t, kind: sensor}\n", 2, "devices[0].source",
     "needs a source"),
    ("bad kind", "devices:\n  - {id: a, name: a, kind: toaster, pin: 3}\n", 2, "devices[0].kind",
     "'toaster' is not one of"),
    ("broken yaml", "wake: [okay\n", 2, "", "not valid YAML"),
    ("suppression too strong", "audio:\n  noise_suppression: 5\n", 2, "audio.noise_suppression",
     "out of range (0-4"),
    ("gain out of range", "audio:\n  input_device: null\n  auto_gain_dbfs: 40\n", 3,
     "audio.auto_gain_dbfs", "out of range (0-31"),
    ("suppression not a number", "audio:\n  noise_suppression: high\n", 2,
     "audio.noise_suppression", "expected a whole number"),
    ("negative gain", "audio:\n  auto_gain_dbfs: -3\n", 2, "audio.auto_gain_dbfs",
     "out of range (0-31"),
    ("wake suppression too strong", "wake:\n  noise_suppression: 5\n", 2,
     "wake.noise_suppression", "out of range (0-4"),
    ("wake threshold above 1", "wake:\n  verify: true\n  threshold: 1.5\n", 3, "wake.threshold",
     "out of range"),
    ("bad sensitivity", "wake:\n  sensitivity: loud\n", 2, "wake.sensitivity",
     "'low', 'medium', 'high'"),
]


@pytest.mark.parametrize(("text", "line", "key", "message"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_config_names_file_key_and_line(text, line, key, message):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "home.yaml")
    err = info.value
    assert err.file == "home.yaml"
    assert err.line == line
    assert err.key == key
    assert message in str(err)
    assert str(err).startswith(f"home.yaml:{line}")


@pytest.mark.parametrize("case", BAD[:6], ids=[b[0] for b in BAD[:6]])
def test_cli_check_config_exits_2_without_traceback(tmp_path, case):
    name, text, line, key, message = case
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "check-config", "--config", str(path)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"assistant: error: {path}:{line}: {key}: " + _detail(text)
    assert message in proc.stderr


def _detail(text: str) -> str:
    try:
        parse_config(text, "x")
    except ConfigError as exc:
        return exc.detail
    raise AssertionError("config should be bad")


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "cannot read" in str(info.value)


def test_cli_check_config_ok():
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "check-config", "--config", str(EXAMPLE)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK (10 devices)" in proc.stdout
