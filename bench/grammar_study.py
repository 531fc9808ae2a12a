"""Calibrates and measures the closed-vocabulary fast path (``assistant.grammar``) on synthetic
voices split by speaker: the guard's parameters are fitted on some voices and reported on
others never used for fitting, against whisper tiny.en (and Moonshine Tiny) on the same audio.

    PYTHONPATH=. nice -n 10 .venv/bin/python bench/grammar_study.py            # decode + fit
    PYTHONPATH=. nice -n 10 .venv/bin/python bench/grammar_study.py --open-vocab  # + whisper, moonshine
    PYTHONPATH=. .venv/bin/python bench/grammar_study.py --report-only          # refit, no decoding

Material (bench/grammar_cases.py): the home's commands (config/assistant.yaml) and speech that is
not in its grammar: questions for an LLM, chatter, commands for devices and areas the home does
not have. Voices: espeak-ng dialects x variants (fitting and held-out sets share neither a
dialect nor a variant) and piper joe (fitting: joe pitch-shifted by sox, -250 and +300 cents;
held-out: joe unshifted at two paces). Each utterance is in a room: a microphone's hiss (45 dB
below the speech) for six in ten, babble or pink noise at 15 dB SNR for the rest; it is fed in
30 ms chunks as a pipeline would, 0.3 s of room before and 0.45 s after, the recognizer primed
with the same voice saying the wake word in the same room.

A result is *wrong* when the guard accepts it and the local intents plan something other than
what the spoken text plans (for speech out of the grammar, anything at all); a *wrong action*
is a wrong result that changes a device. Rows are cached in bench/results/grammar_study/, so a
rerun decodes only what is missing; the fitted parameters go to assistant/grammar/guard_params.json
with what they were fitted on and their held-out figures, and a frozen sample of held-out
evidence rows to tests/data/grammar_guard_rows.json for the replay test.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus  # noqa: E402
from bench.grammar_cases import IN_GRAMMAR, OUT_OF_GRAMMAR  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "grammar_study"
PARAMS = ROOT / "assistant" / "grammar" / "guard_params.json"
REPLAY = ROOT / "tests" / "data" / "grammar_guard_rows.json"
ROWS_VERSION = 5
"""Bumped when the recognizer's evidence changes, so cached grammar rows are decoded again."""
LEAD_S, TRAIL_S, CHUNK = 0.3, 0.45, 960
OOG_SHARE = 3
"""Of every five out-of-grammar sentences, how many each voice says."""
HISS_SNR_DB, NOISY_SNR_DB = 45.0, 15.0
_LOGGER = logging.getLogger("grammar_study")


@dataclass(frozen=True)
class Speaker:
    voice: corpus.Voice
    pitch_cents: int = 0
    held_out: bool = False

    def label(self) -> str:
        return self.voice.label() + (f"^{self.pitch_cents:+d}" if self.pitch_cents else "")

    def say(self, text: str) -> bytes:
        pcm = corpus.speak(text, self.voice)
        if not self.pitch_cents:
            return pcm
        return corpus.cached(f"pitch|{self.pitch_cents}|{self.voice!r}|{text}",
                             lambda: _pitch(pcm, self.pitch_cents))


def _pitch(pcm: bytes, cents: int) -> bytes:
    raw = ["-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1"]
    done = subprocess.run(["sox", *raw, "-", *raw, "-", "pitch", str(cents)], input=pcm,
                          capture_output=True, check=True)
    return done.stdout


def speakers(seed: int = 0) -> list[Speaker]:
    """Fitting and held-out voices: espeak-ng sets share no dialect and no variant."""
    rng = random.Random(seed)
    accents = list(corpus.ESPEAK_ACCENTS)
    variants = [v for v in corpus.ESPEAK_VARIANTS if v]
    rng.shuffle(accents)
    rng.shuffle(variants)
    fit_acc, held_acc = accents[:4], accents[4:]
    fit_var, held_var = variants[:12], variants[12:24]
    out = [Speaker(corpus.Voice("espeak", f"{fit_acc[i % 4]}+{fit_var[i]}", (0.9, 1.0, 1.15)[i % 3]))
           for i in range(6)]
    out += [Speaker(corpus.Voice("piper", speed=1.0), -250), Speaker(corpus.Voice("piper", speed=0.9), 300)]
    out += [Speaker(corpus.Voice("espeak", f"{held_acc[i % 4]}+{held_var[i]}", (1.0, 0.9, 1.15, 1.0)[i]),
                    held_out=True) for i in range(4)]
    out += [Speaker(corpus.Voice("piper", speed=1.0), held_out=True),
            Speaker(corpus.Voice("piper", speed=0.85), held_out=True)]
    return out


def room(speaker: Speaker, text: str) -> tuple[str, Callable[[bytes], bytes]]:
    """The utterance's room: its name and how to put audio in it (the same for the prime)."""
    pick = corpus.stable_seed(speaker.label(), text) % 10
    kind = "hiss" if pick < 6 else ("babble" if pick < 8 else "pink")
    snr = HISS_SNR_DB if kind == "hiss" else NOISY_SNR_DB
    back = corpus.background("pink" if kind != "babble" else "babble", 30.0, seed=pick,
                             sentences=corpus.BABBLE_LINES)

    def put(pcm: bytes) -> bytes:
        padded = corpus.silence(LEAD_S) + pcm + corpus.silence(TRAIL_S)
        return corpus.mix(padded, corpus.excerpt(back, len(padded) / 32000, seed=len(pcm)), snr)

    return f"{kind}@{snr:g}", put


def meaning(match: Any) -> list[Any] | None:
    """What the local intents would do: intent, device actions, or the slots of an answer."""
    from assistant.brain.intents import IntentMatch, UnknownEntity

    if isinstance(match, IntentMatch):
        actions = sorted([a.device, a.action, a.value] for a in match.actions)
        slots = [] if actions else sorted([k, str(v)] for k, v in match.slots.items())
        return [match.intent, actions, slots, match.message]
    if isinstance(match, UnknownEntity):
        return ["unknown", match.kind]
    return None


class Study:
    def __init__(self, args: argparse.Namespace):
        from assistant.app import build_home
        from assistant.config import load_config
        from assistant.grammar import build_grammar
        from assistant.grammar.compiler import _words

        self.args = args
        self.config = load_config(ROOT / "config" / "assistant.yaml")
        self.home = build_home(self.config, no_cloud=True)
        self.intents = self.home.intents
        self.grammar = build_grammar(self.config, self.intents, RESULTS / "cache", args.templates)
        self.words = _words
        self._recognizer: Any = None
        self._whisper: Any = None
        self._moonshine: Any = None

    def material(self) -> list[tuple[str, str]]:
        """(kind, text) pairs, each checked against the grammar and the intents."""
        out: list[tuple[str, str]] = []
        for text in IN_GRAMMAR:
            if self.in_grammar(text) and acts_or_answers(self.intents.match(text)):
                out.append(("command", text))
            else:
                _LOGGER.warning("dropped command %r (not in the grammar, or not planned)", text)
        for kind, texts in OUT_OF_GRAMMAR.items():
            for text in texts:
                planned = acts_or_answers(self.intents.match(text))
                if self.in_grammar(text) or planned:
                    _LOGGER.warning("dropped %s %r (in grammar or planned)", kind, text)
                else:
                    out.append((kind, text))
        return out

    def in_grammar(self, text: str) -> bool:
        return self.grammar.graph.accepts(self.words(text) or [])

    def recognizer(self) -> Any:
        if self._recognizer is None:
            from assistant.grammar.sphinx import PocketsphinxRecognizer, SphinxSettings

            settings = SphinxSettings(garbage_prob=self.args.garbage_prob)
            self._recognizer = PocketsphinxRecognizer(self.grammar, settings=settings,
                                                      load_params_file=False)
        return self._recognizer

    def decode(self, speaker: Speaker, kind: str, text: str) -> dict[str, Any]:
        condition, put = room(speaker, text)
        pcm = put(speaker.say(text))
        recognizer = self.recognizer()
        recognizer.prime(put(speaker.say("Okay Nabu.")))
        recognizer.start()
        for at in range(0, len(pcm), CHUNK):
            recognizer.feed(pcm[at:at + CHUNK])
        result = recognizer.finish()
        return {
            "voice": speaker.label(), "held_out": speaker.held_out, "condition": condition,
            "kind": kind, "text": text, "truth": meaning(self.intents.match(text)),
            "heard": result.text, "heard_meaning": meaning(self.intents.match(result.text)),
            "evidence": result.evidence.row(), "cpu_s": result.cpu_s,
            "finish_ms": result.finish_ms, "audio_ms": result.audio_ms,
            "redecoded": result.redecoded, "cmn_offset": result.cmn_offset,
            "cpu_loop_s": result.cpu_loop_s,
            "words": [[w.word, (w.end_ms - w.start_ms) // 10, w.score, w.llr] for w in result.words],
        }

    def open_vocab(self, speaker: Speaker, text: str) -> dict[str, Any]:
        from assistant.stt import MoonshineTranscriber, WhisperTranscriber

        if self._whisper is None:
            self._whisper = WhisperTranscriber(warm_up=True)
            self._moonshine = MoonshineTranscriber()
            self._moonshine.transcribe(bytes(32000))
        _condition, put = room(speaker, text)
        pcm = put(speaker.say(text))
        prompt = ", ".join(self.intents.vocabulary()[:40]) + "."
        row: dict[str, Any] = {}
        for name, engine, hint in (("whisper", self._whisper, prompt), ("moonshine", self._moonshine, None)):
            began = time.process_time()
            heard = engine.transcribe(pcm, prompt=hint).text
            row[name] = {"text": heard, "cpu_s": time.process_time() - began,
                         "meaning": meaning(self.intents.match(heard))}
        return row


def said_by(speaker: Speaker, material: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every command, and three in five of the rest (a seeded draw per voice): the machine's
    CPU is shared, and the out-of-grammar material is larger than the commands."""
    return [(kind, text) for kind, text in material
            if kind == "command" or corpus.stable_seed("oog", speaker.label(), text) % 5 < OOG_SHARE]


def acts_or_answers(match: Any) -> bool:
    from assistant.brain.intents import IntentMatch

    return isinstance(match, IntentMatch)


def key(row_or: dict[str, Any] | None = None, **parts: Any) -> str:
    values = parts or {k: row_or[k] for k in ("voice", "condition", "text")}  # type: ignore[index]
    return f"{values['voice']}|{values['condition']}|{values['text']}"


def collect(study: Study, want_open: bool) -> list[dict[str, Any]]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows_path, open_path = rows_file(study.args), RESULTS / "open_vocab.jsonl"
    rows = {key(r): r for r in _read_jsonl(rows_path)}
    opened = {r["key"]: r for r in _read_jsonl(open_path)}
    material = study.material()
    chosen = speakers(study.args.seed)
    if study.args.quick:
        material = [m for i, m in enumerate(material) if sum(k == m[0] for k, _t in material[:i]) < 4]
        chosen = [chosen[0], chosen[6], chosen[8], chosen[12]]
    started = time.monotonic()
    with open(rows_path, "a", encoding="utf-8") as out, open(open_path, "a", encoding="utf-8") as out2:
        for speaker in chosen:
            for kind, text in said_by(speaker, material):
                condition, _put = room(speaker, text)
                k = key(voice=speaker.label(), condition=condition, text=text)
                if k not in rows:
                    rows[k] = study.decode(speaker, kind, text)
                    out.write(json.dumps(rows[k]) + "\n")
                    out.flush()
                if want_open and speaker.held_out and k not in opened:
                    opened[k] = {"key": k, **study.open_vocab(speaker, text)}
                    out2.write(json.dumps(opened[k]) + "\n")
                    out2.flush()
            _LOGGER.info("%s done (%.0f s)", speaker.label(), time.monotonic() - started)
    for k, row in rows.items():
        if k in opened:
            row.update({"whisper": opened[k]["whisper"], "moonshine": opened[k]["moonshine"]})
    keep = {key(voice=s.label(), condition=room(s, t)[0], text=t)
            for s in chosen for _k, t in said_by(s, material)}
    return [r for k, r in rows.items() if k in keep]


def upgrade(row: dict[str, Any]) -> None:
    """The evidence's rest_* means again from the words the row kept, with the recognizer's own
    function (rows of version 4 were decoded before these means existed, or with a first
    definition that left a one-word command without any)."""
    from assistant.grammar.guard import rest_means

    score, llr = rest_means([(frames, s, llr) for _w, frames, s, llr in row["words"]])
    row["evidence"].update(rest_score=score, rest_llr=llr)


def rows_file(args: argparse.Namespace) -> Path:
    """Grammar rows of one variant of the recognizer."""
    return RESULTS / f"rows_v{ROWS_VERSION}_{args.templates}_g{args.garbage_prob:g}.jsonl"


def _read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


def main() -> None:
    from bench.grammar_fit import fit_best, report, write_outputs

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open-vocab", action="store_true",
                        help="also transcribe the held-out audio with whisper tiny.en and Moonshine")
    parser.add_argument("--report-only", action="store_true", help="fit and report cached rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--templates", choices=("speech_to_phrase", "full"), default="speech_to_phrase")
    parser.add_argument("--garbage-prob", type=float, default=1e-8)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 4 texts of each kind, 2 fitting and 2 held-out voices")
    parser.add_argument("--no-write", action="store_true", help="do not write params or replay rows")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    study = Study(args)
    rows = collect(study, args.open_vocab) if not args.report_only else \
        list(_read_jsonl(rows_file(args)))
    if args.report_only:
        opened = {r["key"]: r for r in _read_jsonl(RESULTS / "open_vocab.jsonl")}
        for row in rows:
            if key(row) in opened:
                row.update({"whisper": opened[key(row)]["whisper"],
                            "moonshine": opened[key(row)]["moonshine"]})
    for row in rows:
        upgrade(row)
    params, families = fit_best([r for r in rows if not r["held_out"]])
    text = report(rows, params, study.grammar, families)
    print(text)
    (RESULTS / "report.md").write_text(text, encoding="utf-8")
    if not args.no_write:
        write_outputs(rows, params, PARAMS, REPLAY)


if __name__ == "__main__":
    main()
