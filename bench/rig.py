"""The real pipeline for benchmarks, run once per recording with the models loaded only once.

    with shared_models():
        rig = Rig(config_path, work_dir)
        events = rig.run(pcm)  # a fresh Home and Voice, built as `assistant run` builds them

Each run gets a fresh state file, so devices start from a known state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import corpus


def run_wav(config: Any, wav: Path, out: Path, *, realtime: bool = False,
            pin_factory: Any = None, prepare: Callable[[Any], None] | None = None,
            inspect: Callable[[Any], None] | None = None) -> list[Any]:
    """One WAV through `assistant run`'s own pipeline (build_home, build_voice); its events.

    prepare(voice) runs before the audio is fed; inspect(home) after it, while the devices are
    still open (a mock pin's state is read there)."""
    from assistant.app import build_home
    from assistant.events import EventBus
    from assistant.voice import build_voice

    events: list[Any] = []
    bus = EventBus()
    bus.subscribe(events.append)
    home = build_home(config, no_cloud=True, pin_factory=pin_factory)
    try:
        voice = build_voice(config, home, bus, input_wav=str(wav), output_wav=str(out),
                            realtime=realtime)
        if prepare is not None:
            prepare(voice)
        voice.run()
        if inspect is not None:
            inspect(home)
    finally:
        home.close()
    return events


class NeverWake:
    """A first stage that never fires: for runs where only a button press starts the command
    (set as ``voice.pipeline.gate.detector``)."""

    def process(self, chunk: Any) -> None:
        return None

    def reset(self) -> None:
        pass


def press_at(source: Any, t_ms: float, press: Callable[[], None]) -> Iterator[Any]:
    """The source's chunks, calling press() (a button) once audio time reaches t_ms."""
    pressed = False
    for chunk in source:
        if not pressed and chunk.timestamp_ms >= t_ms:
            pressed = True
            press()
        yield chunk


@contextlib.contextmanager
def shared_models() -> Iterator[None]:
    """While active, build_voice and build_home get the models they ask for from a cache instead
    of loading them again for every recording. Everything else (devices, router, pipeline,
    feedback) is built afresh per run by the same code as `assistant run`. Wake word detectors
    are cheap to make (~15 ms) and keep state (a noise suppressor's learnt background): each run
    gets its own."""
    import assistant.brain.intents as intents
    import assistant.brain.llm_local as llm_local
    import assistant.stt as stt
    import assistant.tts as tts
    import assistant.vad as vad

    made: dict[str, Any] = {}
    saved: list[tuple[Any, str, Any]] = []

    def share(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def make(*args: Any, **kwargs: Any) -> Any:
            key = f"{name}|{args!r}|{sorted(kwargs.items())!r}"
            if key not in made:
                made[key] = original(*args, **kwargs)
            return made[key]

        saved.append((owner, name, original))
        setattr(owner, name, make)

    for owner, name in ((stt, "make_transcriber"), (tts, "PiperSynthesizer"),
                        (vad, "MicroVadScorer"),
                        (intents, "LocalIntents")):
        share(owner, name)
    original_load = llm_local.LocalLLM._load

    def load_once(self: Any) -> Any:  # the same model file and system prompt every run
        if "llm" not in made:
            made["llm"] = original_load(self)
        return made["llm"]

    saved.append((llm_local.LocalLLM, "_load", original_load))
    llm_local.LocalLLM._load = load_once  # type: ignore[method-assign]
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


class Rig:
    """Runs one recording through a freshly built pipeline and returns its events."""

    def __init__(self, config_path: Path, work: Path):
        from assistant.config import load_config

        self.work = work
        self.state = work / "state.json"
        text = config_path.read_text().replace("path: ~/.local/state/assistant/state.json",
                                               f"path: {self.state}")
        cfg = work / "bench.yaml"
        cfg.write_text(text)
        self.config = load_config(cfg)

    def run(self, pcm: bytes, realtime: bool = False) -> list[Any]:
        for stale in (self.state, self.state.with_name("timers.json")):
            stale.unlink(missing_ok=True)
        wav = self.work / "in.wav"
        corpus.write_wav(wav, pcm)
        return run_wav(self.config, wav, self.work / "out.wav", realtime=realtime,
                       prepare=forget_last_recording)


def forget_last_recording(voice: Any) -> None:
    # The wake detector and VAD are shared between runs: forget the previous recording's audio.
    voice.pipeline.s.wake.reset()
    voice.pipeline.s.vad.reset()
