"""The gpiozero pin factory, chosen once from config and handed to every device explicitly.

Devices never fall back to gpiozero's global default factory: the factory built here is passed as
``pin_factory=`` so that the same code drives real pins on a Pi and mock pins anywhere else.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gpiozero import Factory

from assistant.errors import AssistantError

_LOGGER = logging.getLogger(__name__)

PI_MODEL_FILE = Path("/proc/device-tree/model")


class GpioError(AssistantError, OSError):
    """The GPIO library is missing or cannot open the chip; the message says how to fix it."""

    exit_status = 3


def on_raspberry_pi(model_file: Path = PI_MODEL_FILE) -> bool:
    try:
        return "raspberry pi" in model_file.read_text(errors="replace").lower()
    except OSError:
        return False


def make_pin_factory(name: str, *, model_file: Path = PI_MODEL_FILE) -> Factory:
    """A gpiozero factory for "auto" | "lgpio" | "rpigpio" | "mock"."""
    if name == "auto":
        if on_raspberry_pi(model_file):
            return _lgpio()
        _LOGGER.info("Not a Raspberry Pi: GPIO pins are mocked, devices are simulated")
        return _mock()
    if name == "lgpio":
        return _lgpio()
    if name == "rpigpio":
        return _rpigpio()
    if name == "mock":
        return _mock()
    raise GpioError(
        f"unknown pin factory {name!r}: set gpio.pin_factory to auto, lgpio, rpigpio or mock"
    )


def _mock() -> Factory:
    # PWM-capable mock pins: plain MockPin refuses PWM, which dimmable lights and fans need.
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    return MockFactory(pin_class=MockPWMPin)


def _lgpio() -> Factory:
    try:
        from gpiozero.pins.lgpio import LGPIOFactory
    except ImportError as exc:  # gpiozero imports lgpio inside this module
        raise GpioError(
            "the lgpio module is missing: sudo apt install python3-lgpio (and create the venv with "
            "--system-site-packages) or pip install lgpio"
        ) from exc
    try:
        return LGPIOFactory()
    except Exception as exc:  # lgpio.error is not an OSError subclass
        raise GpioError(
            f"cannot open the GPIO chip with lgpio ({exc}): add the user to the gpio group "
            "(sudo usermod -a -G gpio $USER, then log in again) and check that /dev/gpiochip0 "
            "exists"
        ) from exc


def _rpigpio() -> Factory:
    try:
        from gpiozero.pins.rpigpio import RPiGPIOFactory
    except ImportError as exc:
        raise GpioError(
            "the RPi.GPIO module is missing: sudo apt install python3-rpi.gpio or "
            "pip install RPi.GPIO "
            "(on a Pi 5 use pin_factory: lgpio instead)"
        ) from exc
    try:
        return RPiGPIOFactory()
    except Exception as exc:
        raise GpioError(
            f"cannot open GPIO with RPi.GPIO ({exc}): add the user to the gpio group "
            "(sudo usermod -a -G gpio $USER, then log in again); on a Pi 5 use pin_factory: lgpio"
        ) from exc
