"""The closed-vocabulary fast path: the home's grammar from hassil's templates, its word graph,
pronunciations, and the out-of-grammar guard's decision (pure, and replayed over recorded
evidence). The recognizers on real audio are in test_grammar_engines.py."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from assistant.brain.intents import IntentMatch, LocalIntents
from assistant.config import DeviceConfig, load_config, parse_config
from assistant.grammar import build_grammar
from assistant.grammar.compiler import HomeGrammar, _words, compile_home, load_decoys, spell
from assistant.grammar.graph import EPSILON, GARBAGE, WordGraph, foreign
from assistant.grammar.guard import Evidence, GuardParams, Reason, decide, load_params
from assistant.grammar.lexicon import build_lexicon, ipa_to_cmu
from assistant.grammar.templates import load_templates
from bench.robust_cases import COMMANDS

REPO = Path(__file__).resolve().parent.parent
REPLAY = Path(__file__).resolve().parent / "data" / "grammar_guard_rows.json"


@pytest.fixture(scope="module")
def home():  # type: ignore[no-untyped-def]
    config = load_config(REPO / "config" / "assistant.yaml")
    return config, LocalIntents(config)


@pytest.fixture(scope="module")
def grammar(home, tmp_path_factory) -> HomeGrammar:  # type: ignore[no-untyped-def]
    config, intents = home
    return build_grammar(config, intents, tmp_path_factory.mktemp("grammar"))


def said(grammar: HomeGrammar, text: str) -> bool:
    return grammar.graph.accepts(_words(text) or [])


# -- the word graph --------------------------------------------------------------------------

def nfa() -> WordGraph:
    # "turn on the lamp" twice over different paths, "turn off the lamp", and an epsilon.
    arcs = ((0, "turn", 1), (0, "turn", 2), (1, "on", 3), (2, "off", 3), (2, "on", 4),
            (3, "the", 5), (4, "the", 5), (5, "lamp", 6), (6, EPSILON, 7))
    return WordGraph(0, frozenset({7}), arcs)


def test_minimal_graph_keeps_the_sentences_and_is_deterministic():
    small = nfa().minimal()
    for sentence in ("turn on the lamp", "turn off the lamp"):
        assert small.accepts(sentence.split()) and nfa().accepts(sentence.split())
    assert not small.accepts(["turn", "the", "lamp"])
    labels = [(src, word) for src, word, _dst in small.arcs]
    assert len(labels) == len(set(labels)) and EPSILON not in {w for _s, w in labels}
    assert small.n_states == 5  # start, after turn, after on/off, after the, final


def test_covering_sentences_use_every_arc():
    small = nfa().minimal()
    sentences = small.covering_sentences(100)
    used = {(a, b) for words in sentences for a, b in zip(words, words[1:], strict=False)}
    assert {("turn", "on"), ("turn", "off"), ("the", "lamp")} <= used
    assert all(small.accepts(words) for words in sentences)


def test_trimmed_drops_dead_ends():
    graph = WordGraph(0, frozenset({2}), ((0, "a", 1), (1, "b", 2), (0, "dead", 3)))
    assert {w for _s, w, _d in graph.trimmed().arcs} == {"a", "b"}


# -- the home's grammar ----------------------------------------------------------------------

def test_numbers_and_typed_text_are_spelled_as_spoken():
    assert spell(0) == "zero" and spell(45) == "forty five" and spell(100) == "one hundred"
    assert spell(2500) == "two thousand five hundred"
    assert _words("50%") == ["fifty", "percent"]
    assert _words("What's") == ["what's"] and _words("living-room") == ["living", "room"]
    assert _words("1/2") is None  # typed, never said


def test_the_home_grammar_holds_the_benchmark_commands(grammar):
    missing = [text for text, _expect in COMMANDS if not said(grammar, text)]
    assert missing == []
    assert said(grammar, "set the ceiling fan to fifty percent")
    assert said(grammar, "set a timer for twenty five minutes")


def test_speech_the_home_has_no_words_for_is_not_in_it(grammar):
    for text in ("turn on the porch light", "what is the capital of france",
                 "turn off the lights in the attic", "set the lamp to one hundred and one percent"):
        assert not said(grammar, text), text


def test_every_sentence_of_the_grammar_is_planned_by_the_local_intents(grammar, home):
    _config, intents = home
    rng = random.Random(4)
    sentences = [" ".join(grammar.graph.sample(rng, avoid=foreign)) for _ in range(300)]
    unplanned = [s for s in sentences if not isinstance(intents.match(s), IntentMatch)]
    # Random paths combine slots freely; a few may land on a sentence the planner turns down.
    assert len(unplanned) <= 3, unplanned[:5]


def test_garbage_stands_in_for_a_name_and_for_a_whole_sentence(grammar):
    assert grammar.graph.accepts(["turn", "on", "the", GARBAGE])
    assert grammar.graph.accepts([GARBAGE])
    assert GARBAGE not in grammar.words
    assert {"kitchen", "ceiling", "garage", "hallway"} <= grammar.names


def test_decoys_compete_with_the_homes_names_and_areas(grammar):
    assert grammar.graph.accepts(["turn", "on", "the", "~bathroom", "~light"])
    assert grammar.graph.accepts(["turn", "off", "the", "lights", "in", "the", "~attic"])
    assert not said(grammar, "turn on the bathroom light")  # only as a decoy
    assert not any(w.startswith("~") for w in grammar.names)


def test_a_decoy_the_home_spells_is_left_out():
    lists = {"name": [("bathroom light", {"domain": "light"})], "area": [("office", {})]}
    decoys = load_decoys(lists)
    assert "bathroom light" not in decoys["name"] and "office" not in decoys["area"]
    assert "porch light" in decoys["name"] and "attic" in decoys["area"]


def test_the_grammar_follows_the_devices(home, tmp_path):
    config, _intents = home
    tv = DeviceConfig(id="tv_2", name="tv 2", kind="switch", pin=12, area="den")
    changed = dataclasses.replace(config, devices=(*config.devices, tv))
    intents = LocalIntents(changed)
    grammar = build_grammar(changed, intents, tmp_path)
    assert said(grammar, "turn on the tv two")
    assert said(grammar, "turn off the tv two")
    assert isinstance(intents.match("turn on the tv two"), IntentMatch)  # digits read back


def test_the_full_templates_compile_too(home):
    config, intents = home
    full = compile_home(config, load_templates(config.intents, "full"),
                        lambda text: isinstance(intents.match(text), IntentMatch))
    assert full.templates_kept > 300 and "HassTurnOn" in full.intents
    assert full.graph.accepts(["turn", "the", "kitchen", "light", "on"])


def test_a_compiled_grammar_is_read_back_from_its_cache(home, tmp_path):
    config, intents = home
    first = build_grammar(config, intents, tmp_path)
    calls = []
    class Counting:  # noqa: E306 - a planner that counts, so a compile would show
        def match(self, text: str):  # type: ignore[no-untyped-def]
            calls.append(text)
            return intents.match(text)
    again = build_grammar(config, Counting(), tmp_path)
    assert again.graph == first.graph and calls == []
    moved = dataclasses.replace(config, devices=config.devices[1:])
    assert build_grammar(moved, Counting(), tmp_path).graph != first.graph and calls


# -- pronunciations ----------------------------------------------------------------------------

def test_ipa_maps_onto_cmudict_phones():
    assert ipa_to_cmu("nˈɑːbuː") == "N AA B UW"
    assert ipa_to_cmu("pˈɔːɹtʃ") == "P AO R CH"
    assert ipa_to_cmu("θˈɜːməstˌæt") == "TH ER M AH S T AE T"


def test_words_missing_from_cmudict_get_espeak_pronunciations():
    lexicon = build_lexicon(["kitchen", "nabu"])
    assert lexicon.pronunciations["kitchen"] == ("K IH CH AH N",)
    assert lexicon.pronunciations["nabu"] == ("N AA B UW",)
    assert lexicon.guessed == {"nabu"} and not lexicon.missing
    decoy = build_lexicon(["~kitchen"])
    assert decoy.pronunciations == {"~kitchen": ("K IH CH AH N",)}


# -- the guard -------------------------------------------------------------------------------

PARAMS = GuardParams(min_worst_word_llr=-3.0, min_worst_name_llr=-1.0, max_unexplained=0.1)


def evidence(**changes: object) -> Evidence:
    base = Evidence(engine="pocketsphinx", complete=True, words=5, speech_frames=120,
                    score=-1.5, llr=-0.8, worst_word_llr=-1.0, worst_name_llr=-0.3,
                    worst_word_score=-2.0, unexplained=0.0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "accepted", "reason"), [
    ({}, True, Reason.ACCEPTED),
    ({"words": 0}, False, Reason.EMPTY),
    ({"complete": False}, False, Reason.INCOMPLETE),
    ({"garbage": 0.2}, False, Reason.GARBAGE),
    ({"worst_word_llr": -3.5}, False, Reason.WORD),
    ({"worst_name_llr": -1.2}, False, Reason.NAME),
    ({"unexplained": 0.3}, False, Reason.UNEXPLAINED),
])
def test_decide_names_the_deciding_evidence(changes, accepted, reason):
    verdict = decide(evidence(**changes), PARAMS)
    assert (verdict.accepted, verdict.reason) == (accepted, reason)


SCORES = GuardParams(min_worst_word_score=-3.0, min_worst_name_score=-1.5, max_inner_filler=0.2)


@pytest.mark.parametrize(("changes", "accepted", "reason"), [
    ({}, True, Reason.ACCEPTED),
    ({"worst_word_score": -3.2}, False, Reason.WORD),
    ({"worst_name_score": -1.6}, False, Reason.NAME),
    ({"inner_filler": 0.4}, False, Reason.UNEXPLAINED),
    ({"phone_loop": False}, True, Reason.ACCEPTED),  # needs no phone loop
])
def test_decide_on_the_grammars_own_scores(changes, accepted, reason):
    verdict = decide(evidence(**changes), SCORES)
    assert (verdict.accepted, verdict.reason) == (accepted, reason)


def test_loop_thresholds_without_a_phone_loop_decide_nothing():
    assert decide(evidence(phone_loop=False), PARAMS).reason is Reason.UNCALIBRATED
    assert decide(evidence(), GuardParams()).reason is Reason.UNCALIBRATED


def test_no_parameters_means_nothing_acts():
    assert decide(evidence(), None).reason is Reason.UNCALIBRATED
    vosk = evidence(engine="vosk", confidence=0.99)
    assert decide(vosk, PARAMS).reason is Reason.UNCALIBRATED
    assert load_params("vosk") is None


def test_the_margin_is_the_closest_threshold():
    verdict = decide(evidence(worst_word_llr=-2.5, worst_name_llr=-0.95), PARAMS)
    assert verdict.accepted and verdict.margin == pytest.approx(0.05)


def test_fitted_parameters_record_what_they_were_fitted_on_and_held_out():
    params = load_params("pocketsphinx")
    assert params is not None
    assert params.fitted_on["voices"] and params.fitted_on["wrong"] == 0
    held = set(params.held_out["voices"])
    assert held and not held & set(params.fitted_on["voices"])
    assert "wrong_actions" in params.held_out and "accepted" in params.held_out


def test_replay_of_recorded_evidence_gives_the_recorded_verdicts():
    rows = json.loads(REPLAY.read_text(encoding="utf-8"))
    params = load_params("pocketsphinx")
    assert len(rows) >= 100
    for row in rows:
        verdict = decide(Evidence.from_row(row["evidence"]), params)
        assert verdict.accepted == row["accepted"], row["text"]
    assert not [r for r in rows if r["accepted"] and r["wrong_if_accepted"]]


# -- config ----------------------------------------------------------------------------------

def test_lean_profile_changes_only_the_keys_the_file_leaves_out():
    lean = parse_config("profile: lean\n")
    assert (lean.stt.fast_path, lean.stt.load, lean.local_llm.enabled) == ("grammar", "lazy", False)
    kept = parse_config("profile: lean\nlocal_llm:\n  enabled: true\nstt:\n  load: start\n")
    assert (kept.stt.fast_path, kept.stt.load, kept.local_llm.enabled) == ("grammar", "start", True)
    full = parse_config("")
    assert (full.profile, full.stt.fast_path, full.stt.load) == ("full", "off", "start")


def test_a_bad_profile_names_its_key_and_line():
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        parse_config("name: x\nprofile: tiny\n", "a.yaml")
    assert info.value.key == "profile" and info.value.line == 2
