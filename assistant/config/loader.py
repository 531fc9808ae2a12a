"""Loading the YAML file into the sections, with errors that name the file, the key and the line."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from assistant.config.checks import (
    check_audio,
    check_devices,
    check_feedback,
    check_llm,
    check_mqtt,
    check_wake,
    check_weather,
    check_web,
)
from assistant.config.nodes import NodeLoader, child_node, compose_yaml
from assistant.config.sections import Config
from assistant.errors import ConfigError


def load_config(path: str | Path) -> Config:
    """Load and validate a config file; every problem is a ConfigError naming file, key, line."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", file=file) from exc
    return parse_config(text, file)


def parse_config(text: str, file: str = "<config>") -> Config:
    loader = NodeLoader(file)
    root = compose_yaml(text, file)
    config = Config() if root is None else loader.build(Config, root, "")
    config = dataclasses.replace(config, source_path=file)
    config = apply_profile(config)
    devices_node = child_node(root, "devices") if isinstance(root, yaml.MappingNode) else None
    check_devices(config, loader, devices_node)
    check_feedback(config, loader)
    check_audio(config, loader)
    check_wake(config, loader)
    check_web(config, loader)
    check_llm(config, loader)
    check_weather(config, loader)
    check_mqtt(config, loader)
    return _with_extra_sentences(config, loader)


def _with_extra_sentences(config: Config, loader: NodeLoader) -> Config:
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
