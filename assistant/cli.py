"""Command line: `assistant run | ask | say | devices | check-config | models | doctor`.

Any AssistantError becomes one line, `assistant: error: ...`, and its exit status (2 for a bad
config); any other error one line and status 1; the traceback is shown only with --debug.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.config import Config, load_config
from assistant.errors import AssistantError, AudioDeviceError, ConfigError
from assistant.events import Event, EventBus
from assistant.logs import PriorityPrefix, journal_stream

_LOGGER = logging.getLogger("assistant")

CONFIG_CANDIDATES = ("/etc/assistant/assistant.yaml", "config/assistant.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose, args.log_format)
    try:
        return int(args.func(args) or 0)
    except AssistantError as exc:
        if args.debug:
            raise
        print(f"assistant: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an engine's own error (a model file that will not load, ...)
        if args.debug:
            raise
        from assistant.secrets import redact

        print(f"assistant: error: {redact(f'{type(exc).__name__}: {exc}')} (--debug shows "
              "where)", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="the YAML config (default: $ASSISTANT_CONFIG, "
                        "/etc/assistant/assistant.yaml, ./config/assistant.yaml)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    common.add_argument("--log-format", choices=["text", "json"], default="text")

    parser = argparse.ArgumentParser(prog="assistant", description="Offline-first voice assistant")
    parser.add_argument("--version", action="version", version=f"assistant {version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", parents=[common], help="the appliance loop")
    run.add_argument("--input", metavar="WAV", help="read audio from a WAV file instead of the mic")
    run.add_argument("--output", metavar="WAV", help="write what the speaker would play to a WAV")
    run.add_argument("--realtime", action="store_true", help="pace a WAV input at real time")
    run.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    run.add_argument("--no-cloud", action="store_true", help="never call the cloud LLM")
    run.add_argument("--demo", action="store_true", help="run the bundled demo recording")
    run.set_defaults(func=cmd_run)

    ask = sub.add_parser("ask", parents=[common], help="the same brain, typed instead of spoken")
    ask.add_argument("text", nargs="*", help="what to ask; none = one utterance per stdin line")
    ask.add_argument("--json", action="store_true")
    ask.add_argument("--no-cloud", action="store_true", help="never call the cloud LLM")
    ask.set_defaults(func=cmd_ask)

    say = sub.add_parser("say", parents=[common], help="speak a text")
    say.add_argument("text", nargs="+")
    say.add_argument("--output", metavar="WAV")
    say.set_defaults(func=cmd_say)

    devices = sub.add_parser("devices", parents=[common], help="devices and their states")
    devices.add_argument("--audio", action="store_true", help="list sound devices instead")
    devices.add_argument("--json", action="store_true")
    devices.set_defaults(func=cmd_devices)

    check = sub.add_parser("check-config", parents=[common], help="validate the config")
    check.set_defaults(func=cmd_check_config)

    models = sub.add_parser("models", parents=[common], help="list or fetch models")
    models.add_argument("action", choices=["list", "fetch"])
    models.add_argument("name", nargs="?")
    models.add_argument("--dir", help="models folder (default: $ASSISTANT_MODELS_DIR)")
    models.set_defaults(func=cmd_models)

    doctor = sub.add_parser("doctor", parents=[common], help="check the set-up, explain fixes")
    doctor.add_argument("--no-speaker-test", action="store_true")
    doctor.add_argument("--listen", type=float, default=3.0, metavar="S")
    doctor.set_defaults(func=cmd_doctor)
    return parser


# -- helpers ---------------------------------------------------------------------------------
class _JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:  # set (with any key masked) by secrets.RedactingFilter
            out["exc"] = record.exc_text
        elif record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def _setup_logging(verbose: bool, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if journal_stream(sys.stderr):  # under systemd: each line carries its syslog priority
        handler.setFormatter(PriorityPrefix(handler.formatter or logging.Formatter()))
    from assistant.secrets import RedactingFilter

    handler.addFilter(RedactingFilter())  # an API key never reaches the terminal or journal
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("faster_whisper", "httpx", "openai", "httpcore", "httpx2", "httpcore2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def version() -> str:
    """The installed package's version (its metadata), or the source tree's when run from it."""
    from importlib import metadata

    try:
        return metadata.version("assistant")
    except metadata.PackageNotFoundError:
        from assistant import __version__

        return __version__


def resolve_config_path(given: str | None) -> str | None:
    if given:
        return given
    env = os.environ.get("ASSISTANT_CONFIG")
    if env:
        return env
    return next((c for c in CONFIG_CANDIDATES if Path(c).is_file()), None)


def _config(args: argparse.Namespace) -> Config:
    path = resolve_config_path(args.config)
    if path is None:
        raise ConfigError(
            "no config file found; pass --config FILE (config/assistant.yaml is an example)",
            file=" or ".join(CONFIG_CANDIDATES),
        )
    return load_config(path)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


# -- commands --------------------------------------------------------------------------------
def cmd_check_config(args: argparse.Namespace) -> int:
    """The config, the extra sentences file (both checked by the loader) and every model the
    config names or falls back to (assistant.model_files)."""
    from assistant.model_files import check_model_files, model_errors

    config = _config(args)
    checks = check_model_files(config)
    errors = model_errors(config, checks)
    for check in checks:
        if not check.ok and check.optional:
            print(f"assistant: warning: {check.name}: {check.detail}; fix: {check.fix}",
                  file=sys.stderr)
    if errors:
        for error in errors:
            print(f"assistant: error: {error}", file=sys.stderr)
        return 2
    print(f"{config.source_path}: OK ({len(config.devices)} devices)")
    return 0


def _refuse_missing_models(config: Config) -> None:
    """Before anything heavy loads: a model that is not there stops `run` with exit 2 and the
    key and fix, the way check-config reports it."""
    from assistant.model_files import model_errors

    errors = model_errors(config)
    for error in errors[:-1]:
        print(f"assistant: error: {error}", file=sys.stderr)
    if errors:
        raise errors[-1]


def _stdin_lines() -> Any:
    """(line number, text or None) for each stdin line; None when it is not UTF-8. Read as
    bytes, so that one bad line neither ends the input nor reaches the brain as surrogates."""
    for number, raw in enumerate(sys.stdin.buffer, 1):
        try:
            yield number, raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            yield number, None


def cmd_ask(args: argparse.Namespace) -> int:
    """One answer per utterance. A stdin line that is not UTF-8 is skipped with a message on
    stderr (and a JSON error object with --json); the exit status is then 1."""
    from assistant.app import build_home

    config = _config(args)
    home = build_home(config, no_cloud=args.no_cloud)
    skipped = 0
    try:
        lines = [(0, " ".join(args.text))] if args.text else _stdin_lines()
        for number, text in lines:
            if text is None:
                skipped += 1
                print(f"assistant: error: stdin line {number} is not UTF-8 text; skipped",
                      file=sys.stderr, flush=True)
                if args.json:
                    _print_json({"line": number, "error": "not UTF-8 text", "reply": None})
                continue
            if not text:
                continue
            spoken: list[str] = []
            answer = home.brain.answer(text, spoken.append)
            if args.json:
                out = answer.to_json()
                out["spoken"] = spoken
                out["states"] = home.registry.states()
                _print_json(out)
            else:
                print(answer.reply or "(nothing to say)", flush=True)
    finally:
        home.close()
    return 1 if skipped else 0


def cmd_say(args: argparse.Namespace) -> int:
    from assistant.tts import PiperSynthesizer

    config = _config(args) if (args.config or resolve_config_path(None)) else Config()
    synthesizer = PiperSynthesizer(config.tts.voice, config.tts.length_scale)
    sink = _sink(config, args.output)
    try:
        for pcm in synthesizer.synthesize(" ".join(args.text)):
            sink.play(pcm, synthesizer.sample_rate)
    finally:
        sink.close()
    return 0


def _sink(config: Config, output: str | None) -> Any:
    if output:
        from assistant.audio.files import WavSink

        return WavSink(output)
    from assistant.audio.sound import SpeakerSink

    return SpeakerSink(config.audio)


def cmd_devices(args: argparse.Namespace) -> int:
    if args.audio:
        import sounddevice

        print(sounddevice.query_devices())
        return 0
    from assistant.app import build_home

    config = _config(args)
    home = build_home(config, no_cloud=True)
    try:
        states = home.registry.states()
        attributes = home.registry.attributes()
        if args.json:
            _print_json({"states": states, "attributes": attributes})
            return 0
        for device in config.devices:
            extra = " ".join(f"{k}={v}" for k, v in attributes.get(device.id, {}).items())
            area = device.area or "-"
            print(f"{device.id:28} {device.kind:13} {area:14} {states.get(device.id)!s:10} {extra}")
    finally:
        home.close()
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from assistant import models

    dest = Path(args.dir) if args.dir else models.default_models_dir()
    if args.action == "list":
        for name, info in models.available().items():
            print(f"{name:24} {info}")
        return 0
    if not args.name:
        raise ConfigError("say which model to fetch: assistant models fetch NAME (see models list)")
    path = models.fetch(args.name, dest)
    print(f"fetched {args.name} into {path}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from assistant import doctor

    path = resolve_config_path(args.config) or "config/assistant.yaml"
    checks = doctor.run_doctor(path, listen_s=args.listen, speaker_test=not args.no_speaker_test)
    print(doctor.format_report(checks))
    return doctor.exit_status(checks)


def cmd_run(args: argparse.Namespace) -> int:
    from assistant.app import build_home
    from assistant.voice import DEMO_WAV, build_voice

    config = _config(args)
    _refuse_missing_models(config)
    input_wav, output_wav = args.input, args.output
    if input_wav is None and not args.demo and os.environ.get("NOTIFY_SOCKET"):
        # Under systemd a missing microphone is a failure (the unit restarts and waits for
        # it), not a reason to play the demo and exit.
        from assistant.audio.sound import find_device

        find_device(config.audio.input_device, "input")
    if args.demo or (input_wav is None and not _microphone_present(config)):
        if not args.demo:
            _LOGGER.warning(
                "no microphone found: running the bundled demo recording instead "
                "(plug in a USB microphone, or set audio.input_device in %s)",
                config.source_path,
            )
        input_wav = str(DEMO_WAV)
        output_wav = output_wav or "assistant-demo-replies.wav"
    bus = EventBus()
    started = time.monotonic()
    if args.json:
        bus.subscribe(lambda event: _print_json(_event_json(event, started)))
    else:
        bus.subscribe(_print_event)
    home = build_home(config, no_cloud=args.no_cloud, appliance=True, preload=True)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        voice = build_voice(
            config, home, bus, input_wav=input_wav, output_wav=output_wav, realtime=args.realtime
        )
        _start_web(config, home, bus, voice)
        _install_service_hooks(voice)
        voice.run()
    except _Stop:
        _LOGGER.info("stopping on SIGTERM")
        _notify_stopping()
    finally:
        signal.signal(signal.SIGTERM, previous)
        home.close()
    if output_wav and not args.json:
        print(f"spoken replies written to {output_wav}")
    return 0


class _Stop(Exception):
    """Raised in the main thread by SIGTERM so that every `finally` runs (state is saved)."""


def _on_sigterm(_signum: int, _frame: Any) -> None:
    raise _Stop


def _notify_stopping() -> None:
    try:
        from assistant import service
    except ImportError:
        return
    service.stopping()


def _microphone_present(config: Config) -> bool:
    from assistant.audio.sound import find_device

    try:
        find_device(config.audio.input_device, "input")
    except AudioDeviceError as exc:
        _LOGGER.warning("%s", exc)
        return False
    return True


def _start_web(config: Config, home: Any, bus: EventBus, voice: Any) -> None:
    """The dashboard (web.enabled), closed with the home."""
    if not config.web.enabled:
        return
    from assistant.web import attach_web

    web = attach_web(config, home, bus, voice)
    home.closers.append(web.close)


def _install_service_hooks(voice: Any) -> None:
    """systemd readiness and the watchdog ping from the audio loop, when run as a unit."""
    try:
        from assistant import service
    except ImportError:
        return
    watchdog = service.Watchdog()
    voice.pipeline.on_chunk = watchdog.tick
    if hasattr(voice.source, "on_wait"):
        voice.source.on_wait = watchdog.tick
    voice.pipeline.bus.subscribe(
        lambda event: service.ready() if event.type.value == "ready" else None
    )


def _event_json(event: Event, started: float) -> dict[str, Any]:
    return {"event": event.type.value, "t_ms": round((time.monotonic() - started) * 1000, 1),
            **event.data}


def _print_event(event: Event) -> None:
    kind = event.type.value
    data = event.data
    if kind == "wake":
        print(f"[wake] {data['name']} at {data['audio_ms'] / 1000:.2f} s", flush=True)
    elif kind == "transcript":
        print(f"[heard] {data['text']!r}", flush=True)
    elif kind == "timeout":
        print("[timeout] nothing said after the wake word", flush=True)
    elif kind == "reply":
        actions = ", ".join(f"{a['device']} {a['action']}" for a in data.get("actions", []))
        print(f"[{data['handled_by']}] {data.get('intent') or '-'}"
              f"{' -> ' + actions if actions else ''}", flush=True)
        print(f"[reply] {data['reply']!r}  timings: {data.get('timings_ms')}", flush=True)
