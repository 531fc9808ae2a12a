"""The grammar fast path in the real pipeline, against whisper alone, on voices the guard was
never fitted on: what it settles, what it gets wrong, and what a command costs in CPU.

    .venv/bin/python bench/fast_path_bench.py [--voices 8] [--commands 12] [--levels clean,15]

Voices are bench/wake_corpus.py's test side (espeak-ng's en-029 and en-gb-x-gbcwmd, flite rms,
festival ked_diphone, Kokoro jm_kumo, each coloured): the guard (assistant/grammar/
guard_params.json) was fitted on other espeak-ng voices and piper only, so flite, festival and
Kokoro are synthesizers it has never heard. Each recording (1 s quiet, a button press, the
command, 2 s quiet) runs through `assistant run`'s pipeline twice, `stt.fast_path: off` and
`grammar`, the same audio both times; 15 dB is babble under the speech. Material: the robust
bench's commands (in the grammar), and speech that must change nothing (commands for devices
the home lacks, questions, chatter). CPU is the process's user+system time per recording
(from the first chunk to the last event, start-up not counted: endpointing, noise suppression,
the grammar, whisper, the reply's synthesis), the difference between the two runs being what the fast path saves.
Writes bench/results/fast_path.json and .md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import load_config  # noqa: E402
from bench import corpus, wake_corpus  # noqa: E402
from bench.grammar_cases import QUESTIONS  # noqa: E402
from bench.rig import NeverWake, press_at, run_wav, shared_models  # noqa: E402
from bench.robust_cases import CHATTER, COMMANDS, UNKNOWN_COMMANDS, Expect  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"



def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def material(commands: int) -> list[tuple[str, Expect | None]]:
    """(text, expectation); None: out of the grammar, must change nothing."""
    quiet: list[tuple[str, Expect | None]] = [(t, None) for t, _ in UNKNOWN_COMMANDS[:3]]
    quiet += [(t, None) for t in QUESTIONS[:3]] + [(t, None) for t in CHATTER[:2]]
    return [(t, e) for t, e in COMMANDS[:commands]] + quiet


def expected(action: dict[str, Any], exp: Expect) -> bool:
    return (action["device"] == exp.device and action["action"] == exp.action
            and (exp.value is None or action.get("value") == exp.value))


def one(config: Any, pcm: bytes, tmp: Path) -> tuple[list[Any], float]:
    wav = tmp / "in.wav"
    corpus.write_wav(wav, pcm)

    spent: list[float] = []

    def prepare(voice: Any) -> None:
        voice.pipeline.gate.detector = NeverWake()  # only the button starts a command
        voice.source = press_at(voice.source, 500.0, voice.pipeline.request_listen)
        spent.append(cpu_s())  # building the appliance is start-up, not the command's cost

    def inspect(_home: Any) -> None:
        spent.append(cpu_s())

    events = run_wav(config, wav, tmp / "out.wav", prepare=prepare, inspect=inspect)
    return events, spent[1] - spent[0]


def judge(events: list[Any], exp: Expect | None) -> dict[str, Any]:
    heard = next((e.data for e in events if e.type.value == "transcript"), {})
    replies = [e.data for e in events if e.type.value == "reply"]
    changed = [a for r in replies for a in r["actions"] if a["ok"]]
    asked = any(r["reply"].rstrip().endswith("?") for r in replies[:1]) and not changed
    if exp is None:
        ok, wrong = not changed, bool(changed)
    elif exp.action is not None:
        ok = any(expected(a, exp) for a in changed)
        wrong = any(not expected(a, exp) for a in changed)
    else:
        ok = any(r["intent"] == exp.intent for r in replies[:1])
        wrong = bool(changed)
    grammar = heard.get("grammar") or {}
    return {"ok": ok, "wrong": wrong, "asked": asked and not ok, "stt": heard.get("stt"), "text": heard.get("text"),
            "grammar_text": grammar.get("text"), "grammar_cpu_ms": grammar.get("cpu_ms")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", type=int, default=8)
    parser.add_argument("--commands", type=int, default=12)
    parser.add_argument("--levels", default="clean,15")
    args = parser.parse_args()
    base = load_config(ROOT / "config" / "assistant.yaml")
    configs = {mode: dataclasses.replace(
        base, stt=dataclasses.replace(base.stt, fast_path=mode),
        local_llm=dataclasses.replace(base.local_llm, enabled=False)) for mode in ("off", "grammar")}
    rows: list[dict[str, Any]] = []
    with shared_models(), tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for mode, config in configs.items():  # warm every model once, uncounted
            configs[mode] = dataclasses.replace(
                config, state=dataclasses.replace(config.state, path=str(tmp / "state.json")))
            one(configs[mode], corpus.silence(1.0) + corpus.speak("Turn on the lamp.")
                + corpus.silence(2.0), tmp)
        for v, voice in enumerate(wake_corpus.voices("test", args.voices)):
            for i, (text, exp) in enumerate(material(args.commands)):
                speech = corpus.speak(text[0].upper() + text[1:] + ".", voice)
                for level in args.levels.split(","):
                    if level != "clean":
                        speech_at = corpus.mix(speech, corpus.babble(
                            len(speech) / 32000 + 1, seed=v * 100 + i), float(level))
                    else:
                        speech_at = speech
                    pcm = corpus.silence(1.0) + speech_at + corpus.silence(2.0)
                    for mode, config in configs.items():
                        events, cost = one(config, pcm, tmp)
                        row = {"voice": repr(voice), "family": wake_corpus.family(voice),
                               "said": text, "in_grammar": exp is not None, "level": level,
                               "mode": mode, "cpu_s": round(cost, 3), **judge(events, exp)}
                        rows.append(row)
            print(f"{v + 1}/{args.voices} voices", file=sys.stderr, flush=True)
    summary = summarize(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fast_path.json").write_text(json.dumps({"summary": summary, "rows": rows},
                                                       indent=1))
    table = report(summary)
    (RESULTS / "fast_path.md").write_text(table + "\n")
    print(table)
    return 0


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for level in sorted({r["level"] for r in rows}):
        for mode in ("off", "grammar"):
            mine = [r for r in rows if r["level"] == level and r["mode"] == mode]
            cmds = [r for r in mine if r["in_grammar"]]
            oog = [r for r in mine if not r["in_grammar"]]
            out[f"{level}/{mode}"] = {
                "commands": len(cmds), "commands_ok": sum(r["ok"] for r in cmds),
                "commands_asked": sum(r["asked"] for r in cmds),
                "settled_by_grammar": sum(r["stt"] == "grammar" for r in cmds),
                "settled_by_grammar_wrong": sum(r["stt"] == "grammar" and not r["ok"] for r in cmds),
                "out_of_grammar": len(oog), "oog_settled_by_grammar": sum(r["stt"] == "grammar" for r in oog),
                "wrong_actions": sum(r["wrong"] for r in mine),
                "cpu_s_median": round(statistics.median(r["cpu_s"] for r in mine), 3),
                "cpu_s_mean": round(statistics.fmean(r["cpu_s"] for r in mine), 3),
                "cpu_s_mean_settled": round(statistics.fmean(
                    [r["cpu_s"] for r in cmds if r["stt"] == "grammar"] or [0.0]), 3),
                "grammar_cpu_ms_median": round(statistics.median(
                    [r["grammar_cpu_ms"] for r in mine if r["grammar_cpu_ms"]] or [0.0]), 1),
            }
    return out


def report(summary: dict[str, Any]) -> str:
    lines = ["| level / fast_path | commands right (asked back) | settled by grammar (wrong) | out-of-grammar "
             "settled by grammar | wrong actions | CPU-s per recording, mean (median) | "
             "grammar CPU-ms |", "|---|---|---|---|---|---|---|"]
    for key, s in summary.items():
        lines.append(
            f"| {key} | {s['commands_ok']}/{s['commands']} ({s['commands_asked']}) | "
            f"{s['settled_by_grammar']} "
            f"({s['settled_by_grammar_wrong']}) | {s['oog_settled_by_grammar']}/{s['out_of_grammar']}"
            f" | {s['wrong_actions']} | {s['cpu_s_mean']} ({s['cpu_s_median']}) | "
            f"{s['grammar_cpu_ms_median']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
