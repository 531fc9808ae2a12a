"""The home's grammar: hassil's sentence templates compiled over the configured devices.

Every template the local intents load (Home Assistant's English sentences plus
``assistant/data/sentences_en.yaml`` and ``intents.extra_sentences``, through
``assistant.brain.intents``) is written into a word graph directly from hassil's expression
tree, with ``{name}`` and ``{area}`` filled from the config (names filtered by the block's
``requires_context``), range lists as spelled numbers and the other lists from their values.
Expanding templates into sentences is not an option: the English templates of the intents used
here spell out about nine million sentences before any name is filled in; as a graph they are a
few thousand states.

Which templates go in is not a hand list: a template stays when the local intents plan a sentence
drawn from it (``plans``), so templates the planner ignores (colours, media, weather) never
reach the recognizer, and the grammar follows whatever the intents learn. Sentences are spelled
as a recognizer writes them: lower case, numbers in words ("fifty percent"), no punctuation;
``assistant.brain.numbers.normalize_transcript`` reads them back as the intents expect.
"""

from __future__ import annotations

import itertools
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hassil import Intents
from hassil.expression import (
    Alternative,
    Expression,
    ListReference,
    Permutation,
    RuleReference,
    TextChunk,
)
from hassil.expression import Sequence as HassilSequence
from hassil.intents import IntentData, RangeSlotList, TextSlotList, WildcardSlotList

from assistant.brain.phrases import spoken
from assistant.config import Config, DeviceConfig
from assistant.grammar.graph import DECOY, EPSILON, GARBAGE, WordGraph, foreign

_LOGGER = logging.getLogger(__name__)

SAMPLES_PER_TEMPLATE = 3
"""Sentences drawn from a template to ask the planner about; one planned is enough to keep it."""
MAX_RANGE_VALUES = 201
"""A range list longer than this (colour temperatures in steps of 100 up to 10000) is left out:
no template the planner uses needs one, and it would only add words to confuse."""
_SPACE = " "
_DIGITS = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^\w' ]+")
_SPLIT = re.compile(r"\s+|\S+")
_TYPED = re.compile(r"\d/\d")
_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


@dataclass(frozen=True)
class HomeGrammar:
    """What a closed-vocabulary recognizer listens for, and where it came from."""

    graph: WordGraph
    """Minimal, deterministic: one path per sentence."""
    templates_kept: int
    templates_dropped: int
    intents: tuple[str, ...]
    """The intents with at least one template in the graph."""
    compile_s: float = 0.0
    """CPU seconds the compilation took."""
    names: frozenset[str] = frozenset()
    """The words of the home's device names, aliases and areas."""

    @property
    def words(self) -> frozenset[str]:
        """The words a recognizer must pronounce (GARBAGE is not one; a decoy's words are)."""
        return self.graph.words() - {GARBAGE}


@dataclass
class _Tokens:
    """An epsilon NFA over pieces of words and spaces, as hassil's templates are written:
    "light[s]" is the piece "light" followed by an optional piece "s"."""

    arcs: list[list[tuple[str, int]]] = field(default_factory=lambda: [[]])

    def state(self) -> int:
        self.arcs.append([])
        return len(self.arcs) - 1

    def add(self, src: int, label: str, dst: int) -> None:
        self.arcs[src].append((label, dst))

    def chain(self, src: int, labels: Iterable[str]) -> int:
        for label in labels:
            dst = self.state()
            self.add(src, label, dst)
            src = dst
        return src


@dataclass(frozen=True)
class _Block:
    intents: Intents
    data: IntentData
    slot_lists: dict[str, TextSlotList]
    garbage: bool = False
    """Whether a name or an area may also be GARBAGE: any sounds at all, for a recognizer to
    put where a name it does not know was said ("turn on the porch light"), or a decoy."""
    decoys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """"name" and "area": names and rooms the home does not have (``load_decoys``)."""


def compile_home(config: Config, intents: Intents, plans: Callable[[str], bool],
                 seed: int = 0, garbage: bool = True) -> HomeGrammar:
    """The grammar of ``config``'s home from ``intents`` (hassil, as the local intents load
    them). ``plans(text)`` says whether the local intents act on or answer a sentence.

    With ``garbage``, the graph also has GARBAGE words: in place of every name and area, and as
    a sentence of its own; a recognizer matches them with any sounds at a cost, so that speech
    the home has no words for is not forced onto the nearest name or command. Hassil's skip
    words ("please", "can you") are left out: on trailing noise they only gave the search
    somewhere to go ("... i'd like", "... would you")."""
    started = time.process_time()
    rng = random.Random(seed)
    lists = _home_lists(config.devices)
    decoys = load_decoys(lists) if garbage else {}
    kept: list[WordGraph] = []
    dropped = 0
    used: set[str] = set()
    for intent_name, intent in intents.intents.items():
        for data in intent.data:
            block = _Block(intents, data, _block_lists(lists, data), garbage, decoys)
            if block.slot_lists is None:
                dropped += len(data.sentences)
                continue
            for sentence in data.sentences:
                graph = _sentence_graph(sentence.expression, block)
                if graph is None or not graph.finals:
                    dropped += 1
                    continue
                samples = [" ".join(graph.sample(rng, avoid=foreign))
                           for _ in range(SAMPLES_PER_TEMPLATE)]
                if any(text and plans(text) for text in samples):
                    kept.append(graph)
                    used.add(intent_name)
                else:
                    dropped += 1
    if garbage and kept:
        kept.append(WordGraph(0, frozenset({1}), ((0, GARBAGE, 1),)))
    graph = _union(kept).minimal()
    seconds = time.process_time() - started
    _LOGGER.info("grammar: %d templates of %d intents, %d states, %d words (%.2f CPU-s)",
                 len(kept), len(used), graph.n_states, len(graph.words()), seconds)
    names = frozenset(w for values in lists.values() for text, _context in values for w in text.split())
    return HomeGrammar(graph, len(kept), dropped, tuple(sorted(used)), seconds, names)


def spell(n: int) -> str:
    """0-9999 as words, the way people say them in commands ("one hundred", "two thousand five
    hundred")."""
    if n < 0 or n > 9999:
        raise ValueError(f"{n} is outside 0-9999")
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {spell(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    return f"{_ONES[thousands]} thousand" + (f" {spell(rest)}" if rest else "")


def _words(raw: str) -> list[str] | None:
    """A piece of template text as a recognizer's words ("50%" -> fifty percent); None for
    what is only ever typed ("1/2")."""
    if _TYPED.search(raw):
        return None
    if GARBAGE in raw:
        return [GARBAGE]
    if raw.startswith(DECOY):
        return [DECOY + w for w in _words(raw[len(DECOY):]) or ()]
    text = raw.lower().replace("’", "'").replace("%", " percent ").replace("°", " degrees ")
    text = text.replace("&", " and ")
    text = _DIGITS.sub(lambda m: f" {spell(int(m.group())) if int(m.group()) < 10000 else m.group()} ",
                       text)
    text = _NOT_WORD.sub(" ", text.replace("-", " ").replace("_", " "))
    return [w for w in (word.strip("'") for word in text.split()) if w]


DECOYS = Path(__file__).resolve().parent / "decoys_en.yaml"


def load_decoys(lists: dict[str, list[tuple[str, dict[str, Any]]]],
                path: Path = DECOYS) -> dict[str, tuple[str, ...]]:
    """The decoy names and areas, without any the home's own names or areas spell."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    home = {text for values in lists.values() for text, _context in values}
    out: dict[str, tuple[str, ...]] = {}
    for key, plural in (("name", "names"), ("area", "areas")):
        spelled = (" ".join(_words(str(d)) or ()) for d in (data or {}).get(plural) or ())
        out[key] = tuple(dict.fromkeys(d for d in spelled if d and d not in home))
    return out


def _home_lists(devices: Sequence[DeviceConfig]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    names = [(spoken(n), {"domain": d.kind}) for d in devices for n in (d.name, *d.aliases)]
    areas: list[tuple[str, dict[str, Any]]] = [
        (spoken(a), {}) for a in dict.fromkeys(d.area for d in devices if d.area)]
    return {"name": [n for n in names if n[0]], "area": [a for a in areas if a[0]], "floor": []}


def _allowed(value_context: dict[str, Any], data: IntentData) -> bool:
    """hassil's context rules for one slot value: a required key the value carries must
    match, an excluded one must not."""
    for key, wanted in (data.requires_context or {}).items():
        if key in value_context and value_context[key] not in _as_list(wanted):
            return False
    for key, unwanted in (data.excludes_context or {}).items():
        if key in value_context and value_context[key] in _as_list(unwanted):
            return False
    return True


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _block_lists(lists: dict[str, list[tuple[str, dict[str, Any]]]],
                 data: IntentData) -> Any:
    """The home's lists as one block of templates sees them, or None when the block needs
    context this appliance never has (a satellite's area, a device class)."""
    for key, wanted in (data.requires_context or {}).items():
        if key not in ("domain",) or isinstance(wanted, dict):
            return None
    return {key: TextSlotList.from_tuples(
        [(text, text, context) for text, context in values if _allowed(context, data)],
        allow_template=False) for key, values in lists.items()}


def _sentence_graph(expression: Expression, block: _Block) -> WordGraph | None:
    tokens = _Tokens()
    end = _walk(expression, 0, tokens, block, 0)
    if end is None:
        return None
    return _to_words(tokens, end)


def _walk(expression: Expression, state: int, tokens: _Tokens, block: _Block,
          depth: int) -> int | None:
    """Writes ``expression`` into ``tokens`` from ``state``; returns the state it ends in, or
    None when it can never be said here (a wildcard, an empty list)."""
    if depth > 40:
        raise ValueError("expansion rules nest too deep")
    if isinstance(expression, TextChunk):
        labels = [_SPACE if part.isspace() else part for part in _SPLIT.findall(expression.original_text)]
        return tokens.chain(state, labels)
    if isinstance(expression, Permutation):
        orders: list[Expression] = [HassilSequence(list(items))
                                    for items in itertools.permutations(expression.items)]
        return _walk(Alternative(orders), state, tokens, block, depth + 1)
    if isinstance(expression, Alternative):
        end = tokens.state()
        live = False
        for item in expression.items:
            last = _walk(item, state, tokens, block, depth + 1)
            if last is not None:
                tokens.add(last, EPSILON, end)
                live = True
        if expression.is_optional:
            tokens.add(state, EPSILON, end)
            live = True
        return end if live else None
    if isinstance(expression, HassilSequence):
        current = state
        for item in expression.items:
            after = _walk(item, current, tokens, block, depth + 1)
            if after is None:
                return None
            current = after
        return current
    if isinstance(expression, RuleReference):
        rule = block.data.expansion_rules.get(expression.rule_name) or \
            block.intents.expansion_rules.get(expression.rule_name)
        if rule is None:
            raise ValueError(f"missing expansion rule <{expression.rule_name}>")
        return _walk(rule.expression, state, tokens, block, depth + 1)
    if isinstance(expression, ListReference):
        return _walk_list(expression, state, tokens, block, depth)
    return state


def _walk_list(ref: ListReference, state: int, tokens: _Tokens, block: _Block,
               depth: int) -> int | None:
    if ref.is_inline_range:
        low, high, step = ref.get_inline_range() or (0, 0, 1)
        return _walk_numbers(range(low, high + 1, step), state, tokens)
    slot_list = (block.slot_lists.get(ref.list_name) or block.data.slot_lists.get(ref.list_name)
                 or block.intents.slot_lists.get(ref.list_name))
    if isinstance(slot_list, RangeSlotList):
        values = [int(n) for n in slot_list.get_numbers() if float(n).is_integer()]
        if len(values) > MAX_RANGE_VALUES:
            return None
        return _walk_numbers(values, state, tokens)
    if isinstance(slot_list, TextSlotList):
        choices: list[Expression] = [v.text_in for v in slot_list.values
                                     if _allowed(v.context or {}, block.data)]
        if not choices:
            return None
        if block.garbage and ref.list_name in ("name", "area"):
            choices.append(TextChunk(GARBAGE))
            choices += [TextChunk(" ".join(DECOY + w for w in decoy.split()))
                        for decoy in block.decoys.get(ref.list_name, ())]
        return _walk(Alternative(choices), state, tokens, block, depth + 1)
    if isinstance(slot_list, WildcardSlotList) or slot_list is None:
        return None  # a wildcard is open vocabulary: not for a grammar
    return None


def _walk_numbers(values: Iterable[int], state: int, tokens: _Tokens) -> int | None:
    end = tokens.state()
    live = False
    for value in values:
        if 0 <= value <= 9999:
            words = spell(value).split()
            labels = [label for word in words for label in (_SPACE, word)][1:]
            tokens.add(tokens.chain(state, labels), EPSILON, end)
            live = True
    return end if live else None


def _to_words(tokens: _Tokens, end: int) -> WordGraph:
    """Pieces between spaces joined into words: each state reached at a word boundary gets an
    arc per spelling of the next word, to the boundary after it."""
    arcs: list[tuple[int, str, int]] = []
    next_state = [len(tokens.arcs)]
    finals: set[int] = set()
    todo, seen = [0], {0}

    def emit(src: int, raw: str, dst: int) -> None:
        words = _words(raw)
        if words is None:
            return
        if not words:
            arcs.append((src, EPSILON, dst))
            return
        for i, word in enumerate(words):
            target = dst if i == len(words) - 1 else next_state[0]
            if target != dst:
                next_state[0] += 1
            arcs.append((src, word, target))
            src = target

    while todo:
        boundary = todo.pop()
        stack: list[tuple[int, str]] = [(boundary, "")]
        while stack:
            state, piece = stack.pop()
            if state == end:
                final = next_state[0]
                next_state[0] += 1
                emit(boundary, piece, final)
                finals.add(final)
            for label, dst in tokens.arcs[state]:
                if label == _SPACE:
                    emit(boundary, piece, dst)
                    if dst not in seen:
                        seen.add(dst)
                        todo.append(dst)
                else:
                    stack.append((dst, piece + label))
    return WordGraph(0, frozenset(finals), tuple(arcs)).trimmed()


def _union(graphs: Sequence[WordGraph]) -> WordGraph:
    """One graph whose sentences are all of theirs (states renumbered, shared start)."""
    arcs: list[tuple[int, str, int]] = []
    finals: set[int] = set()
    base = 1
    for graph in graphs:
        arcs.append((0, EPSILON, graph.start + base))
        arcs.extend((s + base, w, d + base) for s, w, d in graph.arcs)
        finals.update(f + base for f in graph.finals)
        base += 1 + _top(graph)
    return WordGraph(0, frozenset(finals), tuple(arcs))


def _top(graph: WordGraph) -> int:
    """The highest state number in the graph."""
    return max([graph.start, *graph.finals, *(max(s, d) for s, _w, d in graph.arcs)])
