"""What the robustness benchmark says, and what should happen: commands against the devices of
config/assistant.yaml with their expected outcome, near-misses of the wake word, ordinary speech,
the talk used for babble and TV backgrounds (never a command, so it cannot be "obeyed"), and the
long negative recordings built from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench import corpus

WAKE_PHRASE = "Okay Nabu."


@dataclass(frozen=True)
class Expect:
    """The one outcome a command should have: a device action, or an answer without any."""

    device: str | None = None
    action: str | None = None
    value: float | None = None
    intent: str | None = None
    """For questions: the intent that must answer (no device may change); device, if given,
    is the one that must be read."""
    unknown: bool = False
    """A command about a device nobody configured: nothing may change, and the answer must
    say so ("I don't know a device called ...")."""

    def label(self) -> str:
        if self.unknown:
            return "unknown device"
        if self.action is None:
            return f"{self.intent}({self.device or ''})?"
        value = "" if self.value is None else f"={self.value:g}"
        return f"{self.device}.{self.action}{value}"


def act(device: str, action: str, value: float | None = None) -> Expect:
    return Expect(device, action, value)


def ask(intent: str, device: str | None = None) -> Expect:
    return Expect(device, intent=intent)


# Every command is understood when typed (bench/robust_bench.py checks that first), so a failure
# is the audio's fault. Not here because the text already fails: "dim the reading lamp to twenty
# percent" (read as a fan speed for an unknown "dim the reading lamp"), "is there motion in the
# hallway".
COMMANDS: list[tuple[str, Expect]] = [
    ("turn on the kitchen light", act("kitchen_light", "turn_on")),
    ("unlock the front door", act("front_door", "unlock")),
    ("what time is it", ask("HassGetCurrentTime")),
    ("close the garage door", act("garage_door", "close")),
    ("turn off the bedroom light", act("bedroom_light", "turn_off")),
    ("set the living room lamp to forty percent", act("living_room_lamp", "set_brightness", 40)),
    ("lock the front door", act("front_door", "lock")),
    ("turn on the coffee maker", act("coffee_maker", "turn_on")),
    ("is the front door locked", ask("HassGetState", "front_door")),
    ("open the garage door", act("garage_door", "open")),
    ("turn off the ceiling fan", act("ceiling_fan", "turn_off")),
    ("what is the processor temperature", ask("HassGetState", "cpu_temperature")),
    ("switch on the bedroom light", act("bedroom_light", "turn_on")),
    ("turn off the kitchen light", act("kitchen_light", "turn_off")),
    ("turn on the fan", act("ceiling_fan", "turn_on")),
    ("set the reading lamp to twenty percent", act("living_room_lamp", "set_brightness", 20)),
    ("is the garage door open", ask("HassGetState", "garage_door")),
    ("turn off the coffee maker", act("coffee_maker", "turn_off")),
    ("turn on the lamp", act("living_room_lamp", "turn_on")),
    ("what's the temperature in the living room", ask("HassClimateGetTemperature",
                                                               "living_room_temperature")),
    ("turn on the lights in the kitchen", act("kitchen_light", "turn_on")),
    ("turn off the living room lamp", act("living_room_lamp", "turn_off")),
    ("what's the date today", ask("HassGetCurrentDate")),
    ("turn on the ceiling fan", act("ceiling_fan", "turn_on")),
]

UNKNOWN_COMMANDS: list[tuple[str, Expect]] = [
    (text, Expect(unknown=True)) for text in (
        "turn on the porch light", "turn on the bathroom light", "unlock the back door",
        "turn off the attic fan", "open the kitchen window", "turn on the dining room lamp")]
"""Commands about devices config/assistant.yaml does not have, several of them close in sound
or words to ones it has (bathroom / bedroom light, back / front door, dining / living room)."""

OPPOSITE = {"turn_on": "turn_off", "turn_off": "turn_on", "lock": "unlock", "unlock": "lock",
            "open": "close", "close": "open"}

NEAR_MISSES = [
    "Okay Naboo from Star Wars was a beautiful planet.",
    "Okay now, let's get going.",
    "Okay, no boo this time, I promise.",
    "Okay, Navy blue or black?",
    "Okay Nebula, that's a nice name for a cat.",
    "I'm okay now, but I was tired this morning.",
    "We flew to Cabo for the holidays.",
    "Okay, maybe later.",
    "Okay Nana, I'll call you back.",
    "Okay, nobody move.",
    "Okay, not now please.",
    "Okay, Nairobi is the capital of Kenya.",
    "Okay, Bamboo grows really fast.",
    "Okay, a kazoo is a funny instrument.",
    "Okay, Nemo is the little orange fish.",
    "Okay, noodles for dinner tonight.",
    "Okay, Naples is lovely in spring.",
    "Okay, Mabel, see you tomorrow.",
    "Okay, Abu Dhabi is very hot in summer.",
    "Okay, no, Bob, that's not right.",
    "Okay then, let's go.",
    "Okay Google, what's the weather.",
    "Hey Siri, set an alarm.",
    "Alexa, play some music.",
    "Nabokov wrote Lolita.",
    "Winnie the Pooh lives in the hundred acre wood.",
    "Okay, Nagano hosted the winter games.",
    "Okay, new boots for the winter.",
    "That's taboo around here.",
    "Okay, the kanban board is full.",
    "Okay, I know, but who cares.",
    "Oh, gay nabob of the old days.",
    "Okay, Nala is the lion's name.",
    "Okay, no bull, I really saw it.",
    "Okay, Nadia is coming over.",
    "Cocoa and a banana, okay?",
]
"""Sounds like the wake word without being it. "Hey Nabu" is left out on purpose: whether it
should wake the assistant is a matter of taste, not a false wake."""

ORDINARY = [
    "The weather was nice today so we went for a walk in the park.",
    "Can you pass me the salt please?",
    "I think the meeting is at three o'clock on Thursday.",
    "Turn on the kitchen light.",
    "Unlock the front door when you get home.",
    "Did you close the garage door?",
    "My neighbour has a new car, it's blue.",
    "We should call grandma this weekend.",
    "The train was late again this morning.",
    "What time is it in Tokyo right now?",
    "Let's order pizza tonight.",
    "The kids are playing in the garden.",
    "I can't find my keys anywhere.",
    "Have you seen the new episode yet?",
]
"""Speech without the wake word; some of it is a command, which must not be obeyed."""

CHATTER = [
    "And now over to our reporter in the city centre.",
    "Stocks rose sharply after the announcement this afternoon.",
    "The home team scored twice in the second half.",
    "I really think you should try the soup, it's delicious.",
    "We stayed in a small hotel near the beach.",
    "Tomorrow will be cloudy with a chance of rain in the north.",
    "She said she would be here by seven, but you know her.",
    "The museum is closed on Mondays.",
    "Honestly, the second movie was better than the first one.",
    "Our next guest has written three books about gardening.",
    "They are building a new bridge across the river.",
    "Could you believe how long that queue was?",
    "My brother is moving to Canada next year.",
    "The recipe needs two eggs and a cup of flour.",
]
"""Talk for babble and TV backgrounds: no wake word, no command, no device name."""


BACKGROUND_S = 90.0
"""Length of the babble and TV tracks that recordings take excerpts from."""


Piece = tuple[str, bytes]


def negative_pieces(minutes: float, seed: int = 0, split: str = "bench") -> list[Piece]:
    """Near-miss-heavy speech without the wake word, with music, noise and TV in between.
    Per cycle of ten parts: five of five near-misses, two of five ordinary sentences, 20 s of
    music, 15 s of noise, 20 s of TV. One piece per sentence, so a false wake names its sentence.
    ``split`` "test": the voices and sentences of ``bench.wake_corpus``'s test side (never used
    to fit the wake decision) instead of the bench's own."""
    near, ordinary = NEAR_MISSES, ORDINARY
    if split == "test":
        from bench import wake_corpus

        voices = wake_corpus.voices("test", 120, seed + 7)
        near = wake_corpus.sentences(wake_corpus.NEAR_MISSES, "test")
        ordinary = wake_corpus.sentences(wake_corpus.ORDINARY, "test")
    else:
        voices = corpus.varied_voices(120, seed=seed + 7)
    tv = corpus.background("tv", BACKGROUND_S, seed=corpus.stable_seed("tv") % 1000, sentences=CHATTER)
    pieces: list[Piece] = []
    total_s, i, said = 0.0, 0, 0
    while total_s < minutes * 60:
        kind = ("near", "near", "speech", "near", "music", "near", "speech", "noise", "near",
                "tv")[i % 10]
        part: list[Piece] = []
        if kind in ("near", "speech"):
            for _ in range(5):
                text = near[said * 7 % len(near)] if kind == "near" else \
                    ordinary[said % len(ordinary)]
                voice = voices[said % len(voices)]
                pcm = corpus.speak(text, voice) + corpus.silence(0.6 + said % 5 * 0.2)
                part.append((f"{text} ({voice.label()})", pcm))
                said += 1
        elif kind == "music":
            part.append(("music", corpus.tones(20, seed=seed + i)))
        elif kind == "noise":
            color = ("white", "pink", "brown")[i // 10 % 3]
            part.append((f"{color} noise", corpus.noise(15, 0.05, color, seed=seed + i)))
        else:
            part.append(("tv", corpus.excerpt(tv, 20, seed=seed + i)))
        pieces += part
        total_s += sum(len(pcm) for _label, pcm in part) / 32000
        i += 1
    return pieces


def negative_runs(pieces: list[Piece], run_s: float = 60.0) -> list[list[Piece]]:
    """Pieces grouped into runs of about run_s seconds (one pipeline run each)."""
    runs: list[list[Piece]] = [[]]
    length = 0.0
    for piece in pieces:
        if length >= run_s:
            runs.append([])
            length = 0.0
        runs[-1].append(piece)
        length += len(piece[1]) / 32000
    return runs
