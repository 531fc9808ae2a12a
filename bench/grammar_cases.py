"""What bench/grammar_study.py has its voices say: commands the home's grammar holds, and speech
it does not (questions for an LLM, chatter, commands for devices and areas config/assistant.yaml
does not have). The study keeps only in-grammar sentences the grammar accepts and the local
intents plan, and only out-of-grammar sentences the grammar does not accept and the intents do
not plan, and reports any it dropped.
"""

from __future__ import annotations

from bench.robust_cases import CHATTER, COMMANDS, ORDINARY, UNKNOWN_COMMANDS

IN_GRAMMAR: list[str] = [text for text, _expect in COMMANDS] + [
    "turn off the lamp",
    "turn the kitchen light off",
    "turn the bedroom light on",
    "switch off the coffee maker",
    "set the living room lamp to seventy five percent",
    "set the lamp to ten percent",
    "set the reading lamp to one hundred percent",
    "dim the living room lamp",
    "brighten the lamp",
    "set the ceiling fan to fifty percent",
    "set the fan speed to thirty percent",
    "turn off the lights in the bedroom",
    "turn off the lights",
    "turn on the lights",
    "is the kitchen light on",
    "is the ceiling fan off",
    "is the garage door closed",
    "is the front door unlocked",
    "what is the living room temperature",
    "what time is it",
    "what is the date",
    "set a timer for five minutes",
    "set a timer for ten seconds",
    "set a timer for one hour",
    "set a timer for twenty minutes",
    "cancel the timer",
    "how much time is left on the timer",
    "pause the timer",
    "never mind",
    "stop",
    "please turn on the kitchen light",
    "turn off the bedroom light please",
    "open the garage",
    "close the garage",
    "what's the temperature",
    "are any lights on",
]
"""config/assistant.yaml's commands: the robustness bench's 24 and more of the same home."""

QUESTIONS: list[str] = [
    "What is the capital of France?",
    "How far away is the moon?",
    "Tell me a joke about cats.",
    "Who wrote Romeo and Juliet?",
    "What's the weather like tomorrow?",
    "How do I boil an egg?",
    "What is the square root of one hundred forty four?",
    "How many days are there in a leap year?",
    "Can you recommend a good book?",
    "Why is the sky blue?",
    "What time does the bakery open?",
    "How tall is Mount Everest?",
    "Translate good morning into Spanish.",
    "What should I cook for dinner tonight?",
    "Who won the football game yesterday?",
    "Remind me to call my mother.",
    "Play some relaxing music.",
    "What is the meaning of life?",
    "How do you spell necessary?",
    "What's the population of Canada?",
]
"""For the LLM: open questions and requests the local intents do not have."""

ABSENT_DEVICES: list[str] = [text for text, _expect in UNKNOWN_COMMANDS] + [
    "turn on the garden lights",
    "switch off the television",
    "open the bedroom window",
    "turn on the porch lamp",
    "set the heater to fifty percent",
    "lock the back door",
    "turn off the radio",
    "close the kitchen blinds",
    "turn on the desk lamp",
    "is the oven on",
]
"""Commands for devices the home does not have, several close in sound to ones it has."""

ABSENT_AREAS: list[str] = [
    "turn off the lights in the attic",
    "turn on the lights in the basement",
    "what's the temperature in the bathroom",
    "turn on the office lights",
    "turn off the lights in the dining room",
    "turn on the lights in the nursery",
    "what is the temperature in the garden",
    "turn off the lights upstairs",
]
"""Commands for areas the home does not have."""

UNLISTED_NEAR_MISSES: list[str] = [
    "turn on the bedside light",
    "turn on the bed light",
    "turn on the aquarium",
    "switch off the sauna",
    "turn on the christmas tree",
    "open the greenhouse",
    "turn off the kitchenette light",
    "lock the garage door",
    "open the front door",
    "turn on the garage fan",
    "turn off the bedroom fan",
    "turn on the hallway light",
    "turn on the coffee machine",
    "what is the outside temperature",
    "is the skylight open",
    "turn on the fountain",
]
"""Near-misses that use no word of assistant/grammar/decoys_en.yaml (the grammar's list of
devices and rooms a home may have): the guard alone must turn these away."""

CHATTER_LINES: list[str] = CHATTER + [line for line in ORDINARY if not line.startswith(
    ("Turn on the kitchen light", "Unlock the front door"))]
"""Talk nobody addressed to the assistant (the study's commands without the wake word are left
out: they are in the grammar)."""

OUT_OF_GRAMMAR: dict[str, list[str]] = {
    "question": QUESTIONS,
    "absent_device": ABSENT_DEVICES,
    "absent_area": ABSENT_AREAS,
    "unlisted_near_miss": UNLISTED_NEAR_MISSES,
    "chatter": CHATTER_LINES,
}
