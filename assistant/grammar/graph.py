"""A word graph: the sentences a grammar accepts, as a finite automaton over words.

The compiler (``assistant.grammar.compiler``) writes templates into one graph with epsilon arcs;
``minimal()`` turns it into the smallest deterministic graph with the same sentences, which is
what a recognizer searches (fewer states: less CPU per frame, one path per sentence). Templates
have no loops, so every graph here is acyclic, and minimisation is Revuz's linear pass over
states in reverse topological order. Pure data and functions, no I/O.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

EPSILON = ""
"""The label of an arc that consumes no word."""
GARBAGE = "<garbage>"
"""The label of an arc a recognizer matches with any sounds (see ``compile_home``)."""
DECOY = "~"
"""Marks a word of a decoy: a device or room the home does not have (``decoys_en.yaml``)."""


def foreign(word: str) -> bool:
    """Whether a word of the graph stands for speech that is not the home's: garbage or a decoy."""
    return word == GARBAGE or word.startswith(DECOY)


@dataclass(frozen=True)
class WordGraph:
    start: int
    finals: frozenset[int]
    arcs: tuple[tuple[int, str, int], ...]
    """(source state, word or EPSILON, destination state)."""

    @property
    def n_states(self) -> int:
        states = {self.start, *self.finals}
        for src, _word, dst in self.arcs:
            states.update((src, dst))
        return len(states)

    def words(self) -> frozenset[str]:
        return frozenset(word for _src, word, _dst in self.arcs if word != EPSILON)

    def outgoing(self) -> dict[int, list[tuple[str, int]]]:
        out: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for src, word, dst in self.arcs:
            out[src].append((word, dst))
        return out

    def accepts(self, words: Iterable[str]) -> bool:
        """Whether the graph has this exact sentence."""
        out = self.outgoing()
        current = _closure({self.start}, out)
        for word in words:
            current = _closure({dst for s in current for w, dst in out.get(s, ()) if w == word}, out)
            if not current:
                return False
        return bool(current & self.finals)

    def sample(self, rng: random.Random, avoid: Callable[[str], bool] | None = None) -> list[str]:
        """One sentence, choosing uniformly at every state (a final state stops with chance
        1/(arcs+1)) among arcs whose word ``avoid`` does not exclude."""
        out = self.outgoing()
        state, words = self.start, list[str]()
        while True:
            arcs = [arc for arc in out.get(state, []) if avoid is None or not avoid(arc[0])]
            stop = state in self.finals
            pick = rng.randrange(len(arcs) + stop) if arcs or stop else 0
            if pick == len(arcs):
                return words
            word, state = arcs[pick]
            if word != EPSILON:
                words.append(word)

    def sentences(self, limit: int) -> Iterator[str]:
        """Up to ``limit`` distinct sentences, depth first (for recognizers that take a list)."""
        out = self.outgoing()
        seen: set[str] = set()
        stack: list[tuple[int, tuple[str, ...]]] = [(self.start, ())]
        while stack and len(seen) < limit:
            state, words = stack.pop()
            if state in self.finals:
                text = " ".join(words)
                if text and text not in seen:
                    seen.add(text)
                    yield text
            for word, dst in reversed(out.get(state, [])):
                stack.append((dst, words + ((word,) if word != EPSILON else ())))

    def covering_sentences(self, limit: int) -> list[list[str]]:
        """Sentences that together use every arc (as far as ``limit`` allows), each the shortest
        way through its arc: what a recognizer that learns word pairs from examples (Vosk)
        needs to see every pair the graph has next to each other at least once per arc."""
        out = self.outgoing()
        before = _shortest_prefixes(self.start, out)
        after = _shortest_suffixes(self, out)
        seen: set[tuple[str, ...]] = set()
        sentences: list[list[str]] = []
        for src, word, dst in self.arcs:
            if src not in before or dst not in after or len(sentences) >= limit:
                continue
            words = tuple(w for w in (*before[src], word, *after[dst]) if w != EPSILON)
            if words and words not in seen:
                seen.add(words)
                sentences.append(list(words))
        return sentences

    def trimmed(self) -> WordGraph:
        """Only the arcs on some path from the start to a final state."""
        back: dict[int, list[int]] = defaultdict(list)
        for src, _word, dst in self.arcs:
            back[dst].append(src)
        alive, stack = set(self.finals), list(self.finals)
        while stack:
            for src in back.get(stack.pop(), ()):
                if src not in alive:
                    alive.add(src)
                    stack.append(src)
        return WordGraph(self.start, self.finals,
                         tuple(a for a in self.arcs if a[0] in alive and a[2] in alive))

    def minimal(self) -> WordGraph:
        """The minimal deterministic graph accepting the same sentences, without epsilons."""
        return _minimize(*_determinize(self))


def _shortest_prefixes(start: int, out: dict[int, list[tuple[str, int]]]) -> dict[int, tuple[str, ...]]:
    """Breadth first: the fewest arcs from the start to each state."""
    best: dict[int, tuple[str, ...]] = {start: ()}
    queue = [start]
    for state in queue:
        for word, dst in out.get(state, ()):
            if dst not in best:
                best[dst] = (*best[state], word)
                queue.append(dst)
    return best


def _shortest_suffixes(graph: WordGraph, out: dict[int, list[tuple[str, int]]]) -> dict[int, tuple[str, ...]]:
    """The fewest arcs from each state to a final state (backwards, breadth first)."""
    back: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for src, word, dst in graph.arcs:
        back[dst].append((word, src))
    best: dict[int, tuple[str, ...]] = {f: () for f in graph.finals}
    queue = list(graph.finals)
    for state in queue:
        for word, src in back.get(state, ()):
            if src not in best:
                best[src] = (word, *best[state])
                queue.append(src)
    return best


def _closure(states: set[int], out: dict[int, list[tuple[str, int]]]) -> set[int]:
    stack, seen = list(states), set(states)
    while stack:
        for word, dst in out.get(stack.pop(), ()):
            if word == EPSILON and dst not in seen:
                seen.add(dst)
                stack.append(dst)
    return seen


def _determinize(graph: WordGraph) -> tuple[int, set[int], dict[int, dict[str, int]]]:
    """Subset construction: returns (start, finals, transitions)."""
    out = graph.outgoing()
    first = frozenset(_closure({graph.start}, out))
    ids: dict[frozenset[int], int] = {first: 0}
    moves: dict[int, dict[str, int]] = {}
    finals: set[int] = set()
    todo = [first]
    while todo:
        subset = todo.pop()
        here = ids[subset]
        if subset & graph.finals:
            finals.add(here)
        targets: dict[str, set[int]] = defaultdict(set)
        for state in subset:
            for word, dst in out.get(state, ()):
                if word != EPSILON:
                    targets[word].add(dst)
        moves[here] = {}
        for word, dsts in targets.items():
            nxt = frozenset(_closure(dsts, out))
            if nxt not in ids:
                ids[nxt] = len(ids)
                todo.append(nxt)
            moves[here][word] = ids[nxt]
    return 0, finals, moves


def _minimize(start: int, finals: set[int], moves: dict[int, dict[str, int]]) -> WordGraph:
    """Revuz: in an acyclic DFA, states with the same finality and the same labelled arcs to
    the same classes are one state; classes are settled children first."""
    order: list[int] = []
    seen: set[int] = set()
    stack: list[tuple[int, bool]] = [(start, False)]
    while stack:  # post-order without recursion (graphs can be deep)
        state, done = stack.pop()
        if done:
            order.append(state)
            continue
        if state in seen:
            continue
        seen.add(state)
        stack.append((state, True))
        stack.extend((dst, False) for dst in moves.get(state, {}).values() if dst not in seen)
    useful: dict[int, bool] = {}
    signature_of: dict[tuple[object, ...], int] = {}
    klass: dict[int, int] = {}
    arcs: set[tuple[int, str, int]] = set()
    new_finals: set[int] = set()
    for state in order:
        kept = sorted((w, klass[d]) for w, d in moves.get(state, {}).items() if useful.get(d))
        useful[state] = state in finals or bool(kept)
        if not useful[state]:
            continue
        signature = (state in finals, tuple(kept))
        if signature not in signature_of:
            cid = len(signature_of)
            signature_of[signature] = cid
            arcs.update((cid, w, d) for w, d in kept)
            if state in finals:
                new_finals.add(cid)
        klass[state] = signature_of[signature]
    if not useful.get(start):
        return WordGraph(0, frozenset(), ())
    return WordGraph(klass[start], frozenset(new_finals), tuple(sorted(arcs)))
