"""Trains the noisy-room wake word model: a small classifier for "okay nabu" on openWakeWord's
speech embeddings, from synthetic speech mixed into noise, babble and TV.

    .venv/bin/python bench/train_wake.py [--positives 800] [--negatives 1000] \
        [--out assistant/data/okay_nabu_noisy.npz]

openWakeWord's own models are small classifiers on the same frozen embedding (Google's speech
embedding, trained on a large body of real speech), trained on synthetic speech: this is that
recipe, with the noise the shipped okay_nabu models were weakest in (babble and TV at 10 dB)
given a large share of the training clips. It needs no model hub: the voices are piper (joe, at
varied pace and variation) and espeak-ng (dialects x variants x speeds).

Tried and not used: 2000 negatives, a quarter of them commands said without the wake word (of
another home). The model then fired on 118 instead of 115 of bench/wake_study.py's 120 wake
words at 10 dB, but 45 times instead of 25 in its 15 min of quiet negatives (64 and 32 with
babble under them), and still on espeak-ng saying "Turn on the kitchen light." alone.

Held apart from every benchmark: no voice that the robustness bench (voice seed 0), the wake
study (seed 1) or their negatives (seeds 7-9) use, babble and TV tracks of other seeds saying
other sentences (TRAIN_TALK), and near-misses and commands of its own. It is the same two
speech engines, though: the benchmarks measure it on voices of the same kinds it was trained
on, which says nothing of real voices (for those, microWakeWord's model stays the first
stage's other half). Deterministic for given counts (piper's variation is drawn once and
cached under bench/.cache/); about 25 minutes on 2 cores the first time, mostly synthesis and
embeddings.
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.wake.embedding import WINDOW_EMBEDDINGS, Embedder  # noqa: E402
from bench import corpus  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TRAIN_TALK = [
    "I was thinking we could paint the fence on Saturday if it stays dry.",
    "The bus driver waved at us as we crossed the road.",
    "Please remember to water the tomatoes before you leave.",
    "Last summer we camped by a lake in the mountains.",
    "The price of coffee has gone up again at the corner shop.",
    "My cousin plays the violin in a small orchestra.",
    "We ran out of milk, so I had my tea without it.",
    "The library has a new reading room on the second floor.",
    "He told a long story about his grandfather's boat.",
    "Dinner will be ready in about twenty minutes.",
]
"""What the training babble and TV say (the benchmarks' backgrounds say bench's CHATTER)."""
WAKE_TEXTS = ["Okay Nabu.", "Okay, Nabu.", "OK Nabu.", "Okay Nabu!", "Okay Nabu,"]
AFTER_WAKE = ["switch off the hall light", "what is the weather", "open the blinds", "play some music",
              "start the dishwasher", "how warm is it", "turn the heater on", "dim the desk lamp"]
"""Commands after the wake word: of another home than the benchmarks' config."""
NEAR_MISSES = [
    "Okay, Nadine, let's eat.", "Okay Naomi, sit down.", "Okay, now move along.", "Okay, nah.",
    "OK, never again.", "Okay, Nabisco crackers.", "A banana, okay.", "Okay, no butter.",
    "Okay, Nevada is dry.", "Okay Nathan, go on.", "Okay, Napa wine.", "Oh, kay, nobody knows.",
    "Okay, noon is fine.", "Okay, Nelly.", "Okay, Nadal won.", "Okay, neighbour.",
    "Hey, Nabil, come here.", "Okay, maybe Nabu later.", "Taboo subjects.", "Okay, Babu.",
    "Okay, new book.", "Okay, now who?", "Okay, Nepal trip.", "Okay, Navajo rug."]
"""Near-misses of its own (the benchmarks' are bench.robust_cases.NEAR_MISSES)."""
ORDINARY = TRAIN_TALK + ["Turn on the hall light.", "Set a timer for ten minutes.",
                         "Is it raining outside?", "Okay, that sounds good.", "Okay, see you soon.",
                         "Now, be careful."]
HELD_OUT_SEEDS = ((0, 60), (1, 60), (7, 120), (8, 120), (9, 120))
"""(voice seed, count) of the benchmarks' voices, never trained on."""
POSITIVE_MS = (0.0, 400.0)
"""A window ending this long after the wake word's end is a positive."""
NEGATIVE_BEFORE_MS = 150.0
"""A window ending before the wake word is this far under way is a negative; others around
the wake word are left out (part of the word, or the word and what follows)."""


def train_voices() -> list[corpus.Voice]:
    held_out = {voice.label() for seed, n in HELD_OUT_SEEDS for voice in corpus.varied_voices(n, seed)}
    return [voice for voice in corpus.voice_pool(50) if voice.label() not in held_out]


_TRACKS: dict[tuple[str, int], bytes] = {}


def _track(kind: str, k: int) -> bytes:
    if (kind, k) not in _TRACKS:
        if kind in ("babble", "tv"):
            _TRACKS[kind, k] = corpus.background(kind, 60.0, seed=3000 + k, sentences=TRAIN_TALK)
        else:
            _TRACKS[kind, k] = corpus.noise(60.0, 0.05, kind, seed=3000 + k)
    return _TRACKS[kind, k]


def _in_room(pcm: bytes, rng: np.random.Generator) -> tuple[bytes, str, float | None]:
    """A microphone's hiss, and in most clips a background at 0-25 dB SNR (babble and TV twice
    as often as each colour of noise)."""
    seconds = len(pcm) / 32000
    out = corpus.mix(pcm, corpus.noise(seconds, 0.01, "pink", seed=int(rng.integers(1 << 30))), 45.0)
    kind = str(rng.choice(["none", "white", "pink", "brown", "babble", "babble", "tv", "tv"]))
    if kind == "none":
        return out, kind, None
    snr = float(rng.uniform(0, 25))
    track = corpus.excerpt(_track(kind, int(rng.integers(3))), seconds, seed=int(rng.integers(1 << 30)))
    return corpus.mix(out, track, snr), kind, snr


def make_clip(i: int, positive: bool) -> dict[str, Any]:
    """One training clip: room, then the wake word (alone, then a pause and a command, or run
    straight on into one) or a sentence without it, then 0.6 s of room."""
    rng = np.random.default_rng(10_000 + i * 2 + (not positive))
    voices = train_voices()
    voice = voices[int(rng.integers(len(voices)))]
    lead = corpus.silence(float(rng.uniform(0.3, 1.5)))
    wake_start = wake_end = None
    if positive:
        wake = corpus.speak(str(rng.choice(WAKE_TEXTS)), voice)
        draw = rng.random()
        if draw < 0.3:
            rest = corpus.speak(str(rng.choice(AFTER_WAKE)) + ".", voice)
            gap = corpus.silence(float(rng.uniform(0.0, 0.08)))
        elif draw < 0.7:
            rest = corpus.speak(str(rng.choice(AFTER_WAKE)).capitalize() + ".", voice)
            gap = corpus.silence(float(rng.uniform(0.2, 0.7)))
        else:
            rest, gap = b"", b""
        dry = lead + wake + gap + rest + corpus.silence(0.6)
        wake_start, wake_end = len(lead) / 32, (len(lead) + len(wake)) / 32
    else:
        text = str(rng.choice(NEAR_MISSES if rng.random() < 0.6 else ORDINARY))
        dry = lead + corpus.speak(text, voice) + corpus.silence(0.6)
    pcm, noise, snr = _in_room(dry, rng)
    return {"positive": positive, "voice": voice.label(), "noise": noise, "snr": snr,
            "wake_start": wake_start, "wake_end": wake_end, "pcm": pcm}


_EMBEDDER: list[Embedder] = []
_RECIPE = f"{corpus.stable_seed(TRAIN_TALK, WAKE_TEXTS, AFTER_WAKE, NEAR_MISSES, ORDINARY):08x}"


def _clip_job(job: tuple[int, bool]) -> tuple[np.ndarray, np.ndarray]:
    """A clip's windows (one per 80 ms block) and labels (1, 0, or -1: left out), kept under
    bench/.cache/ by the recipe's words (a change to how clips are made in code needs that
    folder emptied)."""
    path = corpus.CACHE / f"wake_train-{_RECIPE}" / f"{'pos' if job[1] else 'neg'}{job[0]}.npz"
    if path.is_file():
        with np.load(path) as kept:
            return kept["windows"], kept["labels"]
    windows, labels = _embed_clip(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path.with_suffix(".tmp.npz"), windows=windows, labels=labels)
    path.with_suffix(".tmp.npz").replace(path)
    return windows, labels


def _embed_clip(job: tuple[int, bool]) -> tuple[np.ndarray, np.ndarray]:
    if not _EMBEDDER:
        _EMBEDDER.append(Embedder())
    clip = make_clip(*job)
    embedder = _EMBEDDER[0]
    embedder.reset()
    windows = embedder.windows(clip["pcm"])
    end_ms = (np.arange(len(windows)) + 1) * 80.0
    labels = np.zeros(len(windows), dtype=np.float32)
    if clip["positive"]:
        labels[:] = -1
        labels[(end_ms >= clip["wake_end"] + POSITIVE_MS[0]) & (end_ms <= clip["wake_end"] + POSITIVE_MS[1])] = 1
        labels[end_ms < clip["wake_start"] + NEGATIVE_BEFORE_MS] = 0
    keep = labels >= 0
    return windows[keep], labels[keep]


class Classifier:
    """Two hidden ReLU layers and a logistic output, trained with Adam on a weighted
    cross-entropy; the shape openWakeWord trains its own models in."""

    def __init__(self, inputs: int, hidden: int = 64, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.p = {"w1": rng.normal(0, np.sqrt(2 / inputs), (inputs, hidden)).astype(np.float32),
                  "b1": np.zeros(hidden, np.float32),
                  "w2": rng.normal(0, np.sqrt(2 / hidden), (hidden, hidden)).astype(np.float32),
                  "b2": np.zeros(hidden, np.float32),
                  "w3": rng.normal(0, np.sqrt(1 / hidden), (hidden, 1)).astype(np.float32),
                  "b3": np.zeros(1, np.float32)}

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h1 = np.maximum(x @ self.p["w1"] + self.p["b1"], 0)
        h2 = np.maximum(h1 @ self.p["w2"] + self.p["b2"], 0)
        return (h2 @ self.p["w3"] + self.p["b3"])[:, 0], h1, h2

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int = 12, lr: float = 1e-3,
            batch: int = 256, l2: float = 1e-4, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        m = {k: np.zeros_like(v) for k, v in self.p.items()}
        v = {k: np.zeros_like(v) for k, v in self.p.items()}
        positive_weight = (len(y) - y.sum()) / max(1.0, y.sum())  # as many positives as negatives, in effect
        step = 0
        for epoch in range(epochs):
            order = rng.permutation(len(y))
            total = 0.0
            for start in range(0, len(y), batch):
                rows = order[start:start + batch]
                xb, yb = x[rows], y[rows]
                z, h1, h2 = self._forward(xb)
                p = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
                w = np.where(yb > 0, positive_weight, 1.0)
                total += float(np.sum(w * -(yb * np.log(p + 1e-7) + (1 - yb) * np.log(1 - p + 1e-7))))
                dz = (w * (p - yb) / w.sum())[:, None]
                dh2 = dz @ self.p["w3"].T * (h2 > 0)
                dh1 = dh2 @ self.p["w2"].T * (h1 > 0)
                grads = {"w3": h2.T @ dz, "b3": dz.sum(0), "w2": h1.T @ dh2, "b2": dh2.sum(0),
                         "w1": xb.T @ dh1, "b1": dh1.sum(0)}
                step += 1
                for k, g in grads.items():
                    if k.startswith("w"):
                        g = g + l2 * self.p[k]
                    m[k] = 0.9 * m[k] + 0.1 * g
                    v[k] = 0.999 * v[k] + 0.001 * g * g
                    self.p[k] -= lr * (m[k] / (1 - 0.9 ** step)) / (np.sqrt(v[k] / (1 - 0.999 ** step)) + 1e-8)
            print(f"epoch {epoch}: loss {total / len(y):.4f}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positives", type=int, default=800)
    parser.add_argument("--negatives", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--out", default=str(ROOT / "assistant" / "data" / "okay_nabu_noisy.npz"))
    args = parser.parse_args()
    started = time.monotonic()
    for kind in ("babble", "tv"):  # made once here, not in each worker
        for k in range(3):
            _track(kind, k)
    jobs = [(i, True) for i in range(args.positives)] + [(i, False) for i in range(args.negatives)]
    with Pool(2) as pool:
        parts = pool.map(_clip_job, jobs, chunksize=8)
    x = np.concatenate([windows for windows, _labels in parts]).astype(np.float32)
    y = np.concatenate([labels for _windows, labels in parts])
    print(f"{len(y)} windows, {int(y.sum())} positive, in {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    classifier = Classifier(x.shape[1])
    classifier.fit((x - mean) / scale, y, epochs=args.epochs)
    np.savez(args.out, mean=mean, scale=scale, windows=np.array(WINDOW_EMBEDDINGS), **classifier.p)
    print(f"-> {args.out} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
