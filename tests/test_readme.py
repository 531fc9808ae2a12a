"""The README is for users and stays short; every command in it is tested by
scripts/check_readme.py; its links and picture are current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import check_readme  # noqa: E402  (a script, not a package)

README = REPO / "README.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_every_command_in_the_readme_works_or_parses() -> None:
    checked, problems = check_readme.check(README.read_text(encoding="utf-8"))
    assert problems == []
    assert checked >= 20


def test_the_readme_stays_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, "README.md is for users: move internals and history to docs/"


def test_the_readme_keeps_the_two_development_commands_exactly() -> None:
    text = README.read_text(encoding="utf-8")
    assert "```sh\nscripts/setup.sh && .venv/bin/assistant run\n```" in text
    assert "```sh\nscripts/test.sh\n```" in text
    assert "OWNER/assistant" not in text  # no made-up clone URL


def test_links_point_at_files_that_exist() -> None:
    for doc in [README, *sorted((REPO / "docs").glob("*.md")), REPO / "THIRD_PARTY.md"]:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            assert (doc.parent / target).exists(), f"{doc.name}: link to missing {target}"


def test_the_wiring_picture_is_drawn_from_the_current_pin_table() -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "wiring_diagram.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    svg = (REPO / "docs" / "wiring.svg").read_text(encoding="utf-8")
    for device in ("kitchen_light", "front_door", "living_room_temperature", "GPIO 17"):
        assert device in svg


BAD = """
```sh
.venv/bin/assistant chek-config
scripts/install-pi.sh --no-such-option
scripts/missing.sh
frobnicate --now
assistant models fetch no-such-model
if then
```

```yaml
devices:
  - {id: a, name: a, kind: light, pin: 17}
  - {id: b, name: b, kind: light, pin: 17}
```

Inline: `assistant run --no-such-flag` and `wake: {acoustic_chek: false}`.
"""


def test_the_checker_finds_what_is_wrong() -> None:
    _checked, problems = check_readme.check(BAD)
    text = "\n".join(problems)
    assert "bash -n" in text  # the block with "if then" does not parse: nothing else in it runs
    good_block = BAD.replace("if then\n", "")
    _checked, problems = check_readme.check(good_block)
    text = "\n".join(problems)
    assert "`assistant chek-config`" not in text  # shown as written
    assert "chek-config" in text and "parser refuses it" in text
    assert "has no option --no-such-option" in text
    assert "scripts/missing.sh is missing" in text
    assert "frobnicate is not a command this checker knows" in text
    assert "no model 'no-such-model'" in text
    assert "GPIO 17 is already used" in text
    assert "--no-such-flag" in text
    assert "acoustic_chek" in text
    assert len(problems) == 8
