"""The circuit breaker is pure: an injected clock drives it through open, half-open, closed."""

from __future__ import annotations

from assistant.brain.breaker import CircuitBreaker
from tests.clock import Clock


def test_opens_after_threshold_and_probes_once_after_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=2, cooldown_s=60, clock=clock)
    assert breaker.allow() and breaker.state == "closed"
    breaker.record_failure()
    assert breaker.allow(), "one failure is below the threshold"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 59.9
    assert not breaker.allow()
    clock.now = 60.0
    assert breaker.state == "half_open"
    assert breaker.allow(), "the probe goes through"
    assert not breaker.allow(), "only one probe at a time"
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()


def test_failed_probe_reopens_for_a_full_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cooldown_s=10, clock=clock)
    breaker.record_failure()
    clock.now = 10
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now = 19
    assert not breaker.allow()
    clock.now = 20
    assert breaker.allow()


def test_success_resets_the_count() -> None:
    breaker = CircuitBreaker(failures=2, cooldown_s=10, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"
