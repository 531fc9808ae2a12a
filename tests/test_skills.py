"""The skills path in the router: after the home's own commands, before any language model
(a scripted cloud on loopback shows which sentences reach it), with "what can you do" built
from the config, "repeat that" from the last reply, and scenes run through the one executor on
gpiozero's mock pins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from assistant.app import Home, build_home
from assistant.brain.skills.scenes import scene_reply
from assistant.brain.skills.talk import NOTHING_YET
from assistant.brain.types import Action, ActionResult
from assistant.config import SceneAction, SceneConfig, load_config
from tests.llm_server import Reply, ScriptedServer

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config" / "assistant.yaml"
KITCHEN_LIGHT_PIN, LAMP_PIN = 17, 18
EXTRA = """\
intents:
  HassTurnOn:
    data:
      - sentences: ["start the coffee machine"]
        slots: {name: coffee maker}
scenes:
  movie_time:
    sentences: ["movie time", "(start|begin) [the] movie"]
    actions:
      - {device: kitchen_light, action: turn_off}
      - {device: living room lamp, action: set_brightness, value: 20}
    reply: Enjoy the film.
"""


def home_config(tmp_path: Path, extra: str = "", **sections: str) -> Path:
    (tmp_path / "extra.yaml").write_text(EXTRA)
    text = EXAMPLE.read_text().replace("path: ~/.local/state/assistant/state.json",
                                       f"path: {tmp_path / 'state.json'}")
    text += "\nintents:\n  extra_sentences: extra.yaml\n" + extra
    path = tmp_path / "assistant.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def cloud() -> Iterator[ScriptedServer]:
    with ScriptedServer(Reply(text="Paris is the capital of France.")) as server:
        yield server


@pytest.fixture
def home(tmp_path: Path, cloud: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    monkeypatch.setenv("ASSISTANT_TEST_KEY", "sk-test-not-a-real-key")
    path = home_config(tmp_path, "weather: {latitude: 52.52, longitude: 13.41, name: Berlin}\n")
    text = path.read_text().replace(
        "llm:\n  enabled: false", "llm:\n  api_key_env: ASSISTANT_TEST_KEY\n  enabled: true"
    ).replace("base_url: https://api.openai.com/v1", f"base_url: {cloud.url}").replace(
        "local_llm:\n  enabled: true", "local_llm:\n  enabled: false")
    path.write_text(text)
    built = build_home(load_config(path), pin_factory=MockFactory(pin_class=MockPWMPin))
    yield built
    built.close()


def ask(home: Home, text: str) -> Any:
    return home.brain.answer(text, lambda _sentence: None)


def test_skills_answer_after_local_commands_and_before_the_cloud(home: Home,
                                                                 cloud: ScriptedServer) -> None:
    assert ask(home, "turn on the kitchen light").handled_by == "local"
    for sentence in ("turn up the volume", "wake me at 7", "what can you do", "repeat that",
                     "movie time", "cancel my alarm"):
        assert ask(home, sentence).handled_by == "skill", sentence
    assert cloud.requests == []  # none of them reached the language model
    answer = ask(home, "what is the capital of france")
    assert answer.handled_by == "cloud" and len(cloud.requests) == 1


def test_what_can_you_do_is_built_from_the_config(home: Home) -> None:
    reply = ask(home, "What can you do?").reply
    assert reply.startswith("I can switch the kitchen light, the living room lamp and 5 more, "
                            "and read 3 sensors.")
    for part in ("timers and alarms", "change my volume", "the weather in Berlin",
                 "Your own commands: movie time.", "Try: turn on the kitchen light."):
        assert part in reply
    assert ask(home, "help").reply == reply


def test_help_leaves_out_what_is_switched_off(tmp_path: Path) -> None:
    path = home_config(tmp_path, "skills: {alarms: false, volume: false}\n")
    path.write_text(path.read_text().replace("local_llm:\n  enabled: true",
                                             "local_llm:\n  enabled: false"))
    home = build_home(load_config(path), no_cloud=True,
                      pin_factory=MockFactory(pin_class=MockPWMPin))
    try:
        reply = ask(home, "what can you do").reply
        assert "alarms" not in reply and "volume" not in reply and "weather" not in reply
        assert ask(home, "wake me at 7").handled_by == "fallback"  # no model configured
    finally:
        home.close()


def test_repeat_says_the_last_reply_of_any_path(home: Home) -> None:
    assert ask(home, "what did you say").reply == NOTHING_YET
    said = ask(home, "turn on the kitchen light").reply
    assert ask(home, "what did you say").reply == said
    assert ask(home, "repeat that").reply == said  # repeating it twice repeats the same
    cloud = ask(home, "what is the capital of france").reply
    assert ask(home, "Could you repeat that?").reply == cloud == "Paris is the capital of France."


def test_a_scene_runs_its_actions_through_the_executor(home: Home) -> None:
    factory = home.pin_factory
    ask(home, "turn on the kitchen light")
    assert factory.pin(KITCHEN_LIGHT_PIN).state == 1
    answer = ask(home, "Movie time!")
    assert answer.intent == "AssistantScene" and answer.slots == {"scene": "movie_time"}
    assert [(r.action.device, r.action.action, r.ok) for r in answer.results] == [
        ("kitchen_light", "turn_off", True), ("living_room_lamp", "set_brightness", True)]
    assert answer.reply == "Enjoy the film."
    assert factory.pin(KITCHEN_LIGHT_PIN).state == 0
    assert factory.pin(LAMP_PIN).state == pytest.approx(0.2)
    assert ask(home, "start the movie").intent == "AssistantScene"
    assert ask(home, "start the coffee machine").results[0].action == Action("coffee_maker",
                                                                             "turn_on")


def test_a_scene_reply_says_what_failed() -> None:
    scene = SceneConfig(("x",), (SceneAction("a", "turn_on"), SceneAction("b", "set_speed", 40)),
                        reply="All set.")
    ok = ActionResult(Action("a", "turn_on"), ok=True, state="on")
    failed = ActionResult(Action("b", "set_speed", 40), ok=False, error="The fan didn't respond.")
    names = {"a": "lamp", "b": "fan"}.__getitem__
    assert scene_reply(scene, [ok, failed], names) == "Turned on the lamp. The fan didn't respond."
    assert scene_reply(scene, [failed], names) == "Nothing was changed. The fan didn't respond."
    assert scene_reply(scene, [ok], names) == "All set."
    done = ActionResult(Action("b", "set_speed", 40), ok=True, state="on")
    plain = SceneConfig(("x",), scene.actions)
    assert scene_reply(plain, [ok, done], names) == "Turned on the lamp and set the fan to 40 percent."


def test_a_switched_off_skill_goes_to_the_next_path(tmp_path: Path, cloud: ScriptedServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_TEST_KEY", "sk-test-not-a-real-key")
    path = home_config(tmp_path, "skills: {weather: false}\n"
                       f"llm: {{enabled: true, api_key_env: ASSISTANT_TEST_KEY, "
                       f"base_url: '{cloud.url}'}}\n".replace("llm:", "llm_unused:"))
    # The example's own llm section is switched on in place (a second llm: would be an error).
    text = path.read_text().replace("llm_unused:", "# ").replace(
        "llm:\n  enabled: false", "llm:\n  api_key_env: ASSISTANT_TEST_KEY\n  enabled: true"
    ).replace("base_url: https://api.openai.com/v1", f"base_url: {cloud.url}").replace(
        "local_llm:\n  enabled: true", "local_llm:\n  enabled: false")
    path.write_text(text)
    home = build_home(load_config(path), pin_factory=MockFactory(pin_class=MockPWMPin))
    try:
        assert ask(home, "what's the weather").handled_by == "cloud"
        assert len(cloud.requests) == 1
    finally:
        home.close()


@pytest.mark.slow
def test_spoken_skills_through_the_voice_pipeline(tmp_path: Path) -> None:
    """Real wake word, whisper and piper: a spoken volume command moves the player's gain, and
    "what did you say" repeats the reply before it."""
    from bench import corpus
    from bench.rig import run_wav

    path = home_config(tmp_path)
    path.write_text(path.read_text().replace("  auto_gain_dbfs: 0\n",
                                             "  auto_gain_dbfs: 0\n  mixer: gain\n"))
    pcm = corpus.silence(1.0)
    for command in ("Set the volume to twenty percent.", "What did you say?"):
        # A pause long enough for the reply (file mode counts the time it would take to play).
        pcm += (corpus.speak("Okay Nabu.") + corpus.silence(0.4) + corpus.speak(command)
                + corpus.silence(4.5))
    wav, out = tmp_path / "in.wav", tmp_path / "out.wav"
    corpus.write_wav(wav, pcm)
    gains: list[float] = []
    events = run_wav(load_config(path), wav, out, pin_factory=MockFactory(pin_class=MockPWMPin),
                     inspect=lambda home: gains.append(home.output_gain.value))
    replies = [e.data for e in events if e.type.value == "reply"]
    assert [(r["handled_by"], r["intent"]) for r in replies] == [
        ("skill", "HassSetVolume"), ("skill", "AssistantRepeat")], replies
    assert replies[0]["reply"] == "The volume is now 20 percent."
    assert replies[1]["reply"] == replies[0]["reply"]
    assert gains == [pytest.approx(0.04)]
    assert (tmp_path / "volume.json").read_text() == '{"level": 20, "muted": false}'


def test_the_dashboard_shows_and_moves_the_skills_volume_and_alarms(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The web page's volume and alarm controls are the skills' own (one volume, one list of
    alarms), through the real dashboard on loopback."""
    from assistant.brain.skills import volume
    from tests.webtools import running

    monkeypatch.setattr(volume, "find_amixer", lambda audio: None)  # the gain, on any machine
    with running(tmp_path) as app:
        client = app.client()
        client.setup()
        ask(app.home, "volume 40 percent")
        ask(app.home, "wake me at 7")
        app.home.timers.start(300, "pasta")
        _, state = client.get("/api/assistant")
        assert state["volume"] == 40.0 and state["alarms"] is True
        assert client.post("/api/volume", {"percent": 25})[0] == 200
        assert ask(app.home, "what's the volume").reply == "The volume is 25 percent."
        _, listed = client.get("/api/reminders")
        assert [t["label"] for t in listed["timers"]] == ["pasta timer"]
        assert [a["label"] for a in listed["alarms"]] == ["7:00 AM alarm"]
        assert client.post("/api/reminders/cancel", {"id": listed["alarms"][0]["id"]})[0] == 200
        assert ask(app.home, "what alarms do I have").reply == "You have no alarms."
        assert [t.name for t in app.home.timers.timers] == ["pasta"]
