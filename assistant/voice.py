"""Assembles the audio pipeline (source, stages, sink) around a Home."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.app import Home
from assistant.audio.player import Player
from assistant.config import Config
from assistant.events import Event, EventBus, EventType
from assistant.feedback import attach_feedback
from assistant.pipeline import Pipeline, Stages

_LOGGER = logging.getLogger(__name__)

DEMO_WAV = Path(__file__).parent / "data" / "demo.wav"


@dataclass
class Voice:
    pipeline: Pipeline
    source: Any
    sink: Any

    def run(self) -> None:
        try:
            self.pipeline.run(self.source)
        finally:
            for part in (self.source, self.pipeline.s.player, self.sink):
                close = getattr(part, "close", None)
                if close is not None:
                    close()


def build_voice(
    config: Config,
    home: Home,
    bus: EventBus,
    *,
    input_wav: str | None = None,
    output_wav: str | None = None,
    realtime: bool = False,
) -> Voice:
    from assistant.stt import make_transcriber
    from assistant.tts import PiperSynthesizer
    from assistant.vad import Endpointer, MicroVadScorer
    from assistant.wake import Refractory, home_words, make_wake_check, make_wake_detector

    source, sink, paced = _audio_edges(config, input_wav, output_wav, realtime)
    source = _cleaning(config, source)
    intents = home.intents
    # The voice first: an error raised while the wake and VAD engines are temporaries in the
    # Stages(...) call below came out as "SystemError: error return without exception set"
    # (pymicro-vad's and pymicro-wakeword's objects lose a pending exception when freed).
    synthesizer = PiperSynthesizer(config.tts.voice, config.tts.length_scale)
    transcriber = make_transcriber(config.stt, _stt_grammar(config))
    # Whisper reads the wake windows the cheap evidence leaves in doubt (not vosk: it has no
    # open vocabulary for the phrase).
    reader = transcriber if config.stt.engine == "whisper" else None
    verifier = make_wake_check(config.wake, home_words(getattr(intents, "vocabulary", list)()),
                               reader)
    recheck = _recheck(config, transcriber, intents)
    # One wake word, one answer among the rooms on the broker.
    arbiter = home.mqtt.wake_arbiter() if home.mqtt is not None else None
    stages = Stages(
        wake=make_wake_detector(config.wake),
        vad=MicroVadScorer(),
        transcriber=transcriber,
        brain=home.brain,
        synthesizer=synthesizer,
        player=Player(sink, gain=home.output_gain),
        make_endpointer=lambda: Endpointer(config.endpoint),
        is_complete_command=intents.is_complete_command,
        normalize=_normalizer(),
        stt_prompt=_stt_prompt(intents),
        second_stage=verifier,
        recheck=recheck,
        recheck_answer=recheck.answer if recheck is not None else None,
        arbiter=arbiter,
        grammar=_grammar(config, intents),
        stt_name=config.stt.engine,
    )
    pipeline = Pipeline(
        stages,
        bus,
        Refractory(config.wake.refractory_s),
        vad_threshold=config.endpoint.vad_threshold,
        realtime=paced,
        barge_in=config.feedback.barge_in,
    )
    home.executor.listeners.append(lambda _result: pipeline.note_action())
    bus.subscribe(log_interaction)
    if home.mqtt is not None:
        from assistant.mqtt.entities import CheckSensitivity, SkillVolume

        volume = getattr(home.skills, "volume", None)
        home.mqtt.attach_voice(pipeline, bus, _speaker(stages), wait_spoken=stages.player.wait_idle,
                               volume=SkillVolume(volume) if volume is not None else None,
                               sensitivity=CheckSensitivity(verifier) if hasattr(verifier, "set_level")
                               else None)
    for part in attach_feedback(config.feedback, bus, pipeline, home.pin_factory,
                                _speaker(stages)):
        home.closers.append(part.close)
    if home.timers is not None:
        from assistant.ringer import TimerRinger

        volume = getattr(home.skills, "volume", None)
        ringer = TimerRinger(home.timers, stages.player.play, _speaker(stages), bus,
                             before_ring=volume.make_audible if volume is not None else None)
        ringer.start()
        home.closers.append(ringer.close)
    return Voice(pipeline, source, sink)


def _speaker(stages: Stages) -> Any:
    def say(text: str) -> None:
        for pcm in stages.synthesizer.synthesize(text):
            stages.player.play(pcm, stages.synthesizer.sample_rate)

    return say


def log_interaction(event: Event) -> None:
    """One INFO line per interaction, with its timings, for the journal."""
    if event.type is not EventType.REPLY:
        return
    data = event.data
    actions = ",".join(f"{a['device']}:{a['action']}" for a in data.get("actions", []))
    timings = " ".join(f"{k}={v:.0f}" for k, v in data.get("timings_ms", {}).items())
    _LOGGER.info("interaction heard=%r handled_by=%s intent=%s actions=%s reply=%r %s",
                 data.get("text"), data.get("handled_by"), data.get("intent"), actions or "-",
                 data.get("reply"), timings)


def _audio_edges(
    config: Config, input_wav: str | None, output_wav: str | None, realtime: bool
) -> tuple[Any, Any, bool]:
    from assistant.audio.files import WavSink, WavSource

    if input_wav is not None:
        source: Any = WavSource(input_wav, realtime=realtime)
        paced = realtime
    else:
        from assistant.audio.resilient import ResilientMic
        from assistant.audio.sound import MicSource

        source = ResilientMic(lambda: MicSource(config.audio))
        paced = True
    if output_wav is not None:
        sink: Any = WavSink(output_wav)
    else:
        from assistant.audio.sound import SpeakerSink

        sink = SpeakerSink(config.audio)
    return source, sink, paced


def _cleaning(config: Config, source: Any) -> Any:
    """Noise suppression / auto gain, once, at the edge: every stage hears the same audio.

    Not only in front of speech to text: there it made no difference to whisper's transcripts
    (bench/noise_bench.py), and in front of the wake word it is where it helps in steady hiss.
    """
    from assistant.audio.clean import AudioCleaner, CleanedSource

    cleaner = AudioCleaner(config.audio.noise_suppression, config.audio.auto_gain_dbfs)
    if not cleaner.enabled:
        return source
    _LOGGER.info("audio cleaning: noise suppression %d, auto gain %d dBFS",
                 cleaner.noise_suppression, cleaner.auto_gain_dbfs)
    return CleanedSource(source, cleaner)


def _normalizer() -> Any:
    from assistant.brain.numbers import normalize_transcript

    return normalize_transcript


def _stt_grammar(config: Config) -> list[str] | None:
    """Vosk is biased towards the home through a grammar of its commands (used only by vosk,
    and only when stt.vosk_grammar is on). The phrases are English, like the patterns."""
    if config.stt.engine != "vosk" or not config.stt.vosk_grammar or config.intents.language != "en":
        return None
    from assistant.brain.phrases import grammar_phrases

    return grammar_phrases(config.devices)


def _grammar(config: Config, intents: Any) -> Any:
    """The grammar fast path's recognizer (``stt.fast_path: grammar``), compiled from the home
    as ``bench/grammar_study.py`` compiles it (cached beside the state file)."""
    if config.stt.fast_path != "grammar":
        return None
    if config.intents.language != "en":
        _LOGGER.warning("stt.fast_path: grammar is English only; %r commands go to %s",
                        config.intents.language, config.stt.engine)
        return None
    from assistant.grammar import build_grammar, make_recognizer

    grammar = build_grammar(config, intents)
    _LOGGER.info("grammar fast path: %d templates, %d words, %d arcs", grammar.templates_kept,
                 len(grammar.words), len(grammar.graph.arcs))
    return make_recognizer(config, grammar)


def _recheck(config: Config, transcriber: Any, intents: Any) -> Any:
    """Whisper's second look at a command (``assistant.recheck``), from the home's phrases."""
    if config.stt.engine != "whisper" or not config.stt.recheck or config.intents.language != "en":
        return None
    from assistant.brain.intents import IntentMatch
    from assistant.brain.local import answer_in_words, is_answer
    from assistant.brain.phrases import command_phrases
    from assistant.recheck import Phrase, Recheck

    def reading(text: str) -> str:
        if is_answer(text):
            return "understood"  # "Yes." to a question is never read as a command
        match = intents.match(text)
        if isinstance(match, IntentMatch):
            return "understood"
        return "unknown" if match is not None else "other"

    phrases = []
    for text in command_phrases(config.devices):
        match = intents.match(text)
        if isinstance(match, IntentMatch):
            phrases.append(Phrase(text, _meaning(match), acts=match.changes_devices))
    return Recheck(transcriber, phrases, reading, in_words=answer_in_words)


def _meaning(match: Any) -> tuple[Any, ...]:
    """What a phrase does: the same for "turn on the lamp" and "turn the living room lamp on"."""
    actions = tuple(sorted((a.device, a.action, a.value) for a in match.actions))
    slots = () if actions else tuple(sorted((k, str(v)) for k, v in match.slots.items()))
    return (match.intent, actions, slots)


def _stt_prompt(intents: Any) -> str | None:
    """Whisper is nudged towards the home's own words through its initial prompt."""
    vocabulary = getattr(intents, "vocabulary", None)
    if vocabulary is None:
        return None
    words = vocabulary()
    return ", ".join(words[:40]) + "." if words else None
