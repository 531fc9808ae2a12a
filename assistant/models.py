"""Models that are not on PyPI: `assistant models list` and `assistant models fetch NAME`.

A download goes to a temporary file next to its destination, is checked (size and sha256)
before anything else looks at it, unpacked beside the destination and renamed into place in
one step, so a half-finished fetch never looks like a model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from assistant.errors import AssistantError, ModelMissingError

_LOGGER = logging.getLogger(__name__)

READ_BYTES = 1 << 20
TIMEOUT_S = 30.0


class DownloadError(AssistantError):
    """A model could not be downloaded, or what arrived is not what was expected."""

    exit_status = 4


@dataclass(frozen=True)
class ModelSpec:
    name: str
    url: str
    sha256: str
    size: int
    """Bytes of the download, checked along with the sha256."""
    kind: Literal["zip", "file"]
    target: str
    """File or folder name inside the models directory."""
    description: str
    license: str
    hint: str = ""
    """How to use it once installed, printed after the fetch."""


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="vosk-small-en",
            url="https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
            sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
            size=41_205_931,
            kind="zip",
            target="vosk-small-en",
            description="Vosk small US English (40 MB): stt.engine vosk, light on a Pi",
            license="Apache-2.0",
        ),
        ModelSpec(
            name="qwen2.5-0.5b-instruct",
            # Pinned to a revision so that the checksum below stays true.
            url="https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/"
            "9217f5db79a29953eb74d5343926648285ec7e67/qwen2.5-0.5b-instruct-q4_k_m.gguf",
            sha256="74a4da8c9fdbcd15bd1f6d01d621410d31c6fc00986f5eb687824e7b93d7a9db",
            size=491_400_032,
            kind="file",
            target="qwen2.5-0.5b-instruct-q4_k_m.gguf",
            description="Qwen2.5-0.5B-Instruct Q4_K_M GGUF (491 MB): local_llm.model",
            license="Apache-2.0",
            hint="set local_llm.model: qwen2.5-0.5b-instruct in the config to use it",
        ),
        ModelSpec(
            name="qwen2.5-1.5b-instruct",
            url="https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/"
            "91cad51170dc346986eccefdc2dd33a9da36ead9/qwen2.5-1.5b-instruct-q4_k_m.gguf",
            sha256="6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74ee38970e434e9407e",
            size=1_117_320_736,
            kind="file",
            target="qwen2.5-1.5b-instruct-q4_k_m.gguf",
            description="Qwen2.5-1.5B-Instruct Q4_K_M GGUF (1.1 GB, a Pi 5 with 4 GB+): "
            "local_llm.model",
            license="Apache-2.0",
            hint="set local_llm.model: qwen2.5-1.5b-instruct in the config to use it",
        ),
    )
}
"""The Qwen files are the publisher's own (Qwen/Qwen2.5-*-Instruct-GGUF), pinned to a revision;
sizes and sha256 are those of the published files."""


def default_models_dir() -> Path:
    """$ASSISTANT_MODELS_DIR, or ~/.local/share/assistant/models."""
    env = os.environ.get("ASSISTANT_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    return Path("~/.local/share/assistant/models").expanduser()


def installed_path(name: str, dest_dir: str | Path | None = None,
                   registry: Mapping[str, ModelSpec] = REGISTRY) -> Path | None:
    """Where ``assistant models fetch NAME`` puts the model NAME (None: not a known name)."""
    spec = registry.get(name)
    if spec is None:
        return None
    dest = Path(dest_dir).expanduser() if dest_dir else default_models_dir()
    return dest / spec.target


def available(registry: Mapping[str, ModelSpec] = REGISTRY) -> dict[str, str]:
    """Name -> one line for `models list`."""
    return {
        name: f"{spec.description} [{spec.license}, {spec.size / 1e6:.0f} MB]"
        for name, spec in registry.items()
    }


def fetch(
    name: str,
    dest_dir: str | Path | None = None,
    progress: Callable[[str], object] = print,
    registry: Mapping[str, ModelSpec] = REGISTRY,
) -> Path:
    """Download, verify and install a model; returns its path (already there: no download)."""
    spec = registry.get(name)
    if spec is None:
        raise ModelMissingError(f"unknown model {name!r}; available: {', '.join(registry)}")
    dest = Path(dest_dir).expanduser() if dest_dir else default_models_dir()
    target = dest / spec.target
    if target.exists():
        progress(f"{name} is already in {target}")
        return target
    dest.mkdir(parents=True, exist_ok=True)
    fd, part_name = tempfile.mkstemp(dir=dest, prefix=f".{spec.target}.", suffix=".part")
    part = Path(part_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _download(spec, out, progress)
        _verify(spec, part, digest)
        if spec.kind == "zip":
            _install_zip(part, target)
        else:
            os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    progress(f"{name} installed in {target}")
    if spec.hint:
        progress(spec.hint)
    _LOGGER.info("model %s installed in %s", name, target)
    return target


def _download(spec: ModelSpec, out: BinaryIO, progress: Callable[[str], object]) -> str:
    digest = hashlib.sha256()
    done, next_report = 0, 0.1
    progress(f"downloading {spec.name} from {spec.url} ({spec.size / 1e6:.0f} MB)")
    request = urllib.request.Request(spec.url, headers={"User-Agent": "assistant-models/1"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            while block := response.read(READ_BYTES):
                digest.update(block)
                out.write(block)
                done += len(block)
                if spec.size and done >= next_report * spec.size:
                    progress(f"{spec.name}: {min(100, int(100 * done / spec.size))}%")
                    next_report += 0.1
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(
            f"cannot download {spec.name} from {spec.url}: {reason}; check the network, or "
            f"download it by hand and put it in {default_models_dir() / spec.target}"
        ) from exc
    return digest.hexdigest()


def _verify(spec: ModelSpec, part: Path, digest: str) -> None:
    size = part.stat().st_size
    if spec.size and size != spec.size:
        raise DownloadError(f"{spec.name}: got {size} bytes, expected {spec.size}; "
                            "the download was cut short or the file changed upstream")
    if digest != spec.sha256:
        raise DownloadError(f"{spec.name}: sha256 {digest} does not match the expected "
                            f"{spec.sha256}; the file was not installed")


def _install_zip(archive: Path, target: Path) -> None:
    """Unpack beside the target, then rename into place (one top folder is stripped)."""
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    # A member like ../../x or /etc/x would write outside the staging folder.
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise DownloadError(f"refusing unsafe path {member!r} in {archive.name}")
                zf.extractall(staging)
        except zipfile.BadZipFile as exc:
            raise DownloadError(f"{target.name}: the download is not a valid zip ({exc})") from exc
        entries = list(staging.iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        os.replace(root, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
