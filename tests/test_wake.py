"""Wake word engines on synthetic speech, and the refractory window (pure)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.chunk import BYTES_PER_MS, RATE, AudioChunk
from assistant.audio.clean import AudioCleaner
from assistant.config import WakeConfig
from assistant.errors import ModelMissingError
from assistant.stt import Transcript
from assistant.vad import speech_over_background_db
from assistant.wake import (
    ACOUSTIC_CONFIRMS,
    LENIENT_ACOUSTIC,
    NOISY_BELOW_DB,
    NOISY_HINT,
    SECOND_LOOK_TAIL_MS,
    SENSITIVITY,
    VERIFIED_THRESHOLD,
    WAKE_TAIL_MS,
    CleanedWake,
    MicroWakeWordDetector,
    OpenWakeWordDetector,
    Refractory,
    WakeDetection,
    WakeVerifier,
    addressed,
    home_words,
    is_request,
    make_wake_detector,
    make_wake_verifier,
    second_look,
    sounds_like,
    verdict,
    wake_phrase,
    words_after,
)


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * RATE) * 2)


def white_noise(seconds: float, level: float = 0.05) -> bytes:
    rng = np.random.default_rng(0)
    return (rng.normal(0, level, int(seconds * RATE)) * 32767).astype("<i2").tobytes()


def with_noise(pcm: bytes, level: float) -> bytes:
    """pcm with white noise of this level added under it."""
    mixed = (np.frombuffer(pcm, dtype="<i2").astype(np.int32)
             + np.frombuffer(white_noise(len(pcm) / 2 / RATE, level), dtype="<i2"))
    return np.clip(mixed, -32768, 32767).astype("<i2").tobytes()


def detections(detector, pcm: bytes, chunk_ms: int = 30) -> list[WakeDetection]:  # type: ignore[no-untyped-def]
    step = chunk_ms * BYTES_PER_MS
    found = []
    for offset in range(0, len(pcm), step):
        hit = detector.process(AudioChunk(pcm[offset:offset + step], offset / BYTES_PER_MS))
        if hit is not None:
            found.append(hit)
    detector.reset()
    return found


@pytest.fixture(scope="module")
def micro() -> MicroWakeWordDetector:
    return MicroWakeWordDetector("okay_nabu")


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_micro_wake_word_hears_okay_nabu_before_a_command(
    micro, synth_speech, espeak_speech, engine
):
    speak = synth_speech if engine == "piper" else espeak_speech
    wake = speak("Okay Nabu.")
    pcm = silence(0.5) + wake + silence(0.3) + speak("Turn on the kitchen light.") + silence(1)
    found = detections(micro, pcm)
    # Exactly once: a detection uses up its evidence, so it cannot fire again a moment later.
    assert len(found) == 1, found
    first = found[0]
    assert first.name == "okay_nabu"
    assert first.probability > micro.threshold
    # Detected while or just after the wake word is spoken, before the command is over.
    wake_end_ms = 500 + len(wake) / BYTES_PER_MS
    assert 500 < first.timestamp_ms < wake_end_ms + 1000


def test_state_left_over_from_a_wake_word_does_not_fire_later(micro, synth_speech):
    # The pipeline stops feeding the detector while it records the command; when it feeds
    # it again (barge-in), the wake word heard earlier must not count a second time.
    wake = silence(0.5) + synth_speech("Okay Nabu.")
    step = 30 * BYTES_PER_MS
    hits = [micro.process(AudioChunk(wake[i:i + step], i / BYTES_PER_MS))
            for i in range(0, len(wake), step)]
    assert sum(h is not None for h in hits) == 1
    later = silence(1.0)
    assert all(micro.process(AudioChunk(later[i:i + step], 5000.0)) is None
               for i in range(0, len(later), step))
    micro.reset()


def test_micro_wake_word_ignores_other_speech_and_noise(micro, synth_speech):
    speech = synth_speech("Turn on the kitchen light. What time is it? Okay, that is enough.")
    assert detections(micro, silence(0.5) + speech + silence(1)) == []
    assert detections(micro, white_noise(4)) == []


def test_micro_wake_word_threshold_defaults_to_the_model_cutoff():
    assert MicroWakeWordDetector("okay_nabu").threshold == pytest.approx(0.85, abs=0.15)
    assert MicroWakeWordDetector("alexa", threshold=0.6).threshold == 0.6


def test_open_wake_word_hears_hey_jarvis(synth_speech):
    detector = OpenWakeWordDetector("hey_jarvis")
    pcm = silence(0.5) + synth_speech("Hey Jarvis.") + silence(0.3) + synth_speech(
        "What time is it?") + silence(1)
    found = detections(detector, pcm)
    assert len(found) == 1 and found[0].name == "hey_jarvis"
    assert found[0].probability > 0.5
    assert detections(detector, silence(0.5) + synth_speech("What time is it?")) == []


def test_unknown_model_lists_the_built_in_names():
    with pytest.raises(ModelMissingError, match="okay_nabu, hey_jarvis, alexa, hey_mycroft"):
        MicroWakeWordDetector("hey_computer")
    with pytest.raises(ModelMissingError, match="hey_rhasspy"):
        make_wake_detector(WakeConfig(engine="openwakeword", model="nope.tflite"))


def test_make_wake_detector_follows_the_config():
    # Default: microWakeWord on a noise-suppressed copy, sensitive: the second stage weighs it
    # (beside it the noisy-room model, tests/test_wake_head.py).
    cleaned = make_wake_detector(WakeConfig(noisy_model=False))
    assert isinstance(cleaned, CleanedWake) and cleaned.cleaner.noise_suppression == 4
    assert isinstance(cleaned.detector, MicroWakeWordDetector)
    assert cleaned.detector.threshold == VERIFIED_THRESHOLD
    # Without a second stage (verify off, or vosk, which cannot check): the model's own cutoff.
    for unverified in (make_wake_detector(WakeConfig(verify=False, noise_suppression=0)),
                       make_wake_detector(WakeConfig(noise_suppression=0), verified=False)):
        assert isinstance(unverified, MicroWakeWordDetector)
        assert unverified.threshold == pytest.approx(0.85, abs=0.15)
    detector = make_wake_detector(WakeConfig(engine="openwakeword", model="alexa",
                                             noise_suppression=0))
    assert isinstance(detector, OpenWakeWordDetector) and detector.threshold == 0.5


@pytest.mark.parametrize(("probability", "acoustic", "expected"), [
    (0.35, 0.95, "confirmed"),    # openWakeWord is sure: no whisper, however unsure mww was
    (0.35, 0.4, "whisper"),       # a hint from openWakeWord: whisper decides
    (0.85, 0.0, "whisper"),       # microWakeWord sure enough for whisper to decide
    (0.85, None, "whisper"),      # no second model for this wake word
    (0.5, 0.004, "dropped"),      # neither
    (0.5, None, "dropped"),
])
def test_verdict(probability, acoustic, expected):
    assert verdict(probability, acoustic, sure_above=0.8, hint=0.005) == expected


@pytest.fixture(scope="module")
def acoustic() -> OpenWakeWordDetector:
    return OpenWakeWordDetector("okay_nabu")


def window(pcm: bytes) -> bytes:
    """What the second stage gets: 2 s before the wake word's end and 0.75 s after."""
    return pcm[-int(2.75 * RATE) * 2:]


def test_open_wake_word_confirms_okay_nabu_and_not_near_misses(acoustic, synth_speech):
    heard = acoustic.peak(window(silence(2.0) + synth_speech("Okay Nabu.") + silence(0.75)))
    assert heard > ACOUSTIC_CONFIRMS
    for text in ("Okay, Abu Dhabi is very hot.", "Okay, Bamboo grows really fast."):
        near = acoustic.peak(window(silence(2.0) + synth_speech(text) + silence(0.75)))
        # Below low's hint; medium's lets such a peak go to whisper, and to its ``addressed``.
        assert near < SENSITIVITY["low"].hint, text


def test_open_wake_word_primed_with_the_start_hears_only_the_rest(acoustic, synth_speech):
    # The pipeline primes it with the wake window while the command's tail is being spoken.
    pcm = window(silence(2.0) + synth_speech("Okay Nabu.") + silence(0.75))
    cold = acoustic.peak(pcm)
    acoustic.prime(pcm[:int(2.0 * RATE) * 2 + 2])
    assert acoustic.peak(pcm) == pytest.approx(cold)
    # ...and again as the tail comes in, each time from where the last one ended.
    for seconds in (1.0, 1.5, 2.25):
        acoustic.prime(pcm[:int(seconds * RATE) * 2])
    assert acoustic.peak(pcm) == pytest.approx(cold)
    assert cold > ACOUSTIC_CONFIRMS
    # Primed with other audio, the peak starts cold: the same answer.
    acoustic.prime(silence(1.0) + b"\x01\x00")
    assert acoustic.peak(pcm) == pytest.approx(cold)
    # A prime is used once: with another start the model does not carry over its state.
    acoustic.prime(pcm[:int(2.0 * RATE) * 2])
    near = window(silence(2.0) + synth_speech("Okay, Bamboo grows really fast.") + silence(0.75))
    assert acoustic.peak(near) < SENSITIVITY["medium"].hint


class Counting:
    """A transcriber that counts its calls and hears what it is told to."""

    def __init__(self, text: str):
        self.text = text
        self.calls = 0

    def transcribe(self, pcm: bytes, prompt: str | None = None) -> Transcript:
        self.calls += 1
        return Transcript(self.text, 0.9)


def test_verifier_asks_whisper_only_when_openwakeword_does_not_settle_it(acoustic, synth_speech):
    wake = window(silence(2.0) + synth_speech("Okay Nabu.") + silence(0.75))
    near = window(silence(2.0) + synth_speech("Okay, Abu Dhabi is very hot.") + silence(0.75))
    whisper = Counting("Okay Nabu.")
    verifier = WakeVerifier(whisper, "okay nabu", acoustic, sure_above=0.8, hint=0.005)
    confirmed = verifier.check(wake, probability=0.4)
    assert (confirmed.ok, confirmed.how, whisper.calls) == (True, "confirmed", 0)
    dropped = verifier.check(near, probability=0.5)
    assert (dropped.ok, dropped.how, whisper.calls) == (False, "dropped", 0)
    asked = verifier.check(near, probability=0.9)
    assert (asked.ok, asked.how, whisper.calls) == (True, "whisper", 1)
    assert verifier.chimes(0.9) and not verifier.chimes(0.2)
    # No second model (a custom wake word): whisper decides the sure ones.
    alone = WakeVerifier(Counting("Okay, Abu Dhabi."), "okay nabu", None, sure_above=0.6)
    assert alone.check(near, probability=0.7).ok is False
    assert alone.check(near, probability=0.5).how == "dropped"
    # The detection fires early in the word; the verdict weighs the peak over the whole window.
    rescored = WakeVerifier(Counting("Okay Nabu."), "okay nabu", None, sure_above=0.8,
                            rescore=lambda pcm: 0.9)
    assert rescored.check(near, probability=0.4).how == "whisper"


def test_in_a_noisy_room_whisper_is_asked_sooner(synth_speech):
    # microWakeWord's peak of 0.85 is not sure enough in quiet; in noise it is worth a look.
    speech = silence(1.0) + synth_speech("Okay, Abu Dhabi is very hot.") + silence(0.75)
    noisy_pcm = with_noise(speech, 0.03)
    assert speech_over_background_db(speech) >= NOISY_BELOW_DB > speech_over_background_db(noisy_pcm)
    whisper = Counting("Okay Nabu.")
    verifier = WakeVerifier(whisper, "okay nabu", None, sure_above=0.95, rescore=lambda pcm: 0.85,
                            noisy=(0.8, 0.002))
    in_quiet = verifier.check(speech, probability=0.3)
    assert (in_quiet.how, whisper.calls) == ("dropped", 0)
    assert in_quiet.snr_db is not None and in_quiet.snr_db >= NOISY_BELOW_DB
    in_noise = verifier.check(noisy_pcm, probability=0.3)
    assert (in_noise.ok, in_noise.how, whisper.calls) == (True, "whisper", 1)
    # Without thresholds for noise (whisper alone), the room makes no difference.
    alone = WakeVerifier(Counting("Okay Nabu."), "okay nabu", None, sure_above=0.95,
                         rescore=lambda pcm: 0.85)
    assert alone.check(noisy_pcm, probability=0.3).how == "dropped"


def test_make_wake_verifier_follows_the_config():
    whisper = Counting("Okay Nabu.")
    default = make_wake_verifier(WakeConfig(), whisper)
    assert isinstance(default.acoustic, OpenWakeWordDetector) and default.rescore is not None
    medium = SENSITIVITY["medium"]
    assert (default.sure_above, default.hint) == (medium.sure_above, medium.hint)
    assert default.noisy == (medium.noisy_sure_above, medium.noisy_hint)
    assert default.phrase == "okay nabu"
    # Without openWakeWord, whisper must hear more of microWakeWord's detections.
    plain = make_wake_verifier(WakeConfig(acoustic_check=False, sensitivity="low"), whisper)
    assert plain.acoustic is None and plain.sure_above == SENSITIVITY["low"].alone < 0.95
    assert plain.noisy is None
    # openWakeWord as the first stage: it is not asked to confirm itself, and whisper hears
    # every detection (its probabilities are not microWakeWord's).
    own = make_wake_verifier(WakeConfig(engine="openwakeword", model="hey_jarvis"), whisper)
    assert own.acoustic is None and own.rescore is None and own.sure_above == 0.0
    assert own.check(silence(2.5), probability=0.55).how == "whisper" and whisper.calls == 1


def test_peak_over_a_window_from_a_clean_state(micro, synth_speech):
    wake = silence(1.0) + synth_speech("Okay Nabu.") + silence(0.75)
    assert micro.peak(wake) > 0.85
    assert micro.peak(silence(1.0) + synth_speech("Turn on the kitchen light.")) < 0.3
    cleaned = CleanedWake(MicroWakeWordDetector("okay_nabu", 0.3), AudioCleaner(4))
    assert cleaned.peak(white_noise(1.0, 0.01) + wake) > 0.6
    assert detections(micro, silence(1.0)) == []  # peak() leaves nothing behind


def test_cleaned_wake_hears_its_own_suppressed_copy(synth_speech):
    seen: list[bytes] = []

    class Recorder:
        def process(self, chunk: AudioChunk) -> WakeDetection | None:
            seen.append(chunk.audio)
            return None

        def reset(self) -> None:
            pass

    pcm = white_noise(1.0, 0.02) + synth_speech("Okay Nabu.")
    cleaned = CleanedWake(Recorder(), AudioCleaner(4))
    detections(cleaned, pcm)
    heard = b"".join(seen)
    assert len(heard) == len(pcm)
    # Steady noise learnt in the first second is mostly gone from the detector's copy.
    noise_in = np.abs(np.frombuffer(pcm[16000:32000], "<i2")).mean()
    noise_out = np.abs(np.frombuffer(heard[16000:32000], "<i2")).mean()
    assert noise_out < noise_in / 3
    assert make_wake_detector(WakeConfig(noise_suppression=0, verify=False)) is not None


def test_refractory_window():
    refractory = Refractory(2.0)
    assert refractory.allow(1000.0)
    assert not refractory.allow(1500.0)
    assert not refractory.allow(2999.0)
    assert refractory.allow(3000.0)
    assert not refractory.allow(4000.0)
    assert refractory.allow(5500.0)


def test_refractory_zero_window_allows_everything():
    refractory = Refractory(0.0)
    assert all(refractory.allow(t) for t in (0.0, 0.0, 10.0))


# -- second stage ---------------------------------------------------------------------------
@pytest.mark.parametrize(("heard", "ok"), [
    ("Okay Nabu.", True),
    ("OK, Nabu", True),
    ("so I said okay nabu", True),
    ("Okay now.", False),
    ("I'm okay now, thanks.", False),
    ("Okay.", False),
    ("", False),
])
def test_the_transcript_must_end_in_the_wake_phrase(heard: str, ok: bool):
    assert sounds_like(heard, "okay nabu") is ok


HOME = home_words(["kitchen light", "ceiling fan", "turn on", "what time is it"])


@pytest.mark.parametrize(("heard", "ok"), [
    ("Okay Nabu.", True),                                  # nothing after it yet
    ("Okay Nabu. Let's get going.", True),                 # a pause: whisper ends the sentence
    ("Okay Nabu, turn on the light.", True),               # a command...
    ("Okay Nabu, how far is the moon?", True),             # ...or a question straight on
    ("Okay Nabu the ceiling fan off", True),               # the home's own words
    ("Okay Nabu from Star Wars was a beautiful...", False),  # the robustness bench's near-misses
    ("Okay, Nabu grows really fast.", False),
    ("Okay, Nabu Dobby is very hot and...", False),
    ("Okay, Nabu.B is very hot and some.", False),          # "Abu Dhabi": no sentence's end
    ("Okay now.", True),                                   # no phrase: sounds_like decides
])
def test_a_wake_phrase_in_the_middle_of_other_talk_is_not_addressed(heard: str, ok: bool):
    assert addressed(heard, "okay nabu", HOME) is ok


def test_a_sentences_end_counts_only_after_a_pause_in_the_audio():
    # Whisper ends the sentence after "Okay Nana," too; the audio shows no user's pause there.
    assert addressed("Okay Nabu. I'll call you back.", "okay nabu", HOME, paused=False) is False
    assert addressed("Okay Nabu. I'll call you back.", "okay nabu", HOME, paused=True) is True
    # A request or the home's words still show it was said to the assistant.
    assert addressed("Okay Nabu. Turn on the light.", "okay nabu", HOME, paused=False) is True
    assert addressed("Okay Nabu. The ceiling fan.", "okay nabu", HOME, paused=False) is True
    assert addressed("Okay Nabu.", "okay nabu", HOME, paused=False) is True
    assert addressed("Okay Nabu. Okay Nabu.", "okay nabu", HOME, paused=False) is True  # twice
    # "Let's" opens a request only after a pause: "Okay now, let's get going" is talk.
    assert addressed("Okay Nabu. Let's get going.", "okay nabu", HOME, paused=False) is False
    assert addressed("Okay Nabu, let's get going.", "okay nabu", HOME, paused=True) is True


@pytest.mark.parametrize(("command", "ok"), [
    ("turn on the light", True),
    ("What is the capital of France?", True),
    ("the ceiling fan off", True),                 # the home's own words
    ("boo, what time is it", True),                # the wake word's end, said in one breath
    ("we can maybe hot in summer", False),         # the robustness bench's false wakes went on
    ("a nice name for the car", False),            # into talk like this
    ("let's get going", False),
    ("i will call your back", False),              # "Okay Nana, I'll call you back", in babble
    ("I'll call you back on Monday", False),       # "on" far into talk shows nothing
    ("I think that the kitchen light is on", False),
    ("this is the kitchen light on", True),        # whisper writes "this is ..." for "is ..."
    ("I need a timer for ten minutes", True),
    ("okay nabu, what time is it", True),          # the wake word said again
    ("", False),
])
def test_a_command_after_a_wake_without_a_pause_must_read_as_a_request(command: str, ok: bool):
    assert is_request(command, "okay nabu", HOME) is ok


def test_a_cut_short_wake_phrase_lets_only_the_homes_words_make_a_request():
    # "Okay, Abu Dhabi is very hot in summer": whisper wrote "Okay, Nabu." and stopped.
    assert is_request("it's very hot in summer", "okay nabu", HOME) is True
    assert is_request("it's very hot in summer", "okay nabu", HOME, home_only=True) is False
    assert is_request("what time is it", "okay nabu", HOME, home_only=True) is False
    assert is_request("turn on the kitchen light", "okay nabu", HOME, home_only=True) is True
    assert is_request("okay nabu, the fan off", "okay nabu", HOME, home_only=True) is True


def test_lets_opens_a_request_after_a_pause_only():
    assert is_request("let's turn the fan off", "okay nabu", HOME) is True  # the home's words
    assert is_request("let's get going", "okay nabu", HOME, paused=False) is False
    assert is_request("let's get going", "okay nabu", HOME, paused=True) is True


def test_only_the_wake_phrase_alone_and_a_pause_need_no_request_to_follow(whisper, synth_speech):
    verifier = WakeVerifier(whisper, "okay nabu", sure_above=0.0, home_words=HOME)
    alone = silence(0.5) + synth_speech("Okay Nabu.") + silence(0.6)
    check = verifier.check(alone, paused=True)
    assert (check.ok, check.needs_request) == (True, False), check.heard
    run_on = verifier.check(alone, paused=False)
    assert (run_on.needs_request, run_on.cut_short) == (True, True), run_on
    assert check.cut_short is False
    # An acoustic model that heard the word vouches for the bare phrase (said in one breath).
    for heard in (WithHead(LENIENT_ACOUSTIC, None), WithHead(0.001, NOISY_HINT)):
        sure = WakeVerifier(Counting("Okay Nabu."), "okay nabu", heard,  # type: ignore[arg-type]
                            sure_above=0.0, hint=0.0, home_words=HOME)
        vouched = sure.check(alone, paused=False)
        assert (vouched.ok, vouched.needs_request, vouched.cut_short) == (True, True, False)
    # In a noisy room the background fills a real pause: no pause heard is no sign of talk.
    loud = with_noise(alone, 0.03)
    in_noise = WakeVerifier(Counting("Okay Nabu."), "okay nabu", sure_above=0.0, home_words=HOME)
    noisy = in_noise.check(loud, paused=False)
    assert noisy.snr_db is not None and noisy.snr_db < NOISY_BELOW_DB
    assert (noisy.ok, noisy.needs_request, noisy.cut_short) == (True, True, False), noisy
    # Words after the phrase in its window: the command they start must read as a request.
    check = verifier.check(silence(0.5) + synth_speech("Okay Nabu, turn on the kitchen light."))
    assert (check.ok, check.needs_request) == (True, True), check.heard
    assert verifier.spoken_to("turn on the kitchen light", paused=False)
    assert not verifier.spoken_to("that's a nice name for a cat", paused=True)


@pytest.mark.parametrize(("heard", "strict", "lenient"), [
    ("Okay, now we turn on the kitchen light.", False, True),  # "okay nabu" said in one breath
    ("Okay Nabu. Turn on the light.", True, True),
    ("Okay now.", False, False),
    ("Okay, now we'll see.", False, True),   # "we'll" holds "we": then "'ll see" is no request
    ("Okay, now move.", False, False),
])
def test_a_run_on_reading_of_the_phrase_matches_only_when_lenient(heard, strict, lenient):
    assert sounds_like(heard, "okay nabu") is strict
    assert sounds_like(heard, "okay nabu", lenient=True) is lenient


def test_a_lenient_reading_still_needs_a_request_after_it():
    assert addressed("Okay, now we turn on the kitchen light.", "okay nabu", HOME, paused=False,
                     lenient=True)
    for talk in ("Okay, now we need to go home.", "Okay, now we'll see."):
        assert not addressed(talk, "okay nabu", HOME, paused=False, lenient=True), talk
    assert words_after("Okay now we turn off the fan.", "okay nabu", lenient=True) == [
        "turn", "off", "the", "fan"]
    # The command's own transcript may begin with the reading's last word; after this reading
    # only the home's words make a request, not an opener that everyday talk starts with too.
    assert is_request("we turn on the kitchen light", "okay nabu", HOME, lenient=True)
    assert is_request("we switch the ceiling fan off", "okay nabu", HOME, lenient=True)
    for talk in ("we need to go home", "we can go", "can go", "we should add the flour",
                 "what are you doing"):
        assert not is_request(talk, "okay nabu", HOME, lenient=True), talk
    assert is_request("can go", "okay nabu", HOME)  # read the usual way, an opener is enough
    # A request's word is never taken for the end of the phrase ("why" sounds like "we").
    assert is_request("why is the fan on", "okay nabu", frozenset(), lenient=False)
    assert not is_request("we why", "okay nabu", frozenset(), lenient=True)


class Peak:
    """openWakeWord's verdict, fixed."""

    def __init__(self, peak: float):
        self.value = peak

    def peak(self, pcm: bytes) -> float:
        return self.value


def test_the_second_look_cuts_the_tail():
    pcm = bytes(range(256)) * 400  # 102400 bytes: a window of 3.2 s with its tail
    tail = int(WAKE_TAIL_MS * BYTES_PER_MS)
    shorter = second_look(pcm, tail)
    assert shorter == pcm[:len(pcm) - tail + int(SECOND_LOOK_TAIL_MS * BYTES_PER_MS)]
    # A tail no longer than the second look's (a wake that timed out early), or one not known:
    # there is nothing else to look at.
    assert second_look(pcm, int(SECOND_LOOK_TAIL_MS * BYTES_PER_MS)) is None
    assert second_look(pcm, None) is None


class ByLength:
    """A transcriber that hears a long window one way and a shorter one another way."""

    def __init__(self, longer: str, shorter: str, at: int):
        self.longer, self.shorter, self.at = longer, shorter, at
        self.heard: list[int] = []

    def transcribe(self, pcm: bytes, prompt: str | None = None) -> Transcript:
        self.heard.append(len(pcm))
        return Transcript(self.longer if len(pcm) >= self.at else self.shorter, 0.9)


class WithHead(Peak):
    """openWakeWord's verdict and the noisy-room model's peak, fixed."""

    def __init__(self, peak: float, head: float | None):
        super().__init__(peak)
        self.head_peak = head


@pytest.mark.parametrize(("head", "tail", "ok"), [
    (1.0, True, True),                  # the noisy-room model is sure: whisper looks again
    (NOISY_HINT - 0.01, True, False),   # it is not: whisper's first reading stands
    (None, True, False),                # no noisy-room model
    (1.0, False, False),                # the tail is not known
])
def test_whisper_looks_again_with_less_of_the_command(head: float | None, tail: bool, ok: bool):
    tail_bytes = int(WAKE_TAIL_MS * BYTES_PER_MS)
    pcm = silence(2.0) + silence(WAKE_TAIL_MS / 1000)
    whisper = ByLength("Okay, we turn on the light.", "Okay Nabu.", at=len(pcm))
    verifier = WakeVerifier(whisper, "okay nabu", WithHead(0.002, head),  # type: ignore[arg-type]
                            sure_above=0.3, hint=0.0015, home_words=HOME)
    check = verifier.check(pcm, 0.4, paused=True, tail_bytes=tail_bytes if tail else None)
    assert (check.how, check.ok) == ("whisper", ok)
    assert check.heard == ("Okay Nabu." if ok else "Okay, we turn on the light.")
    looked = len(pcm) - tail_bytes + int(SECOND_LOOK_TAIL_MS * BYTES_PER_MS)
    assert whisper.heard == ([len(pcm), looked] if head is not None and head >= NOISY_HINT and tail
                             else [len(pcm)])


@pytest.mark.parametrize(("peak", "ok"), [(LENIENT_ACOUSTIC - 0.01, False), (LENIENT_ACOUSTIC, True)])
def test_the_run_on_reading_needs_openwakeword_to_have_heard_the_word(peak: float, ok: bool):
    verifier = WakeVerifier(Counting("Okay, now we turn on the kitchen light."), "okay nabu",
                            Peak(peak), sure_above=0.8, hint=0.0015,  # type: ignore[arg-type]
                            home_words=HOME)
    check = verifier.check(silence(1.0), 0.5, paused=False)
    assert (check.how, check.ok, check.lenient) == ("whisper", ok, ok)


def test_openwakeword_lets_whisper_read_a_run_on_wake_word_leniently(whisper, acoustic,
                                                                      synth_speech):
    """Said in one breath with the command, piper's "Okay Nabu turn on ..." is written "Okay,
    now we turn on ..." even with the phrase as prompt; openWakeWord heard the wake word."""
    verifier = WakeVerifier(whisper, "okay nabu", acoustic, sure_above=0.8, hint=0.0015,
                            home_words=HOME)
    pcm = synth_speech("Okay Nabu turn on the kitchen light.")
    audio = silence(1.0) + pcm[:len(pcm) * 3 // 5 // 2 * 2]  # the wake window and its tail
    check = verifier.check(audio, 0.5, paused=False)
    assert (check.ok, check.lenient, check.needs_request) == (True, True, True), check
    assert LENIENT_ACOUSTIC <= (check.acoustic or 0.0) < ACOUSTIC_CONFIRMS
    # Read that way, the phrase needs a request after it even where the audio shows a pause.
    run_on = WakeVerifier(Counting("Okay, now we."), "okay nabu", acoustic, sure_above=0.8,
                          hint=0.0015, home_words=HOME).check(audio, 0.5, paused=True)
    assert (run_on.ok, run_on.lenient, run_on.needs_request) == (True, True, True), run_on
    said = WakeVerifier(Counting("Okay Nabu."), "okay nabu", acoustic, sure_above=0.8,
                        hint=0.0015, home_words=HOME).check(audio, 0.5, paused=True)
    assert (said.ok, said.lenient, said.needs_request) == (True, False, False), said
    # Without openWakeWord's word for it, whisper's "now we" is not the phrase.
    alone = WakeVerifier(whisper, "okay nabu", None, sure_above=0.0, home_words=HOME)
    check = alone.check(audio, 0.5, paused=False)
    assert not check.ok and not check.lenient, check


def test_home_words_leave_out_small_talk():
    words = home_words(["kitchen light", "ceiling fan", "turn on", "what time is it"])
    assert words == {"kitchen", "light", "ceiling", "fan", "turn",
                     "kitchens", "lights", "ceilings", "fans", "turns"}


def test_on_and_off_alone_do_not_make_talk_a_request():
    # "Okay, Nairobi is the capital of Kenya", heard as "Okay, Nabu is a capital on Kenya."
    assert is_request("isn't the capital on kenya", "okay nabu", HOME) is False
    assert is_request("lights on", "okay nabu", HOME) is True  # a plural of the home's words
    assert is_request("the fan off", "okay nabu", HOME, home_only=True) is True


def test_whisper_turns_away_a_wake_phrase_said_in_passing(whisper, synth_speech):
    # Whisper writes "Okay Nabu" for "Okay Naboo" too; what follows tells them apart.
    verifier = WakeVerifier(whisper, "okay nabu", sure_above=0.0, home_words=HOME)
    near = verifier.check(silence(0.5) + synth_speech("Okay Naboo from Star Wars was a "
                                                      "beautiful planet."))
    assert (near.ok, near.how) == (False, "unaddressed"), near.heard
    assert sounds_like(near.heard, "okay nabu")
    fluent = verifier.check(silence(0.5) + synth_speech("Okay Nabu, turn on the kitchen light."))
    assert (fluent.ok, fluent.how) == (True, "whisper"), fluent.heard


def test_wake_phrase_comes_from_the_model_name():
    assert wake_phrase("okay_nabu") == "okay nabu"
    assert wake_phrase("/models/hey_computer.json") == "hey computer"
    assert wake_phrase("okay_nabu", "okay naboo") == "okay naboo"


@pytest.mark.parametrize("voice", ["piper", "en-us+f2", "en-gb-scotland"])
def test_whisper_confirms_a_real_wake_word(whisper, synth_speech, espeak_speech, voice):
    speak = synth_speech if voice == "piper" else lambda text: espeak_speech(text, voice)
    verifier = WakeVerifier(whisper, "okay nabu")
    check = verifier.check(silence(0.5) + speak("Okay Nabu.") + silence(0.2))
    assert check.ok, check.heard


@pytest.mark.parametrize("text", ["Okay now.", "I'm okay now, thanks."])
def test_whisper_rejects_near_misses(whisper, synth_speech, text):
    verifier = WakeVerifier(whisper, "okay nabu")
    check = verifier.check(silence(0.5) + synth_speech(text) + silence(0.2))
    assert not check.ok, check.heard


def test_sensitivity_levels_are_ordered():
    """low lets fewer detections reach whisper than medium, and medium fewer than high."""
    low, medium, high = (SENSITIVITY[name] for name in ("low", "medium", "high"))
    for field in ("sure_above", "hint", "alone", "noisy_sure_above", "noisy_hint"):
        assert getattr(low, field) > getattr(medium, field) > getattr(high, field), field
    for level in (low, medium, high):  # a noisy room asks whisper sooner, never later
        assert level.noisy_sure_above <= level.sure_above and level.noisy_hint <= level.hint
