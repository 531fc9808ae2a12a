"""The installers fail early and clearly: a 32-bit system, an unsupported Python or a service user
without its groups is named before apt or pip changes anything; uninstall keeps or removes the
state as asked. `uname`, `python3`, `id` and the system tools are stand-ins on PATH; the Python
stand-in is the real interpreter with its version and pointer size changed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
INSTALL = REPO / "scripts" / "install-pi.sh"
UNINSTALL = REPO / "scripts" / "uninstall-pi.sh"
SETUP = REPO / "scripts" / "setup.sh"

SITECUSTOMIZE = """
import os, struct, sys
major, minor, bits = (int(x) for x in os.environ["FAKE_PYTHON"].split())
sys.version_info = (major, minor, 0, "final", 0)
_calcsize = struct.calcsize
struct.calcsize = lambda fmt: bits // 8 if fmt == "P" else _calcsize(fmt)
"""

# Every system tool the installers may call records its arguments and does nothing.
RECORDED = ("apt-get", "apt-cache", "dpkg-query", "useradd", "usermod", "groupadd", "userdel",
            "systemctl", "runuser", "install", "getent", "pip", "pip3", "ln", "chown")


def tool(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    site = tmp_path / "site"
    bin_dir.mkdir()
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    tool(bin_dir / "python3", f'PYTHONPATH="{site}" exec "{sys.executable}" "$@"')
    tool(bin_dir / "uname", 'echo "$FAKE_MACHINE"')
    tool(bin_dir / "id", """
case "$1 $2" in
  "-u ") echo "${FAKE_UID:-1000}" ;;
  "-u assistant") [ -n "$FAKE_GROUPS" ] && echo 999 || exit 1 ;;
  "-nG assistant") echo "$FAKE_GROUPS" ;;
  *) exit 1 ;;
esac""")
    for name in RECORDED:
        tool(bin_dir / name, f'echo "{name} $*" >> "{tmp_path}/calls"')
    return tmp_path


def run(script: Path, fakes: Path, *args: str, machine: str = "aarch64", python: str = "3 11 64",
        **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PATH": f"{fakes / 'bin'}:{os.environ['PATH']}",
               "FAKE_MACHINE": machine, "FAKE_PYTHON": python, "FAKE_GROUPS": "", **env}
    environ.pop("PYTHON", None)
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                          env=environ, timeout=60)


def calls(fakes: Path) -> list[str]:
    path = fakes / "calls"
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("machine", ["armv7l", "armv6l"])
def test_a_32_bit_pi_is_turned_away_before_anything_is_installed(fakes: Path, machine: str) -> None:
    done = run(INSTALL, fakes, machine=machine, FAKE_UID="0")
    assert done.returncode == 1
    assert f"32-bit system ({machine})" in done.stderr
    assert "onnxruntime and ctranslate2" in done.stderr and "64-bit" in done.stderr
    assert calls(fakes) == []  # no apt, no user, no pip


def test_a_32_bit_userland_on_a_64_bit_kernel_is_named(fakes: Path) -> None:
    # The 32-bit Raspberry Pi OS boots a 64-bit kernel on a Pi 4: uname says aarch64.
    done = run(INSTALL, fakes, "--check", machine="aarch64", python="3 11 32")
    assert done.returncode == 1
    assert "32-bit program on a 64-bit kernel" in done.stderr
    assert "Raspberry Pi OS (64-bit)" in done.stderr


@pytest.mark.parametrize("python", ["3 9 64", "3 12 64", "3 14 64"])
def test_an_unsupported_python_is_named(fakes: Path, python: str) -> None:
    done = run(INSTALL, fakes, machine="aarch64", python=python, FAKE_UID="0")
    version = ".".join(python.split()[:2])
    assert done.returncode == 1
    assert f"Python {version} is not supported" in done.stderr
    assert "3.11" in done.stderr and "3.13" in done.stderr
    assert calls(fakes) == []


@pytest.mark.parametrize(("machine", "python", "said"), [
    ("aarch64", "3 11 64", "python: 3.11 (Bookworm)"),
    ("aarch64", "3 13 64", "python: 3.13 (Trixie; GPIO through Debian's python3-lgpio)"),
    ("x86_64", "3 13 64", "python: 3.13"),
])
def test_a_supported_machine_passes_the_checks(fakes: Path, machine: str, python: str,
                                               said: str) -> None:
    done = run(INSTALL, fakes, "--check", machine=machine, python=python)
    assert done.returncode == 0, done.stderr
    assert f"install: machine: {machine}" in done.stdout
    assert said in done.stdout
    assert "user assistant: created on install" in done.stdout
    assert calls(fakes) == []


def test_a_service_user_without_its_groups_is_named(fakes: Path) -> None:
    done = run(INSTALL, fakes, "--check", FAKE_GROUPS="assistant audio")
    assert done.returncode == 1
    assert "not in the group(s) gpio" in done.stderr
    assert "usermod -a -G gpio assistant" in done.stderr
    done = run(INSTALL, fakes, "--check", FAKE_GROUPS="assistant")
    assert "not in the group(s) audio gpio" in done.stderr
    assert "usermod -a -G audio,gpio assistant" in done.stderr
    done = run(INSTALL, fakes, "--check", FAKE_GROUPS="assistant audio gpio")
    assert done.returncode == 0 and "groups of assistant: audio gpio" in done.stdout


def test_install_needs_root_after_the_checks(fakes: Path) -> None:
    done = run(INSTALL, fakes, FAKE_UID="1000")
    assert done.returncode == 1 and "run it with sudo" in done.stderr
    assert "install: machine: aarch64" in done.stdout  # the checks came first
    assert calls(fakes) == []


def test_setup_turns_an_unsupported_python_away_before_apt(fakes: Path) -> None:
    done = run(SETUP, fakes, python="3 9 64", PYTHON=str(fakes / "bin" / "python3"))
    assert done.returncode == 2
    assert "is not supported: use Python 3.11 to 3.13" in done.stderr
    assert calls(fakes) == []


def layout(root: Path) -> None:
    for folder in ("opt/assistant/venv/bin", "etc/assistant", "var/lib/assistant/models/m",
                   "etc/systemd/system", "usr/local/bin"):
        (root / folder).mkdir(parents=True)
    (root / "etc/assistant/assistant.yaml").write_text("devices: []\n")
    (root / "var/lib/assistant/state.json").write_text("{}\n")
    (root / "etc/systemd/system/assistant.service").write_text("[Unit]\n")
    (root / "usr/local/bin/assistant").symlink_to("/opt/assistant/venv/bin/assistant")


def test_uninstall_keeps_config_state_and_models(fakes: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    layout(root)
    done = run(UNINSTALL, fakes, FAKE_UID="0", FAKE_GROUPS="assistant", ASSISTANT_TEST_ROOT=str(root))
    assert done.returncode == 0, done.stderr
    assert not (root / "opt/assistant").exists()
    assert not (root / "etc/systemd/system/assistant.service").exists()
    assert not (root / "usr/local/bin/assistant").is_symlink()
    assert (root / "etc/assistant/assistant.yaml").is_file()
    assert (root / "var/lib/assistant/state.json").is_file()
    assert (root / "var/lib/assistant/models/m").is_dir()
    assert "--purge removes them" in done.stdout
    assert not any(c.startswith("userdel") for c in calls(fakes))
    assert "systemctl disable --now assistant.service" in calls(fakes)


def test_uninstall_purge_removes_everything_and_the_user(fakes: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    layout(root)
    done = run(UNINSTALL, fakes, "--purge", FAKE_UID="0", FAKE_GROUPS="assistant",
               ASSISTANT_TEST_ROOT=str(root))
    assert done.returncode == 0, done.stderr
    for gone in ("opt/assistant", "etc/assistant", "var/lib/assistant"):
        assert not (root / gone).exists(), gone
    assert "userdel assistant" in calls(fakes)


def test_uninstall_needs_root(fakes: Path, tmp_path: Path) -> None:
    done = run(UNINSTALL, fakes, FAKE_UID="1000", ASSISTANT_TEST_ROOT=str(tmp_path))
    assert done.returncode == 1 and "run it with sudo" in done.stderr
    assert calls(fakes) == []
