#!/usr/bin/env python3
"""Tests every command in README.md, the way each can be tested without side effects.

    scripts/check_readme.py [README.md]      one line per problem; exit 1 if there is any

- Every shell block (```sh) must parse (`bash -n`), placeholders such as <your fork's URL>
  standing in as plain words.
- `assistant ...` (also `.venv/bin/assistant`, `sudo -u assistant assistant`) is parsed by the
  CLI's own argument parser; the harmless ones (--version, --help, check-config, models list,
  ask, devices) are run for real against config/assistant.yaml, with HOME in a temporary folder.
- `scripts/NAME` must exist, be executable and parse; each option it is given must be one the
  script handles; `scripts/install-pi.sh --check` is run for real (it only looks).
- Another program (git, systemctl, journalctl, llama_cpp.server, ...) must be a known one, and
  where it is installed each long option given must appear in its --help.
- Every ```yaml block, and every inline `key: {...}` snippet, goes through the real config
  loader.
Inline `assistant ...` and `scripts/...` spans in the prose are checked like block commands.
The test suite runs this (tests/test_readme.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ASSISTANT = {"assistant", ".venv/bin/assistant", "/opt/assistant/venv/bin/assistant"}
RUN_FOR_REAL = {"--version", "--help", "check-config", "models list", "ask", "devices"}
"""assistant subcommands that only read (a state file in the temporary HOME at most)."""
OTHER_PROGRAMS = {"git", "cd", "systemctl", "journalctl", "ollama", "llama-server", "arecord",
                  "aplay", "alsamixer", "usermod", "python3", "/opt/assistant/venv/bin/python",
                  ".venv/bin/python"}
PLACEHOLDERS = {"FILE": "config/assistant.yaml", "NAME": "whisper-tiny.en"}
"""Words the README uses for "your file", replaced by something real before running."""
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
_INLINE = re.compile(r"(?<!`)`([^`]+)`(?!`)")
_ANGLE = re.compile(r"<[^<>\n]+>")


@dataclass(frozen=True)
class Snippet:
    kind: str  # "sh" or "yaml"
    text: str
    line: int


def snippets(markdown: str) -> Iterator[Snippet]:
    """Fenced sh/yaml blocks, then inline `assistant ...`, `scripts/...` and `key: {...}` spans."""
    fenced: list[tuple[int, int]] = []
    for match in _FENCE.finditer(markdown):
        fenced.append(match.span())
        lang, body = match.group(1).lower(), match.group(2)
        line = markdown.count("\n", 0, match.start()) + 2
        if lang in ("sh", "bash", "shell", "console"):
            yield Snippet("sh", body, line)
        elif lang in ("yaml", "yml"):
            yield Snippet("yaml", body, line)
    for match in _INLINE.finditer(markdown):
        if any(a <= match.start() < b for a, b in fenced):
            continue
        text = " ".join(match.group(1).split())
        line = markdown.count("\n", 0, match.start()) + 1
        first, _, rest = text.partition(" ")
        # A program's bare name is a mention; with arguments (or a script's path) it is a command.
        if (first in ASSISTANT and rest) or first.startswith("scripts/") or (
                first == "sudo" and " scripts/" in text):
            yield Snippet("sh", text, line)
        elif re.fullmatch(r"[a-z_]+: \{.*\}", text) and text.split(":")[0] in _sections():
            yield Snippet("yaml", text, line)


def _sections() -> set[str]:
    """The config file's top-level keys: an inline `key: {...}` with one of them is a snippet
    of a config, anything else (`pins: {open, close}`) a fragment of one."""
    import dataclasses

    from assistant.config import Config

    return {f.name for f in dataclasses.fields(Config)}


def commands(block: str) -> Iterator[list[str]]:
    """Each simple command of a shell block (lines, `&&` and `;` split), as words."""
    for raw in block.splitlines():
        line = _ANGLE.sub("PLACEHOLDER", raw.split(" #", 1)[0]).strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"&&|;|\|\|", line):
            words = shlex.split(part)
            while words and (words[0] == "sudo" or "=" in words[0]):
                words = words[3:] if words[:2] == ["sudo", "-u"] else words[1:]
            if words:
                yield words


class Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.checked = 0
        self.home = tempfile.mkdtemp(prefix="check-readme-")

    def fail(self, line: int, text: str, why: str) -> None:
        self.problems.append(f"README.md:{line}: `{text}`: {why}")

    def shell(self, snippet: Snippet) -> None:
        parsed = subprocess.run(["bash", "-n"], input=_ANGLE.sub("PLACEHOLDER", snippet.text),
                                capture_output=True, text=True)
        if parsed.returncode:
            self.fail(snippet.line, snippet.text.strip(), f"bash -n: {parsed.stderr.strip()}")
            return
        for words in commands(snippet.text):
            self.checked += 1
            text = " ".join(words)
            why = self.command(words)
            if why:
                self.fail(snippet.line, text, why)

    def command(self, words: list[str]) -> str:
        program, args = words[0], [PLACEHOLDERS.get(w, w) for w in words[1:]]
        if program in ASSISTANT:
            return self.assistant(args)
        if program.startswith("scripts/"):
            return self.script(program, args)
        if program not in OTHER_PROGRAMS:
            return f"{program} is not a command this checker knows: add it to OTHER_PROGRAMS"
        if args[:2] == ["-m", "llama_cpp.server"]:
            return self.help_lists([sys.executable, "-m", "llama_cpp.server"], args[2:],
                                   module="llama_cpp")
        if shutil.which(program) and program not in ("cd", "git", "usermod"):
            return self.help_lists([program], args)
        return ""

    def assistant(self, args: list[str]) -> str:
        from assistant.cli import _parser

        parser = _parser()
        errors = io.StringIO()
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
                parser.parse_args(args)
        except SystemExit as exc:
            if exc.code not in (0, None):
                return f"the CLI's parser refuses it: {errors.getvalue().strip().splitlines()[-1]}"
        if args[:2] == ["models", "fetch"] and len(args) > 2:
            from assistant.models import REGISTRY

            if args[2] not in REGISTRY:
                return f"no model {args[2]!r} in assistant/models.py (known: {', '.join(REGISTRY)})"
        sub = " ".join(args[:2]) if args[:1] == ["models"] else (args[0] if args else "")
        if sub not in RUN_FOR_REAL or "--audio" in args:
            return ""
        env = {**os.environ, "HOME": self.home, "PYTHONPATH": str(ROOT),
               "ASSISTANT_CONFIG": str(ROOT / "config" / "assistant.yaml"),
               "ASSISTANT_MODELS_DIR": str(Path(self.home) / "models"),
               "GPIOZERO_PIN_FACTORY": "mock", "GPIOZERO_MOCK_PIN_CLASS": "mockpwmpin"}
        done = subprocess.run([sys.executable, "-m", "assistant", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            return f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}"
        return ""

    def script(self, program: str, args: list[str]) -> str:
        path = ROOT / program
        if not path.is_file() or not os.access(path, os.X_OK):
            return f"{program} is missing or not executable"
        text = path.read_text(encoding="utf-8")
        parsed = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        if parsed.returncode:
            return f"bash -n: {parsed.stderr.strip()}"
        for arg in args:
            if arg.startswith("-") and not re.search(rf"(^|\s|\|){re.escape(arg)}(\)|\|)", text, re.M):
                return f"{program} has no option {arg}"
        if program == "scripts/install-pi.sh" and args == ["--check"]:
            done = subprocess.run(["bash", str(path), "--check"], capture_output=True, text=True,
                                  timeout=60)
            # A machine the installer turns away (say Python 3.12) is the script working, not
            # the README being wrong; anything else it says is.
            if done.returncode and "is not supported" not in done.stderr:
                return f"--check failed here: {done.stderr.strip()}"
        return ""

    def help_lists(self, argv: list[str], args: list[str], module: str | None = None) -> str:
        """Each long option given must appear in the program's --help."""
        if module and not _importable(module):
            return ""  # not installed here: the name was checked, the options cannot be
        done = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=120)
        help_text = done.stdout + done.stderr
        for arg in args:
            option = arg.split("=", 1)[0]
            if option.startswith("--") and option not in help_text:
                return f"{option} is not in `{' '.join(argv)} --help`"
        return ""

    def yaml(self, snippet: Snippet) -> None:
        from assistant.config import parse_config
        from assistant.errors import ConfigError

        self.checked += 1
        try:
            parse_config(snippet.text, file=f"README.md:{snippet.line}")
        except ConfigError as exc:
            self.fail(snippet.line, snippet.text.strip().splitlines()[0], f"config: {exc}")


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def check(markdown: str) -> tuple[int, list[str]]:
    checker = Checker()
    try:
        for snippet in snippets(markdown):
            if snippet.kind == "sh":
                checker.shell(snippet)
            else:
                checker.yaml(snippet)
    finally:
        shutil.rmtree(checker.home, ignore_errors=True)
    return checker.checked, checker.problems


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else ROOT / "README.md"
    checked, problems = check(path.read_text(encoding="utf-8"))
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"check_readme: {checked} commands and config snippets, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
