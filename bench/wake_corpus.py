"""The wake word's fitting and test material: many voices, split by voice and by synthesizer.

Voices come from five engines (``bench.corpus`` and ``bench.synth``): piper (joe, at several
paces and amounts of variation), espeak-ng (dialects x variants), flite, festival and Kokoro-82M
(speakers and blends of their style vectors), each coloured afterwards (``synth.Colour``: pitch,
tempo, vocal-tract length, reverb, a microphone's response, level, clipping).

The split is fixed here, once, and every study and benchmark takes it from here:
- ``test``: voices nothing is fitted on or chosen with: espeak-ng's en-029 and en-gb-x-gbcwmd
  dialects, flite's rms, festival's ked_diphone and Kokoro's jm_kumo (alone or in any blend),
  saying the odd-numbered sentences of each list below;
- ``fit``: every other voice, saying the even-numbered sentences.
So a test figure is on voices, and on phrasings, that no fitted parameter has heard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from bench import corpus, synth
from bench.corpus import Voice

Split = Literal["fit", "test"]
FAMILIES = ("piper", "espeak", "flite", "festival", "kokoro")
TEST_ESPEAK_ACCENTS = ("en-029", "en-gb-x-gbcwmd")
TEST_NAMES = {"flite": ("rms",), "festival": ("ked_diphone",), "kokoro": ("jm_kumo",)}


def family(voice: Voice) -> str:
    return voice.engine


def split_of(voice: Voice) -> Split:
    """Which side of the split a voice is on (see the module docstring)."""
    if voice.engine == "espeak":
        return "test" if voice.name.split("+")[0] in TEST_ESPEAK_ACCENTS else "fit"
    held = TEST_NAMES.get(voice.engine, ())
    return "test" if any(name in voice.name for name in held) else "fit"


def _colour(rng: np.random.Generator) -> str:
    """A random colouring: half the voices are left as they are."""
    if rng.random() < 0.45:
        return ""
    shade = synth.Colour(
        pitch_cents=int(rng.choice([0, 0, rng.integers(-300, 301)])),
        tempo=float(rng.choice([1.0, round(float(rng.uniform(0.88, 1.12)), 2)])),
        tract=float(rng.choice([1.0, round(float(rng.uniform(0.9, 1.12)), 2)])),
        reverb=int(rng.choice([0, 0, 0, 30, 60])),
        mic=str(rng.choice(["", "", "phone", "cheap", "dull", "boomy"])),
        gain_db=float(rng.choice([0.0, 0.0, -12.0, -24.0])),
        clip=bool(rng.random() < 0.08),
    )
    return shade.label()


def _speakers(split: Split, rng: np.random.Generator) -> dict[str, list[tuple[str, float]]]:
    """(name, rate) choices per engine on one side of the split."""
    accents = [a for a in corpus.ESPEAK_ACCENTS
               if (a in TEST_ESPEAK_ACCENTS) == (split == "test")]
    espeak = [(f"{a}+{v}" if v else a, s) for a in accents for v in corpus.ESPEAK_VARIANTS
              for s in (0.85, 1.0, 1.15)]

    def named(engine: str, names: tuple[str, ...]) -> list[str]:
        held = TEST_NAMES[engine]
        return [n for n in names if (n in held) == (split == "test")]

    flite = [(n, r) for n in named("flite", synth.FLITE_VOICES) for r in (0.88, 1.0, 1.12)]
    festival = [(n, r) for n in named("festival", synth.FESTIVAL_VOICES) for r in (0.88, 1.0, 1.12)]
    own = named("kokoro", synth.KOKORO_SPEAKERS)
    kokoro = [(n, r) for n in own for r in (0.9, 1.0, 1.1)]
    pool = own if split == "fit" else list(synth.KOKORO_SPEAKERS)
    for _ in range(12):  # blends; on the test side each one has the held-out speaker in it
        a = own[int(rng.integers(len(own)))]
        b = pool[int(rng.integers(len(pool)))]
        if a != b:
            w = round(float(rng.uniform(0.3, 0.7)), 2)
            kokoro.append((f"{a}*{w}+{b}*{round(1 - w, 2)}", round(float(rng.uniform(0.9, 1.1)), 2)))
    return {"espeak": espeak, "flite": flite, "festival": festival, "kokoro": kokoro}


def voices(split: Split, n: int, seed: int = 0) -> list[Voice]:
    """n voices of one side of the split, the engines taking turns (piper on the fit side only:
    it has one speaker), each with its own colouring."""
    rng = np.random.default_rng(stable(split, seed))
    speakers = _speakers(split, rng)
    engines = ["espeak", "flite", "festival", "kokoro"] + (["piper"] if split == "fit" else [])
    out: list[Voice] = []
    for i in range(n):
        engine = engines[i % len(engines)]
        shade = _colour(rng)
        if engine == "piper":
            out.append(Voice("piper", speed=float(rng.choice([0.8, 0.9, 1.0, 1.1, 1.25])),
                             noise_scale=float(rng.choice([0.333, 0.667, 1.0])),
                             noise_w=float(rng.choice([0.5, 1.0])), colour=shade))
            continue
        name, rate = speakers[engine][int(rng.integers(len(speakers[engine])))]
        out.append(Voice(engine, name, rate, colour=shade))
    assert all(split_of(v) == split for v in out)
    return out


def stable(*parts: object) -> int:
    return corpus.stable_seed(*parts)


def sentences(items: list[str], split: Split) -> list[str]:
    """The sentences of a list on one side of the split (even: fit, odd: test)."""
    return items[0 if split == "fit" else 1::2]


# -- what is said -----------------------------------------------------------------------------
WAKE_FORMS = ["Okay Nabu.", "Okay, Nabu.", "OK Nabu.", "Okay Nabu!"]
"""How the wake word is written for the engines (their readings differ a little)."""
COMMANDS = [
    "turn on the kitchen light", "unlock the front door", "what time is it",
    "close the garage door", "turn off the bedroom light", "set the living room lamp to forty percent",
    "lock the front door", "turn on the coffee maker", "is the front door locked",
    "open the garage door", "turn off the ceiling fan", "what is the processor temperature",
    "switch on the bedroom light", "turn off the kitchen light", "turn on the fan",
    "set the reading lamp to twenty percent", "is the garage door open", "turn off the coffee maker",
    "turn on the lamp", "what's the temperature in the living room", "turn on the lights in the kitchen",
    "turn off the living room lamp", "what's the date today", "turn on the ceiling fan",
    "never mind", "what's the weather like tomorrow", "tell me a joke", "set a timer for five minutes",
    "how tall is mount everest", "dim the lamp", "what is the humidity in the bathroom",
    "will it rain tomorrow", "who wrote pride and prejudice", "stop", "turn everything off",
    "how many lights are on", "good morning", "play some music", "what can you do",
    "make it brighter",
]
"""What follows the wake word: commands, questions for the local intents and for a model, and
things that are neither ("good morning")."""

NEAR_MISSES = [
    "Okay Naboo from Star Wars was a beautiful planet.", "Okay now, let's get going.",
    "Okay, no boo this time, I promise.", "Okay, Navy blue or black?",
    "Okay Nebula, that's a nice name for a cat.", "I'm okay now, but I was tired this morning.",
    "We flew to Cabo for the holidays.", "Okay, maybe later.",
    "Okay Nana, I'll call you back.", "Okay, nobody move.",
    "Okay, not now please.", "Okay, Nairobi is the capital of Kenya.",
    "Okay, Bamboo grows really fast.", "Okay, a kazoo is a funny instrument.",
    "Okay, Nemo is the little orange fish.", "Okay, noodles for dinner tonight.",
    "Okay, Naples is lovely in spring.", "Okay, Mabel, see you tomorrow.",
    "Okay, Abu Dhabi is very hot in summer.", "Okay, no, Bob, that's not right.",
    "Okay then, let's go.", "Okay Google, what's the weather.",
    "Hey Siri, set an alarm.", "Alexa, play some music.",
    "Nabokov wrote Lolita.", "Winnie the Pooh lives in the hundred acre wood.",
    "Okay, Nagano hosted the winter games.", "Okay, new boots for the winter.",
    "That's taboo around here.", "Okay, the kanban board is full.",
    "Okay, I know, but who cares.", "Oh, gay nabob of the old days.",
    "Okay, Nala is the lion's name.", "Okay, no bull, I really saw it.",
    "Okay, Nadia is coming over.", "Cocoa and a banana, okay?",
    "Okay, Nabil will drive us there.", "Okay, nah, boo that idea.",
    "Okay Napa Valley has great wine.", "Okay, Kanobi was a Jedi.",
    "Okay, nobody told me about the party.", "Okay, Nobu makes the best sushi.",
    "Okay, a new blue car.", "Okay, now boot up the computer.",
    "Okay, nab the last cookie.", "Okay, Nagoya is in Japan.",
    "Okay, nothing to worry about.", "Okay, Noah built the ark.",
    "Okay, Kathmandu is in Nepal.", "Okay, the shampoo is in the cupboard.",
    "Okay, Honolulu is warm all year.", "Okay, Nebraska is flat.",
    "Okay, not bad at all.", "Okay, now who's next?",
    "Okay, Nadal won again.", "Okay, Navajo rugs are beautiful.",
    "Okay, nacho cheese please.", "Okay, no bananas left.",
    "It's okay, Nabu is just a name.", "Say okay, now breathe.",
    "Okay, a voodoo doll.", "Okay, Tabu is a perfume.",
    "Okay, Kabul is far away.", "Okay, an igloo is made of snow.",
    "Okay, the baboon escaped.", "Okay, Malibu is sunny.",
    "Okay, never, but thanks.", "Okay, no more, I'm full.",
    "Okay, Napoleon lost at Waterloo.", "Okay, Nebuchadnezzar was a king.",
    "Hey Jarvis, open the pod bay doors.", "Okay, the caribou ran away.",
]
"""Speech that sounds like the wake word without being it: "okay" before a name or word close to
"nabu", the assistants' other wake words, words rhyming with it."""

ORDINARY = [
    "The weather was nice today so we went for a walk in the park.",
    "Can you pass me the salt please?", "I think the meeting is at three o'clock on Thursday.",
    "Turn on the kitchen light.", "Unlock the front door when you get home.",
    "Did you close the garage door?", "My neighbour has a new car, it's blue.",
    "We should call grandma this weekend.", "The train was late again this morning.",
    "What time is it in Tokyo right now?", "Let's order pizza tonight.",
    "The kids are playing in the garden.", "I can't find my keys anywhere.",
    "Have you seen the new episode yet?", "Okay, so what do we do now?",
    "Set the table, dinner is almost ready.", "Is the front door locked?",
    "I'll be back in about ten minutes.", "The coffee maker is broken again.",
    "Turn the music down a little.",
]
"""Speech without the wake word, some of it commands, which must not be obeyed."""

PROMPT_WORDS = ("okay", "nabu")


@dataclass(frozen=True)
class WakeUtterance:
    """One wake word and what follows it."""

    voice: Voice
    wake: str
    command: str
    gap_s: float
    """Silence between the wake word and the command; negative: said in one breath (the
    command is read as part of the wake word's sentence)."""
    seed: int

    def label(self) -> str:
        joined = "fluent" if self.gap_s < 0 else f"gap {self.gap_s:.2f}s"
        return f"{self.voice.label()} | {self.wake} {self.command} ({joined})"


def wake_utterances(split: Split, n: int, seed: int = 0) -> list[WakeUtterance]:
    """n wake words, each in another voice, before a command of this side's phrasings: two in
    five after a short pause, one in five after a long one, two in five said in one breath."""
    rng = np.random.default_rng(stable("wake", split, seed))
    pool = voices(split, n, seed)
    commands = sentences(COMMANDS, split)
    out = []
    for i, voice in enumerate(pool):
        kind = i % 5
        gap = (float(rng.uniform(0.15, 0.4)) if kind in (0, 1) else
               float(rng.uniform(0.5, 0.9)) if kind == 2 else -1.0)
        out.append(WakeUtterance(voice, WAKE_FORMS[int(rng.integers(len(WAKE_FORMS)))],
                                 commands[int(rng.integers(len(commands)))], gap,
                                 stable("utterance", split, seed, i)))
    return out


@dataclass
class WakeRecording:
    pcm: bytes
    """16 kHz s16 mono, dry (no room yet)."""
    wake_start_ms: float
    wake_end_ms: float
    command_end_ms: float


def render(utterance: WakeUtterance, lead_s: float = 1.2) -> WakeRecording:
    """The utterance as audio: lead silence, the wake word, the command, 1.5 s of quiet."""
    voice = utterance.voice
    pcm = bytearray(corpus.silence(lead_s))
    start_ms = len(pcm) / 32
    alone = corpus.speak(utterance.wake, voice)
    command = utterance.command[0].upper() + utterance.command[1:]
    if utterance.gap_s < 0:
        pcm += corpus.speak(f"{utterance.wake.rstrip('.!')} {utterance.command}.", voice)
        wake_end_ms = start_ms + len(alone) / 32
    else:
        pcm += alone
        wake_end_ms = len(pcm) / 32
        pcm += corpus.silence(utterance.gap_s) + corpus.speak(command + ".", voice)
    end_ms = len(pcm) / 32
    pcm += corpus.silence(1.5)
    return WakeRecording(bytes(pcm), start_ms, wake_end_ms, end_ms)


def negative_stream(split: Split, seconds: float, seed: int = 0) -> tuple[bytes, list[tuple[float, str]]]:
    """Near-miss-heavy speech of one side of the split, one sentence after another with short
    pauses (three near-misses to one ordinary sentence), and where each sentence starts (ms)."""
    rng = np.random.default_rng(stable("negatives", split, seed))
    pool = voices(split, 200, seed + 1000)
    near, plain = sentences(NEAR_MISSES, split), sentences(ORDINARY, split)
    pcm = bytearray(corpus.silence(0.5))
    marks: list[tuple[float, str]] = []
    i = 0
    while len(pcm) < seconds * 32000:
        text = plain[int(rng.integers(len(plain)))] if i % 4 == 3 else near[int(rng.integers(len(near)))]
        voice = pool[int(rng.integers(len(pool)))]
        marks.append((len(pcm) / 32, f"{text} ({voice.label()})"))
        pcm += corpus.speak(text, voice) + corpus.silence(float(rng.uniform(0.4, 1.5)))
        i += 1
    return bytes(pcm), marks
