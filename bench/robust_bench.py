"""Robustness benchmark: wake + command recordings in many voices, in quiet and in noise, through
the real pipeline; and long stretches of near-miss speech that must not wake it.

    PYTHONPATH=. .venv/bin/python bench/robust_bench.py [--quick] [--voices 60] [--commands 24]
        [--per-level 120] [--levels clean,20,10] [--noises white,pink,brown,babble,tv]
        [--negatives-min 15] [--realtime 6]
    PYTHONPATH=. .venv/bin/python bench/robust_bench.py --per-level 0 --realtime 0 --unknown 0 \
        --negatives-seed 1 [--negatives-level 20 --negatives-noise babble]   # held-out negatives

The default run takes about 20 minutes on a 2-core x86 machine (more the first time, while the
corpus is synthesized into bench/.cache/); --quick is a 2-minute smoke test.

Each recording is a room: its background (none, or white, pink, brown noise, babble, TV) runs
from before the wake word to after the command, mixed at the level's SNR (20 or 10 dB, speech
power over the background's). A recording is: 1-1.5 s of room, "Okay Nabu.", a pause, the
command, 3.5 s of room. Every level uses the same wake+command utterances (paired comparison);
within a noisy level the background kinds take turns.

Each recording is its own run of the pipeline built by `assistant run`'s own code (build_home +
build_voice, a WAV as the microphone) with a fresh state file, so devices start from a known
state; the models are loaded once and shared between runs. Runs are not paced (fast) unless
--realtime N asks for N paced recordings per level, whose latencies fill the latency columns.

Scored per recording from the pipeline's events: wake heard; end-to-end success (wake heard, the
expected action ran on the expected device, or the expected question was answered, and nothing
else changed); "asked" (the assistant asked back, e.g. to confirm a misheard door command, and
the speaker's answer did not get the expected action done: a question is answered as a person
would, "yes" when it asks for what they said and "no" otherwise, spoken into the same recording
after the question and run again; success after a yes is counted apart too);
wrong actions (any device change that is not the expected one; "opposite" = lock instead of
unlock, off instead of on, close instead of open); time-outs (the command hit max_length, or no
speech was found after the wake word). Negatives: false wakes per hour, and any action at all.
Commands about devices nobody configured (--unknown per level): any device change is wrong,
and success is an "I don't know" answer; they are reported on their own line.

Writes bench/results/robust.md (the table) and bench/results/robust.json (every recording).
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus  # noqa: E402
from bench.rig import Rig, shared_models  # noqa: E402
from bench.robust_cases import (  # noqa: E402
    BACKGROUND_S,
    CHATTER,
    COMMANDS,
    OPPOSITE,
    UNKNOWN_COMMANDS,
    WAKE_PHRASE,
    Expect,
    Piece,
    negative_pieces,
    negative_runs,
)
from bench.robust_report import report  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
ROOM_HISS_SNR_DB = 45.0
"""Even the clean recordings have a microphone's hiss under them."""
END_QUIET_S = 3.0
"""Quiet after each run of negatives (see ``run_negatives``)."""


@dataclass(frozen=True)
class Case:
    """One wake+command recording to make and score."""

    level: str
    """"clean" or an SNR in dB ("20", "10")."""
    noise: str
    """A corpus.BACKGROUNDS kind, or "none"."""
    voice: corpus.Voice
    text: str
    expect: Expect
    seed: int
    realtime: bool = False


@dataclass
class Recording:
    pcm: bytes
    wake_end_ms: float
    command_start_ms: float
    command_end_ms: float


def make_cases(voices: int, commands: int, per_level: int, levels: list[str], noises: list[str],
               realtime: int, voice_seed: int = 0, unknown: int = 0,
               split: str = "bench") -> list[Case]:
    """The same utterances at every level; in noisy levels the background kinds take turns,
    shifted per level so an utterance meets a different kind at 20 dB than at 10 dB.
    ``voice_seed`` picks another sample of voices (for calibration away from the bench's own).
    ``unknown`` more per level are commands about devices nobody configured (UNKNOWN_COMMANDS),
    scored apart. ``split`` "test": voices of ``bench.wake_corpus``'s test side (flite, festival,
    Kokoro and espeak-ng voices the wake decision was never fitted on) instead of the bench's
    own piper and espeak-ng voices."""
    if split == "test":
        from bench import wake_corpus

        pool = wake_corpus.voices("test", voices, voice_seed + 11)
    else:
        pool = corpus.varied_voices(voices, seed=voice_seed)
    chosen = COMMANDS[:commands]
    utterances = [(pool[i % len(pool)], *chosen[(i + i // len(pool)) % len(chosen)])
                  for i in range(per_level)]
    cases: list[Case] = []
    for li, level in enumerate(levels):
        kinds = ["none"] if level == "clean" else noises
        noise = [kinds[(i + li) % len(kinds)] for i in range(max(per_level, unknown))]
        for i, (voice, text, expect) in enumerate(utterances):
            cases.append(Case(level, noise[i], voice, text, expect, corpus.stable_seed(level, i)))
        for i, (voice, text, expect) in enumerate(utterances[:realtime]):
            cases.append(Case(level, noise[i], voice, text, expect, corpus.stable_seed(level, i),
                              realtime=True))
        for i in range(unknown):
            text, expect = UNKNOWN_COMMANDS[i % len(UNKNOWN_COMMANDS)]
            cases.append(Case(level, noise[i], pool[(i * 7 + li) % len(pool)], text, expect,
                              corpus.stable_seed(level, "unknown", i)))
    return cases


def make_recording(case: Case, answer: tuple[str, float] | None = None,
                   fluent: bool = False) -> Recording:
    """``answer``: what the speaker says back to a question ("Yes."), and the audio time (ms)
    at which they start saying it. ``fluent``: the wake word and the command said as one
    sentence, without a pause, not even a comma's ("Okay Nabu turn on the fan."); the wake
    word's end is then where it ends when said alone."""
    lead_s = 1.0 + (case.seed % 500) / 1000
    pcm = bytearray(corpus.silence(lead_s))
    if fluent:
        wake_end_ms = (len(pcm) + len(corpus.speak(WAKE_PHRASE, case.voice))) / 32
        command_start_ms = wake_end_ms
        pcm += corpus.speak(f"{WAKE_PHRASE.rstrip('.')} {case.text}.", case.voice)
        command_end_ms = len(pcm) / 32
    else:
        pcm += corpus.speak(WAKE_PHRASE, case.voice)
        wake_end_ms = len(pcm) / 32
        pcm += corpus.silence(0.3 + (case.seed // 7 % 300) / 1000)
        command_start_ms = len(pcm) / 32
        pcm += corpus.speak(case.text[0].upper() + case.text[1:] + ".", case.voice)
        command_end_ms = len(pcm) / 32
    pcm += corpus.silence(3.5)
    heard = room(bytes(pcm), case.level, case.noise, case.seed)
    if answer is not None:
        heard = _answered(heard, bytes(pcm), case, *answer)
    return Recording(heard, wake_end_ms, command_start_ms, command_end_ms)


def _answered(heard: bytes, dry: bytes, case: Case, text: str, at_ms: float) -> bytes:
    """The recording with the speaker's answer from at_ms on. Up to there it is exactly what the
    first run heard (a room mixed anew over a longer track would differ a little, and the
    first turn with it)."""
    at = int(at_ms * 16) * 2
    longer = dry[:at].ljust(at, b"\0") + corpus.speak(text, case.voice) + corpus.silence(3.0)
    return heard[:at].ljust(at, b"\0") + room(longer, case.level, case.noise, case.seed)[at:]


def room(pcm: bytes, level: str, noise: str, seed: int) -> bytes:
    """pcm in its room: a microphone's hiss, plus the background at the level's SNR."""
    seconds = len(pcm) / 32000
    out = corpus.mix(pcm, corpus.noise(seconds, 0.01, "pink", seed=seed), ROOM_HISS_SNR_DB)
    if level == "clean" or noise == "none":
        return out
    track = corpus.background(noise, BACKGROUND_S, seed=corpus.stable_seed(noise) % 1000, sentences=CHATTER)
    return corpus.mix(out, corpus.excerpt(track, seconds, seed), float(level))


# -- scoring --------------------------------------------------------------------------------
def _is(event: Any, kind: str) -> bool:
    return bool(event.type.value == kind)


def wakes_with_checks(events: list[Any]) -> list[tuple[Any, Any | None]]:
    """Each wake event with the second stage's verdict on it (the wake_check that follows it
    before the next wake), or None when no verdict came."""
    out: list[tuple[Any, Any | None]] = []
    pending: Any = None
    for event in events:
        if _is(event, "wake"):
            if pending is not None:
                out.append((pending, None))
            pending = event
        elif _is(event, "wake_check") and pending is not None:
            out.append((pending, event))
            pending = None
    if pending is not None:
        out.append((pending, None))
    return out


def confirmed_wakes(events: list[Any]) -> list[Any]:
    """Wake events the second stage did not reject."""
    return [wake for wake, check in wakes_with_checks(events)
            if check is None or check.data["ok"]]


def score(case: Case, rec: Recording, events: list[Any]) -> dict[str, Any]:
    wakes = [e.data["audio_ms"] for e in confirmed_wakes(events)]
    heard = any(t <= rec.command_end_ms + 1000 for t in wakes)
    first = _first_turn(events)
    eos = next((e.data for e in first if _is(e, "end_of_speech")), None)
    replies = [e.data for e in events if _is(e, "reply")]
    changed = [a for r in replies for a in r["actions"] if a["ok"]]
    queried = [q["device"] for r in replies for q in r.get("queries", [])]
    exp = case.expect
    wrong = [a for a in changed if not _expected(a, exp)]
    opposite = [a for a in wrong if a["device"] == exp.device
                and a["action"] == OPPOSITE.get(exp.action or "")]
    if exp.unknown:
        done = not changed and any(_says_unknown(r["reply"]) for r in replies[:1])
    elif exp.action is not None:
        done = any(_expected(a, exp) for a in changed)
    else:
        done = any(r["intent"] == exp.intent for r in replies[:1]) and (
            exp.device is None or exp.device in queried)
    asked = any(r["reply"].rstrip().endswith("?") or r.get("end_conversation") is False
                for r in replies)
    timeout = (eos is not None and eos["reason"] == "max_length") or (
        eos is None and any(_is(e, "timeout") for e in first))
    success = heard and done and not wrong
    answers = [r for r in replies if r.get("slots", {}).get("confirmed") is not None]
    outcome = ("wrong" if wrong else "ok" if success else "asked" if asked
               else "no_wake" if not heard else "timeout" if timeout else "failed")
    out: dict[str, Any] = {
        "level": case.level, "noise": case.noise, "voice": case.voice.label(),
        "text": case.text, "expect": exp.label(), "realtime": case.realtime,
        "unknown": exp.unknown,
        "outcome": outcome, "wake": heard, "wakes": len(wakes), "success": success,
        "asked": asked and not success, "after_yes": success and asked,
        "answered": answers[0]["text"] if answers else None, "wrong": wrong, "opposite": opposite, "timeout": timeout,
        "eos_reason": eos["reason"] if eos else None,
        "heard": next((e.data["text"] for e in first if _is(e, "transcript")), None),
        # Set when the recheck replaced the free transcript (assistant.recheck), and why.
        "free_heard": next((e.data.get("heard") for e in first if _is(e, "transcript")), None),
        "doubt": next((e.data.get("doubt") for e in first if _is(e, "transcript")), None),
        "intent": replies[0]["intent"] if replies else None,
        "handled_by": replies[0]["handled_by"] if replies else None,
        "reply": replies[0]["reply"] if replies else None,
        "actions": [a for r in replies for a in r["actions"]],
        # The second stage's verdicts, to tell a wake word never detected from one turned away.
        "checks": [{key: check.data.get(key) for key in ("ok", "how", "heard", "acoustic", "noisy")}
                   for _wake, check in wakes_with_checks(events) if check is not None],
    }
    out.update(_latencies(rec, eos, replies[0] if replies else None))
    return out


def _says_unknown(reply: str) -> bool:
    """ "I don't know a device called porch light.", "There are no covers in the kitchen." """
    text = reply.lower()
    return "don't know" in text or text.startswith("there are no ")


def _first_turn(events: list[Any]) -> list[Any]:
    """Events from the first wake word to the end of its turn."""
    start = next((i for i, e in enumerate(events) if _is(e, "wake")), None)
    if start is None:
        return []
    end = next((i for i in range(start, len(events)) if _is(events[i], "done")), len(events))
    return events[start:end + 1]


def _expected(action: dict[str, Any], exp: Expect) -> bool:
    return (exp.action is not None and action["device"] == exp.device
            and action["action"] == exp.action
            and (exp.value is None or action["value"] == exp.value))


def _latencies(rec: Recording, eos: dict[str, Any] | None,
               reply: dict[str, Any] | None) -> dict[str, float]:
    """ms after the spoken command really ended (not when the endpointer thought it did)."""
    out: dict[str, float] = {}
    if eos is None:
        return out
    out["eos_delay_ms"] = eos["decided_audio_ms"] - rec.command_end_ms
    timings = reply["timings_ms"] if reply else {}
    offset = eos["audio_ms"] - rec.command_end_ms
    for key, name in (("action_lag_ms", "action_ms"), ("first_audio_lag_ms", "first_audio_ms")):
        if key in timings:
            out[name] = timings[key] + offset
    return out


# -- negatives ------------------------------------------------------------------------------
def score_negatives(run: list[Piece], events: list[Any]) -> dict[str, Any]:
    starts, at = [], 0.0
    for _label, pcm in run:
        starts.append(at)
        at += len(pcm) / 32
    woke = []
    rejected = sum(1 for e in events if _is(e, "wake_check") and not e.data["ok"])
    listening = [e for e in events if _is(e, "listening") and e.data.get("trigger") == "wake"]
    chimes = sum(1 for e in listening if e.data.get("chime", True))
    for event, check in wakes_with_checks(events):
        if check is None or check.data["ok"]:
            t = event.data["audio_ms"]
            index = max(i for i, s in enumerate(starts) if s <= t) if t >= 0 else 0
            woke.append({"audio_ms": t, "during": run[index][0], "wake": event.data,
                         "check": None if check is None else dict(check.data)})
    replies = [e.data for e in events if _is(e, "reply")]
    speech_ms = sum(len(pcm) / 32 for label, pcm in run if not label.endswith(("music", "noise", "tv")))
    return {"audio_s": at / 1000, "speech_s": speech_ms / 1000, "wakes": woke,
            "rejected_by_check": rejected, "chimes": chimes, "silent_wakes": len(listening) - chimes,
            "heard": [r["text"] for r in replies],
            "actions": [a for r in replies for a in r["actions"] if a["ok"]]}


# -- main -----------------------------------------------------------------------------------
def main() -> int:
    args = parse_args()
    # Warnings per run ("no state file yet") would drown the progress lines; errors still show.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("assistant.devices.sensors").setLevel(logging.CRITICAL)  # no sensors here
    levels = [x.strip() for x in args.levels.split(",") if x.strip()]
    noises = [x.strip() for x in args.noises.split(",") if x.strip()]
    if (args.negatives_level == "clean") != (args.negatives_noise == "none"):
        print("robust_bench: error: --negatives-level and --negatives-noise go together",
              file=sys.stderr)
        return 2
    for noise in noises + ([args.negatives_noise] if args.negatives_noise != "none" else []):
        if noise not in corpus.BACKGROUNDS:
            print(f"robust_bench: error: unknown noise {noise!r}; choose from "
                  f"{','.join(corpus.BACKGROUNDS)}", file=sys.stderr)
            return 2
    for level in [*levels, args.negatives_level]:
        if level != "clean" and not level.lstrip("-").replace(".", "", 1).isdigit():
            print(f"robust_bench: error: level {level!r} is neither clean nor an SNR in dB",
                  file=sys.stderr)
            return 2
    check_commands_as_text(args.commands)
    cases = make_cases(args.voices, args.commands, args.per_level, levels, noises, args.realtime,
                       unknown=args.unknown, split=args.split)
    RESULTS.mkdir(exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, shared_models():
        rig = Rig(Path(args.config), Path(tmp))
        outcomes = run_cases(rig, cases, args.fluent)
        negatives = run_negatives(rig, args.negatives_min, args.negatives_seed,
                                  args.negatives_level, args.negatives_noise, args.split) \
            if args.negatives_min > 0 else []
    elapsed = time.monotonic() - started
    command = "python bench/robust_bench.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    text = report(outcomes, negatives, levels, noises, command, elapsed)
    print(text)
    (RESULTS / f"{args.out}.md").write_text(text + "\n")
    (RESULTS / f"{args.out}.json").write_text(json.dumps(
        {"command": command, "elapsed_s": round(elapsed, 1), "fluent": args.fluent,
         "recordings": outcomes,
         "negatives": negatives}, indent=1, default=str) + "\n")
    return 0


def run_cases(rig: Rig, cases: list[Case], fluent: bool = False) -> list[dict[str, Any]]:
    outcomes = []
    started = time.monotonic()
    for n, case in enumerate(cases, 1):
        rec = make_recording(case, fluent=fluent)
        t0 = time.monotonic()
        events = rig.run(rec.pcm, realtime=case.realtime)
        out = score(case, rec, events)
        answer = answer_to(case.expect, events) if out["outcome"] == "asked" else None
        if answer is not None:
            # The same recording again, with the speaker answering the question as a person
            # would: yes when it asks for what they said, no otherwise.
            rec = make_recording(case, answer, fluent)
            out = score(case, rec, rig.run(rec.pcm, realtime=case.realtime))
        out["wall_s"] = round(time.monotonic() - t0, 2)
        outcomes.append(out)
        per = (time.monotonic() - started) / n
        print(f"[{n}/{len(cases)}] {case.level:>5} {case.noise:6} {case.voice.label():32} "
              f"{case.text!r}: {out['outcome']} heard={out['heard']!r} "
              f"{out['wall_s']:.1f}s eta {per * (len(cases) - n) / 60:.1f} min",
              file=sys.stderr, flush=True)
    return outcomes


ANSWER_DELAY_MS = 400.0
"""How long after the question ends the speaker starts to answer."""


def answer_to(exp: Expect, events: list[Any]) -> tuple[str, float] | None:
    """What the speaker says back to the assistant's first question, and when: "Yes." when the
    question's plan (the reply's ``plan`` slot) is exactly the expected action, "No." when it
    is anything else; None when there was no question, or no listening for its answer."""
    replies = [(i, e.data) for i, e in enumerate(events) if _is(e, "reply")]
    asked = next(((i, r) for i, r in replies if "plan" in r.get("slots", {})), None)
    if asked is None:
        return None
    index, reply = asked
    listen = next((e.data["audio_ms"] for e in events[index:]
                   if _is(e, "listening") and e.data.get("trigger") != "wake"), None)
    if listen is None:
        return None
    plan = reply["slots"]["plan"]
    wanted = len(plan) == 1 and _expected({**plan[0], "ok": True}, exp)
    return ("Yes." if wanted else "No.", listen + ANSWER_DELAY_MS)


def run_negatives(rig: Rig, minutes: float, seed: int = 0, level: str = "clean",
                  noise: str = "none", split: str = "bench") -> list[dict[str, Any]]:
    """``seed``: another draw of voices and sentences (``negative_pieces``); ``level`` and
    ``noise``: a room for them, as for the recordings (``room``); ``split``: whose voices."""
    runs = negative_runs(negative_pieces(minutes, seed, split)) if minutes > 0 else []
    results = []
    for n, run in enumerate(runs, 1):
        # Quiet after the run's last piece, as a microphone goes on hearing: a detection near
        # the end gets its verdict (undecided, it would count as a false wake). Not counted in
        # the negatives' hours.
        pcm = room(b"".join(p for _label, p in run) + corpus.silence(END_QUIET_S), level,
                   noise, n + 1000 * seed)
        t0 = time.monotonic()
        result = score_negatives(run, rig.run(pcm))
        results.append(result)
        print(f"[negatives {n}/{len(runs)}] {result['audio_s']:.0f} s: "
              f"{len(result['wakes'])} wake(s) {[w['during'][:40] for w in result['wakes']]} "
              f"{len(result['actions'])} action(s) {time.monotonic() - t0:.1f}s",
              file=sys.stderr, flush=True)
    return results


def check_commands_as_text(commands: int) -> None:
    """Every command must be understood when typed; otherwise the benchmark measures grammar."""
    from assistant.brain.intents import IntentMatch, LocalIntents
    from assistant.config import load_config

    intents = LocalIntents(load_config(ROOT / "config" / "assistant.yaml"))
    for text, exp in COMMANDS[:commands]:
        match = intents.match(text)
        ok = isinstance(match, IntentMatch) and (
            any(a.device == exp.device and a.action == exp.action for a in match.actions)
            if exp.action else match.intent == exp.intent)
        if not ok:
            print(f"warning: {text!r} is not understood as {exp.label()} even as text: {match}",
                  file=sys.stderr)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "config" / "assistant.yaml"))
    parser.add_argument("--voices", type=int, default=60, help="different voices (default 60)")
    parser.add_argument("--commands", type=int, default=len(COMMANDS),
                        help=f"different commands, at most {len(COMMANDS)} (default all)")
    parser.add_argument("--per-level", type=int, default=120,
                        help="wake+command recordings per level (default 120)")
    parser.add_argument("--levels", default="clean,20,10", help="clean and/or SNRs in dB")
    parser.add_argument("--noises", default=",".join(corpus.BACKGROUNDS),
                        help="background kinds for the noisy levels")
    parser.add_argument("--negatives-min", type=float, default=15.0,
                        help="minutes of speech without the wake word (default 15)")
    parser.add_argument("--negatives-seed", type=int, default=0,
                        help="another draw of the negatives' voices and sentences (default 0, "
                             "the bench's own; others were never tuned on)")
    parser.add_argument("--negatives-level", default="clean",
                        help="the negatives' room: clean, or an SNR in dB of --negatives-noise")
    parser.add_argument("--negatives-noise", default="none",
                        help="the negatives' background (with --negatives-level)")
    parser.add_argument("--realtime", type=int, default=6, metavar="N",
                        help="also run N recordings per level paced in real time, for latency "
                             "(default 6)")
    parser.add_argument("--unknown", type=int, default=12, metavar="N",
                        help="also N recordings per level of commands about devices nobody "
                             "configured, which must change nothing (default 12)")
    parser.add_argument("--split", choices=["bench", "test"], default="bench",
                        help="whose voices and near-miss sentences: the bench's own piper and "
                             "espeak-ng voices, or bench/wake_corpus.py's test side (voices and "
                             "synthesizers the wake decision was never fitted on)")
    parser.add_argument("--fluent", action="store_true",
                        help="the wake word and the command said as one sentence, no pause")
    parser.add_argument("--out", default="robust",
                        help="results as bench/results/OUT.md and OUT.json (default robust)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 4 recordings per level (1 paced), 1 min of negatives")
    args = parser.parse_args()
    args.commands = max(1, min(args.commands, len(COMMANDS)))
    if args.quick:
        args.voices, args.per_level, args.negatives_min, args.realtime = 4, 4, 1.0, 1
        args.unknown = 2
    return args


if __name__ == "__main__":
    raise SystemExit(main())
