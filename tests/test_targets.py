"""Pure decisions of the local brain, on plain values: target matching, a clear yes, follow-ups."""

from __future__ import annotations

import pytest

from assistant.brain.answers import read_answer, restatements
from assistant.brain.followup import FOLLOW_UP_S, LastTurn, last_turn, rewrite
from assistant.brain.targets import Wanted, chosen, match_targets, which_one
from assistant.brain.types import Action, ActionResult
from assistant.config import DeviceConfig

KITCHEN = DeviceConfig("k", "ceiling light", "light", area="kitchen")
BEDROOM = DeviceConfig("b", "ceiling light", "light", area="bedroom")
PHONE_BATTERY = DeviceConfig("pb", "phone", "binary_sensor", device_class="battery")
PHONE_PLUG = DeviceConfig("pp", "phone", "binary_sensor", device_class="plug")
HOME = [KITCHEN, BEDROOM, PHONE_BATTERY, PHONE_PLUG]


def test_a_shared_name_is_resolved_by_area_then_by_the_appliances_area() -> None:
    name = Wanted("ceiling light", domains=frozenset({"light"}))
    assert match_targets(HOME, name).problem == "duplicate"
    assert match_targets(HOME, name, preferred_area="bedroom").devices == (BEDROOM,)
    assert match_targets(HOME, Wanted("ceiling light", "kitchen")).devices == (KITCHEN,)
    assert match_targets(HOME, Wanted("ceiling light", "garage")).problem == "area"
    assert match_targets(HOME, Wanted("attic light")).problem == "name"


def test_device_classes_tell_same_named_sensors_apart() -> None:
    found = match_targets(HOME, Wanted("phone", device_classes=frozenset({"plug"})))
    assert found.devices == (PHONE_PLUG,)
    assert match_targets(HOME, Wanted(device_classes=frozenset({"battery"}))).devices == (
        PHONE_BATTERY,)
    assert match_targets(HOME, Wanted(domains=frozenset({"fan"}))).problem == "domain"


def test_which_one_and_its_answer() -> None:
    assert which_one([KITCHEN, BEDROOM]) == (
        "Which one: the kitchen ceiling light or the bedroom ceiling light?")
    assert chosen([KITCHEN, BEDROOM], "the kitchen one") is KITCHEN
    assert chosen([KITCHEN, BEDROOM], "Bedroom.") is BEDROOM
    assert chosen([KITCHEN, BEDROOM], "both") is None


@pytest.mark.parametrize(("text", "said"), [
    ("yes", "yes"), ("Yes please.", "yes"), ("yeah do it", "yes"), ("yes unlock it", "yes"),
    ("go ahead", "yes"), ("Okay.", "yes"), ("yes, unlock the back door please", "yes"),
    ("no", "no"), ("no, don't", "no"), ("yes, but wait", "no"), ("never mind", "no"),
    ("all right now we need to turn on the budget", None), ("yes lock it", None),
    ("I said okay", None), ("okay turn on the light", None), ("right now", None), ("", None),
])
def test_only_a_clear_yes_is_a_yes(text: str, said: str | None) -> None:
    assert read_answer(text, restatements("unlock", "back door")) == said


def _turn(action: str = "turn_on", names: tuple[str, ...] = ("kitchen light",),
          expected: str | None = None) -> LastTurn:
    return LastTurn(names, action, None, ("light",), expected, at=0.0)


def test_the_last_turn_is_what_the_executor_did() -> None:
    results = [ActionResult(Action("k", "turn_on"), ok=True, state="on"),
               ActionResult(Action("b", "turn_on"), ok=False, error="no")]
    turn = last_turn(results, {"k": "kitchen light", "b": "bedroom light"}, {"k": "light"},
                     None, at=5.0)
    assert turn == LastTurn(("kitchen light",), "turn_on", None, ("light",), None, 5.0)
    assert last_turn(results[1:], {}, {}, None, at=5.0) is None


@pytest.mark.parametrize(("text", "sentences"), [
    ("and turn it off again", ["turn the kitchen light off"]),
    ("turn it back on", ["turn the kitchen light on"]),
    ("make it brighter", ["brighten the kitchen light"]),
    ("dim it to 20%", ["set the kitchen light to 20%"]),
    ("the bedroom too", ["turn on the lights in the bedroom", "turn on the bedroom"]),
    ("what about the porch light", ["turn on the porch light"]),
    ("and the fan", ["turn on the fan"]),
    ("hello there", []),
    ("do the same in the bedroom", ["turn on the lights in the bedroom", "turn on the bedroom"]),
    ("and in the bedroom?", ["turn on the lights in the bedroom", "turn on the bedroom"]),
    ("same for the fan", ["turn on the fan"]),
    ("do that in the bedroom too", ["turn on the lights in the bedroom", "turn on the bedroom"]),
    ("undo that", ["turn off the kitchen light"]),
    ("take it back", ["turn off the kitchen light"]),
    ("did that work?", ["is the kitchen light on"]),
    ("is it done", ["is the kitchen light on"]),
    ("in a minute", []),
])
def test_follow_ups_become_whole_sentences(text: str, sentences: list[str]) -> None:
    assert rewrite(text, _turn(), now=1.0, areas=["bedroom"]) == sentences


def test_a_follow_up_expires_and_questions_keep_their_state() -> None:
    assert rewrite("turn it off", _turn(), now=FOLLOW_UP_S + 1) == []
    assert rewrite("turn it off", None, now=0.0) == []
    asked = _turn("query", ("front door",), expected="locked")
    assert rewrite("what about the back door", asked, now=1.0) == [
        "is the back door locked", "what is the back door"]
