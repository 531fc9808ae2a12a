"""Volume: the player's gain really scales what is played; the ALSA mixer (amixer, through a
real PulseAudio null sink and its ALSA plugin) really moves, as pactl reads it back; the level
survives a restart; a mixer that goes away falls back to the gain; the replies say the level
read back, and the sentences match through hassil."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.player import OutputGain, Player
from assistant.brain.skills.volume import (
    AmixerMixer,
    GainMixer,
    VolumeControl,
    amixer_device,
    build_volume,
    volume_command,
)
from assistant.config import AudioConfig


class Recorder:
    def __init__(self) -> None:
        self.pcm = b""

    def play(self, pcm: bytes, rate: int) -> None:
        self.pcm += pcm


def played_peak(gain: OutputGain, amplitude: int = 10000) -> int:
    sink = Recorder()
    player = Player(sink, gain=gain)
    player.play(np.full(1600, amplitude, dtype="<i2").tobytes(), 16000)
    assert player.wait_idle(5)
    player.close()
    return int(np.abs(np.frombuffer(sink.pcm, dtype="<i2")).max())


def test_the_players_gain_follows_the_level(tmp_path: Path) -> None:
    gain = OutputGain()
    volume = VolumeControl(GainMixer(gain), tmp_path / "volume.json")
    assert played_peak(gain) == 10000
    assert volume_command("HassSetVolume", {"volume": 50}, volume) == "The volume is now 50 percent."
    assert played_peak(gain) == 2500  # (50 / 100) ** 2
    assert volume_command("HassMediaPlayerMute", {}, volume) == "Muted."
    assert played_peak(gain) == 0
    assert volume_command("HassMediaPlayerMute", {}, volume) == "I'm already muted."
    assert volume_command("HassMediaPlayerUnmute", {}, volume) == "Unmuted. The volume is 50 percent."
    assert played_peak(gain) == 2500
    # Not muted: nothing to undo, and the reply does not claim it did.
    assert volume_command("HassMediaPlayerUnmute", {}, volume) == "I'm not muted. The volume is 50 percent."


def test_up_down_and_the_limits(tmp_path: Path) -> None:
    volume = VolumeControl(GainMixer(OutputGain()), None)

    def say(intent: str, **slots: object) -> str:
        return volume_command(intent, slots, volume)

    assert say("HassSetVolumeRelative", direction="up") == \
        "The volume is already at its maximum, 100 percent."
    assert say("HassSetVolumeRelative", direction="down") == "The volume is now 90 percent."
    assert say("HassSetVolumeRelative", direction="down", step=85) == "The volume is now 5 percent."
    assert say("HassSetVolumeRelative", direction="down") == "The volume is now 0 percent."
    assert say("HassSetVolumeRelative", direction="down") == "The volume is already at 0 percent."
    say("HassMediaPlayerMute")
    # "louder" while muted unmutes, at the new level.
    assert say("HassSetVolumeRelative", direction="up", step=30) == \
        "Unmuted. The volume is now 30 percent."
    assert say("AssistantGetVolume") == "The volume is 30 percent."


def test_the_level_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "volume.json"
    first = VolumeControl(GainMixer(OutputGain()), path)
    first.set(40)
    first.set(muted=True)
    gain = OutputGain()
    again = VolumeControl(GainMixer(gain), path)
    assert (again.read().level, again.read().muted) == (40, True)
    assert gain.value == 0.0
    again.set(muted=False)
    assert gain.value == pytest.approx(0.16)


def test_a_broken_volume_file_leaves_the_volume_alone(tmp_path: Path) -> None:
    path = tmp_path / "volume.json"
    path.write_text("{broken")
    volume = VolumeControl(GainMixer(OutputGain()), path)
    assert volume.read().level == 100


def test_a_ringing_alarm_is_made_audible() -> None:
    gain = OutputGain()
    volume = VolumeControl(GainMixer(gain), None)
    volume.set(5, muted=True)
    volume.make_audible()
    assert (volume.read().level, volume.read().muted) == (20, False)
    assert gain.value > 0


def test_which_alsa_device_the_speaker_is(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.write_text(" 0 [Headphones     ]: bcm2835_headpho - bcm2835 Headphones\n"
                     "                      bcm2835 Headphones\n"
                     " 1 [Device         ]: USB-Audio - USB PnP Sound Device\n"
                     "                      C-Media USB PnP Sound Device at usb-xhci\n")

    def device(**kwargs: object) -> list[str] | None:
        return amixer_device(AudioConfig(**kwargs), cards)  # type: ignore[arg-type]

    assert device() == ["-D", "default"]
    assert device(output_device="USB PnP Sound Device: Audio (hw:2,0)") == ["-c", "2"]
    assert device(output_device="usb pnp") == ["-c", "1"]
    assert device(output_device="headphones") == ["-c", "0"]
    assert device(output_device="pulse") == ["-D", "pulse"]
    assert device(output_device="HDMI") is None  # nothing by that name: the gain is used
    assert device(mixer="hw:1") == ["-D", "hw:1"]


def test_no_mixer_means_the_gain(tmp_path: Path) -> None:
    gain = OutputGain()
    volume = build_volume(AudioConfig(output_device="no such card", mixer="auto"), None, gain)
    assert isinstance(volume.mixer, GainMixer)
    volume = build_volume(AudioConfig(mixer="gain"), None, gain)
    assert isinstance(volume.mixer, GainMixer)


# -- a real mixer: PulseAudio's null sink through alsa-plugins' pulse device ---------------------
PA_SCRIPT = """
load-module module-null-sink sink_name=speaker rate=22050 channels=1
load-module module-native-protocol-unix
set-default-sink speaker
"""


@pytest.fixture
def pulse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[bytes]]:
    if shutil.which("pulseaudio") is None or shutil.which("amixer") is None:
        pytest.skip("needs PulseAudio and amixer (scripts/setup.sh --test installs them)")
    runtime = tmp_path / "pulse-run"
    runtime.mkdir()
    (tmp_path / "test.pa").write_text(PA_SCRIPT)
    for name, value in (("XDG_RUNTIME_DIR", runtime), ("PULSE_RUNTIME_PATH", runtime),
                        ("HOME", tmp_path)):
        monkeypatch.setenv(name, str(value))
    daemon = subprocess.Popen(
        ["pulseaudio", "-n", "-F", str(tmp_path / "test.pa"), "--exit-idle-time=-1",
         "--daemonize=no", "--disallow-exit", "--log-target=stderr"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            daemon.kill()
            pytest.fail("PulseAudio did not start")
        time.sleep(0.1)
    yield daemon
    daemon.terminate()
    daemon.wait(timeout=10)


def sink_volume() -> tuple[int, bool]:
    """The null sink's volume and mute as PulseAudio itself reports them."""
    volume = subprocess.run(["pactl", "get-sink-volume", "speaker"], capture_output=True,
                            text=True, check=True).stdout
    mute = subprocess.run(["pactl", "get-sink-mute", "speaker"], capture_output=True, text=True,
                          check=True).stdout
    percent = int(volume.split("/")[1].strip().rstrip("%"))
    return percent, "yes" in mute


def test_the_alsa_mixer_moves_and_is_remembered(pulse, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "volume.json"
    gain = OutputGain()
    volume = build_volume(AudioConfig(output_device="pulse"), path, gain)
    assert isinstance(volume.mixer, AmixerMixer) and volume.mixer.control == "Master"
    assert volume_command("HassSetVolume", {"volume": 37}, volume) == "The volume is now 37 percent."
    assert sink_volume() == (37, False)
    assert volume_command("HassMediaPlayerMute", {}, volume) == "Muted."
    assert sink_volume() == (37, True)
    assert gain.value == 1.0  # the mixer mutes; the samples are left alone
    volume_command("HassMediaPlayerUnmute", {}, volume)
    # Someone moves the volume elsewhere; at the next start the remembered level comes back.
    subprocess.run(["pactl", "set-sink-volume", "speaker", "80%"], check=True)
    assert volume_command("AssistantGetVolume", {}, volume) == "The volume is 80 percent."
    volume.set(45)
    subprocess.run(["pactl", "set-sink-volume", "speaker", "80%"], check=True)
    build_volume(AudioConfig(output_device="pulse"), path, OutputGain())
    assert sink_volume() == (45, False)


def test_a_mixer_that_goes_away_falls_back_to_the_gain(pulse, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gain = OutputGain()
    volume = build_volume(AudioConfig(output_device="pulse"), None, gain)
    assert isinstance(volume.mixer, AmixerMixer)
    pulse.terminate()
    pulse.wait(timeout=10)
    # The reply is the level the gain now has, not the one the gone mixer had.
    assert volume_command("HassSetVolume", {"volume": 30}, volume) == "The volume is now 30 percent."
    assert isinstance(volume.mixer, GainMixer)
    assert gain.value == pytest.approx(0.09)


@pytest.fixture(scope="module")
def skills():  # type: ignore[no-untyped-def]
    from assistant.brain.skills import Skills
    from assistant.config import parse_config

    volume = VolumeControl(GainMixer(OutputGain()), None)
    return Skills(parse_config(""), executor=None, volume=volume)  # type: ignore[arg-type]


@pytest.mark.parametrize(("sentence", "reply"), [
    ("Turn up the volume.", "The volume is already at its maximum, 100 percent."),
    ("Volume 50 %", "The volume is now 50 percent."),
    ("louder", "The volume is now 60 percent."),
    ("Turn the volume down by 20 percent.", "The volume is now 40 percent."),
    ("Set the volume to seventy five percent.", "The volume is now 75 percent."),
    ("quieter please", "The volume is now 65 percent."),
    ("Mute.", "Muted."),
    ("What's the volume?", "The volume is 65 percent (muted)."),
    ("unmute", "Unmuted. The volume is 65 percent."),
    ("max volume", "The volume is now 100 percent."),
])
def test_volume_sentences(skills, sentence: str, reply: str) -> None:  # type: ignore[no-untyped-def]
    answer = skills.handle(sentence)
    assert answer is not None and answer.handled_by == "skill", sentence
    assert answer.reply == reply


def test_environment_is_restored() -> None:
    # The pulse fixture's variables must not leak into later tests (monkeypatch undoes them).
    assert "pulse-run" not in os.environ.get("XDG_RUNTIME_DIR", "")
