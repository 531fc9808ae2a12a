"""The dashboard's password, sessions, CSRF tokens and login rate limiting.

The password comes from a file only its owner can read (``web.password_file``), or is set once
on the page from this machine and kept scrypt-hashed (mode 0600) beside the state file. Only a
hash is ever kept in memory or on disk; nothing here is ever sent to a browser or logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import stat
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import AssistantError
from assistant.secrets import SecretFileError

_LOGGER = logging.getLogger(__name__)

SCRYPT_N = 2**14
"""scrypt's cost: 16 MiB and ~50 ms per hash on this project's x86 machines (a Pi 4 takes
several times longer), which makes a stolen hash slow to guess and a login no faster."""
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_CHARS = 8
SESSION_IDLE_S = 12 * 3600.0
"""A session unused this long is forgotten (the page asks for the password again)."""
SESSION_MAX_S = 30 * 86400.0
MAX_SESSIONS = 32
"""Past this many sessions the oldest is dropped: logins cannot grow memory without bound."""


class PasswordError(AssistantError, ValueError):
    """A password that cannot be set (too short, already set); the message says why."""


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "$".join(["scrypt", str(n), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def read_private_file(path: Path, what: str) -> str:
    """The text of a file only its owner may read; SecretFileError (exit 2) says the fix."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError as exc:
        raise SecretFileError(f"the {what} {path} does not exist; create it with the password "
                              f"on one line and chmod 600 {path}") from exc
    except OSError as exc:
        raise SecretFileError(f"cannot read the {what} {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretFileError(f"refusing the {what} {path}: its mode is {mode:04o}, readable by "
                              f"others; run: chmod 600 {path}")
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretFileError(f"cannot read the {what} {path}: {exc.strerror}") from exc


class PasswordStore:
    """The one password: from ``password_file`` (plain text, 0600, hashed here on load) or from
    ``hash_path`` (written by ``set_first``). ``exists`` is False until one of them is there."""

    def __init__(self, password_file: str | None, hash_path: Path, *, n: int = SCRYPT_N):
        self.hash_path = hash_path
        self.from_file = password_file is not None
        self._n = n
        self._lock = threading.Lock()
        self._hash: str | None = None
        if password_file is not None:
            plain = read_private_file(Path(password_file).expanduser(), "dashboard password file")
            if len(plain) < MIN_PASSWORD_CHARS:
                raise SecretFileError(f"the dashboard password in {password_file} is shorter than "
                                      f"{MIN_PASSWORD_CHARS} characters; write a longer one")
            self._hash = hash_password(plain, n=n)
        elif hash_path.exists():
            self._hash = read_private_file(hash_path, "dashboard password hash")

    @property
    def exists(self) -> bool:
        return self._hash is not None

    def verify(self, password: str) -> bool:
        stored = self._hash
        return stored is not None and verify_password(password, stored)

    def set_first(self, password: str) -> None:
        """Set the password when none exists yet (first start); never replaces one."""
        if len(password) < MIN_PASSWORD_CHARS:
            raise PasswordError(f"use at least {MIN_PASSWORD_CHARS} characters")
        with self._lock:
            if self._hash is not None:
                raise PasswordError("a password is already set")
            stored = hash_password(password, n=self._n)
            _write_private(self.hash_path, stored + "\n")
            self._hash = stored
        _LOGGER.info("dashboard password set (hash kept in %s)", self.hash_path)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Session:
    csrf: str
    created: float
    seen: float


class Sessions:
    """Session tokens in memory (a restart logs everyone out); only the tokens' hashes are kept."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._sessions[_digest(token)] = session
            while len(self._sessions) > MAX_SESSIONS:
                oldest = min(self._sessions, key=lambda k: self._sessions[k].seen)
                del self._sessions[oldest]
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        key = _digest(token)
        now = self.clock()
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return None
            if now - session.seen > SESSION_IDLE_S or now - session.created > SESSION_MAX_S:
                del self._sessions[key]
                return None
            session.seen = now
            return session

    def drop(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(_digest(token), None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_ok(session: Session, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(session.csrf.encode(), (given or "").encode())


@dataclass
class LoginLimiter:
    """Failed logins lock a client out, and many failures from anywhere lock every client out
    (a guesser with many addresses). Checked before the slow hash, so a flood costs nothing.

    Per client: ``per_client`` failures within ``window_s`` lock it for ``lock_s``, doubled for
    each further failure up to ``max_lock_s``. Overall: ``overall`` failures within
    ``window_s`` lock all logins for ``lock_s``."""

    per_client: int = 5
    overall: int = 30
    window_s: float = 900.0
    lock_s: float = 60.0
    max_lock_s: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after_s(self, client: str) -> float:
        """0 when the client may try now, else how many seconds until it may."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            waits = [0.0]
            mine = self._failures.get(client)
            if mine is not None and len(mine) >= self.per_client:
                extra = len(mine) - self.per_client
                lock = min(self.max_lock_s, self.lock_s * 2**extra)
                waits.append(mine[-1] + lock - now)
            if len(self._all) >= self.overall:
                waits.append(self._all[-1] + self.lock_s - now)
            return max(waits)

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            self._failures.setdefault(client, deque()).append(now)
            self._all.append(now)
            if len(self._failures) > 1000:  # a flood of addresses: forget the oldest
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _expire(self, now: float) -> None:
        for client in list(self._failures):
            times = self._failures[client]
            while times and now - times[0] > self.window_s:
                times.popleft()
            if not times:
                del self._failures[client]
        while self._all and now - self._all[0] > self.window_s:
            self._all.popleft()
