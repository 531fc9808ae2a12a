"""The closed-vocabulary fast path: the home's own commands, recognized while they are spoken.

``build_grammar(config, intents)`` compiles the grammar (``compiler``) from the templates the
local intents use, cached on disk by everything it depends on; ``make_recognizer(config,
grammar)`` gives a ``GrammarRecognizer`` (pocketsphinx, or vosk with ``stt.grammar_model``) whose
``finish()`` result says whether its sentence may act (``guard``). Everything it rejects goes to
the open-vocabulary transcriber.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
from pathlib import Path
from typing import Any

from assistant.config import Config
from assistant.grammar.compiler import HomeGrammar, compile_home
from assistant.grammar.graph import WordGraph
from assistant.grammar.guard import Evidence, GuardParams, Reason, Verdict, decide, load_params
from assistant.grammar.templates import Templates, load_templates
from assistant.grammar.types import GrammarRecognizer, GrammarResult, WordScore

__all__ = ["Evidence", "GrammarRecognizer", "GrammarResult", "GuardParams", "HomeGrammar",
           "Reason", "Verdict", "WordScore", "build_grammar", "decide", "load_params",
           "make_recognizer"]

_LOGGER = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent
_SOURCES = ("brain/intents.py", "brain/numbers.py", "brain/phrases.py", "data/sentences_en.yaml",
            "grammar/compiler.py", "grammar/graph.py", "grammar/templates.py",
            "grammar/sentences_en.yaml", "grammar/decoys_en.yaml")
"""What the grammar is a function of, besides the config and the template packages: the
planner decides which templates stay."""


def build_grammar(config: Config, intents: Any, cache_dir: Path | None = None,
                  templates: Templates | None = None) -> HomeGrammar:
    """The home's grammar; ``intents`` is the ``LocalIntents`` the brain uses (its ``match``
    decides which templates stay). Compiling takes ~4 CPU-s here (most of it asking the planner
    about ~700 templates), so the result is kept in ``cache_dir`` (default: beside the state
    file) under a key of everything it depends on: a restart or a reload with the same devices
    reads it in milliseconds."""
    from assistant.brain.intents import IntentMatch

    source: Templates = templates or config.stt.grammar_templates
    folder = cache_dir or Path(config.state.path).expanduser().parent / "grammar"
    key = _cache_key(config, source)
    path = folder / f"grammar-{key[:16]}.json"
    cached = _read(path, key)
    if cached is not None:
        return cached
    grammar = compile_home(config, load_templates(config.intents, source),
                           lambda text: isinstance(intents.match(text), IntentMatch))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(_dump(grammar, key)), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:  # a read-only state folder costs a compile per start, nothing else
        _LOGGER.warning("cannot cache the grammar in %s: %s", folder, exc)
    return grammar


def make_recognizer(config: Config, grammar: HomeGrammar) -> GrammarRecognizer:
    """The configured engine over ``grammar``: vosk when ``stt.grammar_model`` names a Vosk
    model folder, pocketsphinx (bundled English model) otherwise."""
    model = getattr(config.stt, "grammar_model", None)
    if model:
        from assistant.grammar.vosk import VoskGrammarRecognizer

        return VoskGrammarRecognizer(model, grammar)
    from assistant.grammar.sphinx import PocketsphinxRecognizer

    return PocketsphinxRecognizer(grammar)


def _cache_key(config: Config, source: str) -> str:
    parts: list[str] = [source]
    for package in ("hassil", "home-assistant-intents"):
        try:
            parts.append(f"{package}={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{package}=?")
    parts.append(repr(config.devices))
    parts.append(repr(config.intents))
    if config.intents.extra_sentences:
        extra = Path(config.intents.extra_sentences).expanduser()
        parts.append(extra.read_text(encoding="utf-8") if extra.is_file() else "")
    for name in _SOURCES:
        path = _HERE.parent / name
        parts.append(path.read_text(encoding="utf-8") if path.is_file() else name)
    return hashlib.sha256("\n\0".join(parts).encode()).hexdigest()


def _dump(grammar: HomeGrammar, key: str) -> dict[str, Any]:
    graph = grammar.graph
    return {"key": key, "start": graph.start, "finals": sorted(graph.finals),
            "arcs": [list(arc) for arc in graph.arcs], "templates_kept": grammar.templates_kept,
            "templates_dropped": grammar.templates_dropped, "intents": list(grammar.intents),
            "compile_s": grammar.compile_s, "names": sorted(grammar.names)}


def _read(path: Path, key: str) -> HomeGrammar | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        graph = WordGraph(int(data["start"]), frozenset(int(f) for f in data["finals"]),
                          tuple((int(s), str(w), int(d)) for s, w, d in data["arcs"]))
        return HomeGrammar(graph, int(data["templates_kept"]), int(data["templates_dropped"]),
                           tuple(data["intents"]), float(data["compile_s"]),
                           frozenset(data["names"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
