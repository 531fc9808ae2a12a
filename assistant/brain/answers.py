"""Reading the answer to the assistant's question ("Unlock the back door?"): only a clear yes.

A yes must be the whole utterance: yes-words ("yes", "yeah", "sure", "go ahead", "do it"), maybe
with fillers and "please", maybe restating the very command asked about ("yes, unlock it", "yes
unlock the back door"). A sentence that merely contains "right" or "okay" is not a yes: in
babble, "all right now we need to turn on the budget" after "Lock the Back Door?" once locked a
door. Any no-word makes it a no. Pure functions over text.
"""

from __future__ import annotations

from collections.abc import Iterable

from assistant.brain.numbers import normalize_transcript

YES_WORDS = frozenset({"yes", "yeah", "yep", "yup", "yea", "sure", "correct", "affirmative", "ok",
                       "okay", "confirm", "confirmed", "absolutely", "definitely", "certainly"})
"""Words that say yes on their own."""
YES_PHRASES = frozenset({"go ahead", "do it", "please do", "that's right", "that is right",
                         "all right", "alright", "right", "of course", "yes please", "please"})
"""Whole phrases that say yes (only as the whole answer, or with other yes-words)."""
POLITE = frozenset({"please", "thanks", "thank", "you", "do", "it", "go", "ahead", "now", "just",
                    "so", "oh", "uh", "um", "well", "and", "then", "that's", "right", "of",
                    "course", "sir", "yes"})
"""Words that may come with a yes without changing it ("yes, go ahead now, thank you")."""
NO_WORDS = frozenset({"no", "nope", "nah", "don't", "dont", "not", "cancel", "stop", "wait",
                      "negative", "wrong", "never"})
"""Any of these makes the answer a no."""
NO_PHRASES = frozenset({"never mind", "no thanks", "no thank you", "hold on", "leave it"})


def read_answer(text: str, restatements: Iterable[str] = ()) -> str | None:
    """ "yes", "no", or None (neither: babble, another question, a new command).

    ``restatements``: the commands the question asked about in words ("unlock it", "unlock the
    back door"); a yes may end with one of them, and with nothing else."""
    words = normalize_transcript(text).split()
    if not words:
        return None
    said = " ".join(words)
    if set(words) & NO_WORDS or said in NO_PHRASES:
        return "no"
    if said in YES_PHRASES:
        return "yes"
    # The answer's first words: yes-words and polite words only; then, at most, a restatement.
    i = 0
    while i < len(words) and words[i] in POLITE | YES_WORDS:
        i += 1
    head, tail = " ".join(words[:i]), " ".join(words[i:])
    if not (set(words[:i]) & YES_WORDS or any(p in head for p in YES_PHRASES - {"right", "please"})):
        return None
    if not tail:
        return "yes"
    wanted = {" ".join(normalize_transcript(r).split()) for r in restatements}
    for extra in ("", " please", " now", " thanks", " thank you"):
        if tail in {w + extra for w in wanted}:
            return "yes"
    return None


def is_answer(text: str) -> bool:
    """A plain yes or no (to "Unlock the front door?"), not a command or anything else."""
    return read_answer(text) is not None


def restatements(verb: str, name: str) -> list[str]:
    """How "yes, unlock it" may restate a question about one action ("unlock", "front door")."""
    verb = verb.lower()
    return [verb, f"{verb} it", f"{verb} the {name}", f"{verb} {name}", f"the {name}"]
