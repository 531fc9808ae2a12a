"""Interaction history in SQLite: what was heard, which path answered, the reply, the actions and
the timings (never audio), the wake detections, and sensor readings for the page's charts.

The file lives beside the state file, in WAL mode with ``synchronous=NORMAL``: a kill or power
cut mid-write loses at most the last transaction, never the file. Rows older than the retention
are deleted at start and hourly; ``forget`` deletes everything (with ``secure_delete`` on, the
deleted text is overwritten, not only unlinked).

Bus events arrive on the audio and worker threads, which must never wait for a disk: the
recorder puts each write on a bounded queue that one writer thread drains. When the queue is
full (the disk stalled for minutes) the newest write is dropped and counted.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.events import Event, EventType

_LOGGER = logging.getLogger(__name__)

QUEUE_WRITES = 512
PRUNE_EVERY_S = 3600.0
LATENCY_KEYS = {"action": "action_lag_ms", "first_audio": "first_audio_lag_ms"}
"""The two latencies the page charts: end of the command to the device change, and to the
reply's first audio (both measured by the pipeline only when audio runs in real time)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS interactions (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, via TEXT NOT NULL, heard TEXT NOT NULL,
    handled_by TEXT, intent TEXT, reply TEXT, actions TEXT NOT NULL, timings TEXT NOT NULL,
    confidence REAL);
CREATE INDEX IF NOT EXISTS interactions_ts ON interactions(ts);
CREATE TABLE IF NOT EXISTS wakes (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, name TEXT, probability REAL, noisy REAL,
    outcome TEXT NOT NULL, how TEXT, heard TEXT);
CREATE INDEX IF NOT EXISTS wakes_ts ON wakes(ts);
CREATE TABLE IF NOT EXISTS readings (ts REAL NOT NULL, device TEXT NOT NULL, value REAL);
CREATE INDEX IF NOT EXISTS readings_device_ts ON readings(device, ts);
"""
_TABLES = ("interactions", "wakes", "readings")
_OPEN = ("pending", "confirmed")
"""Wake outcomes that a later event may still settle."""


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # What was said is private: the owner only (SQLite gives its -wal and -shm the same mode).
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
    db = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA secure_delete=ON")
    db.executescript(_SCHEMA)
    return db


class History:
    """One SQLite file; ``on_event`` is the bus subscriber, the queries serve the API."""

    def __init__(self, path: str | Path, retention_days: float = 7.0,
                 clock: Callable[[], float] = time.time):
        self.path = Path(path).expanduser()
        self.retention_s = retention_days * 86400.0
        self.clock = clock
        self.dropped = 0
        """Writes lost because the queue was full."""
        self._db = connect(self.path)
        self._lock = threading.Lock()
        self._queue: queue.Queue[Callable[[sqlite3.Connection], object] | None] = queue.Queue(
            QUEUE_WRITES)
        self._wake_id = self._max_id("wakes")
        self._wake_open = False
        self._transcript: dict[str, Any] = {}
        self._pruned = 0.0
        self.prune()
        self._thread = threading.Thread(target=self._write_loop, name="web-history", daemon=True)
        self._thread.start()

    def _max_id(self, table: str) -> int:
        row = self._db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()
        return int(row[0])

    # -- writing (any thread; never blocks) --------------------------------------------------
    def _submit(self, write: Callable[[sqlite3.Connection], object]) -> None:
        try:
            self._queue.put_nowait(write)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                _LOGGER.warning("history: the write queue is full; %d writes dropped", self.dropped)

    def _write_loop(self) -> None:
        while True:
            write = self._queue.get()
            if write is None:
                return
            try:
                with self._lock:
                    write(self._db)
                    if self.clock() - self._pruned > PRUNE_EVERY_S:
                        self._prune_locked()
            except sqlite3.Error:
                _LOGGER.exception("history: a write failed")

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every write queued so far is on disk (tests, shutdown)."""
        done = threading.Event()
        self._submit(lambda _db: done.set())
        done.wait(timeout)

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._thread.join(timeout=5)
        with self._lock:
            self._db.close()

    def on_event(self, event: Event) -> None:
        """The bus subscriber: a wake and what became of it, each interaction."""
        data, now = event.data, self.clock()
        kind = event.type
        if kind is EventType.WAKE:
            self._wake_id += 1
            self._wake_open = True
            wake = (self._wake_id, now, data.get("name"), data.get("probability"), data.get("noisy"))
            self._submit(lambda db: db.execute(
                "INSERT INTO wakes(id, ts, name, probability, noisy, outcome) "
                "VALUES (?, ?, ?, ?, ?, 'pending')", wake))
        elif kind is EventType.WAKE_CHECK and self._wake_id:
            outcome = "confirmed" if data.get("ok") else "rejected"
            self._settle_wake(outcome, data.get("how"), data.get("heard"))
        elif kind is EventType.TIMEOUT and self._wake_open:
            self._settle_wake("timeout")
        elif kind is EventType.TRANSCRIPT:
            self._transcript = dict(data)
        elif kind is EventType.REPLY:
            self.record_reply(data, via=str(data.get("via", "voice")))
            if self._wake_open and data.get("via", "voice") == "voice":
                self._settle_wake("answered")
        elif kind is EventType.DONE and self._wake_open:
            self._settle_wake("unanswered")
            self._wake_open = False

    def _settle_wake(self, outcome: str, how: str | None = None, heard: str | None = None) -> None:
        # A verdict can come after the time-out (the check finishes on its own thread): it
        # replaces "timeout"; nothing replaces a rejection or an answer.
        wake_id = self._wake_id
        before = _OPEN + ("timeout", "unanswered") if outcome == "rejected" else _OPEN
        marks = ",".join("?" * len(before))
        self._submit(lambda db: db.execute(
            f"UPDATE wakes SET outcome = ?, how = COALESCE(?, how), heard = COALESCE(?, heard) "
            f"WHERE id = ? AND outcome IN ({marks})", (outcome, how, heard, wake_id, *before)))

    def record_reply(self, data: dict[str, Any], via: str = "voice") -> None:
        heard = self._transcript if via == "voice" else {}
        self._transcript = {}
        row = (self.clock(), via, str(data.get("text") or ""), data.get("handled_by"),
               data.get("intent"), data.get("reply"), json.dumps(data.get("actions") or []),
               json.dumps(data.get("timings_ms") or {}), heard.get("confidence"))
        self._submit(lambda db: db.execute(
            "INSERT INTO interactions(ts, via, heard, handled_by, intent, reply, actions, timings, "
            "confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row))

    def record_reading(self, device: str, value: float | None, ts: float | None = None) -> None:
        row = (self.clock() if ts is None else ts, device, value)
        self._submit(lambda db: db.execute(
            "INSERT INTO readings(ts, device, value) VALUES (?, ?, ?)", row))

    # -- retention ---------------------------------------------------------------------------
    def prune(self) -> None:
        with self._lock:
            self._prune_locked()

    def _prune_locked(self) -> None:
        cutoff = self.clock() - self.retention_s
        for table in _TABLES:
            self._db.execute(f"DELETE FROM {table} WHERE ts < ?", (cutoff,))
        self._pruned = self.clock()

    def forget(self) -> None:
        """Delete every row and shrink the file, so nothing said survives in it."""
        self.flush()
        with self._lock:
            for table in _TABLES:
                self._db.execute(f"DELETE FROM {table}")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("VACUUM")
        _LOGGER.info("history: everything forgotten")

    # -- queries (API threads) ---------------------------------------------------------------
    def interactions(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, ts, via, heard, handled_by, intent, reply, actions, timings, confidence "
                "FROM interactions ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"id": r[0], "ts": r[1], "via": r[2], "text": r[3], "handled_by": r[4],
                 "intent": r[5], "reply": r[6], "actions": json.loads(r[7]),
                 "timings_ms": json.loads(r[8]), "confidence": r[9]} for r in rows]

    def wakes(self, limit: int = 50, *, all_: bool = False) -> list[dict[str, Any]]:
        """The wake detections that were turned away or led nowhere (``all_``: every one)."""
        where = "" if all_ else "WHERE outcome NOT IN ('answered', 'pending', 'confirmed')"
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, ts, name, probability, noisy, outcome, how, heard FROM wakes {where} "
                "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        keys = ("id", "ts", "name", "probability", "noisy", "outcome", "how", "heard")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def readings(self, device: str, since_s: float = 86400.0) -> list[tuple[float, float | None]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT ts, value FROM readings WHERE device = ? AND ts >= ? ORDER BY ts",
                (device, self.clock() - since_s)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def latency(self, hours: int = 24) -> list[dict[str, Any]]:
        """Per hour of the last day: the median and p95 of each of LATENCY_KEYS, in ms."""
        now = self.clock()
        with self._lock:
            rows = self._db.execute("SELECT ts, timings FROM interactions WHERE ts >= ?",
                                    (now - hours * 3600.0,)).fetchall()
        buckets: dict[int, dict[str, list[float]]] = {}
        for ts, timings in rows:
            hour = int((ts - now) // 3600)  # -24 .. -1: how many hours ago
            values = json.loads(timings)
            for name, key in LATENCY_KEYS.items():
                if isinstance(values.get(key), int | float):
                    buckets.setdefault(hour, {}).setdefault(name, []).append(float(values[key]))
        out = []
        for hour in sorted(buckets):
            entry: dict[str, Any] = {"hour": hour, "ts": now + hour * 3600.0}
            for name, values in buckets[hour].items():
                entry[name] = {"median": statistics.median(values), "p95": percentile(values, 95),
                               "n": len(values)}
            out.append(entry)
        return out


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (the value at or below which pct % of the values fall)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]
