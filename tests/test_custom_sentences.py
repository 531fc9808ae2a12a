"""Custom sentences (intents.extra_sentences): the documented worked example works as written,
devices by id or by name; every kind of malformed file is a config error naming the file, the
key and the line, at start and in check-config (exit 2), and never fails a command later."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from assistant.app import build_home
from assistant.brain.intents import IntentMatch, LocalIntents
from assistant.brain.types import Action
from assistant.config import load_config, parse_config
from assistant.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config" / "assistant.yaml"


def readme_example() -> str:
    """The worked example of docs/custom-sentences.md (the README points there), as a user
    would copy it."""
    text = (REPO / "docs" / "custom-sentences.md").read_text()
    found = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert found is not None
    return found.group(1)


def write_home(tmp_path: Path, extra: str, name: str = "extra-sentences.yaml") -> Path:
    (tmp_path / name).write_bytes(extra.encode() if isinstance(extra, str) else extra)
    text = EXAMPLE.read_text().replace("path: ~/.local/state/assistant/state.json",
                                       f"path: {tmp_path / 'state.json'}")
    path = tmp_path / "assistant.yaml"
    path.write_text(text + f"\nintents:\n  extra_sentences: {name}\n")
    return path


def test_the_readme_example_works(tmp_path: Path) -> None:
    config = load_config(write_home(tmp_path, readme_example()))
    assert config.intents.extra_sentences == str(tmp_path / "extra-sentences.yaml")
    assert set(config.intents.scenes) == {"movie_time"}
    home = build_home(config, no_cloud=True, pin_factory=MockFactory(pin_class=MockPWMPin))
    try:
        def ask(text: str):  # type: ignore[no-untyped-def]
            return home.brain.answer(text, lambda _s: None)

        for sentence in ("Start the coffee machine.", "make me a coffee", "brew coffee"):
            answer = ask(sentence)
            assert [(r.action, r.ok) for r in answer.results] == [
                (Action("coffee_maker", "turn_on"), True)], sentence
            assert answer.reply == "Turned on the coffee maker."
        assert ask("stop the coffee machine").results[0].action == Action("coffee_maker",
                                                                          "turn_off")
        ask("turn on the kitchen light")
        answer = ask("Movie time.")
        assert answer.handled_by == "skill" and answer.reply == "Enjoy the film."
        assert home.registry.states()["kitchen_light"] == "off"
        assert home.registry.states()["ceiling_fan"] == "on"
        assert home.registry.attributes()["living_room_lamp"]["brightness"] == 20
    finally:
        home.close()


def test_by_id_and_by_name_mean_the_same_device(tmp_path: Path) -> None:
    devices = "devices:\n  - {id: coffee, name: coffee maker, aliases: [brewer], kind: switch, pin: 22}\n"
    for said in ("coffee", "coffee maker", "Coffee Maker", "brewer"):
        extra = parse_extra(tmp_path, f"intents:\n  HassTurnOn:\n    data:\n      - sentences: [brew]\n"
                            f"        slots: {{name: {said}}}\n", devices)
        match = LocalIntents(extra).match("brew")
        assert isinstance(match, IntentMatch) and match.actions == (Action("coffee", "turn_on"),)


def parse_extra(folder: Path, extra: str, devices: str = ""):  # type: ignore[no-untyped-def]
    (folder / "extra.yaml").write_text(extra)
    return parse_config(f"intents: {{extra_sentences: extra.yaml}}\n{devices}",
                        str(folder / "config.yaml"))


DEVICES = ("devices:\n  - {id: kitchen_light, name: kitchen light, kind: light, pin: 17}\n"
           "  - {id: front_door, name: front door, kind: lock, pin: 5}\n"
           "  - {id: fan, name: fan, kind: fan, pin: 23}\n")
TURN_ON = "intents:\n  HassTurnOn:\n    data:\n"
SCENE = "scenes:\n  s:\n    sentences: [go]\n    actions:\n"
BAD = [
    ("a string", '"start the coffee machine"\n', 1, "", "expected a mapping"),
    ("a list", "- start the coffee machine\n- movie time\n", 1, "", "got a list"),
    ("yaml error", "intents: [\n", 2, "", "not valid YAML"),
    ("unknown top key", "sentences: [a]\n", 1, "sentences", "unknown key 'sentences'"),
    ("unknown device", TURN_ON + "      - sentences: [a]\n        slots: {name: toaster}\n", 5,
     "intents.HassTurnOn.data[0].slots.name", "no device with the id or name 'toaster'"),
    ("unknown intent", "intents:\n  MakeCoffee:\n    data:\n      - sentences: [a]\n", 2,
     "intents.MakeCoffee", "unknown intent"),
    ("data not a list", TURN_ON.replace("    data:\n", "    data: {sentences: [a]}\n"), 3,
     "intents.HassTurnOn", "expected data:"),
    ("block without sentences", TURN_ON + "      - slots: {name: fan}\n", 4,
     "intents.HassTurnOn.data[0]", "needs sentences"),
    ("template does not parse", TURN_ON + "      - sentences: ['turn on [the fan']\n", 4,
     "intents.HassTurnOn.data[0].sentences[0]", "does not parse"),
    ("unknown rule", TURN_ON + "      - sentences: ['<nope> fan']\n", 4,
     "intents.HassTurnOn.data[0].sentences[0]", "<nope> is not an expansion rule"),
    ("unknown list", TURN_ON + "      - sentences: ['start {gadget}']\n", 4,
     "intents.HassTurnOn.data[0].sentences[0]", "{gadget} is not a list"),
    ("own list redefined", "lists:\n  name:\n    values: [x]\n", 2, "lists.name",
     "filled from the config's devices"),
    ("unknown area", TURN_ON + "      - sentences: [a]\n        slots: {area: attic}\n", 5,
     "intents.HassTurnOn.data[0].slots.area", "no device is in an area called 'attic'"),
    ("scene device", SCENE + "      - {device: toaster, action: turn_on}\n", 5,
     "scenes.s.actions[0].device", "no device with the id or name 'toaster'"),
    ("scene on a lock", SCENE + "      - {device: front door, action: unlock}\n", 5,
     "scenes.s.actions[0].device", "cannot drive it"),
    ("scene action", SCENE + "      - {device: fan, action: set_speed, value: 50}\n", 5,
     "scenes.s.actions[0].action", "cannot 'set_speed'"),
    ("scene value", SCENE + "      - {device: kitchen light, action: turn_on, value: 3}\n", 5,
     "scenes.s.actions[0].value", "takes no value"),
    ("scene without actions", "scenes:\n  s:\n    sentences: [go]\n    actions: []\n", 4,
     "scenes.s.actions", "at least one action"),
    ("scene unknown key", "scenes:\n  s:\n    sentence: [go]\n", 3, "scenes.s.sentence",
     "unknown key 'sentence'"),
    ("scene id", "scenes:\n  Movie Time:\n    sentences: [go]\n    actions:\n"
     "      - {device: fan, action: turn_on}\n", 2, "scenes.Movie Time", "a scene id"),
    ("a list for the device slot", "lists:\n  gadget:\n    values: [{in: coffee thing, out: fan}]\n"
     + TURN_ON + "      - sentences: ['start the {gadget:name}']\n", 7,
     "intents.HassTurnOn.data[0].sentences[0]", "would fill the device slot"),
    ("a word for a number", "intents:\n  HassLightSet:\n    data:\n      - sentences: [glow]\n"
     "        slots: {name: kitchen light, brightness: high}\n", 5,
     "intents.HassLightSet.data[0].slots.brightness", "brightness is a number from 0 to 100"),
    ("a list of words for a number", "lists:\n  how:\n    values: [{in: bright, out: lots}]\n"
     "intents:\n  HassLightSet:\n    data:\n      - sentences: ['kitchen light {how:brightness}']\n"
     "        slots: {name: kitchen light}\n", 7, "intents.HassLightSet.data[0].sentences[0]",
     "brightness is a number, and the list gives 'lots'"),
    ("nested too deep", "intents: " + "[" * 200 + "]" * 200 + "\n", 1, "", "nested more than"),
]


@pytest.mark.parametrize(("text", "line", "key", "message"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_a_malformed_file_is_a_config_error_with_its_line(tmp_path: Path, text: str, line: int,
                                                          key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_extra(tmp_path, text, DEVICES)
    err = info.value
    assert err.file.endswith("extra.yaml") and err.line == line and err.key == key, str(err)
    assert message in err.detail


def test_not_utf8_and_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "extra.yaml").write_bytes(b"intents:\n  HassTurnOn: \xff\n")
    with pytest.raises(ConfigError) as info:
        parse_config("intents: {extra_sentences: extra.yaml}\n", str(tmp_path / "c.yaml"))
    assert info.value.line == 2 and "not UTF-8" in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse_config("stt: {threads: 2}\nintents: {extra_sentences: gone.yaml}\n",
                     str(tmp_path / "c.yaml"))
    assert info.value.file == str(tmp_path / "c.yaml") and info.value.line == 2
    assert info.value.key == "intents.extra_sentences" and "no such file" in str(info.value)


@pytest.mark.parametrize("case", [b for b in BAD if b[0] in ("a string", "a list", "yaml error",
                                                            "unknown device", "scene device")],
                         ids=lambda b: b[0])
def test_check_config_and_ask_exit_2_with_file_and_line(tmp_path: Path, case: tuple) -> None:
    name, text, line, key, message = case
    config = write_home(tmp_path, text)
    extra = tmp_path / "extra-sentences.yaml"
    for command in (["check-config"], ["ask", "turn on the kitchen light"]):
        proc = subprocess.run([sys.executable, "-m", "assistant", *command, "--config",
                               str(config)], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        where = f"{extra}:{line}: {key + ': ' if key else ''}"
        assert f"assistant: error: {where}" in proc.stderr, proc.stderr
        assert message in proc.stderr
        assert proc.stdout == ""  # nothing was answered with a half-loaded config


def test_a_list_of_numbers_for_a_number_slot(tmp_path: Path) -> None:
    config = parse_extra(tmp_path, "lists:\n  mood:\n    values:\n"
                         "      - {in: cozy, out: 30}\n      - {in: bright, out: 100}\n"
                         "intents:\n  HassLightSet:\n    data:\n"
                         "      - sentences: ['make the lamp {mood:brightness}']\n"
                         "        slots: {name: lamp}\n",
                         "devices:\n  - {id: lamp, name: lamp, kind: light, pin: 18, "
                         "dimmable: true}\n")
    match = LocalIntents(config).match("make the lamp cozy")
    assert isinstance(match, IntentMatch)
    assert match.actions == (Action("lamp", "set_brightness", 30.0),)


def test_a_shared_name_needs_the_id(tmp_path: Path) -> None:
    devices = ("devices:\n  - {id: kitchen_light, name: light, area: kitchen, kind: light, pin: 17}\n"
               "  - {id: hall_light, name: light, area: hall, kind: light, pin: 27}\n")
    block = "intents:\n  HassTurnOn:\n    data:\n      - sentences: [dawn]\n        slots: {name: %s}\n"
    with pytest.raises(ConfigError) as info:
        parse_extra(tmp_path, block % "light", devices)
    assert info.value.line == 5 and "shared by kitchen_light, hall_light" in str(info.value)
    config = parse_extra(tmp_path, block % "hall_light", devices)
    match = LocalIntents(config).match("dawn")
    assert isinstance(match, IntentMatch) and match.actions == (Action("hall_light", "turn_on"),)
