"""Memory and CPU of the lean profile's parts on a recording, before the pipeline uses them: the
wake word's first stage, the VAD, the grammar recognizer, the brain and devices, piper, and the
open-vocabulary engine loaded only when the grammar turns a command down.

    PYTHONPATH=. /usr/bin/time -v .venv/bin/python bench/lean_memory.py [--open whisper|moonshine|none] [WAV]

A stand-in for ``assistant run --input WAV`` with ``profile: lean``, since the pipeline
(assistant/pipeline.py) does not call the grammar yet: after each wake word, the command is fed
to the grammar recognizer as it arrives and ends after 0.7 s of silence (as the endpointer's
default); an accepted sentence goes to the brain, a rejected one to the open-vocabulary engine
(loaded at that moment) and then to the brain; every reply is synthesized with piper. Prints
each command and the process's peak RSS (``/usr/bin/time -v`` gives the same figure).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
CHUNK_MS = 30
SILENCE_END_MS = 700
MAX_COMMAND_MS = 7000
PRIME_MS = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wav", nargs="?", default=str(ROOT / "assistant" / "data" / "demo.wav"))
    parser.add_argument("--open", choices=("whisper", "moonshine", "none"), default="whisper")
    args = parser.parse_args()

    import dataclasses

    from assistant.app import build_home
    from assistant.audio.chunk import AudioChunk
    from assistant.config import parse_config
    from assistant.grammar import build_grammar, make_recognizer
    from assistant.stt import make_transcriber
    from assistant.tts import PiperSynthesizer
    from assistant.vad import MicroVadScorer
    from assistant.wake import make_wake_detector
    from bench.corpus import read_wav

    state = Path(tempfile.mkdtemp()) / "state.json"
    text = (ROOT / "config" / "assistant.yaml").read_text(encoding="utf-8")
    # The example config sets local_llm.enabled itself; the lean profile's default is wanted.
    text = text.replace("  enabled: true           # offline answers", "  # enabled: true  # offline answers")
    config = parse_config("profile: lean\n" + text.replace("~/.local/state/assistant/state.json",
                                                            str(state)))
    assert not config.local_llm.enabled and config.stt.fast_path == "grammar"
    home = build_home(config, no_cloud=True)
    grammar = build_grammar(config, home.intents)
    recognizer = make_recognizer(config, grammar)
    wake = make_wake_detector(config.wake, verified=False)
    vad = MicroVadScorer()
    tts = PiperSynthesizer(config.tts.voice, config.tts.length_scale)
    engine = None if args.open == "none" else make_transcriber(
        dataclasses.replace(config.stt, engine=args.open, load="lazy"))
    pcm, rate = read_wav(args.wav)
    assert rate == 16000, "a 16 kHz recording"
    step = CHUNK_MS * 32
    cpu: dict[str, float] = {"wake+vad": 0.0, "grammar": 0.0, "open": 0.0, "brain": 0.0, "tts": 0.0}
    listening, quiet_ms, heard_ms, command = False, 0, 0, bytearray()
    for at in range(0, len(pcm) - step + 1, step):
        piece = pcm[at:at + step]
        began = time.process_time()
        if not listening:
            if wake.process(AudioChunk(piece, at / 32)) is not None:
                recognizer.prime(pcm[max(0, at - PRIME_MS * 32):at])
                recognizer.start()
                listening, quiet_ms, heard_ms, command = True, 0, 0, bytearray()
            cpu["wake+vad"] += time.process_time() - began
            continue
        speech = max(vad.process(piece), default=0.0) > config.endpoint.vad_threshold
        cpu["wake+vad"] += time.process_time() - began
        began = time.process_time()
        recognizer.feed(piece)
        cpu["grammar"] += time.process_time() - began
        command += piece
        heard_ms += CHUNK_MS if speech else 0
        quiet_ms = 0 if speech else quiet_ms + CHUNK_MS
        if (heard_ms and quiet_ms >= SILENCE_END_MS) or len(command) >= MAX_COMMAND_MS * 32:
            listening = False
            began = time.process_time()
            result = recognizer.finish()
            cpu["grammar"] += time.process_time() - began
            said = result.text if result.accepted else ""
            if not said and engine is not None:
                began = time.process_time()
                said = engine.transcribe(bytes(command)).text
                cpu["open"] += time.process_time() - began
            replies: list[str] = []
            began = time.process_time()
            if said:
                home.brain.answer(said, replies.append)
            cpu["brain"] += time.process_time() - began
            began = time.process_time()
            for reply in replies:
                b"".join(tts.synthesize(reply))
            cpu["tts"] += time.process_time() - began
            print(f"{at / 16000:6.1f} s  grammar {result.text!r} ({result.verdict.reason}, "
                  f"{result.cpu_s:.3f} CPU-s)  -> {said!r}  reply {' '.join(replies)!r}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    loaded = getattr(engine, "loaded", engine is not None)
    print(f"open-vocabulary engine: {args.open} (loaded: {loaded})")
    print("CPU-s by part: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
    print(f"peak RSS {peak_mb:.0f} MB")
    home.close()


if __name__ == "__main__":
    main()
