"""The systemd unit: the settings an appliance relies on; `systemd-analyze verify` is clean."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "assistant.service"
EXEC = "/opt/assistant/venv/bin/assistant"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value (systemd allows repeated keys such as DeviceAllow)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT.read_text(encoding="utf-8"))


def one(unit: dict[str, dict[str, list[str]]], key: str, section: str = "Service") -> str:
    values = unit[section][key]
    assert len(values) == 1, f"{key} set {len(values)} times"
    return values[0]


def test_readiness_watchdog_restart(unit: dict[str, dict[str, list[str]]]) -> None:
    assert one(unit, "Type") == "notify"
    assert one(unit, "NotifyAccess") == "main"
    assert one(unit, "WatchdogSec").rstrip("s").isdigit()
    assert one(unit, "Restart") == "on-failure"
    assert one(unit, "RestartSec")
    assert one(unit, "ExecStart") == f"{EXEC} run --config /etc/assistant/assistant.yaml"
    assert one(unit, "WantedBy", "Install") == "multi-user.target"


def test_user_groups_state_secrets(unit: dict[str, dict[str, list[str]]]) -> None:
    assert one(unit, "User") == "assistant"
    assert set(one(unit, "SupplementaryGroups").split()) == {"audio", "gpio"}
    assert one(unit, "StateDirectory") == "assistant"
    assert one(unit, "ReadWritePaths") == "/var/lib/assistant"
    assert one(unit, "EnvironmentFile") == "-/etc/assistant/secrets.env"


def test_hardening_leaves_sound_and_gpio(unit: dict[str, dict[str, list[str]]]) -> None:
    for key, value in {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes", "DevicePolicy": "closed",
    }.items():
        assert one(unit, key) == value, key
    allowed = unit["Service"]["DeviceAllow"]
    assert "char-alsa rw" in allowed
    assert "char-gpiochip rw" in allowed
    # PrivateDevices would hide /dev/snd and /dev/gpiochip*, whatever DeviceAllow says.
    assert "PrivateDevices" not in unit["Service"]


def _verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(path)],
        capture_output=True, text=True, timeout=120,
    )


def _problems(done: subprocess.CompletedProcess[str], name: str) -> list[str]:
    # verify exits 0 on "Unknown key ..., ignoring" warnings; for us any line about the unit
    # itself is a failure.
    lines = (done.stdout + done.stderr).splitlines()
    problems = [line for line in lines if name in line]
    if done.returncode:
        problems.append(f"systemd-analyze exited {done.returncode}")
    return problems


needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze not installed (apt install systemd)",
)


@needs_systemd
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists the ExecStart binary exists; the venv only exists on an installed Pi, so the
    # copy points at a binary that exists here and keeps every other line as it is.
    text = UNIT.read_text(encoding="utf-8")
    assert EXEC in text
    copy = tmp_path / "assistant.service"
    copy.write_text(text.replace(EXEC, "/bin/true"), encoding="utf-8")
    done = _verify(copy)
    assert _problems(done, "assistant.service") == [], done.stderr


@needs_systemd
def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    # The check above is only worth something if it fails on a real mistake.
    text = UNIT.read_text(encoding="utf-8").replace(EXEC, "/bin/true")
    copy = tmp_path / "assistant.service"
    copy.write_text(text.replace("WatchdogSec=", "WatchdogSecs="), encoding="utf-8")
    assert _problems(_verify(copy), "assistant.service")
