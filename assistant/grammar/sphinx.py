"""The home's grammar on pocketsphinx (5.1.1 from PyPI ships the en-us acoustic model and
CMUdict): a finite-state grammar search and, over the same audio, a free phone loop whose fit
is what the grammar's words are weighed against (``assistant.grammar.guard``).

Both decoders take the audio as it arrives (``feed``), so at the end of speech only the last
frames and the backtrace are left: ``finish()`` takes a few ms. pocketsphinx is single-threaded
C; each call runs in the caller's thread, and the CPU it reports is that thread's time.

Cepstral mean normalisation: streaming decoders subtract a running mean of the cepstrum that
pocketsphinx starts from a fixed guess and moves only a sixth of the way per second of audio;
on a first command, or after the level changed (another speaker, another room), the guess can
be far enough off that the grammar search loses the sentence altogether (measured: a clean
piper command under -50 dBFS hiss decoded to nothing). So each utterance starts from the mean
of the last audio this recognizer heard (``prime`` lets the pipeline pass the wake word's audio
before the first command), and ``finish()`` compares it with the utterance's own mean: when they
differ by more than CMN_DRIFT, the utterance is decoded again with its own mean (a whole decode
after the end of speech, so ``GrammarResult.redecoded`` says when it happened).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.grammar.compiler import HomeGrammar
from assistant.grammar.graph import DECOY, EPSILON, GARBAGE, WordGraph
from assistant.grammar.guard import Evidence, GuardParams, decide, load_params, rest_means
from assistant.grammar.lexicon import build_lexicon
from assistant.grammar.types import GrammarResult, WordScore

_LOGGER = logging.getLogger(__name__)

ENGINE = "pocketsphinx"
FRAME_MS = 10
SENSCR_SHIFT = 10
"""pocketsphinx keeps search scores divided by 2^10 (its SENSCR_SHIFT); the FSG search (without
its lattice pass) and the phone loop both report segments that way, and hand them back as
probabilities, so a segment's natural log is log(p) * 1024."""
LN_FLOOR = -745.0
"""Below e^-745 a double is 0: a segment that bad (-727k per utterance) is far below any
threshold, so the floor never turns a rejection into an acceptance."""
CMN_DRIFT = 8.0
"""Largest difference in the first cepstral coefficient's mean (log energy) that an utterance is
decoded with as it came: pocketsphinx's guess of 40 against the 58-62 of the study's voices made
commands decode to nothing; a command and the wake word before it, in the same voice and room,
differ by a few (``GrammarResult.cmn_offset``, in the study's report)."""
MAX_UTTERANCE_S = 12
"""Audio kept for a second decode; a longer utterance is not a command anyway."""
PHONES = ("AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G",
          "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T",
          "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH")
"""The en-us model's speech phones."""
PHONE_WORDS = tuple(f"_{p.lower()}" for p in PHONES)
"""One dictionary word per phone (pronounced as that phone), for GARBAGE arcs."""
_PHONE_SET = frozenset(PHONE_WORDS)
_FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]"}
_SILENT_PHONES = {"SIL", "+NSN+", "+SPN+", "+BREATH+", "+COUGH+", "+SMACK+", "+UM+", "+UH+"}


@dataclass(frozen=True)
class SphinxSettings:
    phone_loop_lw: float = 2.0
    """Weight of the phone loop's phone bigram: low, so that the loop follows the sounds."""
    phone_loop_beam: float = 1e-20
    """The phone loop's beams (CMU's advice for phone decoding): narrower than pocketsphinx's
    default of 1e-48, for about half the CPU."""
    beam: float = 1e-30
    """The grammar search's beam: narrower than pocketsphinx's 1e-48 for a sixth less CPU, with
    the same 24 of 24 sentences on a sample of the study's commands."""
    uniform: bool = True
    """Each state's arcs share probability 1 (True), or every arc has probability 1 (False)."""
    garbage_prob: float = 1e-8
    phone_loop: bool = True
    """Run the free phone loop beside the grammar (its fit is the llr evidence); without it,
    the evidence is the grammar's own fit against the best sound of each frame, for about
    half the CPU."""
    """Transition probability of each phone of a GARBAGE stretch: how dearly the search pays for
    explaining speech as sounds the grammar has no words for."""


class PocketsphinxRecognizer:
    """``GrammarRecognizer`` over pocketsphinx; see the module docstring."""

    def __init__(self, grammar: HomeGrammar, params: GuardParams | None = None,
                 settings: SphinxSettings = SphinxSettings(), load_params_file: bool = True):
        import pocketsphinx

        self.settings = settings
        self.params = params if params is not None or not load_params_file else load_params(ENGINE)
        self.lexicon = build_lexicon(grammar.words)
        self.graph = _without(grammar.graph, self.lexicon.missing)
        self.names = grammar.names
        model = Path(pocketsphinx.get_model_path("en-us"))
        with tempfile.TemporaryDirectory(prefix="assistant-grammar-") as folder:
            dictionary = Path(folder) / "home.dict"
            self.lexicon.write(dictionary, {w: p for w, p in zip(PHONE_WORDS, PHONES, strict=True)})
            common: dict[str, Any] = {"hmm": str(model / "en-us"), "dict": str(dictionary),
                                      "lm": None, "logfn": os.devnull}
            self._grammar = pocketsphinx.Decoder(pocketsphinx.Config(**common, beam=settings.beam,
                                                                     bestpath=False))
            phones = str(model / "en-us-phone.lm.bin")
            self._loop = pocketsphinx.Decoder(pocketsphinx.Config(
                **common, allphone=phones, lw=settings.phone_loop_lw,
                beam=settings.phone_loop_beam, pbeam=settings.phone_loop_beam)) \
                if settings.phone_loop else None
            # The batch cepstral mean of a stretch of audio: the mean is there once the features
            # are; a phone loop with a beam this narrow makes the search that end_utt() insists
            # on running over them cost ~3 ms instead of ~0.1 s.
            self._probe = pocketsphinx.Decoder(pocketsphinx.Config(
                **common, allphone=phones, cmn="batch", beam=1e-2, pbeam=1e-2))
        fsg = self._grammar.create_fsg("home", *_fsg(self.graph, settings.uniform,
                                                     settings.garbage_prob))
        self._grammar.add_fsg("home", fsg)
        self._grammar.activate_search("home")
        self._active = False
        self._odd = b""
        self._audio = bytearray()
        self._mean: str | None = None
        """The cepstral mean the next utterance starts from (pocketsphinx's guess until set)."""
        self._used: str | None = None
        self._redecoded = False
        self._cpu_loop = 0.0
        self._cpu = 0.0

    def prime(self, pcm: bytes) -> None:
        """Audio just before a command (the wake word): its cepstral mean is where the next
        utterance starts from. Optional; costs the features of ``pcm`` (~1 ms per second)."""
        if not self._active and len(pcm) >= 2 * 16000 // 5:
            self._mean = self._cepstral_mean(pcm)

    def start(self) -> None:
        if self._active:
            self.cancel()
        began = time.thread_time()
        self._used = self._mean
        for decoder in self._decoders():
            if self._mean is not None:
                decoder.set_cmn(self._mean)
            decoder.start_utt()
        self._cpu_loop = 0.0
        self._active, self._odd, self._audio = True, b"", bytearray()
        self._redecoded = False
        self._cpu = time.thread_time() - began

    def feed(self, pcm: bytes) -> None:
        if not self._active:
            raise RuntimeError("feed() before start()")
        began = time.thread_time()
        data = self._odd + pcm
        cut = len(data) - len(data) % 2
        data, self._odd = data[:cut], data[cut:]
        if data:
            self._grammar.process_raw(data)
            if self._loop is not None:
                looped = time.thread_time()
                self._loop.process_raw(data)
                self._cpu_loop += time.thread_time() - looped
            if len(self._audio) < MAX_UTTERANCE_S * 32000:
                self._audio += data
        self._cpu += time.thread_time() - began

    def finish(self) -> GrammarResult:
        if not self._active:
            raise RuntimeError("finish() before start()")
        began_wall, began = time.perf_counter(), time.thread_time()
        offset = 0.0
        for decoder in self._decoders():
            decoder.end_utt()
        self._active = False
        audio = bytes(self._audio)
        if len(audio) >= 2 * 16000 // 5:
            mean = self._cepstral_mean(audio)
            offset = cmn_offset(self._used or str(self._grammar.get_cmn()), mean)
            if offset > CMN_DRIFT:
                self._decode_again(audio, mean)
            self._mean = mean
        words, evidence = self._evidence()
        verdict = decide(evidence, self.params)
        cpu = self._cpu + time.thread_time() - began
        text = " ".join(w.word for w in words)
        return GrammarResult(text, tuple(words), evidence, verdict, len(audio) * 1000 // 32000,
                             cpu, (time.perf_counter() - began_wall) * 1000, self._redecoded,
                             offset, self._cpu_loop)

    def _cepstral_mean(self, pcm: bytes) -> str:
        self._probe.start_utt()
        self._probe.process_raw(pcm, no_search=True, full_utt=True)
        mean = str(self._probe.get_cmn(update=True))
        self._probe.end_utt()
        return mean

    def _decoders(self) -> list[Any]:
        return [self._grammar] if self._loop is None else [self._grammar, self._loop]

    def _decode_again(self, audio: bytes, mean: str) -> None:
        for decoder in self._decoders():
            decoder.set_cmn(mean)
            decoder.start_utt()
            decoder.process_raw(audio)
            decoder.end_utt()
        self._redecoded = True

    def cancel(self) -> None:
        if self._active:
            for decoder in self._decoders():
                decoder.end_utt()
        self._active = False

    def _evidence(self) -> tuple[list[WordScore], Evidence]:
        grammar = [_Seg.of(s) for s in (self._grammar.seg() or ())]
        loop = [] if self._loop is None else \
            [s for s in (_Seg.of(s) for s in (self._loop.seg() or ())) if s.end >= s.start]
        total = max(1, self._grammar.n_frames())
        # An empty word is the null transition into the final state.
        spoken = [s for s in grammar if s.word and s.word not in _FILLERS and s.end >= s.start]
        home = [s for s in spoken if s.word not in _PHONE_SET and not s.word.startswith(DECOY)]
        words = []
        for seg in home:
            frames = seg.end - seg.start + 1
            llr = (seg.ln - _loop_ln(loop, seg.start, seg.end)) / frames if loop else None
            words.append(WordScore(seg.word, seg.start * FRAME_MS, (seg.end + 1) * FRAME_MS,
                                   seg.ln / frames, llr))
        speech = sum(s.end - s.start + 1 for s in home)
        garbage = sum(s.end - s.start + 1 for s in spoken) - speech
        fillers = [s for s in grammar if s.word in _FILLERS and s.end >= s.start]
        unexplained = sum(_loop_speech(loop, s.start, s.end) for s in fillers)
        inner = sum(s.end - s.start + 1 for s in fillers
                    if spoken and spoken[0].start < s.start and s.end < spoken[-1].end)
        # The first word's start carries the boundary with the silence before it: it scored
        # low on every voice, said or not, so the worst-word figures leave it out.
        rest = words[1:]
        names = [w for w in words if w.word in self.names]
        llr_total = sum((w.llr or 0.0) * (w.end_ms - w.start_ms) / FRAME_MS for w in words)
        rest_score, rest_llr = rest_means([((w.end_ms - w.start_ms) // FRAME_MS, w.score, w.llr)
                                           for w in words])
        evidence = Evidence(
            engine=ENGINE,
            complete=bool(words) and self.graph.accepts(_tokens(spoken)),
            words=len(words),
            speech_frames=speech,
            score=sum(s.ln for s in home) / speech if speech else 0.0,
            llr=llr_total / speech if speech and loop else 0.0,
            worst_word_llr=min((w.llr or 0.0 for w in rest), default=0.0),
            worst_name_llr=min((w.llr or 0.0 for w in names), default=0.0),
            worst_word_score=min((w.score for w in rest), default=0.0),
            unexplained=unexplained / total,
            garbage=garbage / max(1, garbage + speech),
            worst_name_score=min((w.score for w in names), default=0.0),
            inner_filler=inner / max(1, spoken[-1].end - spoken[0].start + 1) if spoken else 0.0,
            rest_llr=rest_llr,
            rest_score=rest_score,
            phone_loop=bool(loop),
        )
        return words, evidence


def _tokens(spoken: list[_Seg]) -> list[str]:
    """The grammar's words of a decode, each run of garbage phones one GARBAGE."""
    out: list[str] = []
    for seg in spoken:
        token = GARBAGE if seg.word in _PHONE_SET else seg.word
        if token != GARBAGE or not out or out[-1] != GARBAGE:
            out.append(token)
    return out


@dataclass(frozen=True)
class _Seg:
    word: str
    start: int
    end: int
    """Inclusive, as pocketsphinx reports it."""
    ln: float
    """Natural log of the acoustic score."""

    @classmethod
    def of(cls, seg: Any) -> _Seg:
        word = seg.word.split("(", 1)[0]  # "on(2)": an alternative pronunciation
        ln = math.log(seg.ascore) if seg.ascore > 0 else LN_FLOOR
        return cls(word, seg.start_frame, seg.end_frame, ln * (1 << SENSCR_SHIFT))


def cmn_offset(used: str, actual: str) -> float:
    """Pure: how far the cepstral mean an utterance was decoded with (pocketsphinx's
    comma-separated form) is from its own, in the first coefficient; inf when unreadable."""
    try:
        return abs(float(used.split(",")[0]) - float(actual.split(",")[0]))
    except ValueError:
        return float("inf")


def _overlap(seg: _Seg, start: int, end: int) -> float:
    """The share of seg's frames inside [start, end]."""
    inside = min(seg.end, end) - max(seg.start, start) + 1
    return max(0, inside) / (seg.end - seg.start + 1)


def _loop_ln(loop: list[_Seg], start: int, end: int) -> float:
    """The phone loop's score over frames [start, end], phones cut in proportion."""
    return sum(s.ln * _overlap(s, start, end) for s in loop)


def _loop_speech(loop: list[_Seg], start: int, end: int) -> float:
    """Frames of [start, end] where the phone loop heard a speech sound."""
    return sum(_overlap(s, start, end) * (s.end - s.start + 1) for s in loop
               if s.word not in _SILENT_PHONES)


def _without(graph: WordGraph, missing: frozenset[str]) -> WordGraph:
    if not missing:
        return graph
    kept = WordGraph(graph.start, graph.finals, tuple(a for a in graph.arcs if a[1] not in missing))
    return kept.trimmed().minimal()


def _fsg(graph: WordGraph, uniform: bool,
         garbage_prob: float) -> tuple[int, int, list[tuple[Any, ...]]]:
    """(start, final, transitions) for ``Decoder.create_fsg``: one final state, reached from
    the graph's final states by null transitions. A GARBAGE arc becomes a state of its own
    with a loop of every phone, each at ``garbage_prob``: one or more phones, then on."""
    out = graph.outgoing()
    final = graph.n_states
    spare = final + 1
    transitions: list[tuple[Any, ...]] = []
    for state in range(graph.n_states):
        arcs = out.get(state, [])
        is_final = state in graph.finals
        share = 1.0 / (len(arcs) + is_final) if uniform else 1.0
        for word, dst in arcs:
            if word == GARBAGE:
                loop, spare = spare, spare + 1
                for phone in PHONE_WORDS:
                    transitions.append((state, loop, share * garbage_prob, phone))
                    transitions.append((loop, loop, garbage_prob, phone))
                transitions.append((loop, dst, 1.0))
            elif word == EPSILON:
                transitions.append((state, dst, share))
            else:
                transitions.append((state, dst, share, word))
        if is_final:
            transitions.append((state, final, share))
    return graph.start, final, transitions
