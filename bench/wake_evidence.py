"""Every first-stage wake detection on the fitting and test material, with what it looked like.

    .venv/bin/python bench/wake_evidence.py --split fit --wakes 1200 --negatives-min 90
    .venv/bin/python bench/wake_evidence.py --split test --wakes 500 --negatives-min 40

Runs the first stage as the pipeline builds it (``assistant.wake.make_wake_detector``:
microWakeWord at its verified threshold on a noise-suppressed copy, and the noisy-room model
while the room is loud) over wake-word recordings and near-miss-heavy negatives of one side of
``bench.wake_corpus``'s split, each in a quiet room, and at 20 and 10 dB SNR under white, pink or
brown noise, babble or TV. For every detection it keeps the audio the second stage would weigh
(WAKE_WINDOW_MS before it, WAKE_TAIL_MS after), the NoiseGate's loudness over the tail, and,
where the room is loud, openWakeWord's speech embeddings over that window as the noisy-room
model computes them while listening. Writes ``bench/results/wake_evidence_<split>.npz``: one row
per detection (its label and where it came from) and the windows, for ``bench/train_verifier.py``
and ``bench/wake_fit.py``. No timing; not real time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.audio.chunk import AudioChunk  # noqa: E402
from assistant.config import load_config  # noqa: E402
from assistant.vad import FRAME_MS, LevelMeter, NoiseGate  # noqa: E402
from assistant.wake import WAKE_TAIL_MS, WAKE_WINDOW_MS, make_wake_detector  # noqa: E402
from bench import wake_corpus  # noqa: E402
from bench.robust_bench import RESULTS, ROOT, room  # noqa: E402

CHUNK_BYTES = 640
"""20 ms chunks, as the pipeline's audio source gives them."""
SKIP_AFTER_MS = 2500
"""After a detection the pipeline records the command; a new one is looked for this much later."""
NOISES = ("white", "pink", "brown", "babble", "tv")
LEVELS = ("clean", "20", "10")
WINDOW_BYTES = int((WAKE_WINDOW_MS + WAKE_TAIL_MS) * 32)


def loudness(levels: list[float], at: int, tail_ms: float) -> str:
    """The NoiseGate's decisions over tail_ms from frame ``at``, one "1" (loud) or "0" per 10 ms
    frame, as the pipeline makes them: it listens to the room while idle and starts afresh on
    the command."""
    gate = NoiseGate()
    for level in levels[max(0, at - gate.history_frames - gate.smooth_frames):at]:
        gate.listen(level)
    gate.start()
    return "".join("1" if gate.feed(level) else "0"
                   for level in levels[at:at + int(tail_ms // FRAME_MS)])


class Runner:
    """The first stage over a recording, and the embeddings a loud room's listening computes."""

    def __init__(self, config_path: Path):
        self.config = load_config(config_path).wake

    def detections(self, pcm: bytes) -> list[dict[str, Any]]:
        detector = make_wake_detector(self.config)
        noisy = getattr(detector, "noisy", None)
        levels = LevelMeter().process(pcm)
        found: list[dict[str, Any]] = []
        waiting: list[dict[str, Any]] = []
        skip_until = -1.0
        for offset in range(0, len(pcm) - CHUNK_BYTES + 1, CHUNK_BYTES):
            t_ms = offset / 32
            detection = detector.process(AudioChunk(pcm[offset:offset + CHUNK_BYTES], t_ms))
            now_ms = (offset + CHUNK_BYTES) / 32
            for row in [r for r in waiting if now_ms >= r["t_ms"] + WAKE_TAIL_MS]:
                waiting.remove(row)
                row["embeddings"] = None if noisy is None else noisy.embeddings_between(
                    row["t_ms"] - WAKE_WINDOW_MS, row["t_ms"] + WAKE_TAIL_MS)
            if detection is None or t_ms < skip_until:
                continue
            end = offset + CHUNK_BYTES
            row = {"t_ms": end / 32, "probability": detection.probability,
                   "noisy": detection.noisy, "end": end, "embeddings": None,
                   "loud": loudness(levels, int(end / 32 / FRAME_MS), WAKE_TAIL_MS),
                   "room_open": bool(noisy is not None and noisy.gate.open)}
            found.append(row)
            waiting.append(row)
            skip_until = end / 32 + SKIP_AFTER_MS
        for row in found:
            start = max(0, row["end"] - WAKE_WINDOW_MS * 32)
            window = pcm[start:row["end"] + int(WAKE_TAIL_MS) * 32]
            row["window"] = window.ljust(WINDOW_BYTES, b"\0")[:WINDOW_BYTES]
            row["window_start"] = start
        return found


def run(split: str, wakes: int, negatives_min: float, seed: int, out: Path) -> None:
    runner = Runner(ROOT / "config" / "assistant.yaml")
    rows: list[dict[str, Any]] = []
    windows: list[bytes] = []
    embeddings: list[np.ndarray] = []
    misses: list[dict[str, Any]] = []
    started = time.time()

    def keep(row: dict[str, Any], **meta: Any) -> None:
        windows.append(row.pop("window"))
        emb = row.pop("embeddings")
        row["embedding_index"] = len(embeddings) if emb is not None else None
        if emb is not None:
            embeddings.append(emb.astype(np.float16))
        row.pop("end")
        rows.append({**row, **meta})

    utterances = wake_corpus.wake_utterances(split, wakes, seed)
    for i, utterance in enumerate(utterances):
        recording = wake_corpus.render(utterance)
        for li, level in enumerate(LEVELS):
            noise = "none" if level == "clean" else NOISES[(i + li) % len(NOISES)]
            pcm = room(recording.pcm, level, noise, wake_corpus.stable(split, i, level))
            meta = {"kind": "wake", "level": level, "noise": noise, "voice": utterance.voice.label(),
                    "family": utterance.voice.engine, "text": utterance.label(), "item": i,
                    "wake_start_ms": recording.wake_start_ms, "wake_end_ms": recording.wake_end_ms}
            hit = False
            for row in runner.detections(pcm):
                # The detection of the wake word itself; one on the command comes after the
                # pipeline has stopped listening for the wake word.
                if recording.wake_start_ms + 150 <= row["t_ms"] <= recording.wake_end_ms + 900 and not hit:
                    keep(row, **meta)
                    hit = True
            if not hit:
                misses.append(meta)
        if i % 50 == 0:
            print(f"{split}: {i}/{len(utterances)} wake recordings, {len(rows)} detections, "
                  f"{time.time() - started:.0f} s", flush=True)
    per_room = negatives_min * 60 / 3
    for li, level in enumerate(LEVELS):
        pcm, marks = wake_corpus.negative_stream(split, per_room, seed + li)
        for part in range(0, len(pcm), 60 * 32000):
            piece = pcm[part:part + 60 * 32000]
            noise = "none" if level == "clean" else NOISES[(part // (60 * 32000) + li) % len(NOISES)]
            heard = room(piece, level, noise, wake_corpus.stable(split, "neg", level, part))
            for row in runner.detections(heard):
                at = part / 32 + row["t_ms"]
                said = [text for start, text in marks if start <= at][-1:] or [""]
                keep(row, kind="negative", level=level, noise=noise, text=said[0], item=part,
                     family="", voice="")
        print(f"{split}: negatives {level}: {len(rows)} detections, {time.time() - started:.0f} s",
              flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, rows=np.array(json.dumps(rows)), misses=np.array(json.dumps(misses)),
        windows=np.frombuffer(b"".join(windows), dtype="<i2").reshape(len(windows), -1),
        embeddings=np.array(embeddings, dtype=object), negatives_s=negatives_min * 60,
        split=split)
    print(f"{split}: {len(rows)} detections ({sum(r['kind'] == 'wake' for r in rows)} of "
          f"{len(utterances) * len(LEVELS)} wake words; {len(misses)} missed), "
          f"{negatives_min:.0f} min of negatives, {time.time() - started:.0f} s -> {out}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["fit", "test"], required=True)
    parser.add_argument("--wakes", type=int, default=1200)
    parser.add_argument("--negatives-min", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or RESULTS / f"wake_evidence_{args.split}.npz"
    run(args.split, args.wakes, args.negatives_min, args.seed, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
