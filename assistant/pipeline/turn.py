"""One turn after the end of speech: the wake word's verdict, the final transcript, the brain's
answer spoken sentence by sentence. Runs on the brain's worker thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from assistant.brain.repair import lost_prefix
from assistant.events import EventBus, EventType
from assistant.pipeline.command import Command
from assistant.pipeline.speech import Speech
from assistant.pipeline.stages import SpeechResult, Stages
from assistant.pipeline.wake_gate import WakeGate
from assistant.wake import Outcome

_LOGGER = logging.getLogger(__name__)


class Turns:
    def __init__(self, stages: Stages, bus: EventBus, gate: WakeGate, speech: Speech,
                 lag_ms: Callable[[float], float], clock: Callable[[], float], realtime: bool):
        self.s = stages
        self.bus = bus
        self.gate = gate
        self.speech = speech
        self.lag_ms = lag_ms
        self.clock = clock
        self.realtime = realtime
        self.cancel = threading.Event()
        self.action_lags: list[float] = []
        self.speech_end_ms = 0.0
        self.follow_up = False
        """The answer asked something: the next command starts without the wake word."""
        self.yes_no = False
        """...and it was a yes/no question."""

    def note_action(self) -> None:
        """A device changed in this turn (GPIO latency from the end of speech)."""
        self.action_lags.append(self.lag_ms(self.speech_end_ms))

    def take(self, cmd: Command, speech_end_ms: float, timings: dict[str, float]) -> None:
        try:
            result = self._woken(cmd, speech_end_ms)
            if result is False:
                return
            if result is None or result is True:
                result = self.speech.final(cmd, speech_end_ms)
            timings.update(stt_ms=result.stt_ms, stt_wait_ms=result.wait_ms)
            heard = result.heard
            if heard.doubt is None and cmd.began_in_speech() and lost_prefix(result.text):
                # "Okay Nabu unlock …" said in one breath: the detection (or the tail's cut)
                # may fall after the "un", and whisper hears "lock the front door".
                heard = replace(heard, doubt="opposite")
            confidence = None if heard.confidence is None else round(heard.confidence, 3)
            self.bus.emit(EventType.TRANSCRIPT, text=result.text, raw=heard.text.strip(),
                          confidence=confidence, lag_ms=round(self.lag_ms(speech_end_ms), 1),
                          heard=heard.heard, doubt=heard.doubt, wake_tail_ms=cmd.tail_ms(),
                          stt=result.stt, **_grammar_fields(result))
            if result.text:
                self.answer(result.text, speech_end_ms, timings, heard.confidence, heard.doubt)
        except Exception as exc:  # one failed turn must not end the appliance
            _LOGGER.exception("turn failed")
            self.bus.emit(EventType.ERROR, stage="turn", message=str(exc))

    def _woken(self, cmd: Command, speech_end_ms: float) -> SpeechResult | bool | None:
        """The second stage's verdict and the arbiter's, reported: False when the wake does not
        stand or another appliance answers it, a final transcript when it took one to decide (a
        borderline verdict), else True."""
        verdict = self.gate.verdict(cmd)
        if verdict is None or verdict.outcome is not Outcome.BORDERLINE:
            return self.gate.decided(cmd, verdict)
        result = self.speech.final(cmd, speech_end_ms)
        written = result.heard.heard or result.heard.text
        # As whisper wrote it, or as the recheck read it from the audio.
        ok = self.gate.stands(verdict, self.s.normalize(written)) or (
            result.heard.heard is not None and self.gate.stands(verdict, result.text))
        ok = ok and self.gate.answers(cmd)
        self.gate.report(verdict, ok, heard=written.strip(), wake=cmd.wake)
        return result if ok else False

    def answer(self, text: str, speech_end_ms: float, timings: dict[str, float],
               confidence: float | None = None, doubt: str | None = None) -> None:
        first_audio: list[float] = []

        def say(sentence: str) -> None:
            if self.cancel.is_set():
                return
            self.bus.emit(EventType.STATE, state="speaking")
            for pcm in self.s.synthesizer.synthesize(sentence):
                if self.cancel.is_set():
                    return
                if not first_audio:
                    first_audio.append(self.lag_ms(speech_end_ms))
                    self.bus.emit(EventType.SPEAKING, lag_ms=round(first_audio[0], 1))
                self.s.player.play(pcm, self.s.synthesizer.sample_rate)

        self.action_lags = []
        started = self.clock()
        answer = self.s.brain.answer(text, say, confidence, doubt)
        timings["brain_ms"] = (self.clock() - started) * 1000.0
        # Lags against the audio clock only mean something when audio time follows the wall.
        if first_audio and self.realtime:
            timings["first_audio_lag_ms"] = first_audio[0]
        if self.action_lags and self.realtime:
            timings["action_lag_ms"] = self.action_lags[0]
        answer.timings_ms = {**timings, **answer.timings_ms}
        self.bus.emit(EventType.INTENT, intent=answer.intent, slots=answer.to_json()["slots"])
        if answer.results:
            self.bus.emit(EventType.ACTIONS, actions=[r.to_json() for r in answer.results],
                          lag_ms=round(timings.get("action_lag_ms", 0.0), 1))
        self.bus.emit(EventType.REPLY, **answer.to_json())
        # A question from the assistant ("Unlock the front door?") is answered without the
        # wake word: the next turn starts listening as soon as the question has been spoken.
        self.follow_up = not answer.end_conversation and not self.cancel.is_set()
        self.yes_no = self.follow_up and "confirm" in answer.slots


def _grammar_fields(result: SpeechResult) -> dict[str, Any]:
    """What the grammar fast path made of the command, for the TRANSCRIPT event and the log."""
    grammar = result.grammar
    if grammar is None:
        return {}
    if result.stt == "grammar":
        _LOGGER.info("command settled by the grammar: %r (margin %.2f, %.0f ms CPU)",
                     grammar.text, grammar.verdict.margin, grammar.cpu_s * 1000.0)
    else:
        _LOGGER.info("grammar's %r not accepted (%s): the transcriber decides", grammar.text,
                     grammar.verdict.reason.value)
    return {"grammar": {"text": grammar.text, "accepted": grammar.accepted,
                        "reason": grammar.verdict.reason.value,
                        "margin": round(grammar.verdict.margin, 3),
                        "cpu_ms": round(grammar.cpu_s * 1000.0, 1),
                        "finish_ms": round(grammar.finish_ms, 1)}}
