"""The guard's fit and the study's report (bench/grammar_study.py collects the rows).

Fit: every combination of the three thresholds of ``assistant.grammar.guard.decide`` over the
quantiles of the fitting rows' evidence; kept are those with no wrong result on the fitting
voices, and of those the one that accepts the most commands correctly, ties going to the
strictest. The report scores the fitted parameters with ``decide`` itself, row by row.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.brain.numbers import normalize_transcript
from assistant.grammar.guard import Evidence, GuardParams, decide

GRID = 48
"""Quantiles tried per threshold."""
REPLAY_ROWS = 240
FAMILIES = {
    "llr": (("worst_word_llr", "min_worst_word_llr"), ("rest_llr", "min_rest_llr"),
            ("unexplained", "max_unexplained")),
    "score": (("worst_word_score", "min_worst_word_score"), ("rest_score", "min_rest_score"),
              ("inner_filler", "max_inner_filler")),
}
"""Two ways to decide: against the phone loop's fit (needs it running), or against the best
sound of each frame alone (the grammar decoder's own scores; half the CPU)."""


def _wrong(row: dict[str, Any]) -> bool:
    return row["heard_meaning"] != row["truth"]


TIMER_CHANGES = {"HassStartTimer", "HassCancelTimer", "HassCancelAllTimers", "HassIncreaseTimer",
                 "HassDecreaseTimer", "HassPauseTimer", "HassUnpauseTimer"}


def _acts(meant: Any) -> bool:
    """Whether a plan changes something: a device, or a timer."""
    if not meant or meant[0] == "unknown":
        return False
    return meant[0] in TIMER_CHANGES or any(a[1] != "query" for a in meant[1])


def fit(rows: Sequence[dict[str, Any]], family: str = "llr") -> GuardParams:
    """The thresholds of one family with 0 wrong on ``rows``, made as strict as each fit that
    leaves one voice out needed to be: a threshold fitted exactly at the last wrong result of
    some voices lets the next voice's through (it did on the held-out voices), and how much
    stricter to be is what the voices themselves disagree by."""
    thresholds, accepted = _grid_fit(rows, family)
    folds = {}
    for voice in sorted({r["voice"] for r in rows}):
        folds[voice], _n = _grid_fit([r for r in rows if r["voice"] != voice], family)
    strict = dict(thresholds)
    for fold in folds.values():
        for name, value in fold.items():
            strict[name] = min(strict[name], value) if name.startswith("max_") else max(strict[name], value)
    left_out = {v: score([r for r in rows if r["voice"] == v], GuardParams(**t))["wrong"]
                for v, t in folds.items()}
    kept = score(rows, GuardParams(**strict))
    return GuardParams(**strict, fitted_on={
        "family": family, "voices": sorted(folds), "rows": len(rows),
        "commands": sum(r["kind"] == "command" for r in rows),
        "out_of_grammar": sum(r["kind"] != "command" for r in rows),
        "accepted_correctly": kept["accepted_correct"], "wrong": kept["wrong"],
        "accepted_at_the_boundary": accepted, "boundary": thresholds,
        "wrong_on_each_left_out_voice": left_out,
        "date": datetime.date.today().isoformat(),
        "by": "bench/grammar_study.py: grid over quantiles (0 wrong, then most accepted, then "
              "the strictest), each threshold then the strictest of that fit and of every fit "
              "leaving one voice out"})


def _grid_fit(rows: Sequence[dict[str, Any]], family: str) -> tuple[dict[str, float], int]:
    """The boundary: thresholds with 0 wrong on ``rows`` accepting the most commands."""
    (word_f, word_p), (name_f, name_p), (other_f, other_p) = FAMILIES[family]
    evidence = [Evidence.from_row(r["evidence"]) for r in rows]
    valid = np.array([e.complete and e.words > 0 and e.garbage == 0 for e in evidence])
    word, name, other = (np.array([getattr(e, f) for e in evidence], dtype=float)
                         for f in (word_f, name_f, other_f))
    wrong = np.array([_wrong(r) for r in rows])
    right = np.array([r["kind"] == "command" and not _wrong(r) for r in rows])
    grid = {f: np.unique(np.quantile(v[valid], np.linspace(0, 1, GRID))) if valid.any() else np.zeros(1)
            for f, v in ((word_f, word), (name_f, name), (other_f, other))}
    best: tuple[int, float, float, float] = (-1, 0.0, 0.0, 0.0)
    for tx in grid[other_f]:
        base = valid & (other <= tx)
        for tn in grid[name_f]:
            cut = base & (name >= tn)
            # Every word threshold at once: accepted[i, j] = cut[j] and word[j] >= tw[i].
            accepted = cut[None, :] & (word[None, :] >= grid[word_f][:, None])
            n_wrong = (accepted & wrong[None, :]).sum(axis=1)
            n_right = (accepted & right[None, :]).sum(axis=1)
            for i in np.flatnonzero(n_wrong == 0):
                # Most accepted; ties to the strictest thresholds.
                candidate = (int(n_right[i]), float(grid[word_f][i]), float(tn), float(-tx))
                best = max(best, candidate)
    return ({word_p: round(best[1], 4), name_p: round(best[2], 4), other_p: round(-best[3], 4)},
            best[0])


def fit_best(rows: Sequence[dict[str, Any]]) -> tuple[GuardParams, dict[str, GuardParams]]:
    """Both families fitted on ``rows``, and the decision that needs both to accept: on the
    fitting voices, each fit that left a voice out let that voice's near-misses through (the
    grammar's own scores on "bathroom" heard as "bedroom", the phone loop's on numbers and
    lock/unlock), but seldom the same ones; requiring both left the fewest through."""
    fitted = {family: fit(rows, family) for family in ("score", "llr")}
    merged: dict[str, Any] = {}
    for params in fitted.values():
        merged.update({k: v for k, v in dataclasses.asdict(params).items()
                       if v is not None and k not in ("fitted_on", "held_out")})
    kept = score(rows, GuardParams(**merged))
    left_out = {}
    for voice in sorted({r["voice"] for r in rows}):
        fold: dict[str, float] = {}
        for family in fitted:
            fold.update(_grid_fit([r for r in rows if r["voice"] != voice], family)[0])
        left_out[voice] = score([r for r in rows if r["voice"] == voice], GuardParams(**fold))["wrong"]
    both = GuardParams(**merged, fitted_on={
        "family": "score+llr", "voices": fitted["llr"].fitted_on["voices"], "rows": len(rows),
        "commands": kept["commands"], "out_of_grammar": kept["out_of_grammar"],
        "accepted_correctly": kept["accepted_correct"], "wrong": kept["wrong"],
        "wrong_on_each_left_out_voice": left_out,
        "families": {f: {k: v for k, v in p.fitted_on.items() if k not in ("voices",)}
                     for f, p in fitted.items()},
        "date": datetime.date.today().isoformat(),
        "by": "bench/grammar_study.py: each family's thresholds fitted (grid over quantiles: 0 "
              "wrong, then most accepted, then the strictest; then the strictest of that fit and "
              "of every fit leaving one voice out), both families required"})
    return both, fitted


def score(rows: Sequence[dict[str, Any]], params: GuardParams) -> dict[str, Any]:
    """The fast path's figures on rows, with ``decide`` itself."""
    commands = [r for r in rows if r["kind"] == "command"]
    others = [r for r in rows if r["kind"] != "command"]
    verdicts = {id(r): decide(Evidence.from_row(r["evidence"]), params) for r in rows}
    accepted = [r for r in commands if verdicts[id(r)].accepted]
    wrong = [r for r in rows if verdicts[id(r)].accepted and _wrong(r)]
    return {
        "commands": len(commands),
        "accepted": len(accepted),
        "accepted_correct": sum(not _wrong(r) for r in accepted),
        "accepted_wer": wer([r["text"] for r in accepted], [r["heard"] for r in accepted]),
        "out_of_grammar": len(others),
        "out_of_grammar_accepted": sum(verdicts[id(r)].accepted for r in others),
        "wrong": len(wrong),
        "wrong_actions": sum(_acts(r["heard_meaning"]) for r in wrong),
        "wrong_rows": [f"{r['voice']} {r['condition']}: {r['text']!r} -> {r['heard']!r}" for r in wrong],
        "grammar_correct_unguarded": sum(not _wrong(r) for r in commands),
    }


def wer(refs: Sequence[str], hyps: Sequence[str]) -> float | None:
    errors = words = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        a, b = normalize_transcript(ref).split(), normalize_transcript(hyp).split()
        errors += _distance(a, b)
        words += len(a)
    return errors / words if words else None


def _distance(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "0/0"


def _med_p95(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{np.median(values):.3f} / {np.percentile(values, 95):.3f}"


def _thresholds(params: GuardParams) -> str:
    names = ("min_rest_llr", "min_worst_word_llr", "min_worst_name_llr", "max_unexplained",
             "min_rest_score", "min_worst_word_score", "min_worst_name_score", "max_inner_filler")
    return ", ".join(f"{n} {getattr(params, n)}" for n in names if getattr(params, n) is not None)


def report(rows: Sequence[dict[str, Any]], params: GuardParams, grammar: Any,
           others: dict[str, GuardParams] | None = None) -> str:
    lines = ["# Grammar fast path: guard calibration and accuracy", "",
             f"Grammar: {grammar.templates_kept} templates of {len(grammar.intents)} intents, "
             f"{grammar.graph.n_states} states, {len(grammar.words)} words.", "",
             f"Params ({params.fitted_on.get('family')}): {_thresholds(params)} (fitted on "
             f"{params.fitted_on.get('rows')} rows of {len(params.fitted_on.get('voices', []))} "
             "voices).", ""]
    held = [r for r in rows if r["held_out"]]
    for family, other in (others or {}).items():
        s = score(held, other)
        lines.append(f"- family {family}: {_thresholds(other)}; fit accepted "
                     f"{other.fitted_on['accepted_correctly']} (at the boundary "
                     f"{other.fitted_on['accepted_at_the_boundary']}, left-out voices' wrong "
                     f"{sum(other.fitted_on['wrong_on_each_left_out_voice'].values())}); "
                     f"held-out commands accepted "
                     f"{_pct(s['accepted'], s['commands'])}, wrong {s['wrong']}, wrong actions "
                     f"{s['wrong_actions']}")
    lines.append("")
    for title, part in (("Fitting voices", [r for r in rows if not r["held_out"]]),
                        ("Held-out voices", [r for r in rows if r["held_out"]])):
        s = score(part, params)
        lines += [f"## {title} ({len({r['voice'] for r in part})} voices, {len(part)} utterances)", "",
                  f"- commands accepted by the fast path: {_pct(s['accepted'], s['commands'])}, "
                  f"of those correct {_pct(s['accepted_correct'], s['accepted'])}, "
                  f"WER {_fmt(s['accepted_wer'])}",
                  f"- grammar alone (no guard) correct: {_pct(s['grammar_correct_unguarded'], s['commands'])}",
                  f"- out-of-grammar accepted: {_pct(s['out_of_grammar_accepted'], s['out_of_grammar'])}; "
                  f"wrong results {s['wrong']}, wrong actions {s['wrong_actions']}"]
        lines += [f"  - wrong: {w}" for w in s["wrong_rows"][:12]]
        by_kind = Counter(r["kind"] for r in part)
        for kind in sorted(by_kind):
            sub = score([r for r in part if r["kind"] == kind], params)
            accepted = sub["accepted"] if kind == "command" else sub["out_of_grammar_accepted"]
            lines.append(f"  - {kind}: {by_kind[kind]} utterances, accepted {accepted}, wrong {sub['wrong']}")
        for condition in sorted({r["condition"] for r in part}):
            sub = score([r for r in part if r["condition"] == condition], params)
            lines.append(f"  - {condition}: commands accepted {_pct(sub['accepted'], sub['commands'])}, "
                         f"wrong {sub['wrong']}")
        for voice in sorted({r["voice"] for r in part}):
            mine = [r for r in part if r["voice"] == voice]
            sub = score(mine, params)
            whisper = [r for r in mine if r["kind"] == "command" and "whisper" in r]
            told = sum(r["whisper"]["meaning"] == r["truth"] for r in whisper)
            lines.append(f"  - {voice}: commands accepted {_pct(sub['accepted'], sub['commands'])}, "
                         f"wrong {sub['wrong']}" + (f"; whisper commands correct "
                                                     f"{_pct(told, len(whisper))}" if whisper else ""))
        lines += _open_vocab(part, params), ""
        lines += [_costs(part), ""]
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _open_vocab(part: Sequence[dict[str, Any]], params: GuardParams) -> str:
    rows = [r for r in part if "whisper" in r]
    if not rows:
        return "- (no open-vocabulary rows: run with --open-vocab)"
    commands = [r for r in rows if r["kind"] == "command"]
    out = []
    for name in ("whisper", "moonshine"):
        correct = sum(r[name]["meaning"] == r["truth"] for r in commands)
        wrong_oog = [r for r in rows if r["kind"] != "command" and r[name]["meaning"] != r["truth"]
                     and _acts(r[name]["meaning"])]
        wrong_cmd = [r for r in commands if r[name]["meaning"] != r["truth"] and _acts(r[name]["meaning"])]
        spoken = [r for r in rows if r["kind"] in ("command", "question")]
        cpu = [r[name]["cpu_s"] for r in rows]
        spoken_wer = wer([r["text"] for r in spoken], [r[name]["text"] for r in spoken])
        out.append(f"- {name}: commands correct {_pct(correct, len(commands))}, "
                   f"WER commands+questions {_fmt(spoken_wer)}, "
                   f"wrong actions on commands {len(wrong_cmd)}, on out-of-grammar {len(wrong_oog)}, "
                   f"CPU-s per utterance median/p95 {_med_p95(cpu)}")
        # The fast path in front of this engine: accepted results act, the rest go to it.
        combined = 0
        for r in commands:
            accepted = decide(Evidence.from_row(r["evidence"]), params).accepted
            combined += (r["heard_meaning"] if accepted else r[name]["meaning"]) == r["truth"]
        out.append(f"  - fast path, then {name} for the rest: commands correct {_pct(combined, len(commands))}")
    return "\n".join(out)


def _costs(part: Sequence[dict[str, Any]]) -> str:
    cpu = [r["cpu_s"] for r in part]
    alone = [r["cpu_s"] - r.get("cpu_loop_s", 0.0) for r in part]
    per_s = [r["cpu_s"] / (r["audio_ms"] / 1000) for r in part if r["audio_ms"]]
    offsets = [r.get("cmn_offset", 0.0) for r in part]
    finish = [r["finish_ms"] for r in part if not r["redecoded"]]
    again = sum(r["redecoded"] for r in part)
    return (f"- grammar recognizer CPU-s per utterance median/p95 {_med_p95(cpu)} (without the "
            f"phone loop {_med_p95(alone)}); per audio second {_med_p95(per_s)}; finish() wall ms "
            f"median/p95 {_med_p95(finish)} (streamed); decoded again after the end (cepstral "
            f"mean off) {_pct(again, len(part))}; cepstral offset median/p95 {_med_p95(offsets)}")


def write_outputs(rows: Sequence[dict[str, Any]], params: GuardParams, params_path: Path,
                  replay_path: Path) -> None:
    held = [r for r in rows if r["held_out"]]
    s = score(held, params)
    held_out = {k: v for k, v in s.items() if k != "wrong_rows"}
    held_out["voices"] = sorted({r["voice"] for r in held})
    thresholds = {k: v for k, v in dataclasses.asdict(params).items()
                  if k not in ("fitted_on", "held_out") and v is not None}
    data = {"pocketsphinx": {**thresholds, "fitted_on": params.fitted_on, "held_out": held_out}}
    params_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    rng = np.random.default_rng(0)
    picked = [held[i] for i in sorted(rng.choice(len(held), min(REPLAY_ROWS, len(held)), replace=False))]
    replay = [{"text": r["text"], "kind": r["kind"], "heard": r["heard"], "wrong_if_accepted": _wrong(r),
               "evidence": r["evidence"],
               "accepted": decide(Evidence.from_row(r["evidence"]), params).accepted} for r in picked]
    replay_path.parent.mkdir(parents=True, exist_ok=True)
    replay_path.write_text(json.dumps(replay, indent=1) + "\n", encoding="utf-8")
