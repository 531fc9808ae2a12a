"""The assistant's own volume: up, down, set, mute, unmute, remembered across restarts.

Two mixers, one Protocol. ``AmixerMixer`` moves the ALSA mixer of the configured output device
(``amixer``, its mapped volume, which follows loudness rather than the raw register), found at
start: ``audio.mixer: auto`` takes the card named in ``audio.output_device`` (``hw:N`` in a
PortAudio name, a card in /proc/asound/cards, or an ALSA device such as ``pulse``), or the
default device, and the first control with a playback volume. Where there is none (no amixer, no
card, a control without volume) ``GainMixer`` scales the samples the player writes, with the
level squared (50 % is about -12 dB). Every reply says the level read back from the mixer after
the change, never the level asked for.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.audio.player import OutputGain
from assistant.config import AudioConfig

_LOGGER = logging.getLogger(__name__)

STEP = 10
"""Points per "louder" / "turn down the volume" without a number."""
RING_FLOOR = 20
"""A ringing alarm or timer lifts the volume to at least this (and unmutes)."""
AMIXER_TIMEOUT_S = 2.0
_PREFERRED = ("Master", "PCM", "Speaker", "Headphone", "Digital", "Playback", "Line Out")
_CARDS = Path("/proc/asound/cards")


class Mixer(Protocol):
    name: str

    def read(self) -> tuple[int, bool]:
        """(level 0-100, muted) as the mixer has it now."""
        ...

    def write(self, level: int | None = None, muted: bool | None = None) -> None: ...


class GainMixer:
    """The player's own gain: level 0-100 -> gain (level/100)**2."""

    name = "the assistant's gain"

    def __init__(self, gain: OutputGain, level: int = 100, muted: bool = False):
        self.gain = gain
        self._level, self._muted = level, muted
        self._apply()

    def read(self) -> tuple[int, bool]:
        return self._level, self._muted

    def write(self, level: int | None = None, muted: bool | None = None) -> None:
        if level is not None:
            self._level = max(0, min(100, level))
        if muted is not None:
            self._muted = muted
        self._apply()

    def _apply(self) -> None:
        self.gain.value = 0.0 if self._muted else (self._level / 100) ** 2


class AmixerError(Exception):
    pass


class AmixerMixer:
    """One simple control of an ALSA mixer, through the amixer command."""

    def __init__(self, device: list[str], control: str, can_mute: bool):
        self.device = device
        """amixer's device options: ["-c", "1"] or ["-D", "pulse"]."""
        self.control = control
        self.can_mute = can_mute
        self.name = f"ALSA {' '.join(device)} {control}"

    def read(self) -> tuple[int, bool]:
        out = _amixer([*self.device, "-M", "sget", self.control])
        levels = [int(v) for v in re.findall(r"\[(\d+)%\]", out)]
        if not levels:
            raise AmixerError(f"amixer shows no level for {self.control}")
        switches = re.findall(r"\[(on|off)\]", out)
        # Channels move together; their mean is what is heard.
        return round(sum(levels) / len(levels)), bool(switches) and all(s == "off" for s in switches)

    def write(self, level: int | None = None, muted: bool | None = None) -> None:
        args = [*self.device, "-q", "-M", "sset", self.control]
        if level is not None:
            _amixer([*args, f"{max(0, min(100, level))}%"])
        if muted is not None and self.can_mute:
            _amixer([*args, "mute" if muted else "unmute"])


def _amixer(args: list[str]) -> str:
    try:
        done = subprocess.run(["amixer", *args], capture_output=True, text=True,
                              timeout=AMIXER_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AmixerError(f"amixer {' '.join(args)}: {exc}") from exc
    if done.returncode != 0:
        # alsa-lib prints its own trail of lines first; the last one is amixer's reason.
        lines = done.stderr.strip().splitlines()
        raise AmixerError(f"amixer {' '.join(args)}: {lines[-1] if lines else done.returncode}")
    return done.stdout


def amixer_device(audio: AudioConfig, cards: Path = _CARDS) -> list[str] | None:
    """amixer's device options for the configured speaker, or None when it names no ALSA
    card or device amixer could open."""
    if audio.mixer not in ("auto", "gain"):
        return ["-D", audio.mixer]
    wanted = audio.output_device
    if wanted is None:
        return ["-D", "default"]
    text = str(wanted)
    card = re.search(r"\bhw:(\d+)", text)
    if card:
        return ["-c", card.group(1)]
    if re.fullmatch(r"(default|pulse|pipewire|sysdefault|[a-z]+:\w+)", text):
        return ["-D", text]
    try:
        listing = cards.read_text()
    except OSError:
        return None
    for match in re.finditer(r"^\s*(\d+) \[([^\]]*)\]:(.*)$", listing, re.M):
        if text.lower() in (match.group(2) + match.group(3)).lower():
            return ["-c", match.group(1)]
    return None


def find_amixer(audio: AudioConfig) -> AmixerMixer | None:
    """The mixer control of the configured output, or None (the reason is logged)."""
    if audio.mixer == "gain":
        return None
    if shutil.which("amixer") is None:
        _LOGGER.info("volume: no amixer (apt install alsa-utils); using the assistant's own gain")
        return None
    device = amixer_device(audio)
    if device is None:
        _LOGGER.info("volume: %r is not an ALSA card amixer can open; using the assistant's "
                     "own gain", audio.output_device)
        return None
    try:
        listed = re.findall(r"Simple mixer control '([^']+)',0", _amixer([*device, "scontrols"]))
        names = [audio.mixer_control] if audio.mixer_control else (
            [n for n in _PREFERRED if n in listed] + [n for n in listed if n not in _PREFERRED])
        for name in names:
            caps = re.search(r"Capabilities:(.*)", _amixer([*device, "sget", name]))
            words = caps.group(1).split() if caps else []
            if "pvolume" in words or "volume" in words:
                mixer = AmixerMixer(device, name, can_mute="pswitch" in words or "switch" in words)
                mixer.read()
                _LOGGER.info("volume: %s", mixer.name)
                return mixer
    except AmixerError as exc:
        _LOGGER.info("volume: %s; using the assistant's own gain", exc)
        return None
    _LOGGER.info("volume: %s has no playback volume control; using the assistant's own gain",
                 " ".join(device))
    return None


@dataclass
class VolumeState:
    level: int = 100
    muted: bool = False


class VolumeControl:
    """Level and mute of one mixer, kept in a JSON file so they come back after a restart.
    The pipeline (a command) and the ringer (an alarm) use it from their own threads."""

    def __init__(self, mixer: Mixer, path: Path | None, fallback: GainMixer | None = None):
        self._lock = threading.RLock()
        self.mixer = mixer
        self.path = path
        self.fallback = fallback
        """Takes over when the ALSA mixer stops answering (a USB speaker unplugged)."""
        saved = self._load()
        if saved is not None:
            self._write(saved.level, saved.muted)

    def read(self) -> VolumeState:
        with self._lock:
            return self._read()

    def _read(self) -> VolumeState:
        try:
            level, muted = self.mixer.read()
        except AmixerError as exc:
            self._fall_back(exc)
            level, muted = self.mixer.read()
        if self._mutes_by_gain() and self.fallback is not None:
            muted = self.fallback.read()[1]
        return VolumeState(level, muted)

    def _mutes_by_gain(self) -> bool:
        """An ALSA control without a switch: mute is the gain at 0, its level stays."""
        return isinstance(self.mixer, AmixerMixer) and not self.mixer.can_mute

    def set(self, level: int | None = None, muted: bool | None = None) -> VolumeState:
        """Moves the mixer, saves and returns what it reads back."""
        with self._lock:
            self._write(level, muted)
            state = self._read()
            self._save(state)
        return state

    def make_audible(self) -> None:
        """Before an alarm or a timer rings: unmute, and at least RING_FLOOR percent."""
        try:
            with self._lock:
                state = self._read()
                if state.muted or state.level < RING_FLOOR:
                    self.set(max(state.level, RING_FLOOR), muted=False)
        except AmixerError as exc:  # the ring itself must not fail over the volume
            _LOGGER.warning("volume: could not unmute for the alarm: %s", exc)

    def _write(self, level: int | None, muted: bool | None) -> None:
        if muted is None and level is None:
            return
        if self._mutes_by_gain() and muted is not None and self.fallback is not None:
            self.fallback.write(muted=muted)
        try:
            self.mixer.write(level, muted)
        except AmixerError as exc:
            self._fall_back(exc)
            self.mixer.write(level, muted)

    def _fall_back(self, exc: Exception) -> None:
        if self.fallback is None or self.mixer is self.fallback:
            raise exc
        _LOGGER.warning("volume: %s stopped answering (%s); using the assistant's own gain",
                        self.mixer.name, exc)
        self.mixer = self.fallback

    def _load(self) -> VolumeState | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            data: Any = json.loads(self.path.read_text())
            return VolumeState(int(data["level"]), bool(data["muted"]))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            _LOGGER.warning("could not read the volume from %s (%s); leaving it as it is",
                            self.path, exc)
            return None

    def _save(self, state: VolumeState) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".volume-")
        with os.fdopen(fd, "w") as f:
            json.dump({"level": state.level, "muted": state.muted}, f)
        os.replace(tmp, self.path)


def build_volume(audio: AudioConfig, path: Path | None, gain: OutputGain) -> VolumeControl:
    fallback = GainMixer(gain)
    amixer = find_amixer(audio)
    return VolumeControl(amixer or fallback, path, fallback)


# -- the skill ---------------------------------------------------------------------------------
def volume_command(intent: str, slots: dict[str, Any], volume: VolumeControl) -> str:
    """One volume sentence carried out; the reply says the level the mixer now has."""
    try:
        before = volume.read()
        if intent == "AssistantGetVolume":
            return _level_words(before, "The volume is")
        if intent == "HassMediaPlayerMute":
            if before.muted:
                return "I'm already muted."
            after = volume.set(muted=True)
            return "Muted." if after.muted else "I couldn't mute the speaker."
        if intent == "HassMediaPlayerUnmute":
            if not before.muted:
                return _level_words(before, "I'm not muted. The volume is")
            after = volume.set(muted=False)
            return _level_words(after, "Unmuted. The volume is")
        if intent == "HassSetVolume":
            wanted = int(float(slots.get("volume", 0)))
        else:  # HassSetVolumeRelative
            step = int(float(slots.get("step") or STEP))
            sign = -1 if slots.get("direction") == "down" else 1
            if sign > 0 and before.level >= 100 and not before.muted:
                return "The volume is already at its maximum, 100 percent."
            if sign < 0 and before.level <= 0:
                return "The volume is already at 0 percent."
            wanted = before.level + sign * step
        after = volume.set(max(0, min(100, wanted)), muted=False)
        lead = "Unmuted. The volume is now" if before.muted and not after.muted else "The volume is now"
        return _level_words(after, lead)
    except AmixerError as exc:
        _LOGGER.warning("volume: %s", exc)
        return "I couldn't change the volume: the mixer isn't answering."


def _level_words(state: VolumeState, lead: str) -> str:
    muted = " (muted)" if state.muted else ""
    return f"{lead} {state.level} percent{muted}."
