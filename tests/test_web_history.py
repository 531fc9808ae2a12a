"""The interaction history in SQLite: what the bus says becomes rows, wake outcomes settle in
the right order, retention and forgetting delete, and the file survives a kill mid-write."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from assistant.events import Event, EventType
from assistant.web.history import History, percentile
from tests.polling import wait_for

REPO = Path(__file__).resolve().parent.parent


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def feed(history: History, *events: tuple[EventType, dict]) -> None:
    for kind, data in events:
        history.on_event(Event(kind, data))
    history.flush()


REPLY = {"text": "turn on the kitchen light", "handled_by": "local", "intent": "HassTurnOn",
         "reply": "Turned on the kitchen light.",
         "actions": [{"device": "kitchen_light", "action": "turn_on", "ok": True}],
         "timings_ms": {"end_of_speech_ms": 250.0, "stt_ms": 420.0, "brain_ms": 30.0,
                        "action_lag_ms": 700.0, "first_audio_lag_ms": 900.0}}


def test_a_spoken_command_becomes_one_row_with_its_timings(tmp_path):
    history = History(tmp_path / "h.sqlite3", clock=Clock())
    feed(history, (EventType.WAKE, {"name": "okay_nabu", "probability": 0.97}),
         (EventType.WAKE_CHECK, {"ok": True, "heard": "okay nabu"}),
         (EventType.TRANSCRIPT, {"text": "turn on the kitchen light", "confidence": 0.91}),
         (EventType.REPLY, REPLY), (EventType.DONE, {}))
    [row] = history.interactions()
    assert row["text"] == "turn on the kitchen light" and row["via"] == "voice"
    assert row["handled_by"] == "local" and row["confidence"] == 0.91
    assert row["timings_ms"]["action_lag_ms"] == 700.0
    assert row["actions"][0]["device"] == "kitchen_light"
    assert history.wakes() == []  # answered: not a false wake
    assert history.wakes(all_=True)[0]["outcome"] == "answered"
    history.close()
    for part in tmp_path.iterdir():  # the database and its -wal / -shm
        assert part.stat().st_mode & 0o077 == 0, part


def test_wakes_that_were_turned_away_or_led_nowhere(tmp_path):
    history = History(tmp_path / "h.sqlite3", clock=Clock())
    feed(history,
         (EventType.WAKE, {"name": "okay_nabu", "probability": 0.31, "noisy": 0.8}),
         (EventType.WAKE_CHECK, {"ok": False, "how": "whisper", "heard": "okay now"}),
         (EventType.DONE, {}),
         (EventType.WAKE, {"name": "okay_nabu", "probability": 0.9}),
         (EventType.TIMEOUT, {}), (EventType.DONE, {}),
         # The verdict of a timed-out wake may come after the time-out: it replaces it.
         (EventType.WAKE, {"name": "okay_nabu", "probability": 0.5}),
         (EventType.TIMEOUT, {}), (EventType.DONE, {}),
         (EventType.WAKE_CHECK, {"ok": False, "how": "acoustic", "heard": "hey"}),
         (EventType.WAKE, {"name": "okay_nabu", "probability": 0.95}),
         (EventType.WAKE_CHECK, {"ok": True}),
         (EventType.TRANSCRIPT, {"text": ""}), (EventType.DONE, {}))
    wakes = history.wakes()
    assert [(w["outcome"], w["how"], w["heard"]) for w in wakes] == [
        ("unanswered", None, None), ("rejected", "acoustic", "hey"), ("timeout", None, None),
        ("rejected", "whisper", "okay now")]
    assert wakes[-1]["probability"] == 0.31 and wakes[-1]["noisy"] == 0.8
    history.close()


def test_rows_survive_a_restart_and_retention_deletes_old_ones(tmp_path):
    clock = Clock()
    path = tmp_path / "h.sqlite3"
    history = History(path, retention_days=7, clock=clock)
    feed(history, (EventType.REPLY, REPLY))
    history.record_reading("cpu_temperature", 51.5)
    history.close()
    clock.now += 3 * 86400
    history = History(path, retention_days=7, clock=clock)
    feed(history, (EventType.REPLY, {**REPLY, "text": "what time is it"}))
    assert [r["text"] for r in history.interactions()] == ["what time is it",
                                                          "turn on the kitchen light"]
    history.close()
    clock.now += 5 * 86400  # the first is 8 days old now, the second 5
    history = History(path, retention_days=7, clock=clock)
    assert [r["text"] for r in history.interactions()] == ["what time is it"]
    assert history.readings("cpu_temperature", since_s=30 * 86400) == []
    history.close()


def test_forget_leaves_nothing_said_in_the_file(tmp_path):
    path = tmp_path / "h.sqlite3"
    history = History(path, clock=Clock())
    secret = "my bank pin is one two three four"
    feed(history, (EventType.TRANSCRIPT, {"text": secret}), (EventType.REPLY, {**REPLY,
                                                                              "text": secret}))
    history.forget()
    assert history.interactions() == []
    history.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert secret.encode() not in raw


def test_latency_by_hour_gives_median_and_p95(tmp_path):
    clock = Clock()
    history = History(tmp_path / "h.sqlite3", clock=clock)
    for lag in (100.0, 200.0, 300.0, 400.0, 1000.0):
        history.record_reply({**REPLY, "timings_ms": {"action_lag_ms": lag}})
    history.flush()
    clock.now += 10
    [hour] = history.latency()
    assert hour["hour"] == -1
    assert hour["action"] == {"median": 300.0, "p95": 1000.0, "n": 5}
    assert "first_audio" not in hour
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    history.close()


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path):
    history = History(tmp_path / "h.sqlite3", clock=Clock())
    with history._lock:  # the writer is stuck (a stalled disk)
        started = time.monotonic()
        for _ in range(700):
            history.record_reading("cpu_temperature", 50.0)
        assert time.monotonic() - started < 5  # the bus thread was never held
        assert history.dropped >= 700 - 512 - 1
    history.close()


WRITER = """
import sys, itertools
from assistant.web.history import History
history = History(sys.argv[1])
for i in itertools.count():
    history.record_reply({"text": f"command {i}", "handled_by": "local", "reply": "ok",
                          "timings_ms": {"total": float(i)}})
    if i % 50 == 0:
        history.flush()
"""


def test_the_file_survives_a_kill_mid_write(tmp_path):
    path = tmp_path / "h.sqlite3"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})

    def rows() -> int:
        try:
            with sqlite3.connect(path, timeout=1) as db:
                return int(db.execute("SELECT COUNT(*) FROM interactions").fetchone()[0])
        except sqlite3.Error:
            return 0

    try:
        assert wait_for(lambda: rows() >= 500, timeout_s=60)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    seen = rows()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    history = History(path)
    after = history.interactions(limit=500)
    assert len(after) == 500 and len(after) <= seen <= history._max_id("interactions")
    assert after[0]["text"].startswith("command ")
    history.record_reply({"text": "after the kill", "handled_by": "local", "reply": "ok"})
    history.flush()
    assert history.interactions(limit=1)[0]["text"] == "after the kill"
    history.close()
