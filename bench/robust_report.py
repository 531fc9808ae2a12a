"""The robustness benchmark's markdown report (see bench/robust_bench.py)."""

from __future__ import annotations

import os
import platform
import statistics
from collections import Counter
from typing import Any

TARGETS = {"clean": (95, 99), "20": (85, 95), "10": (60, 80)}
"""Per level: end-to-end success and wake recall, in %, from the issue."""
MAX_FALSE_WAKES_PER_HOUR = 2.0

Outcome = dict[str, Any]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[index]


def _pct(count: int, total: int) -> str:
    return f"{100 * count / total:.0f} %" if total else "–"


def _median_p95(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):.0f} / {percentile(values, 0.95):.0f}"


def _level_name(level: str) -> str:
    return level if level == "clean" else f"{level} dB"


def _target(level: str, index: int) -> str:
    target = TARGETS.get(level)
    return f" (≥{target[index]})" if target else ""


def _row(name: str, rows: list[Outcome], timed: list[Outcome], level: str | None) -> str:
    n = len(rows)
    count = Counter(r["outcome"] for r in rows)
    wake = sum(r["wake"] for r in rows)
    eos = [r["eos_delay_ms"] for r in rows if "eos_delay_ms" in r]
    action = [r["action_ms"] for r in timed if "action_ms" in r]
    audio = [r["first_audio_ms"] for r in timed if "first_audio_ms" in r]
    wrong = sum(bool(r["wrong"]) for r in rows)
    opposite = sum(bool(r["opposite"]) for r in rows)
    timeouts = sum(r["timeout"] for r in rows)
    success = _pct(count["ok"], n) + (_target(level, 0) if level else "")
    recall = _pct(wake, n) + (_target(level, 1) if level else "")
    after_yes = sum(bool(r.get("after_yes")) for r in rows)
    return (f"| {name} | {n} | {recall} | {success} | {after_yes} | {count['asked']} | {wrong} | "
            f"{opposite} | "
            f"{timeouts} | {_median_p95(eos)} | {_median_p95(action)} | {_median_p95(audio)} |")


HEADER = [
    "| level | recordings | wake recall | e2e success | of which after a yes | asked, not done "
    "| wrong | opposite | time-outs "
    "| end of speech decided, ms after command (median / p95) | → action, ms (median / p95) "
    "| → first audio, ms (median / p95) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def report(outcomes: list[Outcome], negatives: list[dict[str, Any]], levels: list[str],
           noises: list[str], command: str, elapsed_s: float) -> str:
    unknown = [r for r in outcomes if r.get("unknown")]
    fast = [r for r in outcomes if not r["realtime"] and not r.get("unknown")]
    paced = [r for r in outcomes if r["realtime"] and not r.get("unknown")]
    lines = ["# Robustness: wake word and commands in noise", "",
             f"Machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}. Command: `{command}`. "
             f"Run time {elapsed_s / 60:.1f} min.", "",
             "Per level (targets from the issue in brackets; latencies only from the runs paced in "
             f"real time, {len(paced)} recordings; end of speech from all):", ""]
    lines += HEADER
    for level in levels:
        rows = [r for r in fast if r["level"] == level]
        lines.append(_row(_level_name(level), rows, [r for r in paced if r["level"] == level],
                          level))
    lines += ["", "Per background:", ""] + HEADER
    for level in levels:
        for noise in (["none"] if level == "clean" else noises):
            rows = [r for r in fast if r["level"] == level and r["noise"] == noise]
            if rows:
                timed = [r for r in paced if r["level"] == level and r["noise"] == noise]
                lines.append(_row(f"{_level_name(level)} {noise}", rows, timed, None))
    lines += ["", *by_engine(fast, levels), "", *unknown_summary(unknown, levels), "",
              *negatives_summary(negatives), "", *problems(fast + paced + unknown)]
    return "\n".join(lines)


def by_engine(rows: list[Outcome], levels: list[str]) -> list[str]:
    """Wake recall and success per speech engine: are the robotic espeak voices the hard ones?"""
    lines = ["By voice engine (wake recall / e2e success):", ""]
    for engine in ("piper", "espeak"):
        parts = []
        for level in levels:
            mine = [r for r in rows if r["level"] == level and r["voice"].startswith(engine)]
            parts.append(f"{_level_name(level)} {_pct(sum(r['wake'] for r in mine), len(mine))} / "
                         f"{_pct(sum(r['success'] for r in mine), len(mine))} (n={len(mine)})")
        lines.append(f"- {engine}: " + "; ".join(parts))
    rescored = [r for r in rows if r.get("doubt") == "rescored"]
    if rescored:
        lines.append(f"- read from the audio by the recheck (the free transcript was not a "
                     f"command): {len(rescored)}, of which {sum(r['success'] for r in rescored)} "
                     f"succeeded, {sum(r['asked'] for r in rescored)} asked first and "
                     f"{sum(bool(r['wrong']) for r in rescored)} went wrong")
    doubted = [r for r in rows if r.get("doubt") == "opposite"]
    if doubted:
        lines.append(f"- asked because the opposite command sounded nearly as likely: "
                     f"{len(doubted)} (" + ", ".join(
                         f"said {r['text']!r}, heard {r['heard']!r}" for r in doubted[:5]) + ")")
    missed = Counter(r["voice"] for r in rows if r["level"] == "clean" and not r["wake"])
    if missed:
        lines.append("- wake word missed in quiet: " + ", ".join(
            f"{voice}{f' ×{n}' if n > 1 else ''}" for voice, n in missed.most_common()))
    return lines


def unknown_summary(rows: list[Outcome], levels: list[str]) -> list[str]:
    """Commands about devices nobody configured: "I don't know", never a guess."""
    if not rows:
        return ["Commands about unknown devices: not run."]
    parts = []
    for level in levels:
        mine = [r for r in rows if r["level"] == level]
        woke = [r for r in mine if r["wake"]]
        parts.append(f"{_level_name(level)}: {len(mine)} recordings, woke {len(woke)}, "
                     f"said \"I don't know\" {sum(r['success'] for r in mine)}, "
                     f"asked {sum(r['asked'] for r in mine)}, "
                     f"device changes {sum(bool(r['wrong']) for r in mine)}")
    return [f"Commands about devices nobody configured (must change nothing; "
            f"{', '.join(sorted({r['text'] for r in rows}))}): " + "; ".join(parts) + "."]


def negatives_summary(negatives: list[dict[str, Any]]) -> list[str]:
    audio_s = sum(n["audio_s"] for n in negatives)
    if not audio_s:
        return ["Negatives: not run."]
    wakes = [w for n in negatives for w in n["wakes"]]
    actions = [a for n in negatives for a in n["actions"]]
    speech_s = sum(n["speech_s"] for n in negatives)
    in_speech = [w for w in wakes if not w["during"].endswith(("music", "noise", "tv"))]
    per_hour = len(wakes) / (audio_s / 3600)
    lines = [f"Negatives: {audio_s / 60:.1f} min without the wake word ({speech_s / 60:.1f} min of "
             f"near-miss-heavy speech, the rest music, noise and TV): **{len(wakes)} false wakes, "
             f"{per_hour:.1f} per hour** (target ≤ {MAX_FALSE_WAKES_PER_HOUR:g}); "
             f"{len(in_speech)} in the speech alone, "
             f"{len(in_speech) / (speech_s / 3600) if speech_s else 0:.1f} per hour of speech; "
             f"{len(actions)} device actions (must be 0); "
             f"{sum(n.get('rejected_by_check', 0) for n in negatives)} first-stage wakes "
             f"rejected by the second stage. What the ear and eye get: "
             f"{sum(n.get('chimes', 0) for n in negatives)} wake chimes (the LED lit in silence "
             f"{sum(n.get('silent_wakes', 0) for n in negatives)} more times, for the second "
             f"stage to decide)."]
    for during, count in Counter(w["during"] for w in wakes).most_common(8):
        lines.append(f"- woke {count}× during: {during}")
    for action in actions:
        lines.append(f"- ACTION during negatives: {action['device']}.{action['action']}")
    return lines


def problems(outcomes: list[Outcome]) -> list[str]:
    """Every wrong action, and the commonest failures, for diagnosis (details in robust.json)."""
    lines = []
    for r in outcomes:
        for a in r["wrong"]:
            kind = "OPPOSITE" if a in r["opposite"] else "WRONG"
            lines.append(f"- {kind}: {r['level']} {r['noise']} {r['voice']} said {r['text']!r}, "
                         f"heard {r['heard']!r} -> {a['device']}.{a['action']}"
                         f"{'' if a['value'] is None else '=' + format(a['value'], 'g')} "
                         f"({r['handled_by']})")
    failed = Counter((r["outcome"], r["text"], r["heard"]) for r in outcomes
                     if r["outcome"] in ("failed", "timeout", "asked"))
    for (outcome, text, heard), count in failed.most_common(12):
        lines.append(f"- {outcome} {count}×: said {text!r}, heard {heard!r}")
    return (["Wrong actions and frequent failures:", "", *lines] if lines
            else ["No wrong actions."])
