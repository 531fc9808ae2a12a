"""One exception tree for the whole assistant.

Third-party errors are wrapped at the adapter that called them (``raise ... from exc``), so the
CLI can turn any of these into one line and an exit status without a traceback.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the assistant raises on purpose."""

    exit_status = 1


class ConfigError(AssistantError, ValueError):
    """The configuration file is wrong; names the file, the key and the line."""

    exit_status = 2

    def __init__(self, message: str, *, file: str = "", key: str = "", line: int | None = None):
        self.file = file
        self.key = key
        self.line = line
        self.detail = message
        where = file or "<config>"
        if line is not None:
            where += f":{line}"
        if key:
            where += f": {key}"
        super().__init__(f"{where}: {message}")


class ModelMissingError(AssistantError, FileNotFoundError):
    """A model file or folder is not where the config says; the message says how to get it."""

    exit_status = 2


class AudioDeviceError(AssistantError, OSError):
    """No usable microphone or speaker; the message says what was found."""

    exit_status = 3


class DeviceError(AssistantError):
    """A device action failed or was refused (unknown device, unsupported action, bad value)."""


class UnknownDeviceError(DeviceError, KeyError):
    """A command named a device or area that the config does not declare."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(name)

    def __str__(self) -> str:
        return f"unknown device {self.name!r}"


class LLMError(AssistantError):
    """A language-model call failed; the router falls back to the next path."""

    def __init__(self, message: str, *, reason: str = "error"):
        self.reason = reason
        """A short code for logs and the fallback decision (refused, timeout, http_500, ...)."""
        super().__init__(message)
