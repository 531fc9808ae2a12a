"""Calibration of the yes/no check (``assistant.recheck.read_answer``), on voices of its own.

    .venv/bin/python bench/answer_calibration.py [--voices 40] [--seeds 1,2]

The answer to the assistant's question ("Unlock the front door?") is short, and in noise whisper
writes a yes as "see you guys" or "you are": nothing is done then. For each recording (a yes or
a no in several wordings, in quiet and at 20 and 10 dB SNR with white, pink, brown, babble and
TV-like backgrounds) whisper transcribes it as the pipeline would; when the transcript is no
clear yes or no, whisper weighs "Yes." and "No." against the same audio. The table shows, for a
grid of thresholds, how many answers would be read right, how many the wrong way (a no read as a
yes must never happen: it would do what the user refused), and how many are left unread.
Writes bench/results/answer_calibration.md. A few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.recheck_calibration import calibration_args, recordings  # noqa: E402

ANSWERS = {"yes": ["Yes.", "Yes, please.", "Yeah.", "Yes, do it."],
           "no": ["No.", "No, don't.", "Nope.", "No, thanks."]}
RESULTS = Path(__file__).resolve().parent / "results" / "answer_calibration.md"


def main() -> None:
    args = calibration_args(__doc__.splitlines()[0], voices=40)
    if args.report:
        report(json.loads(RESULTS.with_suffix(".json").read_text()), args)
        return

    from assistant.brain.intents import LocalIntents
    from assistant.brain.local import is_answer
    from assistant.config import load_config
    from assistant.recheck import ANSWERS as SCORED
    from assistant.stt import WhisperTranscriber
    from assistant.voice import _stt_prompt

    config = load_config(Path(__file__).resolve().parent.parent / "config" / "assistant.yaml")
    whisper = WhisperTranscriber(warm_up=True)
    prompt = _stt_prompt(LocalIntents(config))
    items = [(meaning, text) for meaning, texts in ANSWERS.items() for text in texts]
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    for level, voice, (meaning, said), pcm in recordings(args, items, 3, lambda item: item[1]):
        heard = whisper.transcribe(pcm, prompt).text.strip()
        row: dict[str, Any] = {"level": level, "said": said, "meaning": meaning,
                               "heard": heard, "clear": not heard or is_answer(heard)}
        if not row["clear"]:
            scores = whisper.score(pcm, [heard, *SCORED.values()])
            row["scores"] = dict(zip(["heard", *SCORED], scores, strict=True))
        rows.append(row)
        print(f"{level:5s} {voice.label():34s} {said!r:16s} heard={heard!r}", flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"{len(rows)} recordings in {time.monotonic() - started:.0f} s", file=sys.stderr)
    report(rows, args)


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    from assistant.brain.local import answer_in_words
    from assistant.recheck import ANSWER_AHEAD, ANSWER_BELOW, read_answer

    # A no in words is never weighed (Recheck.answer): it stands.
    unclear = [r for r in rows if "scores" in r and r["heard"] and answer_in_words(r["heard"]) != "no"]
    lines = ["# Answer calibration", "",
             f"Command: `python bench/answer_calibration.py --voices {args.voices} --seeds "
             f"{args.seeds} --levels {args.levels}`; {len(rows)} recordings.", "",
             f"- Plain answers, or a no in words (never weighed): {len(rows) - len(unclear)}; "
             f"weighed: {len(unclear)} ({sum(r['meaning'] == 'yes' for r in unclear)} of them "
             "a yes).", "",
             "Of those not clear, read from the audio (below = how far under the transcript the "
             "answer may score; ahead = by how much it must beat the other answer):", "",
             "| below | ahead | read right | read the wrong way | no read as yes | left unread |",
             "|---:|---:|---:|---:|---:|---:|"]
    for below in (0.25, 0.5, 1.0, 1.5, 2.0):
        for ahead in (0.5, 1.0, 1.5):
            read = [(r, read_answer(r["scores"]["heard"], r["scores"]["yes"], r["scores"]["no"],
                                    below, ahead)) for r in unclear]
            right = sum(a == r["meaning"] for r, a in read)
            wrong = [r for r, a in read if a is not None and a != r["meaning"]]
            flips = sum(r["meaning"] == "no" for r in wrong)
            lines.append(f"| {below} | {ahead} | {right} | {len(wrong)} | {flips} | "
                         f"{sum(a is None for _r, a in read)} |")
    worded = [r for r in unclear if answer_in_words(r["heard"]) == "yes"]
    doubted = [r for r in worded if r["scores"]["no"] > r["scores"]["yes"]]
    lines += ["", f"A yes in words that is no plain answer: {len(worded)} "
              f"({sum(r['meaning'] == 'no' for r in worded)} of them said no); \"No.\" scores above "
              f"\"Yes.\" for {len(doubted)}, read as no ({sum(r['meaning'] == 'no' for r in doubted)}"
              " of them said no)."]
    lines += ["", f"(Chosen: ANSWER_BELOW = {ANSWER_BELOW}, ANSWER_AHEAD = {ANSWER_AHEAD}.)", "",
              "Not clear, and what each answer scored against the transcript (yes / no):", ""]
    for r in unclear:
        s = r["scores"]
        lines.append(f"- {r['level']}: said {r['said']!r}, heard {r['heard']!r}: "
                     f"{s['yes'] - s['heard']:+.2f} / {s['no'] - s['heard']:+.2f}")
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
