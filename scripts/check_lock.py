#!/usr/bin/env python3
"""Checks that the lock files still cover pyproject.toml, without the network.

For every target the assistant supports (x86_64 and aarch64, CPython 3.11 and 3.13), every
dependency pyproject.toml asks for there must be pinned, with hashes, in the lock that installs
it, at a version inside pyproject's range; a package shared by several locks has the same
version in each. When it fails, the fix is `scripts/update-lock.sh`.

    scripts/check_lock.py            check; exit 1 with one line per problem
    scripts/check_lock.py --entry FILE NAME
                                     print NAME's pinned entry (with its hashes) from FILE,
                                     for installing one package of a lock (scripts/setup.sh)
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent

LOCKS = {
    "requirements.lock": (),
    "requirements-llm.lock": ("local-llm",),
    "requirements-dev.lock": ("local-llm", "test"),
}
"""Each lock and the pyproject extras it must cover besides the dependencies."""
MODELS_IN = "requirements-models.in"
MODELS_LOCK = "requirements-models.lock"

TARGETS = {
    f"{machine} py{version}": {
        "platform_machine": machine, "python_version": version,
        "python_full_version": f"{version}.0", "sys_platform": "linux",
        "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    for machine in ("x86_64", "aarch64") for version in ("3.11", "3.13")
}

_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    marker: Marker | None
    hashes: int
    lines: tuple[str, ...]


def read_lock(path: Path) -> list[Pin]:
    """The entries of a `uv pip compile --generate-hashes` file (pip's requirements format)."""
    pins: list[Pin] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _ENTRY.match(lines[i])
        if not match:
            i += 1
            continue
        block = [lines[i]]
        i += 1
        while i < len(lines) and lines[i].startswith("    --hash="):
            block.append(lines[i])
            i += 1
        name, version, marker = match.groups()
        pins.append(Pin(canonicalize_name(name), Version(version),
                        Marker(marker) if marker else None,
                        sum("--hash=sha256:" in line for line in block), tuple(block)))
    return pins


def pinned_for(pins: list[Pin], env: dict[str, str]) -> dict[str, Pin]:
    return {p.name: p for p in pins if p.marker is None or p.marker.evaluate(env)}


def wanted(requirements: list[str], extras: tuple[str, ...], env: dict[str, str],
           optional: dict[str, list[str]]) -> list[Requirement]:
    out = []
    for text in requirements + [r for extra in extras for r in optional.get(extra, [])]:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(env):
            out.append(requirement)
    return out


def check(root: Path | None = None) -> list[str]:
    """Every problem, one line each; empty when the locks cover pyproject.toml (in ``root``,
    by default the repository this script is in)."""
    root = root or ROOT
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dependencies = list(project.get("dependencies", []))
    optional = dict(project.get("optional-dependencies", {}))
    problems: list[str] = []
    versions: dict[str, tuple[Version, str]] = {}
    checks: list[tuple[str, list[str], tuple[str, ...], dict[str, list[str]]]] = [
        (lock, dependencies, extras, optional) for lock, extras in LOCKS.items()]
    models_in = root / MODELS_IN
    if models_in.is_file():
        lines = [line.split("#")[0].strip() for line in models_in.read_text().splitlines()]
        checks.append((MODELS_LOCK, [line for line in lines if line], (), {}))
    for lock, requirements, extras, extra_map in checks:
        path = root / lock
        if not path.is_file():
            problems.append(f"{lock}: missing")
            continue
        pins = read_lock(path)
        for entry in pins:
            if entry.hashes == 0:
                problems.append(f"{lock}: {entry.name}=={entry.version} has no --hash")
            seen = versions.setdefault(entry.name, (entry.version, lock))
            if seen[0] != entry.version:
                problems.append(f"{lock}: {entry.name}=={entry.version}, but {seen[1]} pins {seen[0]}")
        for target, env in TARGETS.items():
            have = pinned_for(pins, env)
            for requirement in wanted(requirements, extras, env, extra_map):
                name = canonicalize_name(requirement.name)
                pin = have.get(name)
                if pin is None:
                    problems.append(f"{lock}: {requirement} is not pinned (for {target})")
                elif not requirement.specifier.contains(pin.version, prereleases=True):
                    problems.append(f"{lock}: {name}=={pin.version} is outside {requirement}")
    return sorted(set(problems))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--entry"] and len(argv) == 3:
        name = canonicalize_name(argv[2])
        for pin in read_lock(Path(argv[1])):
            if pin.name == name:
                print("\n".join(pin.lines).rstrip(" \\"))
                return 0
        print(f"check_lock: {argv[2]} is not in {argv[1]}", file=sys.stderr)
        return 1
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check()
    for problem in problems:
        print(f"check_lock: {problem}", file=sys.stderr)
    if problems:
        print("check_lock: the lock files are older than pyproject.toml: run scripts/update-lock.sh",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
