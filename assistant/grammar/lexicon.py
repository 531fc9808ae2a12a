"""Pronunciations for the grammar's words: CMUdict (shipped with pocketsphinx), and for a word
it lacks (a device called "Nabu lamp", "Zigbee plug") espeak-ng's reading of it, through the
phonemizer piper already loads for speech, mapped from IPA to CMUdict's phone set.

A word neither can read is reported, and the grammar is built without it (its templates lose
that branch): the recognizer never listens for a word it cannot pronounce.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.grammar.graph import DECOY

_LOGGER = logging.getLogger(__name__)

_IPA = {
    # Longest sequences first when matching; stress and length marks are dropped.
    "aɪɚ": "AY ER", "aɪə": "AY ER", "ɑːɹ": "AA R", "ɔːɹ": "AO R", "oːɹ": "AO R", "ɛɹ": "EH R",
    "ɪɹ": "IH R", "ʊɹ": "UH R", "eɪ": "EY", "aɪ": "AY", "aʊ": "AW", "oʊ": "OW", "ɔɪ": "OY",
    "tʃ": "CH", "dʒ": "JH", "ɜː": "ER", "ɑː": "AA", "ɔː": "AO", "iː": "IY", "uː": "UW",
    "ɚ": "ER", "ɝ": "ER", "ɑ": "AA", "ɒ": "AA", "æ": "AE", "a": "AE", "ʌ": "AH", "ə": "AH",
    "ɐ": "AH", "ɔ": "AO", "ɛ": "EH", "e": "EH", "ɪ": "IH", "ᵻ": "IH", "i": "IY", "o": "OW",
    "ʊ": "UH", "u": "UW", "b": "B", "d": "D", "ð": "DH", "f": "F", "ɡ": "G", "g": "G",
    "h": "HH", "k": "K", "l": "L", "m": "M", "n": "N", "ŋ": "NG", "p": "P", "ɹ": "R", "r": "R",
    "s": "S", "ʃ": "SH", "t": "T", "θ": "TH", "v": "V", "w": "W", "j": "Y", "z": "Z",
    "ʒ": "ZH", "ɾ": "T", "ʔ": "T", "x": "HH", "ç": "HH", "ɬ": "L", "ɜ": "ER",
}
_LONGEST = max(len(k) for k in _IPA)
_ESPEAK_LOCK = threading.Lock()
"""espeak-ng keeps one voice for the process; piper's synthesis uses it too."""


@dataclass(frozen=True)
class Lexicon:
    pronunciations: dict[str, tuple[str, ...]]
    """word -> its pronunciations (phones separated by spaces), CMUdict's first."""
    guessed: frozenset[str]
    """Words read by espeak-ng, not found in the dictionary."""
    missing: frozenset[str]
    """Words nothing could read: left out of the grammar."""

    def write(self, path: Path, extra: dict[str, str] | None = None) -> None:
        """A pocketsphinx dictionary of just these words (loads in ms, not the 135k of CMUdict),
        and ``extra`` words with their phones."""
        lines = [f"{word} {phones}" for word, phones in (extra or {}).items()]
        for word in sorted(self.pronunciations):
            for i, phones in enumerate(self.pronunciations[word]):
                lines.append(f"{word}{f'({i + 1})' if i else ''} {phones}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def cmudict_path() -> Path:
    import pocketsphinx

    return Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))


def build_lexicon(words: Iterable[str], dictionary: Path | None = None) -> Lexicon:
    """Pronunciations of ``words``; a decoy's word ("~bathroom") is said as its word."""
    asked = set(words)
    wanted = {w.lstrip(DECOY) for w in asked}
    found: dict[str, list[str]] = {}
    with open(dictionary or cmudict_path(), encoding="utf-8") as lines:
        for line in lines:
            head, _, phones = line.partition(" ")
            word = head.split("(", 1)[0]
            if word in wanted:
                found.setdefault(word, []).append(phones.strip())
    guessed, missing = set(), set()
    for word in sorted(wanted - set(found)):
        guess = guess_phones(word)
        if guess:
            found[word] = [guess]
            guessed.add(word)
        else:
            missing.add(word)
    if guessed:
        _LOGGER.info("pronunciations guessed by espeak-ng: %s", ", ".join(sorted(guessed)))
    if missing:
        _LOGGER.warning("no pronunciation for %s: left out of the grammar", ", ".join(sorted(missing)))
    pronounced = {w: tuple(found[w.lstrip(DECOY)]) for w in asked if w.lstrip(DECOY) in found}
    return Lexicon(pronounced, frozenset(guessed),
                   frozenset(w for w in asked if w.lstrip(DECOY) in missing))


def guess_phones(word: str) -> str | None:
    """CMUdict phones for a word from espeak-ng's IPA, or None without espeak-ng."""
    try:
        from piper import espeakbridge
        from piper.phonemize_espeak import ESPEAK_DATA_DIR
    except ImportError:
        return None
    with _ESPEAK_LOCK:
        espeakbridge.initialize(str(ESPEAK_DATA_DIR))
        espeakbridge.set_voice("en-us")
        ipa = " ".join(part for part, _end, _stop in espeakbridge.get_phonemes(word))
    return ipa_to_cmu(ipa) or None


def ipa_to_cmu(ipa: str) -> str:
    """Pure: espeak-ng's IPA as CMUdict phones, longest symbol first ("tʃ" before "t")."""
    text = "".join(c for c in ipa if c not in "ˈˌ.ʲ-")
    phones: list[str] = []
    at = 0
    while at < len(text):
        for size in range(_LONGEST, 0, -1):
            piece = text[at:at + size]
            if piece in _IPA:
                phones.append(_IPA[piece])
                at += size
                break
        else:
            at += 1  # a space or a symbol English does not use
    return " ".join(phones)
