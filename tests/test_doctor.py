"""`assistant doctor`: each problem is reported with a fix, and the exit status says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import doctor
from assistant.config import parse_config
from assistant.doctor import Check

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config" / "assistant.yaml"


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


@pytest.fixture(scope="module")
def example_checks() -> list[Check]:
    # Files only: loading every model is for the real doctor (and the slow test below).
    return doctor.run_doctor(EXAMPLE, listen_s=0.2, speaker_test=True, load_models=False)


def test_config_error_is_reported_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("wake:\n  modle: hey_jarvis\n")
    checks = doctor.run_doctor(bad, listen_s=0, speaker_test=False, load_models=False)
    assert [c.name for c in checks] == ["config"]
    assert not checks[0].ok
    assert f"{bad}:2" in checks[0].detail and "modle" in checks[0].detail
    assert "check-config" in checks[0].fix
    assert doctor.exit_status(checks) == 1


def test_missing_config_file(tmp_path: Path) -> None:
    checks = doctor.run_doctor(tmp_path / "nope.yaml", listen_s=0, load_models=False)
    assert not checks[0].ok and "cannot read" in checks[0].detail


def test_missing_microphone_is_explained(example_checks: list[Check]) -> None:
    import sounddevice as sd

    if any(d["max_input_channels"] > 0 for d in sd.query_devices()):
        pytest.skip("this machine has a microphone")
    mic = by_name(example_checks)["microphone"]
    assert not mic.ok
    assert "no microphone found" in mic.detail
    assert "arecord -l" in mic.fix
    # No recording or tone is attempted without a device.
    assert "microphone level" not in by_name(example_checks)


def test_bundled_models_are_found(example_checks: list[Check]) -> None:
    checks = by_name(example_checks)
    for name in ("config", "stt model", "tts voice", "wake model", "gpio", "disk space"):
        assert checks[name].ok, checks[name]
    assert "mock pins" in checks["gpio"].detail or doctor.on_raspberry_pi()
    assert "GPIO 17" in checks["gpio"].detail


def test_report_and_exit_status(example_checks: list[Check]) -> None:
    report = doctor.format_report(example_checks)
    assert report.splitlines()[0].startswith("ok    config:")
    good = [Check("a", True, "fine")]
    assert doctor.exit_status(good) == 0
    assert doctor.format_report(good).endswith("all checks passed")
    bad = [*good, Check("b", False, "broken", "do this")]
    assert doctor.exit_status(bad) == 1
    text = doctor.format_report(bad)
    assert "FAIL  b: broken" in text and "fix: do this" in text and "1 problem(s)" in text


def test_wrong_models_are_explained(tmp_path: Path) -> None:
    config = parse_config(
        "wake: {model: hey_computer}\nstt: {model: /nonexistent}\n"
        f"tts: {{voice: {tmp_path}/x.onnx}}\nlocal_llm: {{model: {tmp_path}/m.gguf}}\n"
    )
    checks = by_name(doctor.check_models(config, load=False))
    assert not checks["wake model"].ok and "okay_nabu" in checks["wake model"].fix
    assert not checks["stt model"].ok
    assert not checks["tts voice"].ok
    assert not checks["local llm"].ok and "local_llm.enabled: false" in checks["local llm"].fix


def test_vosk_folder_missing(tmp_path: Path) -> None:
    config = parse_config(f"stt: {{engine: vosk, model: {tmp_path}/vosk}}\n")
    check = by_name(doctor.check_models(config, load=False))["stt model"]
    assert not check.ok and "models fetch" in check.fix


def test_disk_space(tmp_path: Path) -> None:
    assert doctor.check_disk(str(tmp_path / "a" / "b" / "state.json")).ok
    low = doctor.check_disk(str(tmp_path / "state.json"), min_free_mb=10**12)
    assert not low.ok and "MB free" in low.detail and low.fix


def test_cloud_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_TEST_KEY", raising=False)
    config = parse_config("llm: {enabled: true, api_key_env: ASSISTANT_TEST_KEY}\n")
    check = doctor.check_cloud(config)
    assert not check.ok and "ASSISTANT_TEST_KEY" in check.fix


def test_cloud_reachable_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        monkeypatch.setenv("ASSISTANT_TEST_KEY", "sk-test")
        config = parse_config(
            f"llm: {{enabled: true, api_key_env: ASSISTANT_TEST_KEY, "
            f"base_url: 'http://127.0.0.1:{port}/v1'}}\n"
        )
        assert doctor.check_cloud(config).ok
    assert not doctor.check_cloud(config).ok  # the port is closed now


def test_level_judgement() -> None:
    silent = np.zeros(16000, dtype=np.int16)
    dbfs, clipped = doctor.level_stats(silent)
    assert dbfs == -np.inf and clipped == 0
    assert not doctor.judge_level(dbfs, clipped).ok
    t = np.arange(16000) / 16000
    speech_like = (3000 * np.sin(2 * np.pi * 200 * t)).astype(np.int16)
    assert doctor.judge_level(*doctor.level_stats(speech_like)).ok
    loud = np.clip(60000 * np.sin(2 * np.pi * 200 * t), -32768, 32767).astype(np.int16)
    check = doctor.judge_level(*doctor.level_stats(loud))
    assert not check.ok and "clipping" in check.detail and "lower" in check.fix


def test_pick_device_by_name_index_default() -> None:
    devices = [
        {"name": "HDA Intel: HDMI 0", "max_input_channels": 0, "max_output_channels": 2},
        {"name": "USB PnP Sound Device", "max_input_channels": 1, "max_output_channels": 2},
    ]
    assert doctor.pick_device(devices, "usb pnp", "input", None) == 1
    assert doctor.pick_device(devices, "hdmi", "input", None) is None  # no input channels
    assert doctor.pick_device(devices, 0, "output", None) == 0
    assert doctor.pick_device(devices, None, "output", 0) == 0
    assert doctor.pick_device(devices, None, "input", None) == 1
    assert doctor.pick_device([], None, "input", None) is None


@pytest.mark.slow
def test_models_load() -> None:
    config = parse_config("")
    for check in doctor.check_models(config, load=True):
        assert check.ok, check


ASOUNDRC = """pcm.!default {{
  type file
  slave.pcm "null"
  file "{speaker}"
  infile "{mic}"
  format "raw"
}}
"""

SCRIPT = """
import sys
from assistant import doctor
checks = doctor.run_doctor(sys.argv[1], listen_s=0.3, load_models=False)
print(doctor.format_report(checks))
sys.exit(doctor.exit_status(checks))
"""


@pytest.mark.parametrize(
    ("amplitude", "ok", "words"),
    [(3000, True, "0.00% clipped"), (0, False, "silent"), (60000, False, "clipping")],
)
def test_microphone_level_and_tone_through_alsa(
    tmp_path: Path, amplitude: int, ok: bool, words: str
) -> None:
    # A fresh process, because PortAudio reads ~/.asoundrc once: the ALSA file plugin is the
    # sound card, its infile the microphone and its output file the speaker.
    import os
    import subprocess
    import sys

    t = np.arange(48000 * 2) / 16000
    wave = np.clip(amplitude * np.sin(2 * np.pi * 300 * t), -32768, 32767).astype("<i2")
    (tmp_path / "mic.raw").write_bytes(wave.tobytes())
    speaker = tmp_path / "speaker.raw"
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(speaker=speaker, mic=tmp_path / "mic.raw"))
    env = dict(os.environ, HOME=str(tmp_path), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(EXAMPLE)], env=env,
                          capture_output=True, text=True, timeout=120)
    level = next(line for line in done.stdout.splitlines() if "microphone level" in line)
    assert level.startswith("ok" if ok else "FAIL"), done.stdout
    assert words in level
    if not ok:  # (a pass also needs every other check to pass, which is not this test's subject)
        assert done.returncode == 1, done.stdout + done.stderr
    assert "ok    speaker test" in done.stdout
    assert speaker.stat().st_size > 0  # the tone reached the "speaker"


def test_the_non_commercial_wake_models_are_named(example_checks: list[Check]) -> None:
    licences = by_name(example_checks)["licences"]
    assert licences.ok  # information, not a fault
    assert "CC BY-NC-SA 4.0" in licences.detail and "NON-COMMERCIAL" in licences.detail
    assert "wake.acoustic_check" in licences.detail and "wake.noisy_model" in licences.detail
    assert "wake.acoustic_check: false" in licences.detail
    off = parse_config("wake: {acoustic_check: false}\n")
    assert doctor.open_wake_models_used(off) == []
    assert "Apache-2.0" in doctor.check_licences(off).detail
    assert "NON-COMMERCIAL" not in doctor.check_licences(off).detail
    engine = parse_config("wake: {engine: openwakeword, model: hey_jarvis}\n")
    assert doctor.open_wake_models_used(engine) == ["wake.engine: openwakeword"]
    assert "wake.engine: microwakeword" in doctor.check_licences(engine).detail
