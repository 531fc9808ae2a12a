"""The cloud API key: from the environment, or from a file only its owner can read.

The key never comes from the YAML config (which may sit in git). A key file readable by group or
others is refused, not used: a leaked key costs money and the fix (chmod 600) is one command.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from assistant.config.sections import LlmConfig
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
    if not key and llm.api_key_file:
        key = read_key_file(llm.api_key_file) or ""
    remember_secret(key)
    return key or None


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


# -- keeping keys out of logs ----------------------------------------------------------------
_KNOWN: set[str] = set()
REDACTED = "[redacted]"
MIN_SECRET_CHARS = 8
"""Shorter values are not masked: they would blank out ordinary words."""


def remember_secret(value: str | None) -> None:
    """A key that must never be printed: every log line passing RedactingFilter is masked."""
    if value and len(value) >= MIN_SECRET_CHARS:
        _KNOWN.add(value)


def redact(text: str) -> str:
    for secret in _KNOWN:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """On a log handler: masks known keys in messages and tracebacks (a server's error text,
    an exception, can repeat the key it was sent)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _KNOWN:
            return True
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# -- keys where they do not belong ---------------------------------------------------------------
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_PARAMS = {"key", "api_key", "apikey", "api-key", "token", "access_token", "auth",
                  "secret", "password", "sig", "signature", "code"}


def looks_like_a_key(value: str) -> bool:
    """Whether a value given as an environment variable's name is a key instead: variable
    names are letters, digits and _ (OPENAI_API_KEY); keys have dashes (sk-...), or are long
    runs of letters and digits without the underscores names use."""
    if not _ENV_NAME.match(value):
        return True
    return len(value) >= 20 and "_" not in value and any(c.isdigit() for c in value)


def credential_in_url(url: str) -> bool:
    """A user:password@ part, or a query parameter named like a key (key=, token=, ...)."""
    parts = urlsplit(url)
    names = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    return bool(parts.username or parts.password or names & _SECRET_PARAMS)
