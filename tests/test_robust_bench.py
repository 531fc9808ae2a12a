"""The robustness benchmark's own parts: corpus helpers (lengths, SNR) and scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.events import Event, EventType
from bench import corpus
from bench.robust_bench import (
    ANSWER_DELAY_MS,
    Case,
    Recording,
    answer_to,
    make_cases,
    make_recording,
    score,
)
from bench.robust_cases import CHATTER, Expect


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus, "CACHE", tmp_path)


def test_mix_reaches_the_snr_over_the_whole_recording() -> None:
    speech = corpus.silence(1.0) + corpus.tones(2.0) + corpus.silence(1.0)
    for kind in ("white", "pink", "brown"):
        background = corpus.background(kind, 4.0, seed=3)
        assert len(background) == len(speech)
        mixed = corpus.mix(speech, background, 10.0)
        added = (np.frombuffer(mixed, "<i2").astype(np.int32)
                 - np.frombuffer(speech, "<i2")).astype("<i2").tobytes()
        assert corpus.snr_db(speech, added) == pytest.approx(10.0, abs=0.3)
        # The background is there before the speech starts, as in a room.
        assert np.abs(np.frombuffer(added[:32000], "<i2")).mean() > 10


def test_babble_and_tv_are_as_long_as_asked_and_cached() -> None:
    espeak_only = ["Stocks rose sharply this afternoon."]
    for kind in ("babble", "tv"):
        first = corpus.background(kind, 3.0, seed=1, sentences=espeak_only)
        assert len(first) == 3 * 32000
        assert np.abs(np.frombuffer(first, "<i2")).max() > 1000
        assert corpus.background(kind, 3.0, seed=1, sentences=espeak_only) == first
    assert len(corpus.excerpt(first, 1.5, seed=9)) == int(1.5 * 16000) * 2


def test_voices_are_different_and_mix_engines() -> None:
    voices = corpus.varied_voices(30)
    assert len(set(voices)) == 30
    assert {v.engine for v in voices[:3]} == {"piper", "espeak"}
    assert corpus.varied_voices(30) == voices


def test_every_level_has_the_same_utterances_and_noises_take_turns() -> None:
    cases = make_cases(4, 24, 10, ["clean", "20", "10"], ["white", "babble"], realtime=0)
    by_level = {lv: [(c.voice, c.text) for c in cases if c.level == lv] for lv in ("clean", "20")}
    assert by_level["clean"] == by_level["20"]
    assert {c.noise for c in cases if c.level == "clean"} == {"none"}
    assert [c.noise for c in cases if c.level == "20"][:2] == ["babble", "white"]
    assert CHATTER  # babble talk exists and is not made of commands


def _events(*items: tuple[EventType, dict]) -> list[Event]:
    return [Event(kind, data) for kind, data in items]


def _reply(actions: list[dict], reply: str = "Done.", intent: str = "HassTurnOff") -> dict:
    return {"text": "x", "handled_by": "local", "intent": intent, "actions": actions,
            "queries": [], "reply": reply, "timings_ms": {}}


CASE = Case("20", "white", corpus.Voice("espeak"), "unlock the front door",
            Expect("front_door", "unlock"), seed=1)
REC = Recording(b"", wake_end_ms=2000, command_start_ms=2400, command_end_ms=4000)
WAKE = (EventType.WAKE, {"audio_ms": 2100.0})
EOS = (EventType.END_OF_SPEECH, {"reason": "silence", "audio_ms": 4050.0,
                                 "decided_audio_ms": 4700.0})


def test_scoring_success_opposite_asked_and_timeout() -> None:
    unlock = {"device": "front_door", "action": "unlock", "value": None, "ok": True}
    lock = {"device": "front_door", "action": "lock", "value": None, "ok": True}
    ok = score(CASE, REC, _events(WAKE, EOS, (EventType.REPLY, _reply([unlock]))))
    assert ok["outcome"] == "ok" and ok["eos_delay_ms"] == 700
    bad = score(CASE, REC, _events(WAKE, EOS, (EventType.REPLY, _reply([lock]))))
    assert bad["outcome"] == "wrong" and bad["opposite"] == [lock]
    asked = score(CASE, REC, _events(WAKE, EOS, (EventType.REPLY,
                                                 _reply([], "Unlock the front door?"))))
    assert asked["outcome"] == "asked" and asked["asked"]
    long = (EventType.END_OF_SPEECH, {**EOS[1], "reason": "max_length"})
    assert score(CASE, REC, _events(WAKE, long))["outcome"] == "timeout"
    assert score(CASE, REC, [])["outcome"] == "no_wake"
    # A wake word turned away by the second stage is a missed wake, and says why.
    turned = (EventType.WAKE_CHECK, {"ok": False, "how": "unaddressed", "heard": "Okay Nabu.",
                                     "acoustic": 0.01, "snr_db": 20.0, "noisy": None})
    missed = score(CASE, REC, _events(WAKE, turned))
    assert missed["outcome"] == "no_wake"
    assert missed["checks"] == [{"ok": False, "how": "unaddressed", "heard": "Okay Nabu.",
                                 "acoustic": 0.01, "noisy": None}]


def _question(plan: list[dict]) -> tuple[EventType, dict]:
    return (EventType.REPLY, {**_reply([], "Unlock the front door?"),
                              "slots": {"confirm": "Unlock the front door?", "plan": plan}})


def test_the_speaker_answers_yes_only_to_a_question_about_what_they_said() -> None:
    follow_up = (EventType.LISTENING, {"trigger": "button", "audio_ms": 6000.0})
    unlock = {"device": "front_door", "action": "unlock", "value": None}
    lock = {"device": "front_door", "action": "lock", "value": None}
    assert answer_to(CASE.expect, _events(WAKE, EOS, _question([unlock]), follow_up)) == (
        "Yes.", 6000.0 + ANSWER_DELAY_MS)
    assert answer_to(CASE.expect, _events(WAKE, EOS, _question([lock]), follow_up))[0] == "No."
    assert answer_to(CASE.expect, _events(WAKE, EOS, _question([unlock, lock]),
                                          follow_up))[0] == "No."
    # No question, or no listening after it: nothing to answer.
    assert answer_to(CASE.expect, _events(WAKE, EOS, (EventType.REPLY, _reply([])),
                                          follow_up)) is None
    assert answer_to(CASE.expect, _events(WAKE, EOS, _question([unlock]))) is None
    # Done after the yes: a success, counted as one that needed the question.
    yes = {**_reply([{**unlock, "ok": True}], "Unlocked the front door."),
           "slots": {"confirmed": True}, "text": "Yes."}
    done = score(CASE, REC, _events(WAKE, EOS, _question([unlock]), follow_up,
                                    (EventType.REPLY, yes)))
    assert done["outcome"] == "ok" and done["after_yes"] and done["answered"] == "Yes."


def test_a_command_about_an_unknown_device_must_change_nothing() -> None:
    case = Case("clean", "none", corpus.Voice("espeak"), "unlock the back door",
                Expect(unknown=True), seed=2)
    unlock = {"device": "front_door", "action": "unlock", "value": None, "ok": True}
    said = _reply([], "I don't know a device called back door.", intent="HassTurnOn")
    ok = score(case, REC, _events(WAKE, EOS, (EventType.REPLY, said)))
    assert ok["outcome"] == "ok" and ok["unknown"]
    guessed = score(case, REC, _events(WAKE, EOS, (EventType.REPLY, _reply([unlock]))))
    assert guessed["outcome"] == "wrong" and guessed["wrong"] == [unlock]
    silent = score(case, REC, _events(WAKE, EOS, (EventType.REPLY, _reply([], "Sure."))))
    assert silent["outcome"] == "failed"


def test_unknown_device_cases_come_apart_from_the_levels_commands() -> None:
    cases = make_cases(4, 24, 10, ["clean", "20"], ["white"], realtime=0, unknown=3)
    unknown = [c for c in cases if c.expect.unknown]
    assert len(unknown) == 6 and {c.level for c in unknown} == {"clean", "20"}
    assert len(cases) - len(unknown) == 20


def test_a_fluent_recording_runs_the_command_on_from_the_wake_word() -> None:
    case = make_cases(4, 24, 1, ["clean"], ["white"], realtime=0)[0]
    paused, fluent = make_recording(case), make_recording(case, fluent=True)
    assert fluent.command_start_ms == fluent.wake_end_ms
    assert paused.command_start_ms - paused.wake_end_ms >= 300
    # One sentence, so shorter by at least the pause.
    assert len(fluent.pcm) < len(paused.pcm) - 300 * 32
