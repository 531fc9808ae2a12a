"""Password hashing, sessions and the login limiter, with plain values and a fake clock."""

from __future__ import annotations

import pytest

from assistant.web.auth import (
    SESSION_IDLE_S,
    LoginLimiter,
    PasswordError,
    PasswordStore,
    Sessions,
    csrf_ok,
    hash_password,
    verify_password,
)


class Clock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


def test_scrypt_hash_verifies_only_the_right_password():
    stored = hash_password("correct horse", n=2**10)
    assert stored.startswith("scrypt$1024$8$1$")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsf", stored)
    assert not verify_password("correct horse", "plain text")
    assert hash_password("correct horse", n=2**10) != stored  # salted


def test_the_first_password_is_set_once(tmp_path):
    store = PasswordStore(None, tmp_path / "web_password", n=2**10)
    assert not store.exists and not store.verify("anything at all")
    with pytest.raises(PasswordError):
        store.set_first("short")
    store.set_first("long enough")
    with pytest.raises(PasswordError):
        store.set_first("another one here")
    again = PasswordStore(None, tmp_path / "web_password", n=2**10)
    assert again.verify("long enough")


def test_sessions_expire_when_unused_and_on_logout():
    clock = Clock()
    sessions = Sessions(clock)
    token, session = sessions.create()
    assert sessions.get(token) is session
    assert sessions.get("forged") is None and sessions.get(None) is None
    assert csrf_ok(session, session.csrf) and not csrf_ok(session, "") and not csrf_ok(session, None)
    clock.now += SESSION_IDLE_S - 1
    assert sessions.get(token) is session  # use keeps it alive
    clock.now += SESSION_IDLE_S + 1
    assert sessions.get(token) is None
    token, _ = sessions.create()
    sessions.drop(token)
    assert sessions.get(token) is None


def test_the_limiter_locks_a_client_and_doubles_the_lock():
    clock = Clock()
    limiter = LoginLimiter(per_client=3, lock_s=60, clock=clock)
    for _ in range(3):
        assert limiter.retry_after_s("10.0.0.2") == 0
        limiter.failed("10.0.0.2")
    assert limiter.retry_after_s("10.0.0.2") == 60
    assert limiter.retry_after_s("10.0.0.3") == 0  # another client is not locked
    clock.now += 61
    assert limiter.retry_after_s("10.0.0.2") == 0
    limiter.failed("10.0.0.2")
    assert limiter.retry_after_s("10.0.0.2") == 120
    clock.now += 121
    limiter.succeeded("10.0.0.2")
    assert limiter.retry_after_s("10.0.0.2") == 0


def test_many_failures_from_many_addresses_lock_every_login():
    clock = Clock()
    limiter = LoginLimiter(per_client=5, overall=10, lock_s=60, clock=clock)
    for i in range(10):
        limiter.failed(f"10.0.1.{i}")
    assert limiter.retry_after_s("192.168.1.20") == 60
    clock.now += 901  # the window passes
    assert limiter.retry_after_s("192.168.1.20") == 0
