"""What the user sees and hears besides replies: a status LED, short sounds, a push button.

All of it subscribes to pipeline events; no stage calls it. The LED and button are gpiozero
devices on the pins named in the config's `feedback` section, on the injected pin factory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.config import FeedbackConfig
from assistant.events import Event, EventBus, EventType

_LOGGER = logging.getLogger(__name__)

SOUND_RATE = 22_050


def tone(freqs: list[float], seconds: float = 0.09, volume: float = 0.25) -> bytes:
    """Consecutive soft sine notes with short fades (no clicks)."""
    out = []
    n = int(SOUND_RATE * seconds)
    fade = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (SOUND_RATE * 0.01))
    for f in freqs:
        t = np.arange(n) / SOUND_RATE
        out.append(np.sin(2 * np.pi * f * t) * fade * volume)
    return (np.concatenate(out) * 32767).astype("<i2").tobytes()


WAKE_SOUND = tone([660, 990])
ERROR_SOUND = tone([440, 330], seconds=0.15)
MUTE_SOUND = tone([660, 440])


class StatusLed:
    """One LED shows the appliance state: off idle, on listening, blink thinking, pulse speaking,
    fast blink error, slow blink muted."""

    def __init__(self, pin: int, pin_factory: Any, active_high: bool = True):
        from gpiozero import PWMLED

        self.led = PWMLED(pin, active_high=active_high, pin_factory=pin_factory)
        self.state = "idle"

    def show(self, state: str) -> None:
        self.state = state
        led = self.led
        if state == "idle":
            led.off()
        elif state == "listening":
            led.on()
        elif state == "thinking":
            led.blink(on_time=0.1, off_time=0.1, background=True)
        elif state == "speaking":
            led.pulse(fade_in_time=0.4, fade_out_time=0.4, background=True)
        elif state == "error":
            led.blink(on_time=0.05, off_time=0.05, n=10, background=True)
        elif state == "muted":
            led.blink(on_time=0.1, off_time=1.9, background=True)

    def on_event(self, event: Event) -> None:
        if event.type is EventType.STATE:
            self.show(str(event.data.get("state")))
        elif event.type is EventType.ERROR:
            self.show("error")

    def close(self) -> None:
        self.led.close()


class Sounds:
    """Short sounds on wake and on errors, through the same player as replies."""

    def __init__(self, play: Callable[[bytes, int], None]):
        self.play = play

    def on_event(self, event: Event) -> None:
        if event.type is EventType.LISTENING and event.data.get("chime", True):
            self.play(WAKE_SOUND, SOUND_RATE)
        elif event.type is EventType.ERROR:
            self.play(ERROR_SOUND, SOUND_RATE)


class PushButton:
    """Press to talk (or to stop a reply); hold to mute or unmute the microphone."""

    def __init__(self, pin: int, pin_factory: Any, hold_s: float, pipeline: Any,
                 say: Callable[[str], None]):
        from gpiozero import Button

        self.pipeline = pipeline
        self.say = say
        self._held = False
        self.button = Button(pin, pull_up=True, hold_time=hold_s, pin_factory=pin_factory)
        self.button.when_held = self._on_held
        self.button.when_released = self._on_released

    def _on_held(self) -> None:
        self._held = True
        muted = not self.pipeline.muted
        self.pipeline.set_muted(muted)
        _LOGGER.info("microphone %s by the button", "muted" if muted else "unmuted")
        self.say("Microphone off." if muted else "Microphone on.")

    def _on_released(self) -> None:
        if self._held:  # the end of a hold is not a press
            self._held = False
            return
        if self.pipeline.s.player.busy:
            self.pipeline.stop_speaking()
        elif not self.pipeline.muted:
            self.pipeline.request_listen()

    def close(self) -> None:
        self.button.close()


def attach_feedback(config: FeedbackConfig, bus: EventBus, pipeline: Any, pin_factory: Any,
                    say: Callable[[str], None]) -> list[Any]:
    """Creates the configured feedback parts and subscribes them; returns them for closing."""
    parts: list[Any] = []
    if config.led_pin is not None:
        led = StatusLed(config.led_pin, pin_factory, config.led_active_high)
        bus.subscribe(led.on_event)
        parts.append(led)
    if config.sounds:
        bus.subscribe(Sounds(pipeline.s.player.play).on_event)
    if config.button_pin is not None:
        parts.append(PushButton(config.button_pin, pin_factory, config.hold_s, pipeline, say))
    return parts
