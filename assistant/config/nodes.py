"""The YAML node walker: builds the sections from nodes, every error with the file, key and line."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, get_args, get_origin

import yaml

from assistant.errors import ConfigError

_NOT_YAML = {"source_path", "extra", "scenes"}


class NodeLoader:
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


MAX_DEPTH = 20
"""Deepest nesting of mappings and lists a config (or extra sentences) file may have: the
real ones need 7; PyYAML's composer recurses, and hundreds of levels overflow its stack."""


def child_node(node: yaml.MappingNode, name: str) -> yaml.Node | None:
    """The value node under ``name`` in a mapping node, or None."""
    return next((v for k, v in node.value if k.value == name), None)


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
