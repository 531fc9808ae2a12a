"""Piper synthesis and the sentence splitter (pure)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.errors import ModelMissingError
from assistant.tts import PiperSynthesizer, SentenceSplitter, split_sentences, strip_markdown


def test_piper_speaks_each_sentence_at_the_voice_rate(piper):
    pieces = list(piper.synthesize("The kitchen light is on. Anything else?"))
    assert piper.sample_rate == 22050
    assert len(pieces) == 2  # one per sentence, so the first can play while the next is made
    for pcm in pieces:
        samples = np.frombuffer(pcm, dtype="<i2")
        assert len(samples) > 0.3 * piper.sample_rate
        assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 500  # clearly not silence


def test_piper_length_scale_changes_the_pace(piper_voice_path):
    fast = PiperSynthesizer(piper_voice_path, length_scale=0.7)
    slow = PiperSynthesizer(piper_voice_path, length_scale=1.4)
    text = "Good morning."
    assert len(b"".join(slow.synthesize(text))) > 1.5 * len(b"".join(fast.synthesize(text)))


def test_missing_voice_says_how_to_get_one(tmp_path):
    with pytest.raises(ModelMissingError, match="piper-voices"):
        PiperSynthesizer(tmp_path / "en_US-nobody-medium.onnx")


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Hello there. How are you?", ["Hello there.", "How are you?"]),
        ("Dr. Smith is in. Mr. Jones is not!", ["Dr. Smith is in.", "Mr. Jones is not!"]),
        ("It is 21.5 degrees. Nice.", ["It is 21.5 degrees.", "Nice."]),
        ("Use a timer, e.g. for pasta. Or i.e. eggs.", ["Use a timer, e.g. for pasta.",
                                                          "Or i.e. eggs."]),
        ("J. R. R. Tolkien wrote it. Done", ["J. R. R. Tolkien wrote it.", "Done"]),
        ("Wait... what?! Really.", ["Wait...", "what?!", "Really."]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("No trailing period", ["No trailing period"]),
        ("", []),
    ],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


def test_markdown_is_not_read_aloud():
    text = ("# Shopping\n\n**Buy** these:\n- milk\n* `eggs`\n1. bread\n2. _butter_\n\n"
            "See [the list](http://x.y) for more.")
    assert split_sentences(text) == ["Shopping", "Buy these:", "milk", "eggs", "bread",
                                     "butter", "See the list for more."]
    assert strip_markdown("snake_case and __bold__ stay readable") == (
        "snake_case and bold stay readable")


def test_streamed_pieces_give_the_same_sentences():
    text = "The lamp is at 30.5 percent. Dr. Who is on at 8. Goodbye!"
    splitter = SentenceSplitter()
    out: list[str] = []
    for i in range(0, len(text), 3):  # as a language model streams tokens
        out += splitter.feed(text[i:i + 3])
    last = splitter.flush()
    assert out + ([last] if last else []) == split_sentences(text)
    assert out == ["The lamp is at 30.5 percent.", "Dr. Who is on at 8."]
    assert last == "Goodbye!"
    assert splitter.flush() is None


def test_a_sentence_is_released_as_soon_as_it_is_complete():
    splitter = SentenceSplitter()
    assert splitter.feed("The light is on") == []
    assert splitter.feed(". ") == ["The light is on."]
    assert splitter.feed("Anything else?") == []  # could still be "else?!" or more
    assert splitter.flush() == "Anything else?"
