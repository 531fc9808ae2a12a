"""What one sentence claims about the home: a change, a state, a reading, a live fact, a yes-sir.

The checker (``assistant.brain.checker``) reads every sentence a language model produces before
it is spoken; this module turns the sentence into claims it can test. Extraction is lexical and
deliberately wide: a claim it invents costs at worst a dropped sentence, a claim it misses could
be a spoken lie. Pure functions over plain values; English only, like the local intents.

- change: "I've turned on the kitchen light", "Turning it off.", "The lamp is now at 40%",
  "Set a timer for pasta." (an echo of the command is heard as a yes), "I'll play some music".
  Families: on, off, level, open, close, lock, unlock, toggle (devices can do these) and media,
  timer, volume, errand (nothing here can: no tool exists for them on the language-model path).
- state: "The front door is locked", "The fan is not on", "There is no motion in the hallway".
- reading: a number with a unit ("21.5 degrees", "40%").
- live: weather, news, scores, prices, traffic: facts nobody here can know offline.
- ack: a sentence of nothing but compliance ("Sure!", "Done.", "I'd be happy to help with that.").

A claim under a negation ("I can't turn off the lights"), a modal or condition ("you can turn it
off", "if you want") or in a question ("Shall I turn it on?") is not an assertion and is not
checked, except that a negated change is checked against what did happen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from assistant.config import DeviceConfig


class Fact(str):
    """A sentence made from the executor's results or the tools' own words, not by a model:
    spoken as it is. A language-model path wraps such sentences in Fact before say()."""

    __slots__ = ()


ClaimKind = Literal["change", "state", "reading", "live", "ack"]
DEVICE_FAMILIES = frozenset({"on", "off", "level", "open", "close", "lock", "unlock", "toggle"})
NO_TOOL_FAMILIES = frozenset({"media", "timer", "volume", "errand"})
FAMILY_ACTIONS: dict[str, frozenset[str]] = {
    "on": frozenset({"turn_on", "toggle", "set_brightness", "set_speed", "open", "unlock"}),
    "off": frozenset({"turn_off", "toggle", "close", "lock"}),
    "level": frozenset({"set_brightness", "set_speed"}),
    "open": frozenset({"open", "turn_on", "toggle", "unlock"}),
    "close": frozenset({"close", "turn_off", "toggle"}),
    "lock": frozenset({"lock", "turn_on"}),
    "unlock": frozenset({"unlock", "turn_off"}),
    "toggle": frozenset({"toggle", "turn_on", "turn_off", "open", "close"}),
    "generic": frozenset({"turn_on", "turn_off", "toggle", "set_brightness", "set_speed", "open",
                          "close", "lock", "unlock"}),
}
FAMILY_ACTIONS["echo"] = FAMILY_ACTIONS["generic"]
"""Which executed actions make a claimed change true (a lock's turn_on locks it)."""

# -- the lexicon ----------------------------------------------------------------------------
_NEGATIONS = frozenset({"not", "no", "never", "nothing", "cannot", "unable", "without", "nobody",
                        "none", "neither", "nor", "nowhere", "failed", "instead"})
_MODALS = frozenset({"can", "could", "may", "might", "should", "would", "must", "if", "when",
                     "whenever", "once", "unless", "whether", "want", "wants", "like", "need",
                     "needs", "how", "able", "please", "suggest", "recommend", "before", "after",
                     "until", "supposed", "meant", "wish", "hope", "shall", "ought"})
_QUESTION_START = frozenset({"do", "does", "did", "would", "could", "can", "shall", "should",
                             "will", "is", "are", "was", "were", "what", "which", "who", "whom",
                             "whose", "when", "where", "why", "how", "may", "might", "have", "has",
                             "want", "anything", "any"})
_PHRASAL = r"(?:turn|turns|turned|turning|switch|switches|switched|switching|power|powers|powered|" \
           r"powering|flip|flips|flipped|flipping|put|puts|putting|shut|shuts|shutting|crank|" \
           r"cranked|cranking|kick|kicked)"
_GAP = r"(?:\s+[^\s]+){0,4}?"
# Each family: one regex over the normalized sentence. Base forms count too: "Turn on the light."
# as a reply is heard as "done", "I will open it" is a promise.
_FAMILY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("volume", r"\b(?:volume|louder|quieter|mute|muted|muting|unmute|unmuted)\b"),
    ("timer", r"\b(?:timers?|alarms?|reminders?|stopwatch|countdown|remind|reminding|reminded|"
              r"wake you|waking you)\b"),
    ("media", r"\b(?:music|songs?|playlists?|radio|podcasts?|tracks?|album|tunes|jazz|spotify|"
              r"playback|(?<!the )(?<!a )(?<!his )(?<!her )(?<!this )(?<!that )(?<!their )plays?|"
              r"played|playing|pause|paused|pausing|resume|resumed|resuming|"
              r"skip|skipped|shuffle|shuffled)\b"),
    ("errand", r"\b(?:sent|send|sending|texted|emailed|called|calling|call|dialed|dialing|ordered|"
               r"ordering|order|booked|booking|book|bought|buy|purchased|reserved|scheduled|"
               r"scheduling|notified|added|adding|add|noted|saved|remembered|memorized|recorded|"
               r"recording|remember|keep (?:that|it|this) in mind|make a note)\b"),
    ("on", rf"\b{_PHRASAL}{_GAP}\s+on\b|\b(?:activate|activates|activated|activating|enable|"
           r"enables|enabled|enabling|start|starts|started|starting|lit|light(?:s|ed|ing)? up|"
           r"brew|brewing|brewed)\b"),
    ("off", rf"\b{_PHRASAL}{_GAP}\s+off\b|\b(?:deactivate|deactivated|deactivating|disable|"
            r"disabled|disabling|stop|stops|stopped|stopping|shut down|shutting down|killed)\b"),
    ("level", rf"\b{_PHRASAL}{_GAP}\s+(?:up|down)\b|\b(?:dim|dims|dimmed|dimming|brighten|"
              r"brightens|brightened|brightening|increase|increased|increasing|decrease|"
              r"decreased|decreasing|raise|raised|raising|lower|lowered|lowering|reduce|reduced|"
              r"reducing|adjust|adjusted|adjusting|maxed|speed up|sped up|slowed down)\b|"
              r"\bset(?:s|ting)?\b(?:\s+[^\s]+){0,6}?\s+(?:to|at)\s+\d"),
    ("unlock", r"\b(?:unlock|unlocks|unlocked|unlocking|unbolted)\b"),
    ("lock", r"(?<!un)\b(?:lock|locks|locked|locking|bolted|secured)\b"),
    ("open", r"\b(?:open|opens|opened|opening|raise the|lift|lifted)\b"),
    ("close", r"\b(?:close|closes|closed|closing|shut|shutting)\b"),
    ("toggle", r"\b(?:toggle|toggles|toggled|toggling|flipped)\b"),
    ("generic", r"\b(?:changed|changing|updated|set(?! in\b)|done|executed|completed|taken care of|"
                r"handled)\b"),
)
_FAMILY_RES = tuple((family, re.compile(pattern)) for family, pattern in _FAMILY_PATTERNS)
_NOUN_FAMILIES = frozenset({"volume", "timer", "media"})
"""Families known by their noun alone: a verb must still be there for a claim (below)."""
_SKILL_STATE = re.compile(
    r"^(?:the|this|that|your|my|our|its)\s+(?:\S+\s+){0,3}?(?:music|songs?|playlists?|radio|"
    r"podcasts?|tracks?|album|playback|volume|timers?|alarms?|reminders?|stopwatch|countdown)\b"
    r"(?:\s+\S+){0,4}?\s+(?:is|are)\b")
"""Or the thing itself, named definitely, is the subject of a present copula: "The next song is
...", "The volume is 1000.", "Your alarm is at 7.": the state of something nothing here has
(on the language-model path). "Music is a universal language." names no particular thing."""
_CLAIM_VERBS = re.compile(
    r"\b(?:set|sets|setting|started|starting|start|created|creating|scheduled|running|runs|"
    r"playing|play|plays|played|resume|resumed|resuming|pause|skip|shuffle|shuffled|will|now|"
    r"is on|go off|goes off|going off|ring|rings|ringing|"
    r"remind|reminding|reminded|turned|turning|turn|increased|increasing|raised|lowered|"
    r"decreased|up|down|muted|mute|unmuted|paused|pausing|stopped|skipped|adjusted|changed|"
    r"here is|here are|there you go|enjoy|coming up|queued|added|wake|waking|for \d|at \d|to \d|"
    r"in \d)\b")
# The state a copula asserts: "is (not) on", "are closed", "remains locked".
_COPULA = r"(?:is|are|was|were|remains|remain|stays|stay|be|been|seems|looks|appears)"
_ADVERBS = r"(?:\s+(?:still|already|currently|presently|now|all|both|also|indeed|definitely|" \
           r"actually|just|fully|completely|securely|safely|properly|set|turned|switched))*"
_STATE_WORDS = {
    "on": "on", "running": "on", "active": "on", "spinning": "on", "working": "on", "lit": "on",
    "off": "off", "inactive": "off", "idle": "off", "dark": "off",
    "open": "open", "opened": "open", "ajar": "open",
    "closed": "closed", "shut": "closed",
    "locked": "locked", "secured": "locked", "secure": "locked", "bolted": "locked",
    "unlocked": "unlocked", "unsecured": "unlocked",
    "detected": "present", "occupied": "present",
}
_STATE_RE = re.compile(rf"\b{_COPULA}{_ADVERBS}(?P<neg>\s+not)?{_ADVERBS}\s+"
                       rf"(?P<state>{'|'.join(_STATE_WORDS)})\b(?!\s+(?:to|for|with|of|the|a|an|my|your|its|"
                       r"their|his|her|our|this|that|top|by|in|at|from|about)\b)")
_OUTCOME_RE = re.compile(
    r"^(?:(?:yes|no|nope|yep|yeah) )?(?:it|that|this|they)\s+(?:did|does|"
    r"has|have|is|was|were|worked|failed|succeeded)(?:\s+not)?(?:\s+(?:work|worked|fail|failed|"
    r"succeed|succeeded|go through|happen|happened|done))?$|\b(?:it|that|this)\s+(?:(?:did not|"
    r"has|have)\s+)?(?:work|worked|failed|succeeded|went through)\b")
"""Whether an earlier action worked ("No, it did not.", "It worked."): only the executor knows."""
_YES_NO = frozenset({"yes", "no", "nope", "yep", "yeah", "no it is not", "yes it is"})
_PRESENCE_RE = re.compile(r"\b(?:(?P<neg>no|nobody|no one|nothing)\s+)?(?P<what>motion|movement|"
                          r"someone|somebody|anyone|anybody|people|person|activity)\b")
_NUMBER_RE = re.compile(r"(?<![\w.])(?P<num>-?\d+(?:\.\d+)?)\s*(?P<unit>%|percent\b|°\s*[cf]?|"
                        r"degrees?(?:\s+(?:celsius|fahrenheit|c|f))?\b|celsius\b|fahrenheit\b)")
_LIVE_WORDS = re.compile(
    r"\b(?:weather|forecast|sunny|cloudy|overcast|rain|rainy|raining|rained|drizzle|snow|snowy|"
    r"snowing|storm|stormy|thunder|thunderstorms?|fog|foggy|windy|wind|winds|breeze|humid|"
    r"humidity|precipitation|showers|hail|sunshine|outside|outdoors|uv index|pollen|"
    r"news|headlines?|breaking|reported|announced|election|"
    r"won|win|wins|winning|beat|defeated|score|scored|scores|match|game|games|league|season|"
    r"championship|tournament|playoffs?|goals?|points|"
    r"prices?|costs?|costing|dollars?|euros?|pounds|bitcoin|btc|stocks?|shares|market|nasdaq|"
    r"exchange rate|trading|traffic|flights?|delayed)\b|[$€£]\s*\d|\b\d+\s*[-–]\s*\d+\b")
_MUSIC_WORDS = re.compile(r"\b(?:songs?|tracks?|album|singers?|band|artist|tune|playing)\b")
"""Said in answer to "what song is this": a claim about what plays (only then: "the song
Yesterday" is history)."""
_DEICTIC = re.compile(r"\b(?:today|tonight|tomorrow|now|currently|right now|this (?:week|weekend|"
                      r"morning|afternoon|evening|year)|at the moment|latest|yesterday|last night|"
                      r"expected|will be|going to)\b|(?<![\d.])(?!(?:1[5-9]|20)\d\d\b)\d")
"""Words that make a live-topic word a claim about now; a year ("the 2018 World Cup") does not."""
_NOW_WORDS = re.compile(r"\b(?:today|tonight|now|currently|right now|at the moment|at present)\b")
"""A temperature said with these is a reading of here and now ("currently at 25 degrees")."""
_LIVE_STRONG = re.compile(r"\b(?:the weather|forecast|it is (?:sunny|raining|rainy|cloudy|snowing|"
                          r"windy|hot|cold|warm|freezing|humid|foggy|stormy|clear)|will (?:rain|"
                          r"snow)|going to (?:rain|snow))\b")
_TEMPERATURE_TALK = re.compile(r"\b(?:temperature|it is|warm|cold|hot|cool|freezing|outside|"
                               r"inside|degrees? (?:outside|inside|today|now|in))\b")
_ACK_RE = re.compile(
    r"^(?:(?:sure|sure thing|okay|ok|of course|certainly|absolutely|alright|all right|right away|"
    r"yes|yeah|yep|no problem|no worries|will do|got it|you got it|gotcha|understood|done|"
    r"all done|all set|you are all set|here you go|there you go|here it is|coming right up|"
    r"on it|consider it done|it is done|that is done|right|great|perfect|excellent|"
    r"i (?:would|will|am|can) (?:be )?(?:happy|glad|able) to(?: help)?(?: with that)?|"
    r"i can (?:help|do)(?: you)?(?: with)? (?:that|this)|let me help(?: you)?(?: with that)?|"
    r"happy to help|my pleasure|with pleasure|as you wish|right away|no sweat|let us do it|"
    r"let me do that|let me do it|i will do that|i will take care of it|i am on it)\s*)+$")
_SPLIT_SEGMENTS = re.compile(r"\s*(?:[,;:]|\s-\s|\bbut\b|\bhowever\b|\balthough\b|\bthough\b|"
                             r"\bwhereas\b|\bbecause\b|\bsince\b|\bunfortunately\b)\s*")
_CONTRACTIONS = (
    (r"\bcan't\b", "can not"), (r"\bwon't\b", "will not"), (r"\bshan't\b", "shall not"),
    (r"n't\b", " not"), (r"'ve\b", " have"), (r"'ll\b", " will"), (r"'re\b", " are"),
    (r"'d\b", " would"), (r"\bi'm\b", "i am"), (r"\blet's\b", "let us"),
    (r"\b(it|that|there|here|what|who|everything|nothing|he|she|this|light|lamp|fan|door)'s\b",
     r"\1 is"),
)
_CONTRACTION_RES = tuple((re.compile(a), b) for a, b in _CONTRACTIONS)

# -- the devices a sentence is about ---------------------------------------------------------
KIND_NOUNS: dict[str, frozenset[str]] = {
    "light": frozenset({"light", "lights", "lamp", "lamps", "bulb", "bulbs", "lighting"}),
    "fan": frozenset({"fan", "fans"}),
    "switch": frozenset({"switch", "switches", "plug", "plugs", "socket", "outlet"}),
    "cover": frozenset({"door", "doors", "garage", "blind", "blinds", "shutter", "shutters",
                        "curtain", "curtains", "gate", "cover", "window", "windows"}),
    "lock": frozenset({"lock", "locks", "door", "doors", "deadbolt"}),
    "binary_sensor": frozenset({"motion", "movement", "sensor", "sensors", "presence"}),
    "sensor": frozenset({"temperature", "sensor", "sensors", "thermometer", "reading"}),
}
SORTS: tuple[frozenset[str], ...] = (
    frozenset({"door", "doors"}), frozenset({"garage"}), frozenset({"blind", "blinds"}),
    frozenset({"shutter", "shutters"}), frozenset({"curtain", "curtains"}), frozenset({"gate"}),
    frozenset({"window", "windows"}), frozenset({"deadbolt"}),
    frozenset({"temperature", "thermometer"}), frozenset({"motion", "movement"}),
    frozenset({"presence"}),
)
"""Kind nouns that name one sort of a kind, not the kind: "the blinds" are no garage door and
"the temperature" no humidity sensor. Such a noun means a configured device only if one of its
sort's words is in the device's name, aliases, id or device_class; else it names a thing this
home does not have. The other kind nouns ("light", "fan", "sensor") mean any device of the kind."""
_SORT_OF = {word: sort for sort in SORTS for word in sort}
_PLAIN_WORDS = frozenset({"reading", "switch", "switches", "cover", "sensor", "sensors",
                          "lighting"})
"""Kind nouns that are everyday words too ("I am reading"): no unknown device when unmatched."""
OTHER_DEVICES = frozenset({
    "tv", "television", "radio", "stereo", "speaker", "speakers", "heater", "heating",
    "thermostat", "ac", "aircon", "conditioner", "conditioning", "oven", "stove", "microwave",
    "dishwasher", "washer", "dryer", "fridge", "refrigerator", "freezer", "kettle", "toaster",
    "vacuum", "robot", "sprinkler", "sprinklers", "camera", "cameras", "computer", "printer",
    "router", "wifi", "doorbell", "boiler", "pump", "projector", "console", "car", "charger",
    "humidifier", "dehumidifier", "purifier", "blender", "machine", "system", "appliance",
    "appliances", "device", "devices", "porch", "hood", "shades", "awning",
})
"""Things a home may have that, unless configured, name no device here."""
GENERIC_THINGS = frozenset({"device", "devices", "appliance", "appliances", "system", "machine",
                            "things", "stuff"})
"""Of those, the words that name no thing in particular ("turn off all devices")."""
_STOP = frozenset({"the", "a", "an", "my", "your", "our", "their", "his", "her", "its", "all",
                   "every", "each", "both", "any", "some", "this", "that", "these", "those", "of",
                   "in", "on", "off", "to", "is", "are", "and", "or", "for", "with", "at", "from",
                   "other", "same", "now", "up", "down", "also", "just", "not", "no", "then", "it",
                   "too", "again", "main", "whole", "entire", "house", "home", "room", "rooms",
                   "there", "here"})
_ROOMS = frozenset({
    "porch", "back", "side", "desk", "floor", "table", "garden", "patio", "hall", "office", "study",
    "attic", "basement", "dining", "guest", "kids", "master", "upstairs", "downstairs", "outdoor",
    "outside", "bathroom", "toilet", "nursery", "laundry", "utility", "cellar", "balcony", "night",
    "ceiling", "wall", "bedside", "lounge", "den", "loft", "shed", "yard", "driveway", "pantry",
    "closet", "stairs", "landing", "entrance", "front", "rear", "left", "right", "top", "bottom",
    "second", "first", "third", "big", "small", "little", "new", "old", "red", "blue", "green"})
"""Words that, in front of a one-word alias ("porch lamp"), make it another thing than the alias."""
_EVERYTHING = re.compile(r"\b(?:everything|every device|all (?:the )?devices|all (?:the )?things|"
                         r"all of them|anything)\b")
_QUANTIFIER = re.compile(r"\b(?:all|every|each|both)\b")
_PRONOUNS = frozenset({"it", "them", "they", "that", "this", "those", "these", "one"})


@dataclass(frozen=True)
class Ref:
    """The devices a piece of a sentence is about."""

    devices: frozenset[str] = frozenset()
    """Configured devices named by name, alias, id, or area + kind ("the bedroom lamp")."""
    generic: frozenset[str] = frozenset()
    """Devices a bare kind noun may mean ("the lights", "the door")."""
    unknown: tuple[str, ...] = ()
    """Device-like words that name nothing configured ("back door", "tv", "porch light")."""
    areas: frozenset[str] = frozenset()
    everything: bool = False
    quantified: bool = False
    """"all", "every", "each", "both" in front of a kind noun."""
    pronoun: bool = False

    @property
    def named(self) -> frozenset[str]:
        return self.devices | self.generic


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    families: frozenset[str] = frozenset()
    """change: the action families (one of NO_TOOL_FAMILIES alone, or device families)."""
    state: str | None = None
    """state: on, off, open, closed, locked, unlocked or present (the thing claimed)."""
    ref: Ref = field(default_factory=Ref)
    negated: bool = False
    value: float | None = None
    """A level in % or a reading, when the sentence gives one."""
    unit: str | None = None
    text: str = ""
    """The piece of the sentence the claim was read from."""


def normalize(text: str) -> str:
    """Lower case, straight apostrophes, contractions spelled out, punctuation but . % ° $ gone."""
    text = text.lower().replace("’", "'").replace("‘", "'").replace("per cent", "percent")
    for pattern, repl in _CONTRACTION_RES:
        text = pattern.sub(repl, text)
    text = re.sub(r"[!?\"“”()\[\]{}*_#…]", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    text = re.sub(r"(\w)'s\b", r"\1", text)
    return " ".join(text.split())


def is_question(sentence: str) -> bool:
    """A sentence that asks ("Shall I turn it on?") asserts nothing."""
    stripped = sentence.strip()
    if not stripped.endswith("?"):
        return False
    words = normalize(stripped).split()
    return bool(words) and (words[0] in _QUESTION_START or (
        len(words) > 1 and words[0] in ("so", "and", "okay", "ok", "then", "also", "or")
        and words[1] in _QUESTION_START))


class Catalog:
    """The configured devices, compiled for finding them in free text."""

    def __init__(self, devices: Sequence[DeviceConfig]):
        self.devices = {d.id: d for d in devices}
        phrases: dict[str, set[str]] = {}
        for d in devices:
            for phrase in (d.name, *d.aliases, d.id.replace("_", " ")):
                phrases.setdefault(normalize(phrase), set()).add(d.id)
        self.phrases = sorted(((p, frozenset(ids)) for p, ids in phrases.items() if p),
                              key=lambda item: -len(item[0]))
        self.areas: dict[str, frozenset[str]] = {}
        for d in devices:
            if d.area:
                area = normalize(d.area)
                self.areas[area] = self.areas.get(area, frozenset()) | {d.id}
        nouns: dict[str, set[str]] = {}
        for d in devices:
            called = {w for phrase in (d.name, *d.aliases, d.id.replace("_", " "),
                                       d.device_class or "") for w in normalize(phrase).split()}
            for noun in KIND_NOUNS.get(d.kind, frozenset()):
                sort = _SORT_OF.get(noun)
                if sort is None or sort & called:
                    nouns.setdefault(noun, set()).add(d.id)
            for phrase in (d.name, *d.aliases):
                words = normalize(phrase).split()
                if words:
                    nouns.setdefault(words[-1], set()).add(d.id)
        kind_nouns = frozenset().union(*KIND_NOUNS.values())
        firsts: dict[str, set[str]] = {}
        for d in devices:
            words = normalize(d.name).split()
            if len(words) > 1 and words[0] not in _ROOMS and words[0] not in kind_nouns:
                firsts.setdefault(words[0], set()).add(d.id)
        areas = {w for a in self.areas for w in a.split()}
        for word, ids in firsts.items():  # "the processor" is the processor temperature
            if len(ids) == 1 and word not in areas and word not in nouns:
                nouns[word] = ids
        self.nouns = {n: frozenset(ids) for n, ids in nouns.items()}
        all_nouns = frozenset().union(*KIND_NOUNS.values()) - _PLAIN_WORDS
        self.missing = (all_nouns - nouns.keys()) | OTHER_DEVICES
        """Device words that name nothing configured here: a sort or kind no device is, and
        OTHER_DEVICES ("the blinds", "the fan" in a home without them, "the tv")."""
        self._modifiers = "|".join(sorted(
            {re.escape(w) for a in self.areas for w in a.split()} | _ROOMS | self.missing))
        self.vocabulary = frozenset(w for p, _ in self.phrases for w in p.split()) | frozenset(
            w for a in self.areas for w in a.split())

    def refer(self, text: str) -> Ref:
        """The devices ``text`` (normalized) is about."""
        padded = f" {text} "
        devices: set[str] = set()
        for phrase, ids in self.phrases:
            if f" {phrase} " not in padded:
                continue
            if " " not in phrase and re.search(rf"\b(?:{self._modifiers}) {re.escape(phrase)}\b",
                                               padded):
                continue  # "bedroom lamp" is not the living room's "lamp": read as area + kind
            devices |= ids
            padded = padded.replace(f" {phrase} ", " § ")
        areas = {a for a in self.areas if f" {a} " in padded}
        words = padded.split()
        generic: set[str] = set()
        unknown: list[str] = []
        for i, word in enumerate(words):
            known = self.nouns.get(word)
            if known is None and word not in self.missing:
                continue
            front: list[str] = []
            for j in range(i - 1, max(-1, i - 3), -1):
                if words[j] in _STOP or words[j] == "§" or _is_number(words[j]):
                    break
                front.insert(0, words[j])
            area = next((a for a in self.areas if " ".join(front).endswith(a) and front), None)
            if known is not None and area is not None:
                hit = known & self.areas[area]
                if hit:
                    devices |= hit
                    continue
            if known is not None and not front:
                generic |= known
            else:
                unknown.append(" ".join([*front, word]))
        if areas and generic:
            # "the light in the bedroom": a bare noun narrowed by a room elsewhere in the phrase.
            narrowed = {d for d in generic if any(d in self.areas[a] for a in areas)}
            if narrowed:
                devices |= narrowed
                generic = set()
        return Ref(devices=frozenset(devices), generic=frozenset(generic - devices),
                   unknown=tuple(dict.fromkeys(unknown)),
                   areas=frozenset(areas), everything=bool(_EVERYTHING.search(text)),
                   quantified=bool(_QUANTIFIER.search(text)),
                   pronoun=any(w in _PRONOUNS for w in text.split()))


def _is_number(word: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(?:\.\d+)?%?", word))


def segments(sentence: str) -> list[str]:
    """The pieces of a normalized sentence that assert one thing each."""
    parts = _SPLIT_SEGMENTS.split(normalize(sentence))
    return [p.strip() for p in parts if p and p.strip()]


_NEGATION_WINDOW = 6
_MODAL_WINDOW = 4
_STATE_MODALS = frozenset({"if", "whether", "unless", "when", "whenever", "once", "until",
                           "before", "after", "how", "wonder", "check", "see", "sure"})
"""For a state ("the light is on") a modal in front does not make it a non-claim ("it looks
like the light is on" asserts it) except these, which make it a question or a condition."""
_NOW = re.compile(r"\bnow\b")
_STATE_FAMILY = {"on": "on", "off": "off", "open": "open", "closed": "close", "locked": "lock",
                 "unlocked": "unlock"}


def _blocked(before: str, modals: frozenset[str] = _MODALS) -> tuple[bool, bool]:
    """(negated, modal) for the words in front of a verb, each within its window."""
    words = before.split()
    negated = bool(set(words[-_NEGATION_WINDOW:]) & _NEGATIONS)
    modal = bool(set(words[-_MODAL_WINDOW:]) & modals)
    return negated, modal


_SOCIAL = frozenset({"thank you", "thanks", "hello", "hi", "hey", "good morning", "good night",
                     "good evening", "goodbye", "bye", "you are welcome", "how are you"})
_LEADING = re.compile(r"^(?:and|now|then|so|also|okay|ok|please|just|hey)\s+")


def echoes(sentence: str, question: str) -> bool:
    """The model only repeated the command ("and dim it" -> "Dim it."): heard as a yes."""
    said = normalize(sentence).replace(" your ", " my ").replace(" you ", " me ")
    asked = normalize(question)
    while _LEADING.match(asked):
        asked = _LEADING.sub("", asked, count=1)
    said = _LEADING.sub("", said, count=1)
    # "boil the kettle for me" -> "Boil the kettle.": the words of the command, in its order.
    return (len(said.split()) >= 2 and f" {said} " in f" {asked} " and said not in _SOCIAL
            and not is_question(question + "?"))


def extract(sentence: str, catalog: Catalog, asked_live: bool = False,
            question: str = "") -> list[Claim]:
    """Every claim one sentence makes. ``asked_live``: the question was about a live topic, so
    any mention of one is taken as an answer to it. An echo of ``question`` claims it was done."""
    if is_question(sentence):
        return []
    parts = segments(sentence)
    if sentence.rstrip().endswith("?"):
        # "Unlock the front door?" asks; "I turned it on, anything else?" still claims.
        parts = [p for p in parts[:-1] if not _ACK_RE.match(p)]
    elif len(parts) == 1 and parts[0] in _YES_NO:
        return [Claim("state", state="outcome", text=parts[0])]  # a bare "No." answers too
    elif parts and all(_ACK_RE.match(p) and not _OUTCOME_RE.search(p) for p in parts):
        return [Claim("ack", text=" ".join(parts))]
    claims: list[Claim] = []
    subjects = ""
    for part in parts:
        if _ACK_RE.match(part) and not _OUTCOME_RE.search(part):
            continue
        found = _part_claims(f"{subjects} {part}".strip(), catalog, asked_live)
        claims.extend(found)
        # "The kitchen door, the hall door and the front door are locked": a piece that only
        # names things is the subject of what the next piece says.
        subjects = f"{subjects} {part}".strip() if not found and _names_things(part, catalog) else ""
    if question and not any(c.kind == "change" for c in claims) and echoes(sentence, question):
        claims.append(Claim("change", frozenset({"echo"}), text=normalize(sentence)))
    return claims


def _names_things(part: str, catalog: Catalog) -> bool:
    ref = catalog.refer(part)
    return bool(ref.devices or ref.generic or ref.unknown)


def _change(part: str, state: re.Match[str] | None) -> tuple[frozenset[str], bool] | None:
    """The families of change this piece asserts, and whether it denies them; None: none."""
    families: list[str] = []
    negated_any = False
    for family, pattern in _FAMILY_RES:
        found = pattern.search(part)
        if found is None:
            continue
        if family in _NOUN_FAMILIES and not _CLAIM_VERBS.search(part) \
                and not _SKILL_STATE.search(part):
            continue  # "Music is a universal language."
        if family == "generic" and (families or state is not None):
            continue
        if (family not in NO_TOOL_FAMILIES and state is not None
                and found.start() >= state.start()):
            continue  # "The door is locked": a state, read by the caller
        if family == "errand" and not re.search(r"\b(?:i|have|has|been|will|just)\b",
                                                part[:found.start()]) \
                and not part.startswith(found.group()):
            continue  # "saved" or "recorded" as plain words: the assistant must be the doer
        negated, modal = _blocked(part[:found.start()])
        if modal and not negated:
            continue
        negated_any = negated_any or negated
        families.append(family)
    if state is not None and _NOW.search(state.group()) and state.group("state") in _STATE_FAMILY:
        families.append(_STATE_FAMILY[state.group("state")])  # "is now on": a change
    if not families:
        return None
    no_tool = [f for f in families if f in NO_TOOL_FAMILIES]
    return frozenset(no_tool[:1] or families), negated_any


def _part_claims(part: str, catalog: Catalog, asked_live: bool) -> list[Claim]:
    ref = catalog.refer(part)
    claims: list[Claim] = []
    state = _STATE_RE.search(part)
    if _OUTCOME_RE.search(part):
        return [Claim("state", ref=ref, state="outcome", text=part)]
    number = _number(part)
    change = _change(part, state)
    if change is not None:
        families, negated = change
        claims.append(Claim("change", families, ref=ref, negated=negated,
                            value=number[0] if number else None,
                            unit=number[1] if number else None, text=part))
    if state is not None:
        negated, modal = _blocked(part[:state.start()], _STATE_MODALS)
        if not modal:
            claims.append(Claim("state", ref=ref, state=_STATE_WORDS[state.group("state")],
                                negated=negated != bool(state.group("neg")), text=part))
    presence = _PRESENCE_RE.search(part)
    if presence is not None and (ref.areas or ref.named):
        negated, modal = _blocked(part[:presence.start()], _STATE_MODALS)
        if not modal:
            claims.append(Claim("state", ref=ref, state="present",
                                negated=negated != bool(presence.group("neg")), text=part))
    if number is not None and change is None and (
            ref.named or ref.unknown or ref.areas or _TEMPERATURE_TALK.search(part)
            or (number[1] == "°" and _NOW_WORDS.search(part))):
        claims.append(Claim("reading", ref=ref, value=number[0], unit=number[1], text=part))
    live = _LIVE_WORDS.search(part) or (_MUSIC_WORDS.search(part) if asked_live else None)
    if live is not None and (asked_live or _DEICTIC.search(part) or _LIVE_STRONG.search(part)):
        negated, modal = _blocked(part[:live.start()])
        if not negated and not modal:
            claims.insert(0, Claim("live", ref=ref, text=part))  # the clearest reason first
    return claims


def _number(part: str) -> tuple[float, str] | None:
    found = _NUMBER_RE.search(part)
    if found is None:
        return None
    unit = found.group("unit").replace(" ", "")
    unit = "%" if unit in ("%", "percent") else "°"
    return float(found.group("num")), unit


_LIVE_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((topic, re.compile(p)) for topic, p in (
    ("weather", r"\b(?:weather|forecast|rain|raining|rainy|snow|snowing|sunny|umbrella|humid|"
                r"humidity|windy|wind|storm|stormy|sunrise|sunset|uv|pollen|(?:hot|cold|warm|"
                r"chilly|freezing|temperature|degrees)(?: is it)? (?:outside|out there|today|"
                r"tomorrow|tonight)|outside temperature|outdoor temperature|need a (?:coat|jacket))"
                r"\b"),
    ("news", r"\b(?:news|headlines?|what happened (?:today|yesterday)|latest on|current events)"
             r"\b"),
    ("sports", r"\b(?:scores?|who won|did \w+(?: \w+)? win|who is winning|standings|playoffs?|"
               r"(?:game|match|race) (?:last night|today|tonight|yesterday)|fixtures?|kick ?off)"
               r"\b"),
    ("prices", r"\b(?:prices?|how much (?:is|are|does|do) .*(?:cost|worth|in (?:dollars|euros|"
               r"pounds))|stocks?|share price|bitcoin|crypto|exchange rate|dollar|euro)\b"),
    ("playing", r"\b(?:what (?:song|track|music|tune) is (?:this|that|playing|on)|what is (?:this|that) "
                r"(?:song|track|tune)|what is playing|who (?:sings|is singing) (?:this|that)|"
                r"name (?:this|that) (?:song|tune))\b"),
    ("travel", r"\b(?:traffic|commute|flights?|train times|bus times|delays?|open (?:now|today)|"
               r"opening hours|closing time)\b"),
))
_PAST_YEAR = re.compile(r"\b(?:1[5-9]\d\d|20[01]\d)\b")


def live_topic(question: str) -> str | None:
    """The live topic a question asks about (weather, news, sports, prices, travel), or None;
    a question about a past year ("who won in 2018") is history, not a live fact."""
    text = normalize(question)
    if _PAST_YEAR.search(text):
        return None
    return next((topic for topic, pattern in _LIVE_TOPICS if pattern.search(text)), None)


_POLITE = re.compile(r"^(?:(?:could|can|would|will) you (?:please )?|please |i want you to |"
                     r"i would like you to )")
COMMAND_ACTIONS: dict[str, frozenset[str]] = {
    "on": frozenset({"turn_on"}), "off": frozenset({"turn_off"}),
    "level": frozenset({"set_brightness", "set_speed"}), "open": frozenset({"open", "turn_on"}),
    "close": frozenset({"close", "turn_off"}), "lock": frozenset({"lock"}),
    "unlock": frozenset({"unlock"}), "toggle": frozenset({"toggle"}),
}
"""The actions a command's own verb allows (stricter than FAMILY_ACTIONS, which judge claims)."""


def command_actions(command: str) -> tuple[frozenset[str] | None, float | None]:
    """The actions the words of a command allow ("switch on the fan": turn_on), or None when
    its verbs say nothing clear; and the percentage it gives, if any."""
    families: set[str] = set()
    command = _POLITE.sub("", normalize(command))
    for part in segments(command):
        found = _change(part, None)
        if found is not None:
            families |= found[0] & COMMAND_ACTIONS.keys()
    bare = re.search(r"\b(on|off)(?: please| now)?$", command)
    if not families and bare:  # "kitchen light off please"
        families = {bare.group(1)}
    number = _number(command)
    value = number[0] if number and number[1] == "%" else None
    if value is not None:
        families = {"level"}
    if not families:
        return None, value
    return frozenset().union(*(COMMAND_ACTIONS[f] for f in families)), value


def mentions(texts: Iterable[str], catalog: Catalog) -> frozenset[str]:
    """Configured devices that any of ``texts`` is about: named, meant by a kind noun ("the
    lights") or in a room it names ("is anyone in the hallway")."""
    out: set[str] = set()
    for text in texts:
        ref = catalog.refer(normalize(text))
        out |= ref.devices | ref.generic
        for area in ref.areas:
            out |= catalog.areas[area]
    return frozenset(out)
