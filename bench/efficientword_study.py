"""EfficientWord-Net (few-shot ResNet-50 embeddings, int8 ONNX) as wake evidence: measured, not used
(docs/decisions.md, 2026-12-08).

    V/bin/python bench/efficientword_study.py --embed      # V: a venv with EfficientWord-Net
    .venv/bin/python bench/efficientword_study.py          # the evaluation, in the project's venv

``--embed`` (needs ``pip install --no-deps EfficientWord-Net==1.0.5 onnxruntime numpy``, kept out
of the project's dependencies) embeds every first-stage detection window of
``bench/results/wake_evidence_{fit,test}.npz`` twice: the 1.5 s ending at the detection and the
1.5 s ending 0.3 s after it (the first stage often fires before the word is over), and writes
``bench/results/efficientword_{split}.npy`` with the CPU time per window.

The evaluation scores each detection by its cosine similarity to reference embeddings taken from
the fit side only: the mean of the 5 nearest fit wake words minus the mean of the 5 nearest fit
near-misses (a nearest-neighbour discriminator, best of the two offsets); a fit row is scored
against the other synthesizers' references only. It reports, on both
sides, that score's AUC (wake words against near-misses), the cheap score's (``decision.score``)
AUC, and a logistic model of the two fitted on the fit side: the share of wake words above the
threshold that lets through 2 % of the fit side's near-miss detections.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RATE = 16000
OFFSETS_S = (0.0, 0.3)
DETECTION_S = 2.0
"""Where the detection sits in each window (bench/wake_evidence.py: 2 s before it)."""
K = 5


def embed() -> int:
    import eff_word_net.audio_processing as ewn

    base = ewn.ModelRawBackend.__init__

    def quantized(self: object, use_quantized_model: bool = True) -> None:
        base(self, use_quantized_model)  # the int8 model (its class never asks for it)

    ewn.ModelRawBackend.__init__ = quantized  # type: ignore[method-assign]
    options = ewn.rt.SessionOptions
    ewn.rt.SessionOptions = lambda: _one_thread(options())  # as a per-detection check would run
    model = ewn.Resnet50_Arc_loss()
    for split in ("fit", "test"):
        windows = np.load(RESULTS / f"wake_evidence_{split}.npz", allow_pickle=True)["windows"]
        out = []
        started = time.process_time()
        for w in windows:
            audio = w.astype(np.float32) / 32768.0
            vectors = []
            for offset in OFFSETS_S:
                end = int((DETECTION_S + offset) * RATE)
                piece = audio[max(0, end - model.window_frames):end]
                piece = np.pad(piece, (model.window_frames - len(piece), 0))
                vectors.append(np.asarray(model.audioToVector(piece)).reshape(-1))
            out.append(np.stack(vectors))
        cpu = (time.process_time() - started) / max(len(windows), 1)
        np.save(RESULTS / f"efficientword_{split}.npy", np.stack(out))
        print(f"{split}: {len(windows)} windows, {cpu * 1000:.1f} ms CPU per window "
              f"({len(OFFSETS_S)} embeddings)")
    return 0


def _one_thread(options: object) -> object:
    options.intra_op_num_threads = 1  # type: ignore[attr-defined]
    options.inter_op_num_threads = 1  # type: ignore[attr-defined]
    return options


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    scores = np.concatenate([pos, neg])
    ranks = scores.argsort().argsort() + 1.0
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def knn_score(vectors: np.ndarray, refs_pos: np.ndarray, refs_neg: np.ndarray) -> np.ndarray:
    """Per row, best over offsets of (mean top-K similarity to wake refs - same to near-miss refs)."""
    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)

    v, p, n = unit(vectors), unit(refs_pos), unit(refs_neg)
    best = np.full(len(v), -np.inf)
    for o in range(v.shape[1]):
        sp, sn = v[:, o] @ p.T, v[:, o] @ n.T
        top = np.sort(sp, axis=1)[:, -K:].mean(1) - np.sort(sn, axis=1)[:, -K:].mean(1)
        best = np.maximum(best, top)
    return best


def evaluate() -> int:
    sys.path.insert(0, str(ROOT))
    from assistant.wake.decision import PARAMS, DecisionParams, score
    from bench import wake_fit
    from bench.train_verifier import engine_of

    params = DecisionParams.from_json(json.loads(PARAMS.read_text()))
    sides = {}
    fit_rows: list[dict[str, object]] = []
    for split in ("fit", "test"):
        rows, _hours, _misses = wake_fit.load(split)
        fit_rows = fit_rows or rows
        vectors = np.load(RESULTS / f"efficientword_{split}.npy")
        assert len(vectors) == len(rows), (split, len(vectors), len(rows))
        wake = np.array([r["kind"] == "wake" for r in rows])
        first = np.array([score(wake_fit.evidence_of(r), params) for r in rows])
        sides[split] = (vectors, wake, first)
    fv, fw, _ = sides["fit"]
    refs_pos, refs_neg = fv[fw][:, 0], fv[~fw][:, 0]
    # A fit row is scored against the references of the other synthesizers only, as a voice the
    # references never heard would be (scored against its own voice it looks far better).
    engines = np.array([engine_of(r) for r in fit_rows])
    fit_knn = np.zeros(len(fv))
    for engine in set(engines):
        mine = engines == engine
        fit_knn[mine] = knn_score(fv[mine], fv[fw & ~mine][:, 0], fv[~fw & ~mine][:, 0])
    knn = {"fit": fit_knn, "test": knn_score(sides["test"][0], refs_pos, refs_neg)}
    _, wake, first = sides["fit"]
    names = ("first", "efficientword")
    model = wake_fit.fit_logistic(np.stack([first, knn["fit"]], axis=1), wake.astype(float), names)

    def both(split: str) -> np.ndarray:
        return np.array([model.score(dict(zip(names, row, strict=True)))
                         for row in zip(sides[split][2], knn[split], strict=True)])

    cut_both = np.quantile(both("fit")[~wake], 0.98)
    cut_first = np.quantile(first[~wake], 0.98)
    report: dict[str, dict[str, float]] = {}
    for split in ("fit", "test"):
        _, wake, first = sides[split]
        combined, near = both(split), knn[split]
        report[split] = {
            "auc_efficientword": round(auc(near[wake], near[~wake]), 3),
            "auc_cheap_score": round(auc(first[wake], first[~wake]), 3),
            "auc_both": round(auc(combined[wake], combined[~wake]), 3),
            "kept_cheap_at_2pct_fit_near_misses": round(float((first[wake] >= cut_first).mean()), 3),
            "kept_both_at_2pct_fit_near_misses": round(float((combined[wake] >= cut_both).mean()), 3),
            "near_misses_through_cheap": round(float((first[~wake] >= cut_first).mean()), 3),
            "near_misses_through_both": round(float((combined[~wake] >= cut_both).mean()), 3),
            "wakes": int(wake.sum()), "near_misses": int((~wake).sum())}
    print(json.dumps(report, indent=1))
    (RESULTS / "efficientword_study.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embed", action="store_true")
    args = parser.parse_args()
    return embed() if args.embed else evaluate()


if __name__ == "__main__":
    raise SystemExit(main())
