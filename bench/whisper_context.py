"""How much of whisper's 30 s window its encoder must see: accuracy and CPU per command.

    PYTHONPATH=. .venv/bin/python bench/whisper_context.py [--voices 6] [--contexts full,4,2,1]

Whisper pads every input to 30 s and its encoder runs over all 1500 positions, ~0.4 CPU-s here
whatever the command's length. CTranslate2 accepts a shorter input, and the encoder's cost falls
with it (about 15x for 3 s). Whisper was trained on padded 30 s windows, so a shorter context may
cost accuracy: this measures it. Each command of ``bench.robust_cases`` (and the commands about
devices the home lacks) is spoken by voices of both sides of the wake corpus's split (``fit``: the
robustness bench's piper and espeak-ng voices; ``test``: flite, festival, Kokoro and espeak-ng
voices nothing is fitted on), in a room (clean, 20 dB, 10 dB; noises taking turns), and read by
whisper with each context: ``full`` (30 s) or the audio plus N seconds of padding. Scored: the
local intents understand the transcript as they understand the typed command (the same actions,
or the same intent), and the word error rate against the typed command.

Writes bench/results/whisper_context.json and prints a table per side of the split.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import corpus, wake_corpus  # noqa: E402
from bench.robust_bench import RESULTS, room  # noqa: E402
from bench.robust_cases import COMMANDS, UNKNOWN_COMMANDS  # noqa: E402

LEVELS = ("clean", "20", "10")
NOISES = ("white", "pink", "brown", "babble", "tv")


FULL_FRAMES = 3000
"""Whisper's window in feature frames: 30 s, what every model was trained on."""


def context_frames(frames: int, context_s: float | None) -> int:
    """Pure: the feature frames the encoder sees for ``frames`` of audio: whisper's full window,
    or the audio plus ``context_s`` of padding, even (the encoder's convolution halves it)."""
    if context_s is None:
        return FULL_FRAMES
    wanted = frames + int(round(context_s * 100))
    return min(FULL_FRAMES, wanted + wanted % 2)


def short_whisper(model_dir: Any, beam_size: int) -> Any:
    """The assistant's WhisperTranscriber with an encoder context of ``.context_s``."""
    import numpy as np
    from faster_whisper.audio import pad_or_trim

    from assistant import stt

    class Short(stt.WhisperTranscriber):
        context_s: float | None = None

        def _encode(self, pcm: bytes) -> Any:
            audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
            features = self._model.feature_extractor(audio)
            frames = max(1, features.shape[-1] - 1)
            wanted = context_frames(frames, self.context_s)
            return stt._Encoded(pcm, self._model.encode(pad_or_trim(features[:, :frames], wanted)),
                                frames)

    return Short(model_dir, threads=1, beam_size=beam_size, warm_up=True)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference words): word-level Levenshtein distance."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)], len(ref)


def meaning(intents: Any, text: str) -> tuple[str, ...]:
    """What the local intents make of a sentence: its actions, or its intent, or nothing."""
    from assistant.brain.intents import IntentMatch

    match = intents.match(text)
    if not isinstance(match, IntentMatch):
        return (type(match).__name__,)
    if match.actions:
        return tuple(sorted(f"{a.device}.{a.action}={a.value}" for a in match.actions))
    return (str(match.intent),)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", type=int, default=6, help="voices per side of the split")
    parser.add_argument("--contexts", default="full,4,2,1",
                        help="'full' or seconds of padding after the audio")
    args = parser.parse_args()
    from assistant.brain.intents import LocalIntents
    from assistant.config import load_config

    config = load_config(ROOT / "config" / "assistant.yaml")
    intents = LocalIntents(config)
    whisper = short_whisper(config.stt.model, config.stt.beam_size)
    contexts: list[float | None] = [None if c == "full" else float(c)
                                    for c in args.contexts.split(",")]
    texts = COMMANDS + UNKNOWN_COMMANDS
    rows: list[dict[str, Any]] = []
    for side, pool in (("fit", corpus.varied_voices(args.voices, seed=0)),
                       ("test", wake_corpus.voices("test", args.voices, 11))):
        for li, level in enumerate(LEVELS):
            for i, (text, _expect) in enumerate(texts):
                voice = pool[(i + li) % len(pool)]
                noise = "none" if level == "clean" else NOISES[(i + li) % len(NOISES)]
                speech = corpus.speak(text[0].upper() + text[1:] + ".", voice)
                pcm = room(corpus.silence(0.3) + speech + corpus.silence(0.4), level, noise,
                           corpus.stable_seed(side, level, i))
                typed = meaning(intents, text)
                for context in contexts:
                    whisper.context_s = context
                    cpu = time.process_time()
                    heard = whisper.transcribe(pcm).text
                    cpu = time.process_time() - cpu
                    edits, total = wer(text, heard)
                    rows.append({"side": side, "level": level, "noise": noise,
                                 "voice": voice.name, "text": text, "heard": heard,
                                 "context": "full" if context is None else context,
                                 "same": meaning(intents, heard) == typed,
                                 "edits": edits, "words": total, "cpu_s": cpu,
                                 "audio_s": len(pcm) / 32000})
        print(f"{side}: done", file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "whisper_context.json").write_text(json.dumps(rows, indent=1))
    print(report(rows))
    return 0


def report(rows: list[dict[str, Any]]) -> str:
    lines = ["| split | context | understood clean / 20 dB / 10 dB | WER all | CPU-s per command "
             "median |", "|---|---|---:|---:|---:|"]
    for side in ("fit", "test"):
        for context in dict.fromkeys(r["context"] for r in rows):
            mine = [r for r in rows if r["side"] == side and r["context"] == context]
            if not mine:
                continue
            rates = []
            for level in LEVELS:
                at = [r for r in mine if r["level"] == level]
                rates.append(f"{sum(r['same'] for r in at)}/{len(at)}")
            errors = sum(r["edits"] for r in mine) / max(1, sum(r["words"] for r in mine))
            cpu = sorted(r["cpu_s"] for r in mine)[len(mine) // 2]
            label = "30 s" if context == "full" else f"audio + {context:g} s"
            lines.append(f"| {side} | {label} | {' / '.join(rates)} | {errors:.1%} | {cpu:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
