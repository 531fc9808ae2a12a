"""The pipeline's order and controls with fake stages: push-to-talk, mute, follow-up questions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import wait
from dataclasses import replace

import numpy as np
import pytest

from assistant.audio.chunk import BYTES_PER_MS, AudioChunk
from assistant.audio.player import Player
from assistant.brain.types import Answer
from assistant.config import EndpointConfig
from assistant.events import Event, EventBus
from assistant.pipeline import Pipeline, Stages
from assistant.stt import Transcript
from assistant.vad import Endpointer
from assistant.wake import (
    WAKE_TAIL_MS,
    WAKE_WINDOW_MS,
    Detector,
    Outcome,
    Refractory,
    WakeDetection,
    WakeEvidence,
    WakeVerdict,
)

CHUNK = 480  # 30 ms
WAKE_MARK = 1234


def chunks(pattern: str) -> Iterator[AudioChunk]:
    """'w' a wake-word chunk, 's' speech, '.' silence; 30 ms each."""
    for i, kind in enumerate(pattern):
        samples = np.zeros(CHUNK, dtype="<i2")
        if kind == "s":
            samples[:] = (np.sin(np.arange(CHUNK) / 3) * 8000).astype("<i2")
        elif kind == "w":
            samples[0] = WAKE_MARK
        yield AudioChunk(samples.tobytes(), i * 30.0)


class FakeWake:
    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        first = int(np.frombuffer(chunk.audio[:2], dtype="<i2")[0])
        return WakeDetection("okay_nabu", chunk.end_ms, 0.99) if first == WAKE_MARK else None

    def reset(self) -> None:
        pass


def verdict(outcome: str, score: float = 0.0) -> WakeVerdict:
    evidence = WakeEvidence(Detector.MICRO, 0.99, 0.99, 3.0, 40.0, True)
    return WakeVerdict(Outcome(outcome), score, "medium", 1.0, evidence)


class FakeSecondStage:
    """A second stage with a scripted verdict (the real one is assistant.wake.WakeCheck)."""

    window_ms = float(WAKE_WINDOW_MS)
    tail_ms = float(WAKE_TAIL_MS)

    def __init__(self, check: Callable[[bytes, WakeDetection], WakeVerdict],
                 chime_above: float = 0.0):
        self._check = check
        self.chime_above = chime_above
        self.paused: list[bool] = []
        self.detections: list[WakeDetection] = []
        self.windows: list[bytes] = []
        self.settled_on: list[str] = []

    def check(self, window: bytes, detection: WakeDetection, paused: bool,
              embeddings: object = None) -> WakeVerdict:
        self.paused.append(paused)
        self.detections.append(detection)
        self.windows.append(window)
        return self._check(window, detection)

    def chimes(self, probability: float) -> bool:
        return probability >= self.chime_above

    def settled(self, verdict: WakeVerdict, transcript: str) -> bool:
        self.settled_on.append(transcript)
        return transcript.startswith("turn")


class FakeVad:
    def process(self, audio: bytes) -> list[float]:
        samples = np.frombuffer(audio, dtype="<i2")
        return [1.0 if np.abs(samples[i:i + 160]).max() > 1000 else 0.0
                for i in range(0, len(samples), 160)]

    def reset(self) -> None:
        pass


class FakeStt:
    def __init__(self) -> None:
        self.calls = 0
        self.heard: list[bytes] = []

    def transcribe(self, pcm: bytes, prompt: str | None = None) -> Transcript:
        self.calls += 1
        self.heard.append(pcm)
        return Transcript("turn on the lamp", None)


class FakeBrain:
    def __init__(self, questions: int = 0, yes_no: bool = False) -> None:
        self.heard: list[str] = []
        self.doubts: list[str | None] = []
        self.questions = questions
        self.yes_no = yes_no
        """Whether its questions want a yes or a no (the local brain's "confirm" slot)."""

    def answer(self, text, say, confidence=None, doubt=None):  # type: ignore[no-untyped-def]
        self.heard.append(text)
        self.doubts.append(doubt)
        ask = len(self.heard) <= self.questions
        say("Sure?" if ask else "Done.")
        slots = {"confirm": "Sure?"} if ask and self.yes_no else {}
        return Answer(text=text, handled_by="local", reply="x", slots=slots,
                      end_conversation=not ask)


class FakeTts:
    sample_rate = 16000

    def synthesize(self, text: str) -> Iterator[bytes]:
        yield bytes(3200)  # 100 ms


class Sink:
    def __init__(self) -> None:
        self.played = 0

    def play(self, pcm: bytes, rate: int) -> None:
        self.played += len(pcm)


def make(brain: FakeBrain) -> tuple[Pipeline, list[Event]]:
    endpoint = EndpointConfig(silence_s=0.3, speculative_silence_s=0.2, start_timeout_s=1.0)
    stages = Stages(wake=FakeWake(), vad=FakeVad(),  # type: ignore[arg-type]
                    transcriber=FakeStt(), brain=brain, synthesizer=FakeTts(),
                    player=Player(Sink()),
                    make_endpointer=lambda: Endpointer(endpoint, hangover_ms=0))
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    return Pipeline(stages, bus, Refractory(1.0), realtime=False), events


def kinds(events: list[Event]) -> list[str]:
    return [e.type.value for e in events if e.type.value not in ("state", "speaking")]


def test_wake_command_answer_in_order():
    brain = FakeBrain()
    pipeline, events = make(brain)
    pipeline.run(chunks("...w" + "s" * 20 + "." * 40))
    assert brain.heard == ["turn on the lamp"]
    order = kinds(events)
    assert order[:4] == ["ready", "wake", "listening", "speech_start"]
    assert order.index("end_of_speech") < order.index("transcript") < order.index("reply")
    assert order[-1] == "done"


def run_checked(pipeline: Pipeline, pattern: str) -> None:
    """Feeds the pattern chunk by chunk, waiting for the wake check as soon as it has been
    submitted (after WAKE_TAIL_MS of command): its verdict is seen at the next chunk."""
    for chunk in chunks(pattern):
        pipeline.process(chunk)
        command = pipeline._command
        if command is not None and command.wake is not None and command.wake.check is not None:
            wait([command.wake.check], timeout=10)
    if pipeline._turn is not None:
        pipeline._turn.result(timeout=10)
    pipeline.speech.close()


def test_an_unsure_wake_is_silent_and_a_rejected_one_ends_at_once():
    brain = FakeBrain()
    pipeline, events = make(brain)
    checked: list[float] = []

    def check(window: bytes, detection: WakeDetection) -> WakeVerdict:
        checked.append(detection.probability)
        return verdict("drop", -4.0)

    pipeline.gate.second = FakeSecondStage(check, chime_above=0.995)
    run_checked(pipeline, "...w" + "s" * 100 + "." * 40)
    listening = next(e for e in events if e.type.value == "listening")
    assert listening.data["chime"] is False  # FakeWake's 0.99 is not sure enough: no chime
    assert checked == [0.99]  # the second stage got the first stage's detection
    verdicts = [e.data for e in events if e.type.value == "wake_check"]
    assert [(v["ok"], v["how"], v["score"]) for v in verdicts] == [(False, "drop", -4.0)]
    assert verdicts[0]["evidence"]["verifier"] == 3.0
    # Dropped while the command was still being spoken: no end of speech, nothing transcribed.
    assert "end_of_speech" not in kinds(events)
    assert brain.heard == [] and pipeline.s.transcriber.calls == 0  # type: ignore[attr-defined]
    assert pipeline.mode.value == "idle"


class NoisyOnlyWake(FakeWake):
    """A first stage where only the noisy-room model fired (``WakeDetection.noisy``)."""

    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        hit = super().process(chunk)
        return None if hit is None else WakeDetection("okay_nabu_noisy", hit.timestamp_ms, 0.0, noisy=0.995)


def test_a_wake_only_the_noisy_room_model_heard_is_silent_until_checked():
    brain = FakeBrain()
    pipeline, events = make(brain)
    pipeline.gate.detector = NoisyOnlyWake()
    second = FakeSecondStage(lambda window, detection: verdict("wake", 2.0), chime_above=0.3)
    pipeline.gate.second = second
    run_checked(pipeline, "...w" + "." * 15 + "s" * 40 + "." * 40)
    wake = next(e for e in events if e.type.value == "wake")
    assert (wake.data["probability"], wake.data["noisy"]) == (0.0, 0.995)
    # microWakeWord's probability (none) decides the chime: the LED alone shows it.
    assert next(e for e in events if e.type.value == "listening").data["chime"] is False
    assert [d.detector for d in second.detections] == [Detector.NOISY]  # the check knows who fired
    assert brain.heard == ["turn on the lamp"]


def test_a_confirmed_wake_chimes_and_carries_on():
    brain = FakeBrain()
    pipeline, events = make(brain)
    pipeline.gate.second = FakeSecondStage(lambda window, detection: verdict("wake", 3.0),
                                           chime_above=0.8)
    run_checked(pipeline, "...w" + "s" * 40 + "." * 40)
    assert next(e for e in events if e.type.value == "listening").data["chime"] is True
    assert [e.data["how"] for e in events if e.type.value == "wake_check"] == ["wake"]
    assert brain.heard == ["turn on the lamp"]


def test_the_wake_check_hears_the_window_before_the_detection_and_its_tail():
    pipeline, _ = make(FakeBrain())
    second = FakeSecondStage(lambda window, detection: verdict("wake", 3.0))
    pipeline.gate.second = second
    run_checked(pipeline, "...w" + "s" * 40 + "." * 40)
    [window] = second.windows
    # Four chunks before the detection (all there was), then WAKE_TAIL_MS of the command.
    assert len(window) == 4 * CHUNK * 2 + int(WAKE_TAIL_MS * BYTES_PER_MS)


def test_the_wake_check_hears_whether_the_speaker_paused_after_the_wake_word():
    for pattern, paused in (("...w" + "." * 15 + "s" * 40 + "." * 40, True),
                            ("...w" + "s" * 60 + "." * 40, False)):
        pipeline, _events = make(FakeBrain())
        second = FakeSecondStage(lambda window, detection: verdict("wake", 3.0))
        pipeline.gate.second = second
        run_checked(pipeline, pattern)
        assert second.paused == [paused], pattern


def test_a_borderline_wake_stands_only_when_a_request_follows():
    for heard, answered in (("turn on the lamp", True), ("a nice name for the cat", False)):
        brain = FakeBrain()
        pipeline, events = make(brain)
        pipeline.s.transcriber.transcribe = (  # type: ignore[method-assign]
            lambda pcm, prompt=None, heard=heard: Transcript(heard, None))
        second = FakeSecondStage(lambda window, detection: verdict("borderline", 0.5))
        pipeline.gate.second = second
        run_checked(pipeline, "...w" + "s" * 40 + "." * 40)
        checks = [e.data for e in events if e.type.value == "wake_check"]
        assert [(c["ok"], c["how"], c["heard"]) for c in checks] == [(answered, "borderline", heard)]
        assert second.settled_on == [heard]
        assert brain.heard == ([heard] if answered else [])
        assert ("reply" in kinds(events)) is answered


def test_a_clear_wake_is_never_cancelled_by_what_follows():
    brain = FakeBrain()
    pipeline, events = make(brain)
    pipeline.s.transcriber.transcribe = (  # type: ignore[method-assign]
        lambda pcm, prompt=None: Transcript("a nice name for the cat", None))
    second = FakeSecondStage(lambda window, detection: verdict("wake", 3.0))
    pipeline.gate.second = second
    run_checked(pipeline, "...w" + "s" * 40 + "." * 40)
    assert second.settled_on == []  # the transcript was not even asked about
    assert brain.heard == ["a nice name for the cat"]


def test_a_wake_that_times_out_still_reports_the_checks_verdict():
    # A near-miss at the end of a sentence: no command follows, and the log and the benchmark
    # must still learn that the second stage turned it away (not a wake left undecided).
    pipeline, events = make(FakeBrain())
    pipeline.gate.second = FakeSecondStage(lambda window, detection: verdict("drop", -5.0))
    pipeline.s.vad = DeafVad()  # type: ignore[assignment]
    run_checked(pipeline, "...w" + "." * 60)
    pipeline.gate.close()  # the verdict may come in after the timeout
    assert "timeout" in kinds(events)
    assert [(e.data["ok"], e.data["how"]) for e in events if e.type.value == "wake_check"] == [
        (False, "drop")]
    assert kinds(events).index("timeout") < kinds(events).index("wake_check")


def test_a_wake_at_the_end_of_the_audio_still_reports_the_checks_verdict():
    # A file that ends (or a service that stops) right after a detection.
    pipeline, events = make(FakeBrain())
    pipeline.gate.second = FakeSecondStage(lambda window, detection: verdict("drop", -5.0))
    pipeline.run(chunks("...w" + "s" * 5))
    assert "timeout" not in kinds(events)
    assert [(e.data["ok"], e.data["how"]) for e in events if e.type.value == "wake_check"] == [
        (False, "drop")]


def test_a_borderline_command_whisper_garbled_stands_when_the_recheck_read_it():
    for read in (True, False):
        brain = FakeBrain()
        pipeline, events = make(brain)
        pipeline.s.transcriber.transcribe = (  # type: ignore[method-assign]
            lambda pcm, prompt=None: Transcript("so you go on the lamp", None))
        pipeline.s.recheck = (lambda pcm, heard: replace(
            heard, text="turn on the lamp", heard=heard.text, doubt="unsure")) if read else None
        pipeline.gate.second = FakeSecondStage(lambda window, detection: verdict("borderline", 0.5))
        run_checked(pipeline, "...w" + "s" * 40 + "." * 40)
        assert [e.data["ok"] for e in events if e.type.value == "wake_check"] == [read]
        assert brain.heard == (["turn on the lamp"] if read else [])


class ChimingPlayer(Player):
    """Busy (the wake chime playing) for the first ``chime_chunks`` chunks of each command."""

    def __init__(self, pipeline: Pipeline, chime_chunks: int):
        super().__init__(Sink())
        self.pipeline = pipeline
        self.chime_bytes = chime_chunks * CHUNK * 2

    @property
    def busy(self) -> bool:
        command = self.pipeline._command
        return command is not None and len(command.audio) < self.chime_bytes


def test_audio_zeroed_under_the_chime_is_no_pause_after_the_wake_word():
    # Talk run on through a 240 ms chime is loud again after it (a near-miss said in passing);
    # a real pause is still quiet after it, however little of it the chime left.
    for pattern, paused in (("...w" + "s" * 60 + "." * 40, False),
                            ("...w" + "." * 15 + "s" * 40 + "." * 40, True),
                            # a pause the chime covers most of, the command right after it
                            ("...w" + "." * 9 + "s" * 40 + "." * 40, True)):
        pipeline, _events = make(FakeBrain())
        pipeline.realtime = True
        pipeline.s.player = ChimingPlayer(pipeline, chime_chunks=8)
        second = FakeSecondStage(lambda window, detection: verdict("wake", 3.0))
        pipeline.gate.second = second
        run_checked(pipeline, pattern)
        command_audio = pipeline.s.transcriber.heard  # type: ignore[attr-defined]
        assert command_audio and not any(command_audio[0][:8 * CHUNK * 2])  # the chime: zeroed
        assert second.paused == [paused], pattern


def test_a_failing_wake_check_is_reported_and_the_loop_goes_on():
    brain = FakeBrain()
    pipeline, events = make(brain)

    def broken(window: bytes, detection: WakeDetection) -> WakeVerdict:
        raise RuntimeError("model file gone")

    pipeline.gate.second = FakeSecondStage(broken)
    run_checked(pipeline, "...w" + "s" * 40 + "." * 40 + "w" + "." * 10)
    errors = [e.data for e in events if e.type.value == "error"]
    assert errors and errors[0]["message"] == "model file gone"
    assert brain.heard == []
    assert kinds(events).count("wake") == 2  # still listening for the wake word afterwards


def test_no_wake_word_no_command():
    brain = FakeBrain()
    pipeline, _ = make(brain)
    pipeline.run(chunks("." * 5 + "s" * 20 + "." * 40))
    assert brain.heard == []


def test_push_to_talk_listens_without_the_wake_word():
    brain = FakeBrain()
    pipeline, events = make(brain)
    pipeline.request_listen()
    pipeline.run(chunks("." * 3 + "s" * 20 + "." * 40))
    assert brain.heard == ["turn on the lamp"]
    listening = next(e for e in events if e.type.value == "listening")
    assert listening.data["trigger"] == "button"


def speech_chunks(pcm: bytes) -> float:
    """How many 's' chunks of speech the audio holds."""
    one = np.count_nonzero(np.frombuffer(next(chunks("s")).audio, dtype="<i2"))
    return float(np.count_nonzero(np.frombuffer(pcm, dtype="<i2"))) / one


def test_the_wake_words_tail_is_left_out_of_the_transcript_but_a_pause_is_needed():
    brain = FakeBrain()
    pipeline, _events = make(brain)
    # The detection came 60 ms before the word was over; then a pause (shorter than the
    # 0.3 s that ends a command here), then the command.
    pipeline.run(chunks("...w" + "ss" + "." * 8 + "s" * 20 + "." * 40))
    heard = pipeline.s.transcriber.heard[-1]  # type: ignore[attr-defined]
    assert speech_chunks(heard) == 20  # the command whole, none of the tail
    pipeline, _events = make(FakeBrain())
    pipeline.run(chunks("...w" + "s" * 22 + "." * 40))  # no pause: nothing is cut
    assert speech_chunks(pipeline.s.transcriber.heard[-1]) == 22  # type: ignore[attr-defined]
    pipeline, _events = make(FakeBrain())
    pipeline.request_listen()  # a button's command has no wake word to cut
    pipeline.run(chunks(".ss" + "." * 8 + "s" * 20 + "." * 40))
    assert speech_chunks(pipeline.s.transcriber.heard[-1]) == 22  # type: ignore[attr-defined]


def test_muted_microphone_ignores_the_wake_word():
    brain = FakeBrain()
    pipeline, events = make(brain)
    pipeline.set_muted(True)
    pipeline.run(chunks("...w" + "s" * 20 + "." * 40))
    assert brain.heard == []
    assert "wake" not in kinds(events)
    assert any(e.data.get("state") == "muted" for e in events)


def test_a_question_is_answered_without_the_wake_word():
    brain = FakeBrain(questions=1)
    pipeline, events = make(brain)
    # wake + command, the assistant asks, then the answer with no wake word in between.
    pipeline.run(chunks("...w" + "s" * 20 + "." * 30 + "s" * 15 + "." * 40))
    assert brain.heard == ["turn on the lamp", "turn on the lamp"]
    assert kinds(events).count("wake") == 1
    triggers = [e.data["trigger"] for e in events if e.type.value == "listening"]
    assert triggers == ["wake", "button"]


@pytest.mark.parametrize(("yes_no", "expected"), [(True, ["command", "answer"]),
                                                  (False, ["command", "command"])])
def test_the_answer_to_a_yes_no_question_is_weighed_as_an_answer_not_as_a_command(
        yes_no: bool, expected: list[str]) -> None:
    brain = FakeBrain(questions=1, yes_no=yes_no)
    pipeline, _events = make(brain)
    weighed: list[str] = []

    def as_command(pcm: bytes, heard: Transcript) -> Transcript:
        weighed.append("command")
        return heard

    def as_answer(pcm: bytes, heard: Transcript) -> Transcript:
        weighed.append("answer")
        return Transcript("Yes.", heard=heard.text, doubt="rescored")

    pipeline.s.recheck, pipeline.s.recheck_answer = as_command, as_answer
    pipeline.run(chunks("...w" + "s" * 20 + "." * 30 + "s" * 15 + "." * 40))
    assert weighed == expected
    assert brain.heard[-1] == ("Yes." if yes_no else "turn on the lamp")


class DeafVad(FakeVad):
    """A VAD that never calls anything speech (a voice it does not know, in steady noise)."""

    def process(self, audio: bytes) -> list[float]:
        return [0.0] * len(super().process(audio))


def test_short_loudness_the_vad_missed_ends_an_answer_but_not_a_wake_words_tail():
    # 390 ms of loudness: a short "No." to a question, or the rest of a wake word.
    pipeline, events = make(FakeBrain())
    pipeline.s.vad = DeafVad()  # type: ignore[assignment]
    pipeline.request_listen()
    pipeline.run(chunks("." + "s" * 13 + "." * 40))
    assert [e.data["reason"] for e in events if e.type.value == "end_of_speech"] == ["level"]
    pipeline, events = make(FakeBrain())
    pipeline.s.vad = DeafVad()  # type: ignore[assignment]
    pipeline.run(chunks("...w" + "s" * 13 + "." * 40))
    assert not [e for e in events if e.type.value == "end_of_speech"]
    assert kinds(events).count("timeout") == 1


def test_wake_then_nothing_times_out():
    brain = FakeBrain()
    pipeline, events = make(brain)
    pipeline.run(chunks("...w" + "." * 60))
    assert "timeout" in kinds(events)
    assert brain.heard == []


class SlowSink(Sink):
    def play(self, pcm: bytes, rate: int) -> None:
        import time

        time.sleep(len(pcm) / 2 / rate)  # plays in real time
        super().play(pcm, rate)


class LongTts(FakeTts):
    def synthesize(self, text: str) -> Iterator[bytes]:
        yield bytes(16000 * 2 * 3)  # a 3 s reply


def test_wake_word_during_a_reply_stops_it():
    import time

    brain = FakeBrain()
    pipeline, events = make(brain)
    pipeline.realtime = True
    sink = SlowSink()
    pipeline.s.player = Player(sink)
    pipeline.s.synthesizer = LongTts()

    def paced() -> Iterator[AudioChunk]:
        for chunk in chunks("...w" + "s" * 20 + "." * 40 + "w" + "s" * 20 + "." * 40):
            time.sleep(0.03)
            yield chunk

    pipeline.run(paced())
    assert kinds(events).count("wake") == 2  # the second one interrupted the reply
    assert sink.played < 2 * 16000 * 2 * 3  # two 3 s replies were not played in full
    assert brain.heard == ["turn on the lamp", "turn on the lamp"]


def test_the_final_transcript_gets_a_second_look_and_its_doubt_reaches_the_brain():
    brain = FakeBrain()
    pipeline, events = make(brain)
    looked: list[tuple[int, str]] = []

    def recheck(pcm: bytes, heard: Transcript) -> Transcript:
        looked.append((len(pcm), heard.text))
        return Transcript("Turn off the lamp.", 0.9, heard=heard.text, doubt="rescored")

    pipeline.s.recheck = recheck
    pipeline.run(chunks("...w" + "s" * 20 + "." * 40))
    # Once, for the final transcript, on the audio that transcript was made from.
    assert len(looked) == 1 and looked[0][1] == "turn on the lamp" and looked[0][0] > 0
    assert brain.heard == ["Turn off the lamp."] and brain.doubts == ["rescored"]
    transcript = next(e.data for e in events if e.type.value == "transcript")
    assert transcript["heard"] == "turn on the lamp" and transcript["doubt"] == "rescored"


def test_a_transcript_that_is_no_command_is_heard_again_at_the_later_pause():
    # The level sees the pause first and a transcript starts; the VAD's pause comes later. One
    # that is not a whole command is made again from the longer audio, which whisper reads
    # better ("it's a front door lock" -> "locked"); a whole command would have ended it.
    brain = FakeBrain()
    pipeline, _ = make(brain)
    stt = pipeline.s.transcriber
    assert isinstance(stt, FakeStt)
    texts = iter(["it's a front door lock", "it's a front door locked"])
    stt.transcribe = lambda pcm, prompt=None: Transcript(next(texts), None)  # type: ignore[method-assign]
    pipeline.run(chunks("...w" + "s" * 20 + "." * 40))
    assert brain.heard == ["it's a front door locked"]


def test_lock_heard_in_audio_that_began_mid_speech_is_in_doubt():
    # "Okay Nabu unlock the front door" in one breath: the fluent robustness run's detection
    # fell after the "un", whisper heard "lock the front door" and it was locked (an opposite).
    def hears_lock(pipeline: Pipeline) -> None:
        pipeline.s.transcriber.transcribe = (  # type: ignore[method-assign]
            lambda pcm, prompt=None: Transcript("Lock the front door.", None))

    for pattern, doubt in [("ss" + "." * 8 + "s" * 20, "opposite"),  # a tail, cut at the pause
                           ("s" * 22, "opposite"),                   # straight on, nothing cut
                           ("." * 8 + "s" * 20, None)]:              # the wake word was over
        brain = FakeBrain()
        pipeline, _ = make(brain)
        hears_lock(pipeline)
        pipeline.run(chunks("...w" + pattern + "." * 40))
        assert brain.doubts == [doubt], pattern
