"""The real microphone and speaker, through sounddevice (PortAudio).

The microphone callback runs on PortAudio's thread: it converts to 16 kHz mono at once and
hands the chunk over a bounded queue that drops the OLDEST chunk when the pipeline falls
behind (fresh audio matters more than old audio for a wake word). The speaker never drops.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

from assistant.audio.chunk import (
    RATE,
    AudioChunk,
    float_to_pcm16,
    pcm16_to_float,
    resample,
    to_internal,
)
from assistant.config import AudioConfig
from assistant.errors import AudioDeviceError

_LOGGER = logging.getLogger(__name__)

Kind = Literal["input", "output"]
_ROLE = {"input": "microphone", "output": "speaker"}
_HINT = {
    "input": "plug one in (a USB microphone), set audio.input_device, or run with --input demo.wav",
    "output": "plug one in, set audio.output_device, or run with --output replies.wav",
}


def _sd() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # libportaudio missing: sounddevice fails at import
        raise AudioDeviceError(f"PortAudio is not available ({exc}); "
                               "install it: sudo apt-get install libportaudio2") from exc
    return sounddevice


def _channels(device: dict[str, Any], kind: Kind) -> int:
    return int(device.get(f"max_{kind}_channels", 0))


def list_devices(kind: Kind) -> list[tuple[int, str]]:
    """(index, name) of every device that can record (input) or play (output)."""
    return [(i, str(d["name"])) for i, d in enumerate(_sd().query_devices())
            if _channels(d, kind) > 0]


def find_device(spec: str | int | None, kind: Kind) -> int | None:
    """The device index for a config value: an index, a name substring, or None (the default).

    None is returned for the system default when one exists; PortAudio then picks it. Names
    are matched as case-insensitive substrings because ALSA indexes change across reboots.
    """
    devices = list_devices(kind)
    role = _ROLE[kind]
    seen = "; ".join(f"{i}: {name}" for i, name in devices) or "none"
    if not devices:
        raise AudioDeviceError(f"no {role} found; {_HINT[kind]} (sound devices seen: {seen})")
    if spec is None:
        return None
    if isinstance(spec, str) and spec.strip().isdigit():
        spec = int(spec)
    if isinstance(spec, int):
        if any(i == spec for i, _ in devices):
            return spec
        raise AudioDeviceError(f"no {role} with index {spec}; {_HINT[kind]} "
                               f"(sound devices seen: {seen})")
    wanted = spec.lower()
    for index, name in devices:
        if wanted in name.lower():
            return index
    raise AudioDeviceError(f"no {role} matches {spec!r}; {_HINT[kind]} "
                           f"(sound devices seen: {seen})")


class MicStalledError(AudioDeviceError):
    """The stream is open but no audio arrives: a stuck driver or an unplugged USB microphone."""


class MicSource:
    """Iterates AudioChunks from a microphone; timestamps are audio time since opening."""

    def __init__(self, config: AudioConfig):
        sd = _sd()
        self.device = find_device(config.input_device, "input")
        info = sd.query_devices(self.device, "input")
        self.rate = int(config.input_rate or info["default_samplerate"])
        self.dropped = 0
        """Chunks thrown away because the pipeline fell behind (oldest first)."""
        self.overflows = 0
        """PortAudio input overflows: audio the driver lost before we saw it (not fatal)."""
        self._queue: collections.deque[AudioChunk] = collections.deque()
        self._max = max(1, config.queue_chunks)
        self._cond = threading.Condition()
        self._frames = 0
        self._closed = False
        try:
            self._stream = sd.RawInputStream(
                samplerate=self.rate,
                blocksize=self.rate * config.block_ms // 1000,
                device=self.device,
                channels=1,
                dtype="int16",
                callback=self._callback,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceError(f"cannot open the microphone {info['name']!r} at "
                                   f"{self.rate} Hz: {exc}") from exc
        _LOGGER.info("microphone %r open at %d Hz", info["name"], self.rate)

    def _callback(self, indata: Any, frames: int, _time: Any, status: Any) -> None:
        if status.input_overflow:
            self.overflows += 1
        t_ms = self._frames * 1000.0 / self.rate
        self._frames += frames
        raw = bytes(indata)
        # At 16 kHz the mic already speaks the internal format: keep it bit-exact and cheap.
        chunk = AudioChunk(raw if self.rate == RATE else to_internal(raw, self.rate), t_ms)
        with self._cond:
            if len(self._queue) >= self._max:
                self._queue.popleft()
                self.dropped += 1
                if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                    _LOGGER.warning("microphone queue full: %d chunks dropped", self.dropped)
            self._queue.append(chunk)
            self._cond.notify()

    stall_s = 3.0
    """No audio for this long from an open stream means it is stuck (or the USB mic is gone)."""

    def __iter__(self) -> Iterator[AudioChunk]:
        while True:
            with self._cond:
                waited = 0.0
                while not self._queue and not self._closed:
                    self._cond.wait(timeout=0.5)
                    waited += 0.5
                    if waited >= self.stall_s and not self._queue:
                        raise MicStalledError(f"no audio from the microphone for {waited:.1f} s")
                if not self._queue:
                    return
                chunk = self._queue.popleft()
            yield chunk

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._stream.stop()
        self._stream.close()
        _LOGGER.info("microphone closed (%d chunks dropped, %d overflows)",
                     self.dropped, self.overflows)


class SpeakerSink:
    """Plays s16 mono PCM; play() blocks until the device has taken all of it, never drops.

    The stream is opened once, at the device's own rate, and every piece is converted to it:
    reopening for each new rate (a 16 kHz chime, then a 22.05 kHz voice) cost ~2 s of
    silence through PulseAudio, and hw devices often refuse the voice's rate anyway.
    """

    def __init__(self, config: AudioConfig):
        self.device = find_device(config.output_device, "output")
        self.volume = config.volume
        self._stream: Any = None
        self._rate_out = 0
        self._channels = 1
        # Opened now: opening takes up to a second (PulseAudio through ALSA), which must not
        # delay the first sound (the wake chime) while the user is already speaking.
        self._open(None)

    def _open(self, rate: int | None) -> None:
        sd = _sd()
        info = sd.query_devices(self.device, "output")
        default_rate = int(info["default_samplerate"])
        stereo = min(2, _channels(info, "output"))
        attempts = [(default_rate, 1), (default_rate, stereo)] + ([(rate, 1)] if rate else [])
        for rate_out, channels in attempts:
            try:
                stream = sd.RawOutputStream(samplerate=rate_out, channels=channels,
                                            dtype="int16", device=self.device)
                stream.start()
            except sd.PortAudioError as exc:
                _LOGGER.debug("speaker refused %d Hz x%d: %s", rate_out, channels, exc)
                continue
            self._stream, self._rate_out, self._channels = stream, rate_out, channels
            _LOGGER.info("speaker %r open at %d Hz x%d", info["name"], rate_out, channels)
            return
        if rate is None:
            return  # try again, at the rate of the first sound, when there is one
        raise AudioDeviceError(f"the speaker {info['name']!r} cannot be opened for playback")

    def play(self, pcm: bytes, rate: int) -> None:
        if self._stream is None:
            self._open(rate)
        samples = pcm16_to_float(pcm)
        if self.volume != 1.0:
            samples = samples * self.volume
        if self._rate_out != rate:
            samples = resample(samples, rate, self._rate_out)
        if self._channels > 1:
            samples = np.repeat(samples, self._channels)  # interleaved L R L R
        self._stream.write(float_to_pcm16(samples))

    def close(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            stream.stop()  # stop() lets buffered audio finish, abort() would cut it
            stream.close()
