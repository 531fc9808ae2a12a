"""The cloud API key: from the environment, or from a file only its owner can read.

The key never comes from the YAML config (which may sit in git). A key file readable by group or
others is refused, not used: a leaked key costs money and the fix (chmod 600) is one command.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from assistant.config import LlmConfig
from assistant.errors import AssistantError


class SecretFileError(AssistantError, PermissionError):
    """The key file is missing, unreadable or readable by others; the message says the fix."""

    exit_status = 2


def load_api_key(llm: LlmConfig, environ: Mapping[str, str] | None = None) -> str | None:
    """The key from ``llm.api_key_env``, else from ``llm.api_key_file``; None when neither is set.

    Raises SecretFileError when a key file is configured but unsafe or unreadable.
    """
    env = os.environ if environ is None else environ
    key = env.get(llm.api_key_env, "").strip() if llm.api_key_env else ""
    if key:
        return key
    if llm.api_key_file:
        return read_key_file(llm.api_key_file)
    return None


def read_key_file(path: str | Path) -> str | None:
    file = Path(path).expanduser()
    try:
        info = file.stat()
    except FileNotFoundError as exc:
        raise SecretFileError(f"the API key file {file} does not exist; create it with "
                              f"the key on one line and chmod 600 {file}") from exc
    except OSError as exc:
        raise SecretFileError(f"cannot read the API key file {file}: {exc.strerror}") from exc
    mode = stat.S_IMODE(info.st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretFileError(f"refusing the API key file {file}: its mode is {mode:04o}, "
                              f"readable by others; run: chmod 600 {file}")
    try:
        key = file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretFileError(f"cannot read the API key file {file}: {exc.strerror}") from exc
    return key or None
