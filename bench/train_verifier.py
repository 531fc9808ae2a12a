"""Trains the wake word verifier (``assistant.wake.verifier``) on the first stage's detections.

    /work/tvenv/bin/python bench/train_verifier.py --cv      # leave one synthesizer out, 5 folds
    /work/tvenv/bin/python bench/train_verifier.py           # the shipped model, on all of fit

Needs PyTorch for training only (``pip install torch==2.13.0 numpy`` in any venv, plus this
project's dependencies on its path: ``PYTHONPATH=.:.venv/lib/python3.11/site-packages``); the
appliance runs the network in numpy. Input: ``bench/results/wake_evidence_fit.npz`` from
``bench/wake_evidence.py --split fit`` (detections of real wake words, label 1, and of
near-misses, label 0), plus random windows of the same side's negative streams (easy negatives,
so the network also learns what ordinary talk looks like). The test side of the split is never
read here.

``--cv`` trains five times, each time without one synthesizer's voices (piper, espeak-ng, flite,
festival, Kokoro), and reports the ranking quality on that synthesizer's detections: how many of
its wake words score above the score that lets 5 % / 1 % of its near-miss detections through.
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

from assistant.wake.verifier import FEATURE_CHANNELS, MODEL, Frontend, Verifier  # noqa: E402
from assistant.wake.verifier import fit_frames as frames_of  # noqa: E402
from bench import wake_corpus  # noqa: E402
from bench.robust_bench import RESULTS, room  # noqa: E402
from bench.wake_evidence import LEVELS, NOISES, WINDOW_BYTES  # noqa: E402

FRAMES = 320
"""Feature frames per window (3.2 s of the 3.25 s the second stage weighs)."""
LAYERS = [(32, True), (32, True), (48, True), (48, True), (48, False)]
"""(channels, followed by a max-pool of 2) per 1-D convolution of kernel 5: receptive field
1.4 s, long enough for "okay nabu" and the start of what follows."""
KERNEL = 5
EASY_PER_ROOM = 1500


def engine_of(row: dict[str, Any]) -> str:
    if row["kind"] == "wake":
        return str(row["family"])
    label = str(row.get("text", ""))
    voice = label[label.rfind("(") + 1:]
    return voice.split(":", 1)[0] if ":" in voice else ""


def load(path: Path, frontend: Frontend) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    data = np.load(path, allow_pickle=True)
    rows = json.loads(str(data["rows"]))
    windows = data["windows"]
    feats = np.stack([fit_frames(frontend.features(w.tobytes())) for w in windows])
    labels = np.array([1.0 if r["kind"] == "wake" else 0.0 for r in rows], np.float32)
    engines = np.array([engine_of(r) for r in rows])
    return feats, labels, engines, rows


def fit_frames(features: np.ndarray) -> np.ndarray:
    return frames_of(features, FRAMES)


def easy_negatives(frontend: Frontend, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random windows of the fit side's negative streams, in each room (the streams the evidence
    run made, so their speech comes from the cache)."""
    rng = np.random.default_rng(seed)
    feats, engines = [], []
    for li, level in enumerate(LEVELS):
        pcm, marks = wake_corpus.negative_stream("fit", 60 * 60 / 3, li)
        starts = [m[0] for m in marks]
        for _ in range(EASY_PER_ROOM):
            at = int(rng.integers(0, len(pcm) // 2 - WINDOW_BYTES // 2)) * 2
            noise = "none" if level == "clean" else NOISES[int(rng.integers(len(NOISES)))]
            heard = room(pcm[at:at + WINDOW_BYTES], level, noise, int(rng.integers(1 << 30)))
            feats.append(fit_frames(frontend.features(heard)))
            said = [t for s, t in zip(starts, marks, strict=True) if s <= at / 32][-1:]
            engines.append(engine_of({"kind": "negative", "text": said[0][1] if said else ""}))
    return np.stack(feats), np.array(engines)


# -- the network (PyTorch, mirrored by assistant.wake.verifier in numpy) ---------------------
def make_net() -> Any:
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            convs, channels = [], FEATURE_CHANNELS
            for out, _pool in LAYERS:
                convs.append(nn.Conv1d(channels, out, KERNEL, padding=KERNEL // 2))
                channels = out
            self.convs = nn.ModuleList(convs)
            self.out = nn.Conv1d(channels, 1, 1)

        def forward(self, x: Any) -> Any:
            for conv, (_out, pool) in zip(self.convs, LAYERS, strict=True):
                x = torch.relu(conv(x))
                if pool:
                    x = nn.functional.max_pool1d(x, 2)
            return self.out(x)[:, 0].amax(dim=1)

    return Net()


def augment(x: Any, rng: np.random.Generator) -> Any:
    import torch

    x = x.clone()
    for i in range(len(x)):
        x[i] = torch.roll(x[i], int(rng.integers(-20, 21)), dims=1)
        f = int(rng.integers(0, 6))
        if f:
            start = int(rng.integers(0, FEATURE_CHANNELS - f))
            x[i, start:start + f] = 0.0
        t = int(rng.integers(0, 25))
        if t:
            start = int(rng.integers(0, FRAMES - t))
            x[i, :, start:start + t] = 0.0
    return x


def train(feats: np.ndarray, labels: np.ndarray, weights: np.ndarray, epochs: int = 14,
          seed: int = 0) -> tuple[Any, np.ndarray, np.ndarray]:
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    mean = feats.reshape(-1, FEATURE_CHANNELS).mean(axis=0)
    scale = feats.reshape(-1, FEATURE_CHANNELS).std(axis=0) + 1e-3
    x = torch.tensor(((feats - mean) / scale).transpose(0, 2, 1), dtype=torch.float32)
    y = torch.tensor(labels)
    w = torch.tensor(weights, dtype=torch.float32)
    net = make_net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for epoch in range(epochs):
        net.train()
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(order), 128):
            idx = torch.tensor(order[start:start + 128])
            logits = net(augment(x[idx], rng))
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(logits, y[idx], reduction="none")
                    * w[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        sched.step()
        print(f"  epoch {epoch + 1}: loss {total / len(x):.4f}", flush=True)
    return net, mean, scale


def scores(net: Any, feats: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    import torch

    net.eval()
    with torch.no_grad():
        x = torch.tensor(((feats - mean) / scale).transpose(0, 2, 1), dtype=torch.float32)
        return np.concatenate([net(x[i:i + 256]).numpy() for i in range(0, len(x), 256)])


def ranking(pos: np.ndarray, neg: np.ndarray) -> dict[str, float]:
    """Wake words kept at the score that lets 5 % and 1 % of near-miss detections through, and
    the AUC."""
    out: dict[str, float] = {"wakes": float(len(pos)), "near_misses": float(len(neg))}
    for rate in (0.05, 0.01):
        cut = float(np.quantile(neg, 1 - rate)) if len(neg) else -np.inf
        out[f"kept_at_{int(rate * 100)}pct"] = float(np.mean(pos > cut)) if len(pos) else float("nan")
    if len(pos) and len(neg):
        out["auc"] = float(np.mean(pos[:, None] > neg[None, :]))
    return out


def weights_for(labels: np.ndarray, hard: np.ndarray) -> np.ndarray:
    """Balanced classes; a near-miss the first stage fired on counts three times an easy one."""
    w = np.where(labels > 0, 1.0, np.where(hard, 3.0, 1.0))
    pos, neg = w[labels > 0].sum(), w[labels == 0].sum()
    return np.where(labels > 0, w * (neg / pos), w).astype(np.float32)


def export(net: Any, mean: np.ndarray, scale: np.ndarray, meta: dict[str, Any], path: Path) -> None:
    arrays: dict[str, np.ndarray] = {"mean": mean.astype(np.float32), "scale": scale.astype(np.float32)}
    for i, conv in enumerate(net.convs):
        arrays[f"w{i}"] = conv.weight.detach().numpy().astype(np.float32)
        arrays[f"b{i}"] = conv.bias.detach().numpy().astype(np.float32)
    arrays["w_out"] = net.out.weight.detach().numpy()[:, :, 0].astype(np.float32)
    arrays["b_out"] = net.out.bias.detach().numpy().astype(np.float32)
    meta = {**meta, "layers": len(LAYERS), "pools": [int(p) for _c, p in LAYERS], "kernel": KERNEL,
            "frames": FRAMES}
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evidence", type=Path, default=RESULTS / "wake_evidence_fit.npz")
    parser.add_argument("--cv", action="store_true")
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--out", type=Path, default=MODEL)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    started = time.time()
    frontend = Frontend()
    feats, labels, engines, rows = load(args.evidence, frontend)
    easy, easy_engines = easy_negatives(frontend)
    all_feats = np.concatenate([feats, easy])
    all_labels = np.concatenate([labels, np.zeros(len(easy), np.float32)])
    all_engines = np.concatenate([engines, easy_engines])
    hard = np.concatenate([labels == 0, np.zeros(len(easy), bool)])
    print(f"{int(labels.sum())} wake detections, {int((labels == 0).sum())} near-miss detections, "
          f"{len(easy)} easy windows ({time.time() - started:.0f} s)", flush=True)
    folds: dict[str, dict[str, float]] = {}
    if args.cv:
        for engine in wake_corpus.FAMILIES:
            keep = all_engines != engine
            print(f"without {engine}: {int(keep.sum())} windows", flush=True)
            net, mean, scale = train(all_feats[keep], all_labels[keep],
                                     weights_for(all_labels[keep], hard[keep]), args.epochs)
            held = (engines == engine)
            s = scores(net, feats[held], mean, scale)
            folds[engine] = ranking(s[labels[held] > 0], s[labels[held] == 0])
            print(f"  {engine}: {json.dumps(folds[engine])}", flush=True)
        print(json.dumps(folds, indent=1))
        (RESULTS / "verifier_cv.json").write_text(json.dumps(folds, indent=1))
        return 0
    net, mean, scale = train(all_feats, all_labels, weights_for(all_labels, hard), args.epochs)
    s = scores(net, feats, mean, scale)
    cv_path = RESULTS / "verifier_cv.json"
    meta = {"fitted_on": f"{args.evidence.name}: {int(labels.sum())} wake and "
                         f"{int((labels == 0).sum())} near-miss detections of the fit side "
                         f"(bench/wake_corpus.py), {len(easy)} easy windows",
            "fitted_ranking": ranking(s[labels > 0], s[labels == 0]),
            "leave_one_synthesizer_out": json.loads(cv_path.read_text()) if cv_path.is_file() else None}
    export(net, mean, scale, meta, args.out)
    shipped = Verifier(args.out)
    numpy_logits = np.array([shipped.logit(f) for f in feats[:20]])
    assert np.allclose(numpy_logits, s[:20], atol=1e-3), (numpy_logits, s[:20])
    print(f"-> {args.out} ({time.time() - started:.0f} s): {json.dumps(meta['fitted_ranking'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
