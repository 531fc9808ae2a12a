"""An unplugged microphone is waited for and reopened; audio time keeps running."""

from __future__ import annotations

from assistant.audio.chunk import AudioChunk
from assistant.audio.resilient import ResilientMic
from assistant.audio.sound import MicStalledError
from assistant.errors import AudioDeviceError


class FakeMic:
    def __init__(self, chunks: int, fail: bool):
        self.chunks = chunks
        self.fail = fail
        self.closed = False

    def __iter__(self):
        for i in range(self.chunks):
            yield AudioChunk(bytes(960), i * 30.0)
        if self.fail:
            raise MicStalledError("no audio from the microphone for 3.0 s")

    def close(self) -> None:
        self.closed = True


def test_stalled_mic_is_reopened_after_it_comes_back():
    opened: list[FakeMic] = []
    attempts = {"n": 0}

    def open_mic() -> FakeMic:
        attempts["n"] += 1
        if attempts["n"] in (2, 3):  # unplugged for two retries
            raise AudioDeviceError("no microphone found")
        mic = FakeMic(3, fail=len(opened) == 0)
        opened.append(mic)
        return mic

    waits: list[int] = []
    mic = ResilientMic(open_mic, retry_s=0.0, sleep=lambda _s: None)
    mic.on_wait = lambda: waits.append(1)
    chunks = list(mic)
    assert [c.timestamp_ms for c in chunks] == [0.0, 30.0, 60.0, 90.0, 120.0, 150.0]
    assert mic.reopens == 1
    assert opened[0].closed
    assert attempts["n"] == 4
    assert len(waits) == 3  # the watchdog was fed while waiting


def test_close_stops_waiting():
    mic = ResilientMic(lambda: FakeMic(1, fail=False))
    mic.close()
    assert list(mic) == []
