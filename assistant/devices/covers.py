"""Covers (garage doors, blinds, gates): timed relay pulses on a timer thread, never blocking.

Two wirings:
- RelayCover: an "open" relay and a "close" relay. Each is held for ``travel_s``; they are
  interlocked so both are never on at once (that would short a motor's windings).
- MomentaryCover: one relay across an opener's push button, pulsed for ``travel_s``; an optional
  reed switch (``pins.sensor``) gives the real position: reed closed (active) = door closed.

Like Home Assistant's HassTurnOn / HassTurnOff, turn_on opens and turn_off closes.
"""

from __future__ import annotations

import logging
import threading

from gpiozero import DigitalInputDevice, Factory, OutputDevice

from assistant.config import DeviceConfig
from assistant.devices.kinds import Device, Snapshot, State
from assistant.errors import DeviceError

_LOGGER = logging.getLogger(__name__)

_TARGETS = {"open": "open", "turn_on": "open", "close": "closed", "turn_off": "closed"}


class Cover(Device):
    """Shared motion bookkeeping: which way it moves, the assumed position, the stop timer."""

    kind = "cover"
    supported_actions = frozenset({"open", "close", "stop", "toggle", "turn_on", "turn_off", "query"})

    def __init__(self, config: DeviceConfig):
        super().__init__(config)
        # RLock: apply() holds it while the helpers below take it again.
        self._lock = threading.RLock()
        self._moving: str | None = None  # "opening" / "closing"
        self._position: str | None = None  # assumed "open" / "closed"; None = unknown
        self._timer: threading.Timer | None = None
        self._generation = 0  # a timer from an earlier move must not end a newer one
        self._idle = threading.Event()
        self._idle.set()

    @property
    def state(self) -> State:
        with self._lock:
            return self._moving or self._sensed() or self._position

    def _sensed(self) -> str | None:
        return None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no relay is pulsing (for tests and an orderly shutdown)."""
        return self._idle.wait(timeout)

    def _apply(self, action: str, value: float | None) -> None:
        with self._lock:
            if action == "stop":
                if self._moving:  # stopped half-way: neither open nor closed
                    self._position = None
                self._stop()
            elif action == "toggle":
                target = "closed" if self.state in ("open", "opening") else "open"
                self._move(target, force=True)
            else:
                self._move(_TARGETS[action], force=False)

    def _move(self, target: str, force: bool) -> None:
        raise NotImplementedError

    def _relays_off(self) -> None:
        raise NotImplementedError

    def _start_timer(self, target: str) -> None:
        self._generation += 1
        self._moving = "opening" if target == "open" else "closing"
        self._idle.clear()
        timer = threading.Timer(self.config.travel_s, self._finish, args=(self._generation, target))
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _finish(self, generation: int, target: str) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._relays_off()
            self._position = target
            self._moving = None
            self._timer = None
            self._idle.set()
        _LOGGER.debug("%s: relay released, now %s", self.id, self.state)
        self._changed()

    def _stop(self) -> None:
        """Relays off and any pending timer made harmless; the position stays as assumed."""
        with self._lock:
            self._generation += 1
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._relays_off()
            self._moving = None
            self._idle.set()

    def snapshot(self) -> Snapshot:
        with self._lock:
            if self._moving:
                return {"position": "open" if self._moving == "opening" else "closed"}
            return {"position": self._position}

    def restore(self, snapshot: Snapshot) -> None:
        # Only the assumed position comes back: a restart never moves a door.
        position = snapshot.get("position")
        self._position = position if position in ("open", "closed") else None


class RelayCover(Cover):
    def __init__(self, config: DeviceConfig, pin_factory: Factory):
        super().__init__(config)
        self._open = OutputDevice(config.pins["open"], active_high=config.active_high,
                                  initial_value=False, pin_factory=pin_factory)
        try:
            self._close = OutputDevice(config.pins["close"], active_high=config.active_high,
                                       initial_value=False, pin_factory=pin_factory)
        except Exception:
            self._open.close()
            raise

    def _move(self, target: str, force: bool) -> None:
        wanted = "opening" if target == "open" else "closing"
        if self._moving == wanted:
            return
        self._stop()  # both relays off before the other one comes on: the interlock
        (self._open if target == "open" else self._close).on()
        self._start_timer(target)

    def _relays_off(self) -> None:
        self._open.off()
        self._close.off()

    def close(self) -> None:
        self._stop()
        self._open.close()
        self._close.close()


class MomentaryCover(Cover):
    # One button: releasing the relay early does not stop the door, so there is no stop.
    supported_actions = Cover.supported_actions - {"stop"}

    def __init__(self, config: DeviceConfig, pin_factory: Factory):
        super().__init__(config)
        pin = config.pin if config.pin is not None else config.pins["toggle"]
        self._relay = OutputDevice(pin, active_high=config.active_high, initial_value=False,
                                   pin_factory=pin_factory)
        self._reed: DigitalInputDevice | None = None
        if "sensor" in config.pins:
            try:
                self._reed = DigitalInputDevice(config.pins["sensor"], pull_up=config.pull_up,
                                                pin_factory=pin_factory)
            except Exception:
                self._relay.close()
                raise
            self._reed.when_activated = self._reed.when_deactivated = lambda: self._changed()

    def _sensed(self) -> str | None:
        if self._reed is None:
            return None
        return "closed" if self._reed.is_active else "open"

    def _move(self, target: str, force: bool) -> None:
        if self._moving:
            if self._moving == ("opening" if target == "open" else "closing"):
                return
            raise DeviceError(f"The {self.name} is still moving; try again when it stops.")
        # One button does everything: pressing it when already there would move it away again.
        if not force and (self._sensed() or self._position) == target:
            return
        self._relay.on()
        self._start_timer(target)

    def _relays_off(self) -> None:
        self._relay.off()

    def close(self) -> None:
        self._stop()
        self._relay.close()
        if self._reed is not None:
            self._reed.close()
