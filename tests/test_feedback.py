"""Status LED, sounds and push button on gpiozero's MockFactory, driven by pipeline events.

No timing is asserted: blinking is shown by the pin's recorded history (on, then off, ...), and
anything a gpiozero background thread does is polled for with a bounded wait.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from assistant.config import FeedbackConfig
from assistant.events import Event, EventBus, EventType
from assistant.feedback import (
    ERROR_SOUND,
    SOUND_RATE,
    WAKE_SOUND,
    PushButton,
    Sounds,
    StatusLed,
    attach_feedback,
)
from tests.polling import wait_for

LED_PIN = 12
BUTTON_PIN = 16


@pytest.fixture
def led(factory: MockFactory) -> Iterator[StatusLed]:
    led = StatusLed(LED_PIN, factory)
    yield led
    led.close()


def state(name: str) -> Event:
    return Event(EventType.STATE, {"state": name})


def values(factory: MockFactory) -> list[float]:
    """Every value the LED pin took since the last clear, in order."""
    return [s.state for s in factory.pin(LED_PIN).states]


def saw(factory: MockFactory, pattern: list[Callable[[float], bool]]) -> Callable[[], bool]:
    """True once the pin's history contains values matching `pattern` in this order."""
    def check() -> bool:
        history = iter(values(factory))
        return all(any(test(v) for v in history) for test in pattern)
    return check


def on(v: float) -> bool:
    return v >= 1.0


def off(v: float) -> bool:
    return v <= 0.0


def between(v: float) -> bool:
    return 0.0 < v < 1.0


def test_led_is_off_when_idle_and_on_while_listening(led: StatusLed, factory: MockFactory) -> None:
    pin = factory.pin(LED_PIN)
    assert pin.state == 0
    led.on_event(state("listening"))
    assert led.state == "listening" and pin.state == 1
    led.on_event(state("idle"))
    assert led.state == "idle" and pin.state == 0


def test_led_blinks_while_thinking(led: StatusLed, factory: MockFactory) -> None:
    factory.pin(LED_PIN).clear_states()
    led.on_event(state("thinking"))
    assert wait_for(saw(factory, [on, off, on, off]))
    led.on_event(state("idle"))  # stops the blinking
    assert factory.pin(LED_PIN).state == 0


def test_led_pulses_while_speaking(led: StatusLed, factory: MockFactory) -> None:
    factory.pin(LED_PIN).clear_states()
    led.on_event(state("speaking"))
    # A pulse passes through levels between off and on; a blink never does.
    assert wait_for(saw(factory, [between, between, between]))
    led.on_event(state("idle"))
    assert factory.pin(LED_PIN).state == 0


def test_an_error_blinks_fast_ten_times_then_the_led_is_off(led: StatusLed,
                                                            factory: MockFactory) -> None:
    factory.pin(LED_PIN).clear_states()
    led.on_event(Event(EventType.ERROR, {"stage": "stt"}))
    assert led.state == "error"

    def ten_blinks_done() -> bool:
        history = values(factory)
        lit = sum(1 for a, b in zip(history, history[1:], strict=False) if off(a) and on(b))
        return lit == 10 and off(history[-1])

    assert wait_for(ten_blinks_done)


def test_muted_is_a_short_flash_then_a_long_dark(led: StatusLed, factory: MockFactory) -> None:
    factory.pin(LED_PIN).clear_states()
    led.on_event(state("muted"))
    assert led.state == "muted"
    # Unlike "listening" (steady on), muted lights briefly and goes dark again.
    assert wait_for(saw(factory, [on, off]))


def test_a_state_without_a_pattern_leaves_the_led_as_it_was(led: StatusLed,
                                                             factory: MockFactory) -> None:
    led.on_event(state("listening"))
    led.on_event(state("ringing"))  # the timer ringer's state: the LED has no pattern for it
    led.on_event(Event(EventType.TRANSCRIPT, {"text": "hello"}))  # not a state event
    assert factory.pin(LED_PIN).state == 1


def test_sounds_on_wake_and_on_errors_only() -> None:
    played: list[tuple[bytes, int]] = []
    sounds = Sounds(lambda pcm, rate: played.append((pcm, rate)))
    for type_ in EventType:
        sounds.on_event(Event(type_))
    assert played == [(WAKE_SOUND, SOUND_RATE), (ERROR_SOUND, SOUND_RATE)]
    # An unsure wake word is listened to in silence (the second stage may still drop it).
    sounds.on_event(Event(EventType.LISTENING, {"trigger": "wake", "chime": False}))
    assert len(played) == 2


class FakePipeline:
    """The part of Pipeline the button uses, recording what was asked of it."""

    def __init__(self) -> None:
        self.muted = False
        self.calls: list[str] = []
        self.s = SimpleNamespace(player=SimpleNamespace(busy=False, play=self._play))
        self.played: list[Any] = []

    def _play(self, pcm: bytes, rate: int) -> None:
        self.played.append((pcm, rate))

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        self.calls.append(f"muted={muted}")

    def request_listen(self) -> None:
        self.calls.append("listen")

    def stop_speaking(self) -> None:
        self.calls.append("stop")


@pytest.fixture
def button(factory: MockFactory) -> Iterator[tuple[PushButton, FakePipeline, list[str]]]:
    pipeline = FakePipeline()
    said: list[str] = []
    button = PushButton(BUTTON_PIN, factory, hold_s=0.05, pipeline=pipeline, say=said.append)
    yield button, pipeline, said
    button.close()


def press(factory: MockFactory) -> None:
    factory.pin(BUTTON_PIN).drive_low()  # a button to ground with the pull-up


def release(factory: MockFactory) -> None:
    factory.pin(BUTTON_PIN).drive_high()


def test_a_press_asks_the_pipeline_to_listen(button, factory: MockFactory) -> None:
    _button, pipeline, said = button
    press(factory)
    release(factory)
    assert wait_for(lambda: pipeline.calls == ["listen"])
    assert said == []


def test_a_press_while_a_reply_plays_stops_it(button, factory: MockFactory) -> None:
    _button, pipeline, _said = button
    pipeline.s.player.busy = True
    press(factory)
    release(factory)
    assert wait_for(lambda: pipeline.calls == ["stop"])


def test_a_press_while_muted_does_nothing(button, factory: MockFactory) -> None:
    _button, pipeline, _said = button
    pipeline.muted = True
    press(factory)
    release(factory)
    assert pipeline.calls == []  # mock pins call the edge handlers synchronously: no wait


def test_holding_toggles_mute_and_the_release_is_not_a_press(button, factory: MockFactory) -> None:
    _button, pipeline, said = button
    press(factory)
    assert wait_for(lambda: pipeline.calls == ["muted=True"])
    release(factory)
    assert said == ["Microphone off."]
    press(factory)
    assert wait_for(lambda: pipeline.calls == ["muted=True", "muted=False"])
    release(factory)
    assert said == ["Microphone off.", "Microphone on."]
    press(factory)  # a short press after the holds is a press again
    release(factory)
    assert wait_for(lambda: pipeline.calls[-1] == "listen")
    assert pipeline.calls == ["muted=True", "muted=False", "listen"]


def test_attach_feedback_builds_the_configured_parts(factory: MockFactory) -> None:
    bus = EventBus()
    pipeline = FakePipeline()
    config = FeedbackConfig(led_pin=LED_PIN, button_pin=BUTTON_PIN, hold_s=0.05, sounds=True)
    parts = attach_feedback(config, bus, pipeline, factory, lambda _text: None)
    try:
        assert [type(p) for p in parts] == [StatusLed, PushButton]
        bus.emit(EventType.STATE, state="listening")
        assert factory.pin(LED_PIN).state == 1
        bus.emit(EventType.LISTENING)
        assert pipeline.played == [(WAKE_SOUND, SOUND_RATE)]
    finally:
        for part in parts:
            part.close()


def test_attach_feedback_with_nothing_configured(factory: MockFactory) -> None:
    bus = EventBus()
    pipeline = FakePipeline()
    parts = attach_feedback(FeedbackConfig(sounds=False), bus, pipeline, factory, print)
    bus.emit(EventType.LISTENING)
    assert parts == [] and pipeline.played == []
