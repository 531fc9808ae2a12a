"""Fits the wake decision (``assistant.wake.decision``) on the fit side and reports both sides.

    .venv/bin/python bench/wake_fit.py                 # measure, fit, report, write the params
    .venv/bin/python bench/wake_fit.py --report        # report the shipped params on both sides
    .venv/bin/python bench/wake_fit.py --rows N        # also freeze N test rows for the replay test

Reads ``bench/results/wake_evidence_{fit,test}.npz`` (``bench/wake_evidence.py``), measures each
detection's evidence with the pipeline's own ``Measurer`` (the verifier network must exist:
``bench/train_verifier.py``), and fits two logistic models on the fit side only: one for a
quiet room (the verifier, microWakeWord's peak, the first stage's probability, the room's SNR,
the pause after the wake word) and one for a loud room, where the noisy-room model's embeddings
add that model's and openWakeWord's opinions. Between the first score's ``read_above`` (all but
``DROP_UNREAD`` of the fit side's wake words are above it) and ``sure_above`` (above every fit
near-miss), a second logistic model weighs that score with whisper's reading of the window
(``bench/wake_readings.py``). ``wake.sensitivity`` levels are operating points
on the fit side's curve: the thresholds at which the fit side's near-misses give at most
``FALSE_WAKES_PER_HOUR`` of the level per hour of ordinary near-miss-heavy speech (the corpus is
denser: ``REFERENCE_PER_HOUR``). The report gives wake words kept per room level
and false wakes per hour for each level, on the fit side (fitted) and the test side (voices,
synthesizers and sentences never used to fit or choose anything), with leave-one-synthesizer-out
figures for the fit side.

The borderline band below each operating point wakes only when the command reads as a request
(``assistant.wake.request``). The study has no transcripts; it reads the text that was said
after the wake word (the command of a wake recording; the rest of a near-miss sentence), a
best case for whisper, so the band's figures are an upper bound of its gain and cost.
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

from assistant.config import WakeConfig  # noqa: E402
from assistant.vad import paused_after_wake  # noqa: E402
from assistant.wake.builders import make_measurer  # noqa: E402
from assistant.wake.decision import (  # noqa: E402
    PARAMS,
    DecisionParams,
    Model,
    OperatingPoint,
    Outcome,
    decide,
    features,
    read_features,
    score,
)
from assistant.wake.detection import WakeDetection  # noqa: E402
from assistant.wake.embedding import Embedder  # noqa: E402
from assistant.wake.evidence import WakeEvidence  # noqa: E402
from assistant.wake.request import reads_as_request  # noqa: E402
from bench import wake_corpus  # noqa: E402
from bench.robust_bench import RESULTS  # noqa: E402

QUIET_FEATURES = ("verifier", "micro", "first", "noisy_only", "snr", "paused")
LOUD_FEATURES = QUIET_FEATURES + ("noisy_model", "open")
FALSE_WAKES_PER_HOUR = {"low": 1.0, "medium": 2.0, "high": 6.0}
"""What each level may let through per hour of ordinary near-miss-heavy speech (below)."""
REFERENCE_CUTOFF = 0.85
REFERENCE_PER_HOUR = 17.8
"""microWakeWord alone at okay_nabu's own cutoff false-woke 17.8 times per hour on the held-out
evaluation's negatives (issue 20). The corpus here is denser in near misses (three near misses
to one ordinary sentence, back to back): the same reference detector's false wakes per hour on
the fit side, divided by 17.8, say how many ordinary hours one hour here stands for. That one
number about the negative stream is all that is taken from the evaluation."""
READ_FEATURES = ("score", "paused", "heard", "heard_lenient", "then_nothing", "then_stop")
"""Whisper's reading: the phrase (strictly, or with b heard as w) and whether a sentence ends
after it. What the command says is not a feature: its phrasing must not cancel a wake word."""
DROP_UNREAD = 0.005
"""The share of the fit side's wake words whose first score may fall below the point where
whisper is no longer asked (dropped unread)."""
MAX_BAND_SHARE = 0.15
"""At most this share of the fit side's wake words may fall in a level's borderline band."""
L2 = 1e-2
EVIDENCE_CACHE = RESULTS / "wake_evidence_rows_{split}.json"


def measure_rows(split: str) -> list[dict[str, Any]]:
    """Each detection's evidence, measured by the pipeline's own Measurer (cached on disk)."""
    cache = Path(str(EVIDENCE_CACHE).format(split=split))
    source = RESULTS / f"wake_evidence_{split}.npz"
    if cache.is_file() and cache.stat().st_mtime > source.stat().st_mtime:
        return list(json.loads(cache.read_text()))
    data = np.load(source, allow_pickle=True)
    rows = json.loads(str(data["rows"]))
    windows, embeddings = data["windows"], data["embeddings"]
    measurer = make_measurer(WakeConfig())
    embedder = Embedder()
    out = []
    started = time.time()
    for i, row in enumerate(rows):
        window = windows[i].tobytes()
        emb = None
        if row["room_open"]:
            index = row.get("embedding_index")
            emb = embeddings[index].astype(np.float32) if index is not None else None
            if emb is None or len(emb) < 36:
                # The room opened too little before a detection early in its recording for
                # the stream to cover the window: its embeddings from the window itself.
                embedder.reset()
                emb = embedder.windows(window)[:, -96:]
        detection = WakeDetection("okay_nabu" if row["noisy"] is None else "okay_nabu_noisy",
                                  row["t_ms"], row["probability"], row["noisy"])
        paused = paused_after_wake([c == "1" for c in row["loud"]])
        evidence = measurer.measure(window, detection, paused, emb)
        out.append({**{k: v for k, v in row.items() if k not in ("loud",)},
                    "evidence": evidence.to_json(), "after": said_after(row)})
        if i % 500 == 0:
            print(f"{split}: measured {i}/{len(rows)} ({time.time() - started:.0f} s)", flush=True)
    cache.write_text(json.dumps(out))
    return out


def said_after(row: dict[str, Any]) -> str:
    """What was said after the wake word (or what sounded like it): the command, or the rest
    of a near-miss sentence."""
    text = str(row.get("text", ""))
    if row["kind"] == "wake":
        _voice, _, rest = text.partition(" | ")
        words = rest.rsplit(" (", 1)[0].split()
        return " ".join(words[2:])
    sentence = text.rsplit(" (", 1)[0]
    return " ".join(sentence.split()[2:])


def evidence_of(row: dict[str, Any]) -> WakeEvidence:
    return WakeEvidence.from_json(row["evidence"])


def with_readings(rows: list[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    """The rows with whisper's reading of each window (``bench/wake_readings.py``)."""
    from dataclasses import asdict

    from assistant.brain.intents import LocalIntents
    from assistant.config import load_config
    from assistant.wake.reading import read
    from assistant.wake.request import home_words
    from bench.robust_bench import ROOT

    texts = json.loads((RESULTS / f"wake_readings_{split}.json").read_text())
    home = home_words(LocalIntents(load_config(ROOT / "config" / "assistant.yaml")).vocabulary())
    assert len(texts) == len(rows), (split, len(texts), len(rows))
    return [{**row, "reading_text": text,
             "evidence": {**row["evidence"], "reading": asdict(read(text, "okay nabu", home))}}
            for row, text in zip(rows, texts, strict=True)]


# -- fitting -----------------------------------------------------------------------------
def fit_model(rows: list[dict[str, Any]], names: tuple[str, ...], reading: bool = False) -> Model:
    if reading:
        x = np.array([[read_features(evidence_of(r), r["_first"])[n] for n in names] for r in rows])
    else:
        x = np.array([[features(evidence_of(r))[n] for n in names] for r in rows])
    return fit_logistic(x, np.array([1.0 if r["kind"] == "wake" else 0.0 for r in rows]), names)


def fit_logistic(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Model:
    """A logistic model of the columns of x (named ``names``) for labels y, the two classes
    weighted equally."""
    mean, spread = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = np.hstack([(x - mean) / spread, np.ones((len(x), 1))])
    w_class = np.where(y > 0, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    beta = np.zeros(z.shape[1])
    for _ in range(50):  # Newton's method on the weighted, L2-regularised log-likelihood
        p = 1 / (1 + np.exp(-np.clip(z @ beta, -30, 30)))
        grad = z.T @ (w_class * (p - y)) + L2 * len(y) * np.r_[beta[:-1], 0]
        hess = (z * (w_class * p * (1 - p))[:, None]).T @ z + L2 * len(y) * np.diag(np.r_[np.ones(len(names)), 0])
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return Model({n: float(b) for n, b in zip(names, beta[:-1], strict=True)}, float(beta[-1]),
                 {n: (float(m), float(s)) for n, m, s in zip(names, mean, spread, strict=True)})


def ordinary_hours(rows: list[dict[str, Any]], hours: float) -> float:
    """The negatives' hours as hours of ordinary near-miss-heavy speech (REFERENCE_PER_HOUR)."""
    reference = sum(1 for r in rows if r["kind"] == "negative"
                    and evidence_of(r).micro_peak >= REFERENCE_CUTOFF)
    return max(hours, reference / REFERENCE_PER_HOUR)


def fit(rows: list[dict[str, Any]], hours: float) -> DecisionParams:
    loud_rows = [r for r in rows if evidence_of(r).loud]
    quiet = fit_model(rows, QUIET_FEATURES)
    loud = fit_model(loud_rows, LOUD_FEATURES) if len({r["kind"] for r in loud_rows}) == 2 else quiet
    draft = DecisionParams(quiet, loud, {})
    firsts = np.array([score(evidence_of(r), draft) for r in rows])
    wake = np.array([r["kind"] == "wake" for r in rows])
    read_above = float(np.quantile(firsts[wake], DROP_UNREAD))
    sure_above = float(firsts[~wake].max() + 1e-3) if (~wake).any() else 30.0
    band = (firsts >= read_above) & (firsts < sure_above)
    second = fit_model([{**r, "_first": f} for r, f, b in zip(rows, firsts, band, strict=True) if b],
                       READ_FEATURES, reading=True)
    seconds = np.array([second.score(read_features(evidence_of(r), f)) for r, f in zip(rows, firsts, strict=True)])
    levels = operating_points(rows, ordinary_hours(rows, hours), firsts, seconds, read_above,
                              sure_above)
    return DecisionParams(quiet, loud, levels, second)


def operating_points(rows: list[dict[str, Any]], hours: float, firsts: np.ndarray,
                     seconds: np.ndarray, read_above: float, sure_above: float
                     ) -> dict[str, OperatingPoint]:
    """Per level, the (wake_above, borderline_above) pair on the second score that keeps the
    most wake words with at most the level's false wakes per hour, the borderline band holding
    at most MAX_BAND_SHARE of the wake words (a narrow band: the transcript only breaks ties)."""
    wake = np.array([r["kind"] == "wake" for r in rows])
    asks = np.array([reads_as_request(r["after"]) for r in rows])
    sure = firsts >= sure_above
    read = (firsts >= read_above) & ~sure
    candidates = np.unique(np.quantile(seconds[read], np.linspace(0.0, 1.0, 121)))
    out = {}
    for level, rate in FALSE_WAKES_PER_HOUR.items():
        best: tuple[float, float, float] | None = None
        for hi in candidates:
            above = read & (seconds >= hi)
            for lo in candidates[candidates <= hi]:
                band = read & (seconds >= lo) & ~above
                if band[wake].mean() > MAX_BAND_SHARE:
                    continue
                woken = sure | above | (band & asks)
                if int(np.sum(woken & ~wake)) > rate * hours:
                    continue
                kept = float(np.mean(woken[wake]))
                if best is None or kept > best[0] or (kept == best[0] and hi - lo < best[1] - best[2]):
                    best = (kept, float(hi), float(lo))
        assert best is not None, level
        out[level] = OperatingPoint(best[1], best[2], sure_above, read_above)
    return out


# -- reporting ---------------------------------------------------------------------------
def woke(row: dict[str, Any], params: DecisionParams, level: str, band: bool = True) -> bool:
    verdict = decide(evidence_of(row), params, level)
    if verdict.outcome is Outcome.BORDERLINE:
        return band and reads_as_request(row["after"])
    return verdict.outcome is Outcome.WAKE


def report(rows: list[dict[str, Any]], misses: dict[str, int], hours: float,
           params: DecisionParams, band: bool = True) -> dict[str, Any]:
    """Per level: the share of wake recordings kept per room (first-stage misses count as
    lost), and the false wakes in the negatives."""
    out: dict[str, Any] = {}
    ordinary = ordinary_hours(rows, hours)
    for level in params.levels:
        kept = {}
        for room in ("clean", "20", "10"):
            wakes = [r for r in rows if r["kind"] == "wake" and r["level"] == room]
            total = len(wakes) + misses.get(room, 0)
            kept[room] = round(sum(woke(r, params, level, band) for r in wakes) / max(total, 1), 4)
        false = [r["text"] for r in rows if r["kind"] == "negative" and woke(r, params, level, band)]
        out[level] = {"kept": kept, "false_wakes": len(false),
                      "per_hour": round(len(false) / hours, 2),
                      "per_ordinary_hour": round(len(false) / ordinary, 2),
                      "examples": false[:6]}
    return out


def load(split: str) -> tuple[list[dict[str, Any]], float, dict[str, int]]:
    data = np.load(RESULTS / f"wake_evidence_{split}.npz", allow_pickle=True)
    misses = json.loads(str(data["misses"]))
    per_room = {room: sum(1 for m in misses if m["level"] == room) for room in ("clean", "20", "10")}
    return with_readings(measure_rows(split), split), float(data["negatives_s"]) / 3600, per_room


def by_family(rows: list[dict[str, Any]], params: DecisionParams, level: str) -> dict[str, Any]:
    from bench.train_verifier import engine_of

    out = {}
    for family in wake_corpus.FAMILIES:
        mine = [r for r in rows if engine_of(r) == family]
        wakes = [r for r in mine if r["kind"] == "wake"]
        if wakes:
            out[family] = round(sum(woke(r, params, level) for r in wakes) / len(wakes), 4)
    return out


def leave_one_out(rows: list[dict[str, Any]], hours: float) -> dict[str, Any]:
    """The fit side again, each synthesizer's wake words scored by parameters fitted without
    them (its near-misses too)."""
    from bench.train_verifier import engine_of

    out = {}
    for family in wake_corpus.FAMILIES:
        train = [r for r in rows if engine_of(r) != family]
        held = [r for r in rows if engine_of(r) == family]
        params = fit(train, hours * len(train) / max(len(rows), 1))
        wakes = [r for r in held if r["kind"] == "wake"]
        if not wakes:
            continue
        out[family] = {lv: round(sum(woke(r, params, lv) for r in wakes) / len(wakes), 4)
                       for lv in params.levels}
    return out


def freeze(rows: list[dict[str, Any]], n: int, params: DecisionParams) -> None:
    """n of the test side's rows, with what the shipped decision makes of them, for
    tests/test_wake_check.py's replay."""
    from assistant.wake.decision import digest

    rng = np.random.default_rng(0)
    pick = sorted(rng.choice(len(rows), size=min(n, len(rows)), replace=False))
    keep = [{k: rows[i][k] for k in ("kind", "level", "evidence")} for i in pick]
    outcomes = {}
    for level in params.levels:
        got = {"wake": 0, "borderline": 0, "drop": 0}
        kept = false = 0
        for row in keep:
            verdict = decide(evidence_of(row), params, level)
            got[verdict.outcome.value] += 1
            if verdict.outcome is Outcome.WAKE:
                kept += row["kind"] == "wake"
                false += row["kind"] == "negative"
        outcomes[level] = {"outcomes": got, "kept": kept, "false": false}
    frozen = Path(__file__).resolve().parent.parent / "tests" / "data" / "wake_evidence_rows.json"
    frozen.parent.mkdir(parents=True, exist_ok=True)
    frozen.write_text(json.dumps({"params": digest(params), "outcomes": outcomes, "rows": keep}) + "\n")
    print(f"froze {len(keep)} test rows -> {frozen}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="only report the shipped params")
    parser.add_argument("--rows", type=int, default=0, help="freeze this many test rows")
    parser.add_argument("--out", type=Path, default=PARAMS)
    args = parser.parse_args()
    fit_rows, fit_hours, fit_misses = load("fit")
    test_rows, test_hours, test_misses = load("test")
    if args.report:
        params = DecisionParams.from_json(json.loads(args.out.read_text()))
    else:
        params = fit(fit_rows, fit_hours)
    fitted = report(fit_rows, fit_misses, fit_hours, params)
    fitted_no_band = report(fit_rows, fit_misses, fit_hours, params, band=False)
    held = report(test_rows, test_misses, test_hours, params)
    held_no_band = report(test_rows, test_misses, test_hours, params, band=False)
    record = {
        "fitted_on": f"bench/wake_evidence.py --split fit: {sum(r['kind'] == 'wake' for r in fit_rows)} "
                     f"wake detections, {sum(r['kind'] == 'negative' for r in fit_rows)} near-miss "
                     f"detections in {fit_hours * 60:.0f} min of negatives",
        "false_wakes_per_hour_allowed": FALSE_WAKES_PER_HOUR,
        "ordinary_hours_per_hour": {"fit": round(ordinary_hours(fit_rows, fit_hours) / fit_hours, 2),
                                    "test": round(ordinary_hours(test_rows, test_hours) / test_hours, 2)},
        "fit": fitted, "fit_without_band": fitted_no_band,
        "test": held, "test_without_band": held_no_band,
        "test_by_synthesizer_medium": by_family(test_rows, params, "medium"),
        "note": "kept = share of wake recordings (first-stage misses included) the decision "
                "wakes on; the test side's voices, synthesizers and sentences were never used "
                "to fit or choose anything",
    }
    if not args.report:
        record["fit_leave_one_synthesizer_out"] = leave_one_out(fit_rows, fit_hours)
        params = DecisionParams(params.quiet, params.loud, params.levels, params.read, record)
        args.out.write_text(json.dumps(params.to_json(), indent=1) + "\n")
        print(f"-> {args.out}")
    print(json.dumps(record, indent=1))
    if args.rows:
        freeze(test_rows, args.rows, DecisionParams.from_json(json.loads(args.out.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
