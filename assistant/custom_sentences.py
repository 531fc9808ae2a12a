"""The extra sentences file (``intents.extra_sentences``), validated when the config loads.

It holds hassil sentences in Home Assistant's format (``intents:``, ``lists:``,
``expansion_rules:``) and ``scenes:``, sentences that run several actions. Every mistake is a
ConfigError naming this file, the key and the line: a file that is text or a list, a template
that does not parse, a rule or list no file defines, a device the config does not declare, an
action a device cannot do. Devices may be named by id or by spoken name; the result names them
by id, which is what the local intents and the executor use.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from assistant.config.checks import ID_RE
from assistant.config.devices import DeviceConfig, SceneAction, SceneConfig
from assistant.config.nodes import NodeLoader, compose_yaml
from assistant.errors import ConfigError

MAX_BYTES = 1_000_000
"""A sentences file larger than this is a mistake (Home Assistant's own English ones: 0.3 MB)."""
_DATA = Path(__file__).resolve().parent / "data"
_TOP_KEYS = {"language", "intents", "lists", "expansion_rules", "scenes"}
_BLOCK_KEYS = {"sentences", "slots", "requires_context", "excludes_context", "response",
               "metadata", "expansion_rules", "lists"}
_OWN_LISTS = {"name", "area", "floor"}
"""Filled from the config's devices and areas; a file may use them, not redefine them."""
_SCENE_ACTIONS: dict[str, set[str]] = {
    "light": {"turn_on", "turn_off", "toggle"},
    "switch": {"turn_on", "turn_off", "toggle"},
    "fan": {"turn_on", "turn_off", "toggle"},
    "cover": {"open", "close", "toggle"},
    "lock": {"lock", "unlock"},
    "binary_sensor": set(),
    "sensor": set(),
}
_LEVELS = {"light": "set_brightness", "fan": "set_speed"}
_NUMBERS = {"brightness": 100, "percentage": 100, "volume": 100, "step": 100, "hours": 24,
            "minutes": 1440, "seconds": 86400}
"""Slots the assistant reads as numbers, with their largest value: a word there would fail the
command it belongs to, so the file is refused instead."""


@dataclass(frozen=True)
class ExtraSentences:
    data: dict[str, Any] = field(default_factory=dict)
    """The hassil part (intents, lists, expansion_rules), a "name" slot holding a device id."""
    scenes: dict[str, SceneConfig] = field(default_factory=dict)
    """Scene id -> scene, each action's device an id."""


def load_extra_sentences(path: Path, devices: tuple[DeviceConfig, ...],
                         language: str = "en", here: str | None = None) -> ExtraSentences:
    """Read and check the file; FileNotFoundError if it is not there, ConfigError if wrong.
    ``here``: the appliance's own area (config.area), which sentences may name too."""
    file = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", file=file) from exc
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"the file is larger than {MAX_BYTES // 1000} kB", file=file)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError("not UTF-8 text", file=file, line=line) from exc
    return check_extra_sentences(text, file, devices, language, here)


def check_extra_sentences(text: str, file: str, devices: tuple[DeviceConfig, ...],
                          language: str = "en", here: str | None = None) -> ExtraSentences:
    root = compose_yaml(text, file)
    if root is None:
        return ExtraSentences()
    return _Checker(NodeLoader(file), devices, language, here).check(root)


class _Checker:
    def __init__(self, loader: NodeLoader, devices: tuple[DeviceConfig, ...], language: str,
                 here: str | None = None):
        self.loader = loader
        self.devices = {d.id: d for d in devices}
        # A spoken name may be shared (one "light" per room): then only the id says which.
        self.spoken: dict[str, list[str]] = {}
        for d in devices:
            for spoken in dict.fromkeys(_norm(s) for s in (d.name, *d.aliases)):
                self.spoken.setdefault(spoken, []).append(d.id)
        self.areas = {_norm(a): a for a in [d.area for d in devices if d.area] + [here] if a}
        self.language = language
        self.known = _known_names(language)
        self.own_lists: dict[str, Any] = {}
        """This file's lists, for the templates that capture into a slot through them."""

    def error(self, message: str, key: str, node: yaml.Node | None) -> ConfigError:
        return self.loader.error(message, key, node)

    def check(self, root: yaml.Node) -> ExtraSentences:
        if not isinstance(root, yaml.MappingNode):
            got = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
            raise self.error(f"expected a mapping with intents: and/or scenes: (got {got}); "
                             "see docs/custom-sentences.md", "", root)
        parts = dict(self._items(root, "", _TOP_KEYS))
        data: dict[str, Any] = {"language": self.language}
        language = parts.get("language")
        if language is not None and _plain(language) != self.language:
            raise self.error(f"the file is for {_plain(language)!r}, the config's "
                             f"intents.language is {self.language!r}", "language", language)
        rules = set(self.known.rules)
        lists = set(self.known.lists) | _OWN_LISTS
        if "expansion_rules" in parts:
            data["expansion_rules"] = self._rules(parts["expansion_rules"], "expansion_rules")
            rules |= set(data["expansion_rules"])
        if "lists" in parts:
            data["lists"] = self._lists(parts["lists"], "lists")
            lists |= set(data["lists"])
        if "intents" in parts:
            data["intents"] = self._intents(parts["intents"], rules, lists)
        scenes = self._scenes(parts["scenes"], rules, lists) if "scenes" in parts else {}
        return ExtraSentences(data, scenes)

    # -- structure ---------------------------------------------------------------------------
    def _items(self, node: yaml.Node, key: str, allowed: set[str] | None = None
               ) -> Iterator[tuple[str, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error("expected a mapping", key, node)
        seen: set[str] = set()
        for key_node, value in node.value:
            name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            path = f"{key}.{name}" if key else str(name)
            if not isinstance(name, str):
                raise self.error("a key must be a single word", key, key_node)
            if allowed is not None and name not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(f"unknown key {name!r} (known keys: {known})", path, key_node)
            if name in seen:
                raise self.error(f"key {name!r} given twice", path, key_node)
            seen.add(name)
            yield name, value

    def _text(self, node: yaml.Node, key: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or not isinstance(_plain(node), str | int | float):
            raise self.error("expected text", key, node)
        return str(_plain(node))

    def _texts(self, node: yaml.Node, key: str) -> list[tuple[str, yaml.Node]]:
        if isinstance(node, yaml.ScalarNode):
            return [(self._text(node, key), node)]
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.error("expected a list of sentences", key, node)
        return [(self._text(n, f"{key}[{i}]"), n) for i, n in enumerate(node.value)]

    def _template(self, text: str, key: str, node: yaml.Node, rules: set[str],
                  lists: set[str]) -> None:
        from hassil.expression import ListReference, RuleReference
        from hassil.parse_expression import parse_sentence

        try:
            sentence = parse_sentence(text)
        except Exception as exc:  # hassil's ParseError and the errors of its own helpers
            raise self.error(f"the template {text!r} does not parse: {exc}", key, node) from exc
        for item in _walk(sentence.expression):
            if isinstance(item, RuleReference) and item.rule_name not in rules:
                raise self.error(f"<{item.rule_name}> is not an expansion rule of this file or "
                                 "of Home Assistant's sentences", key, node)
            if (isinstance(item, ListReference) and item.list_name not in lists
                    and item._inline_range_match is None):
                raise self.error(f"{{{item.list_name}}} is not a list of this file or of Home "
                                 "Assistant's sentences", key, node)
            if isinstance(item, ListReference):
                self._capture(item.list_name, item.slot_name, key, node)

    def _capture(self, list_name: str, slot: str, key: str, node: yaml.Node) -> None:
        """A list of this file filling a slot the assistant reads: its values must fit."""
        if slot == "name" and list_name != "name":
            raise self.error(f"{{{list_name}:name}} would fill the device slot from another "
                             "list; give the device aliases in the config, or write one block "
                             "per device with slots: {name: ...}", key, node)
        values = (self.own_lists.get(list_name) or {}).get("values")
        if slot not in _NUMBERS or not isinstance(values, list):
            return
        for value in values:
            out = value.get("out", value.get("in")) if isinstance(value, dict) else value
            if not isinstance(out, int | float) or isinstance(out, bool):
                raise self.error(f"{{{list_name}:{slot}}}: {slot} is a number, and the list "
                                 f"gives {out!r}", key, node)

    def _rules(self, node: yaml.Node, key: str) -> dict[str, str]:
        rules = {name: self._text(value, f"{key}.{name}") for name, value in self._items(node, key)}
        for name, value in self._items(node, key):
            self._template(rules[name], f"{key}.{name}", value, set(self.known.rules) | set(rules),
                           set(self.known.lists) | _OWN_LISTS)
        return rules

    def _lists(self, node: yaml.Node, key: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self._items(node, key):
            path = f"{key}.{name}"
            if name in _OWN_LISTS:
                raise self.error(f"{{{name}}} is filled from the config's devices; give this "
                                 "list another name", path, _key_node(node, value))
            shape = dict(self._items(value, path, {"values", "range", "wildcard"}))
            if not shape:
                raise self.error("a list needs values:, range: or wildcard: true", path, value)
            if "values" in shape:
                self._list_values(shape["values"], f"{path}.values")
            if "range" in shape:
                bounds = dict(self._items(shape["range"], f"{path}.range",
                                          {"from", "to", "step", "type", "multiplier"}))
                for bound in ("from", "to"):
                    if not isinstance(_plain(bounds.get(bound)), int):
                        raise self.error("a range needs whole numbers from: and to:",
                                         f"{path}.range", shape["range"])
            out[name] = _plain(value)
        self.own_lists = out
        return out

    def _list_values(self, node: yaml.Node, key: str) -> None:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.error("expected a list of values", key, node)
        for i, item in enumerate(node.value):
            if isinstance(item, yaml.MappingNode):
                parts = dict(self._items(item, f"{key}[{i}]", {"in", "out", "context",
                                                                "metadata"}))
                if "in" not in parts:
                    raise self.error("a value needs in: (the words)", f"{key}[{i}]", item)
                self._text(parts["in"], f"{key}[{i}].in")
            else:
                self._text(item, f"{key}[{i}]")

    # -- intents -------------------------------------------------------------------------------
    def _intents(self, node: yaml.Node, rules: set[str], lists: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, intent in self._items(node, "intents"):
            path = f"intents.{name}"
            if name not in self.known.intents:
                raise self.error(f"unknown intent {name!r}: use one of Home Assistant's "
                                 "(HassTurnOn, HassTurnOff, HassLightSet, ...) or the "
                                 "assistant's; for several actions write a scene", path,
                                 _key_node(node, intent))
            parts = dict(self._items(intent, path, {"data"}))
            blocks = parts.get("data")
            if not isinstance(blocks, yaml.SequenceNode) or not blocks.value:
                raise self.error("expected data: with a list of sentence blocks", path,
                                 blocks or intent)
            out[name] = {"data": [self._block(b, f"{path}.data[{i}]", rules, lists)
                                  for i, b in enumerate(blocks.value)]}
        return out

    def _block(self, node: yaml.Node, key: str, rules: set[str], lists: set[str]
               ) -> dict[str, Any]:
        parts = dict(self._items(node, key, _BLOCK_KEYS))
        if "sentences" not in parts:
            raise self.error("a block needs sentences:", key, node)
        block: dict[str, Any] = {name: _plain(value) for name, value in parts.items()}
        rules = rules | set(block.get("expansion_rules") or {})
        lists = lists | set(block.get("lists") or {})
        sentences = self._texts(parts["sentences"], f"{key}.sentences")
        for i, (text, text_node) in enumerate(sentences):
            self._template(text, f"{key}.sentences[{i}]", text_node, rules, lists)
        block["sentences"] = [text for text, _ in sentences]
        for mapping in ("slots", "requires_context", "excludes_context", "metadata"):
            if mapping in parts and not isinstance(parts[mapping], yaml.MappingNode):
                raise self.error("expected a mapping", f"{key}.{mapping}", parts[mapping])
        if "slots" in parts:
            block["slots"] = self._slots(parts["slots"], f"{key}.slots")
        return block

    def _slots(self, node: yaml.Node, key: str) -> dict[str, Any]:
        slots: dict[str, Any] = {}
        for name, value in self._items(node, key):
            plain = _plain(value)
            if name == "name":
                plain = self._device(value, f"{key}.name").id
            elif name in _NUMBERS and (not isinstance(plain, int | float) or isinstance(
                    plain, bool) or not 0 <= plain <= _NUMBERS[name]):
                raise self.error(f"{name} is a number from 0 to {_NUMBERS[name]}",
                                 f"{key}.{name}", value)
            elif name == "area":
                area = self.areas.get(_norm(str(plain)))
                if area is None:
                    known = ", ".join(sorted(self.areas.values())) or "none"
                    raise self.error(f"no device is in an area called {plain!r} (areas: "
                                     f"{known})", f"{key}.area", value)
                plain = area
            slots[name] = plain
        return slots

    def _device(self, node: yaml.Node, key: str) -> DeviceConfig:
        """A device named by id or by its spoken name or an alias."""
        said = self._text(node, key)
        ids = [said] if said in self.devices else self.spoken.get(_norm(said), [])
        if not ids:
            known = ", ".join(sorted(self.devices)) or "none are configured"
            raise self.error(f"no device with the id or name {said!r} (device ids: {known})",
                             key, node)
        if len(ids) > 1:
            raise self.error(f"the name {said!r} is shared by {', '.join(ids)}: use the id of "
                             "the one meant", key, node)
        return self.devices[ids[0]]

    # -- scenes --------------------------------------------------------------------------------
    def _scenes(self, node: yaml.Node, rules: set[str], lists: set[str]
                ) -> dict[str, SceneConfig]:
        scenes: dict[str, SceneConfig] = self.loader.convert(dict[str, SceneConfig], node, "scenes")
        out: dict[str, SceneConfig] = {}
        for (name, scene), (key_node, value) in zip(scenes.items(), node.value, strict=True):
            path = f"scenes.{name}"
            if not ID_RE.match(name):
                raise self.error("a scene id is lower-case letters, digits and _ only", path,
                                 key_node)
            nodes: dict[str, yaml.Node] = scene.__dict__.get("_nodes", {})
            if not scene.sentences:
                raise self.error("a scene needs at least one sentence", f"{path}.sentences",
                                 nodes.get("sentences", value))
            texts = nodes["sentences"].value
            for i, text in enumerate(scene.sentences):
                self._template(text, f"{path}.sentences[{i}]", texts[i], rules, lists)
            if not scene.actions:
                raise self.error("a scene needs at least one action", f"{path}.actions",
                                 nodes.get("actions", value))
            actions = tuple(self._action(a, f"{path}.actions[{i}]", nodes["actions"].value[i])
                            for i, a in enumerate(scene.actions))
            out[name] = replace(scene, actions=actions)
        return out

    def _action(self, action: SceneAction, key: str, node: yaml.Node) -> SceneAction:
        nodes: dict[str, yaml.Node] = action.__dict__.get("_nodes", {})
        device = self._device(nodes["device"], f"{key}.device")
        if device.kind in ("lock", "cover") or device.confirm:
            raise self.error(f"{device.id} is asked about before it acts (a {device.kind}"
                             f"{' with confirm: true' if device.confirm else ''}), so a scene "
                             "cannot drive it: say its command on its own", f"{key}.device",
                             nodes["device"])
        allowed = set(_SCENE_ACTIONS[device.kind])
        if device.dimmable and device.kind in _LEVELS:
            allowed.add(_LEVELS[device.kind])
        if action.action not in allowed:
            can = ", ".join(sorted(allowed)) or "nothing (it is a sensor)"
            raise self.error(f"{device.id} ({device.kind}) cannot {action.action!r}; it can: "
                             f"{can}", f"{key}.action", nodes.get("action", node))
        if action.action.startswith("set_"):
            if action.value is None or not 0 <= action.value <= 100:
                raise self.error(f"{action.action} needs value: 0-100 (percent)",
                                 f"{key}.value", nodes.get("value", node))
        elif action.value is not None:
            raise self.error(f"{action.action} takes no value", f"{key}.value", nodes["value"])
        return SceneAction(device.id, action.action, action.value)


@dataclass(frozen=True)
class _Known:
    intents: frozenset[str]
    rules: frozenset[str]
    lists: frozenset[str]


@functools.lru_cache(maxsize=4)
def _known_names(language: str) -> _Known:
    """Intent, rule and list names of Home Assistant's sentences and the assistant's own."""
    from home_assistant_intents import get_intents

    from assistant.brain.classes import sentences as class_sentences

    sources = [get_intents(language) or {}, class_sentences(language)]
    for name in (f"sentences_{language}.yaml", f"skills_{language}.yaml"):
        if (_DATA / name).is_file():
            sources.append(yaml.safe_load((_DATA / name).read_text(encoding="utf-8")) or {})
    intents: set[str] = set()
    rules: set[str] = set()
    lists: set[str] = set()
    for source in sources:
        intents |= set(source.get("intents") or {})
        rules |= set(source.get("expansion_rules") or {})
        lists |= set(source.get("lists") or {})
    return _Known(frozenset(intents), frozenset(rules), frozenset(lists))


def _key_node(mapping: yaml.Node, value: yaml.Node) -> yaml.Node:
    """The key of a value in a mapping, whose line is where the name was written."""
    return next((k for k, v in mapping.value if v is value), value)


def _walk(expression: Any) -> Iterator[Any]:
    yield expression
    for item in getattr(expression, "items", None) or ():
        yield from _walk(item)


def _plain(node: yaml.Node | None) -> Any:
    if node is None:
        return None
    return yaml.constructor.SafeConstructor().construct_document(node)


def _norm(text: str) -> str:
    from assistant.brain.numbers import normalize_transcript

    return normalize_transcript(text)
