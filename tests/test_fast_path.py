"""The grammar fast path in the real pipeline (``stt.fast_path: grammar``): pocketsphinx over
the home's grammar hears the command while it is spoken; what its guard accepts acts without
whisper, and what it rejects (a question, a device the home lacks) goes to whisper."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import parse_config
from assistant.vad import settled_tail_ms
from bench import corpus
from tests.test_e2e import EXAMPLE, command_recording, run_pipeline

pytestmark = pytest.mark.slow


@pytest.fixture
def fast_config(tmp_path: Path) -> Path:
    text = EXAMPLE.read_text().replace(
        "path: ~/.local/state/assistant/state.json", f"path: {tmp_path / 'state.json'}"
    ).replace("  # fast_path: grammar ", "  fast_path: grammar   ")
    assert "\n  fast_path: grammar" in text
    path = tmp_path / "assistant.yaml"
    path.write_text(text)
    return path


def transcript(events) -> dict:  # type: ignore[no-untyped-def]
    found = [e.data for e in events if e.type.value == "transcript"]
    assert len(found) == 1, [e.type.value for e in events]
    return found[0]


def test_a_home_command_is_settled_by_the_grammar_and_acts(fast_config, tmp_path):
    wav, out = tmp_path / "in.wav", tmp_path / "out.wav"
    corpus.write_wav(wav, command_recording("Turn on the kitchen light.", corpus.Voice("piper")))
    events, factory = run_pipeline(fast_config, wav, out)
    heard = transcript(events)
    assert heard["stt"] == "grammar", heard
    assert heard["grammar"]["accepted"] and heard["text"] == "turn on the kitchen light"
    assert heard["grammar"]["cpu_ms"] > 0
    reply = next(e.data for e in events if e.type.value == "reply")
    assert [a["device"] for a in reply["actions"]] == ["kitchen_light"]
    assert factory.pin_state == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("said", ["What is the capital of France?",
                                  "Turn on the garage heater."])
def test_what_the_grammar_rejects_goes_to_whisper_and_touches_nothing(fast_config, tmp_path,
                                                                      said):
    """A question, and a command for a device the home does not have: a grammar recognizer
    forces both onto some home command; the guard must not let that act."""
    wav, out = tmp_path / "in.wav", tmp_path / "out.wav"
    corpus.write_wav(wav, command_recording(said, corpus.Voice("piper")))
    events, factory = run_pipeline(fast_config, wav, out)
    heard = transcript(events)
    assert heard["stt"] == "whisper", heard
    assert heard["grammar"]["accepted"] is False
    replies = [e.data for e in events if e.type.value == "reply"]
    assert all(not r["actions"] for r in replies)
    assert factory.pin_state == 0  # type: ignore[attr-defined]


def test_without_the_fast_path_whisper_transcribes(tmp_path):
    text = EXAMPLE.read_text().replace(
        "path: ~/.local/state/assistant/state.json", f"path: {tmp_path / 'state.json'}")
    path = tmp_path / "assistant.yaml"
    path.write_text(text)
    wav, out = tmp_path / "in.wav", tmp_path / "out.wav"
    corpus.write_wav(wav, command_recording("Turn on the kitchen light.", corpus.Voice("piper")))
    events, _ = run_pipeline(path, wav, out)
    heard = transcript(events)
    assert heard["stt"] == "whisper" and "grammar" not in heard


def test_a_bare_off_in_yaml_is_the_word_not_a_boolean():
    config = parse_config("stt:\n  fast_path: off\n", file="t.yaml")
    assert config.stt.fast_path == "off"
    config = parse_config("stt:\n  fast_path: grammar\n", file="t.yaml")
    assert config.stt.fast_path == "grammar"


F = 10.0  # ms per frame


def frames(*runs: tuple[bool, float]) -> list[bool]:
    out: list[bool] = []
    for loud, ms in runs:
        out += [loud] * int(ms / F)
    return out


def test_a_command_that_starts_quiet_has_no_wake_tail():
    assert settled_tail_ms(frames((False, 30), (True, 500))) == 0.0


def test_the_tail_is_unknown_until_enough_frames_are_in():
    assert settled_tail_ms([True, True]) is None
    # A short loud run then a gap: the wake word's last syllable, or the command's first word.
    assert settled_tail_ms(frames((True, 80), (False, 100))) is None


def test_the_wake_words_last_syllable_before_a_gap_is_a_tail():
    # 200 ms loud, 150 ms quiet, then the command: the tail ends where the gap starts.
    assert settled_tail_ms(frames((True, 200), (False, 150), (True, 300))) == 200.0
    # The same, but the command after the gap has not lasted long enough to tell yet.
    assert settled_tail_ms(frames((True, 200), (False, 150), (True, 50))) is None


def test_a_long_run_straight_from_the_wake_word_is_the_command_not_a_tail():
    assert settled_tail_ms(frames((True, 2000))) == 0.0
