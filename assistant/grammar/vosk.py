"""The home's grammar on Vosk (Kaldi), for a device with a Vosk model (``stt.grammar_model``;
``assistant models fetch vosk-small-en`` on a device with internet).

Vosk takes a grammar as a list of phrases and estimates a bigram model from them (vosk-api
``Recognizer::UpdateGrammarFst``), so the graph is handed over as sentences that use each of its
arcs once, GARBAGE as Vosk's "[unk]"; a bigram model accepts word strings the graph does not, so
a result is complete only when the graph has it. Kaldi normalises the features online, so there
is nothing to prime. The guard's parameters for Vosk are fitted on nothing yet (no English model
can be had on this project's machines): until they are, no Vosk result acts on its own.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from assistant.audio.chunk import RATE
from assistant.errors import ModelMissingError
from assistant.grammar.compiler import HomeGrammar
from assistant.grammar.graph import DECOY, GARBAGE
from assistant.grammar.guard import Evidence, GuardParams, decide, load_params
from assistant.grammar.types import GrammarResult, WordScore

_LOGGER = logging.getLogger(__name__)

ENGINE = "vosk"
UNKNOWN = "[unk]"
MAX_PHRASES = 3000
"""Vosk estimates its model per recognizer (at every ``start``): a few thousand phrases take
tens of ms there."""


class VoskGrammarRecognizer:
    """``GrammarRecognizer`` over Vosk; see the module docstring."""

    def __init__(self, model_dir: str | Path, grammar: HomeGrammar,
                 params: GuardParams | None = None, load_params_file: bool = True):
        folder = Path(model_dir).expanduser()
        if not folder.is_dir():
            raise ModelMissingError(f"no Vosk model in {folder}: set stt.grammar_model to an "
                                    "unpacked Vosk model folder, or leave it empty for pocketsphinx")
        import vosk

        vosk.SetLogLevel(-1)
        self.graph = grammar.graph
        self.params = params if params is not None or not load_params_file else load_params(ENGINE)
        # A decoy is said as its own words; a result with them is then not a sentence of the
        # graph (which has them marked), so it never acts.
        phrases = [" ".join(UNKNOWN if w == GARBAGE else w.lstrip(DECOY) for w in sentence)
                   for sentence in grammar.graph.covering_sentences(MAX_PHRASES)]
        self._grammar_json = json.dumps([*dict.fromkeys(phrases), UNKNOWN], ensure_ascii=False)
        try:
            self._model = vosk.Model(str(folder))
        except Exception as exc:  # vosk raises a bare Exception when a folder is not a model
            raise ModelMissingError(f"{folder} is not a usable Vosk model ({exc})") from exc
        self._vosk: Any = vosk
        self._recognizer: Any = None
        self._samples = 0
        self._cpu = 0.0
        _LOGGER.info("vosk grammar of %d phrases on %s", len(phrases), folder)

    def prime(self, pcm: bytes) -> None:
        """Nothing to do: Kaldi's features adapt online."""

    def start(self) -> None:
        began = time.thread_time()
        self._recognizer = self._vosk.KaldiRecognizer(self._model, RATE, self._grammar_json)
        self._recognizer.SetWords(True)
        self._samples = 0
        self._cpu = time.thread_time() - began

    def feed(self, pcm: bytes) -> None:
        if self._recognizer is None:
            raise RuntimeError("feed() before start()")
        began = time.thread_time()
        self._recognizer.AcceptWaveform(pcm)
        self._samples += len(pcm) // 2
        self._cpu += time.thread_time() - began

    def finish(self) -> GrammarResult:
        if self._recognizer is None:
            raise RuntimeError("finish() before start()")
        began_wall, began = time.perf_counter(), time.thread_time()
        result = json.loads(self._recognizer.FinalResult())
        self._recognizer = None
        found = result.get("result") or []
        tokens = [GARBAGE if w.get("word") == UNKNOWN else str(w.get("word")) for w in found]
        words = tuple(WordScore(str(w["word"]), int(float(w.get("start", 0)) * 1000),
                                int(float(w.get("end", 0)) * 1000), float(w.get("conf", 0.0)))
                      for w in found if w.get("word") != UNKNOWN)
        evidence = Evidence(
            engine=ENGINE, complete=bool(words) and self.graph.accepts(tokens), words=len(words),
            speech_frames=sum((w.end_ms - w.start_ms) // 10 for w in words), score=0.0, llr=0.0,
            worst_word_llr=0.0, worst_name_llr=0.0, worst_word_score=0.0, unexplained=0.0,
            garbage=(len(tokens) - len(words)) / len(tokens) if tokens else 0.0,
            confidence=min((w.score for w in words), default=None))
        verdict = decide(evidence, self.params)
        cpu = self._cpu + time.thread_time() - began
        return GrammarResult(" ".join(w.word for w in words), words, evidence, verdict,
                             self._samples * 1000 // RATE, cpu,
                             (time.perf_counter() - began_wall) * 1000)

    def cancel(self) -> None:
        self._recognizer = None
