"""Real time, real sound devices: PulseAudio null sinks through sounddevice.

The assistant is started as a process the way the systemd unit starts it, a spoken command is
played into the virtual microphone, the reply is captured from the virtual speaker and
transcribed, the GPIO state is checked, then SIGTERM stops it and the next start restores state.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import corpus

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config" / "assistant.yaml"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pulseaudio") is None,
                       reason="needs PulseAudio (scripts/setup.sh --test installs it)"),
]

PA_SCRIPT = """
load-module module-null-sink sink_name=speaker rate=22050 channels=1
load-module module-null-sink sink_name=micfeed rate=16000 channels=1
load-module module-remap-source source_name=mic master=micfeed.monitor
load-module module-native-protocol-unix
set-default-sink speaker
set-default-source mic
"""


@pytest.fixture
def pulse(tmp_path: Path) -> Iterator[dict[str, str]]:
    runtime = tmp_path / "pulse-run"
    runtime.mkdir()
    script = tmp_path / "test.pa"
    script.write_text(PA_SCRIPT)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PULSE_RUNTIME_PATH": str(runtime),
           "HOME": str(tmp_path)}
    daemon = subprocess.Popen(
        ["pulseaudio", "-n", "-F", str(script), "--exit-idle-time=-1", "--daemonize=no",
         "--disallow-exit", "--log-target=stderr"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.2)
    else:
        daemon.kill()
        pytest.fail("PulseAudio did not start")
    yield env
    daemon.terminate()
    daemon.wait(timeout=10)


def start_assistant(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", "run", "--config", str(config), "--json"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_event(proc: subprocess.Popen[str], kind: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise AssertionError(f"assistant exited: {proc.stderr.read() if proc.stderr else ''}")
            continue
        event = json.loads(line)
        if event["event"] == kind:
            return event
    raise AssertionError(f"no {kind} event within {timeout} s")


def test_spoken_command_through_virtual_sound_devices(pulse, tmp_path, whisper):
    state = tmp_path / "state.json"
    config = tmp_path / "assistant.yaml"
    config.write_text(
        EXAMPLE.read_text()
        .replace("path: ~/.local/state/assistant/state.json", f"path: {state}")
        .replace("input_device: null", "input_device: pulse")
        .replace("output_device: null", "output_device: pulse")
    )
    command = tmp_path / "command.wav"
    corpus.write_wav(command, corpus.silence(0.5) + corpus.speak("Okay Nabu.") + corpus.silence(0.5)
                     + corpus.speak("Turn on the coffee maker.") + corpus.silence(1.0))
    captured = tmp_path / "speaker.raw"

    proc = start_assistant(config, pulse)
    try:
        wait_for_event(proc, "ready", timeout=120)
        with open(captured, "wb") as out:
            recorder = subprocess.Popen(
                ["parec", "-d", "speaker.monitor", "--format=s16le", "--rate=16000",
                 "--channels=1"], env=pulse, stdout=out)
            subprocess.run(["paplay", "-d", "micfeed", str(command)], env=pulse, check=True,
                           timeout=60)
            reply = wait_for_event(proc, "reply", timeout=60)
            wait_for_event(proc, "done", timeout=30)
            time.sleep(0.5)
            recorder.terminate()
            recorder.wait(timeout=10)
        assert reply["handled_by"] == "local"
        assert reply["actions"][0]["device"] == "coffee_maker"
        assert reply["actions"][0]["state"] == "on"
        heard = whisper.transcribe(captured.read_bytes()).text.lower()
        assert "coffee" in heard, heard  # piper speaks replies with its randomness: a word may blur
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""

    # The next start restores the coffee maker as it was.
    listing = subprocess.run(
        [sys.executable, "-m", "assistant", "devices", "--json", "--config", str(config)],
        capture_output=True, text=True, cwd=REPO, env=pulse, timeout=120)
    assert json.loads(listing.stdout)["states"]["coffee_maker"] == "on"
