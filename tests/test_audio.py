"""WAV source and sink, device selection, and the real sounddevice edges on an ALSA file card."""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from assistant.audio import files
from assistant.audio.chunk import BYTES_PER_MS, RATE
from assistant.audio.files import WavSink, WavSource
from assistant.audio.sound import find_device
from assistant.errors import AudioDeviceError

REPO = Path(__file__).resolve().parent.parent


def tone(freq: float, seconds: float, rate: int, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def dominant_hz(pcm: bytes, rate: int = RATE) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * rate / len(samples))


def test_wav_source_converts_44k_stereo_and_appends_silence(tmp_path: Path):
    left = (tone(440, 1.0, 44100) * 32767).astype("<i2")
    stereo = np.column_stack([left, left]).ravel()
    path = tmp_path / "in.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        wav.writeframes(stereo.tobytes())

    chunks = list(WavSource(path, chunk_ms=30, tail_silence_ms=1500))
    assert all(len(c.audio) == 30 * BYTES_PER_MS for c in chunks[:-1])
    assert [c.timestamp_ms for c in chunks[:3]] == [0.0, 30.0, 60.0]
    assert all(a.end_ms == b.timestamp_ms for a, b in zip(chunks, chunks[1:], strict=False))
    assert chunks[-1].end_ms == pytest.approx(2500.0)
    audio = b"".join(c.audio for c in chunks)
    assert dominant_hz(audio[:RATE * 2]) == pytest.approx(440, abs=2)
    assert not any(audio[RATE * 2 + 100:])  # the appended tail is silent


def test_wav_source_realtime_paces_to_audio_time(tmp_path: Path, monkeypatch):
    path = tmp_path / "in.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)  # 8-bit, 8 kHz: any format is converted at the edge
        wav.setframerate(8000)
        wav.writeframes(bytes([128]) * 800)
    now = [100.0]
    sleeps: list[float] = []
    monkeypatch.setattr(files.time, "monotonic", lambda: now[0])

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(files.time, "sleep", sleep)
    chunks = list(WavSource(path, realtime=True, chunk_ms=20, tail_silence_ms=0))
    assert len(chunks) == 5 and len(chunks[0].audio) == 20 * BYTES_PER_MS
    # Each chunk is handed over once its last sample would have been heard.
    assert sum(sleeps) == pytest.approx(0.1)
    assert now[0] == pytest.approx(100.1)


def test_wav_source_reports_a_broken_file(tmp_path: Path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav")
    with pytest.raises(AudioDeviceError, match="bad.wav"):
        WavSource(bad)


def test_wav_sink_round_trip(tmp_path: Path):
    path = tmp_path / "out.wav"
    sink = WavSink(path)
    first = (tone(300, 0.5, 22050) * 32767).astype("<i2").tobytes()
    sink.play(first, 22050)
    sink.play(first, 22050)
    sink.play(bytes(16000 * 2), 16000)  # another rate (an earcon) is converted to the first
    sink.close()
    sink.close()  # closing twice is harmless
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (22050, 1, 2)
        frames = wav.readframes(wav.getnframes())
    assert frames[:2 * len(first)] == first + first
    assert len(frames) == 2 * len(first) + 22050 * 2


def test_find_device_without_devices_explains(monkeypatch):
    import sounddevice as sd

    monkeypatch.setattr(sd, "query_devices", lambda *a, **k: [])
    with pytest.raises(AudioDeviceError) as info:
        find_device(None, "input")
    message = str(info.value)
    assert "no microphone found" in message and "--input demo.wav" in message
    assert "sound devices seen: none" in message
    with pytest.raises(AudioDeviceError, match="no speaker found.*--output"):
        find_device("usb", "output")


def test_find_device_by_name_or_index(monkeypatch):
    import sounddevice as sd

    devices = [
        {"name": "bcm2835 Headphones", "max_input_channels": 0, "max_output_channels": 2},
        {"name": "USB PnP Sound Device: Audio (hw:2,0)", "max_input_channels": 1,
         "max_output_channels": 2},
    ]
    monkeypatch.setattr(sd, "query_devices", lambda *a, **k: devices)
    assert find_device("usb pnp", "input") == 1
    assert find_device("HEADPHONES", "output") == 0
    assert find_device(1, "input") == 1
    assert find_device("1", "output") == 1
    assert find_device(None, "input") is None  # PortAudio's default
    with pytest.raises(AudioDeviceError, match="matches 'headphones'.*1: USB PnP"):
        find_device("headphones", "input")  # it has no input channels
    with pytest.raises(AudioDeviceError, match="index 0"):
        find_device(0, "input")


ASOUNDRC = """pcm.!default {{
  type file
  slave.pcm "null"
  file "{speaker}"
  infile "{mic}"
  format "raw"
}}
"""

SCRIPT = """
import sys, numpy as np
from assistant.audio.sound import MicSource, SpeakerSink
from assistant.config import AudioConfig
# The file card is not paced: a big queue keeps a loaded CI machine from dropping chunks here
# (the drop policy has its own test).
config = AudioConfig(input_rate=16000, block_ms=30, queue_chunks=100000)
mic = MicSource(config)
got, stamps = b"", []
for chunk in mic:
    got += chunk.audio
    stamps.append(chunk.timestamp_ms)
    if len(got) >= 16000 * 2:
        break
mic.close()
expected = np.fromfile(sys.argv[1], dtype="<i2").tobytes()
assert got[:len(expected)] == expected[:len(got)], "mic audio differs from the infile"
assert stamps[:3] == [0.0, 30.0, 60.0], stamps[:3]
assert mic.dropped == 0
speaker = SpeakerSink(AudioConfig(volume=0.5))
t = np.arange(22050) / 22050
speaker.play((np.sin(2 * np.pi * 440 * t) * 20000).astype("<i2").tobytes(), 22050)
speaker.close()
print("ok")
"""


def test_microphone_and_speaker_through_an_alsa_file_card(tmp_path: Path):
    # A fresh process, because PortAudio reads ~/.asoundrc once at start.
    mic = tmp_path / "mic.raw"
    (tone(300, 2.0, RATE) * 32767).astype("<i2").tofile(mic)
    speaker = tmp_path / "speaker.raw"
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(speaker=speaker, mic=mic))
    env = dict(os.environ, HOME=str(tmp_path), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(mic)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().endswith("ok"), done.stdout + done.stderr
    played = np.fromfile(speaker, dtype="<i2")
    assert len(played) >= 22050
    assert 8000 < np.abs(played).max() < 12000  # the volume (0.5) was applied


class FakeSoundDevice:
    """Just enough of sounddevice to drive MicSource's callback by hand."""

    PortAudioError = RuntimeError

    def __init__(self) -> None:
        self.callback = None

    def query_devices(self, device=None, kind=None):  # type: ignore[no-untyped-def]
        mic = {"name": "USB mic", "max_input_channels": 1, "max_output_channels": 0,
               "default_samplerate": 48000.0}
        return mic if kind else [mic]

    def RawInputStream(self, **kwargs):  # type: ignore[no-untyped-def]  # noqa: N802
        self.callback = kwargs["callback"]
        fake = self

        class Stream:
            def start(self) -> None: ...
            def stop(self) -> None: ...
            def close(self) -> None: ...

        fake.blocksize = kwargs["blocksize"]
        return Stream()


class Status:
    def __init__(self, overflow: bool = False):
        self.input_overflow = overflow


def test_mic_queue_drops_the_oldest_and_counts_overflows(monkeypatch):
    from assistant.audio import sound
    from assistant.config import AudioConfig

    fake = FakeSoundDevice()
    monkeypatch.setattr(sound, "_sd", lambda: fake)
    monkeypatch.setattr(sound, "list_devices", lambda kind: [(0, "USB mic")])
    mic = sound.MicSource(AudioConfig(block_ms=30, queue_chunks=3))
    assert mic.rate == 48000 and fake.blocksize == 1440
    block = bytes(1440 * 2)
    for i in range(5):  # nobody reads: the queue holds 3
        fake.callback(block, 1440, None, Status(overflow=i == 1))
    assert mic.dropped == 2 and mic.overflows == 1
    mic.close()
    chunks = list(mic)
    # The two oldest went; audio time still counts them (timestamps jump, nothing shifts).
    assert [c.timestamp_ms for c in chunks] == [60.0, 90.0, 120.0]
    assert all(len(c.audio) == 30 * BYTES_PER_MS for c in chunks)  # 48 kHz -> 16 kHz
