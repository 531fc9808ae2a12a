"""Audio in and out. Inside the assistant all audio is 16 kHz, 16-bit, mono PCM."""

from assistant.audio.chunk import CHANNELS, RATE, WIDTH, AudioChunk, to_internal

__all__ = ["CHANNELS", "RATE", "WIDTH", "AudioChunk", "to_internal"]
