"""Typed configuration, loaded from one YAML file.

Every section is a frozen dataclass (``sections``, ``devices``); defaults live there and nowhere
else. The loader (``loader``, with the node walker in ``nodes``) walks the YAML node tree (not
the plain dict) so that every error can name the file, the key and the line; ``checks`` holds
what spans several keys.
"""

from assistant.config.checks import (
    MQTT_ACTIONS,
    MQTT_STATES,
    declared_pins,
    device_pins,
)
from assistant.config.devices import (
    ACTUATOR_KINDS,
    DEVICE_CLASSES,
    DeviceConfig,
    DeviceKind,
    MqttDeviceConfig,
    SceneAction,
    SceneConfig,
)
from assistant.config.loader import (
    LEAN,
    apply_profile,
    load_config,
    parse_config,
)
from assistant.config.nodes import MAX_DEPTH, compose_yaml
from assistant.config.sections import (
    AudioConfig,
    Config,
    EndpointConfig,
    FeedbackConfig,
    GpioConfig,
    IntentsConfig,
    LlmConfig,
    LocalLlmConfig,
    MqttConfig,
    MqttTlsConfig,
    SkillsConfig,
    StateConfig,
    SttConfig,
    TtsConfig,
    WakeConfig,
    WeatherConfig,
    WebConfig,
)

__all__ = [
    "ACTUATOR_KINDS",
    "AudioConfig",
    "Config",
    "DEVICE_CLASSES",
    "DeviceConfig",
    "DeviceKind",
    "EndpointConfig",
    "FeedbackConfig",
    "GpioConfig",
    "IntentsConfig",
    "LEAN",
    "LlmConfig",
    "LocalLlmConfig",
    "MAX_DEPTH",
    "MQTT_ACTIONS",
    "MQTT_STATES",
    "MqttConfig",
    "MqttDeviceConfig",
    "MqttTlsConfig",
    "SceneAction",
    "SceneConfig",
    "SkillsConfig",
    "StateConfig",
    "SttConfig",
    "TtsConfig",
    "WakeConfig",
    "WeatherConfig",
    "WebConfig",
    "apply_profile",
    "compose_yaml",
    "declared_pins",
    "device_pins",
    "load_config",
    "parse_config",
]
