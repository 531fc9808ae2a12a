"""Home Assistant's own English test sentences, run through the local brain on a GPIO home.

    PYTHONPATH=. .venv/bin/python bench/ha_sentences.py --intents-repo PATH [--split dev|heldout|all]
        [--failures] [--json OUT]

PATH is a copy of the public home-assistant/intents repository (CC-BY-4.0): a checkout, or a bare
git directory such as the one the search tool's ``fetch`` brings (its files are read with
``git show HEAD:...``). None of its files are committed here; they are read at run time.

The home is built from ``tests/en/_fixtures.yaml`` in this project's config format, for the
domains the appliance has (light, switch, fan, cover, lock, sensor, binary_sensor):
- lights (dimmable, PWM), switches, fans (dimmable), covers (one momentary relay each) and locks
  get BCM pins from 2 up; binary sensors take the pins left, packed by device class;
- BCM 2-27 has 26 pins, the fixture has 18 actuators and 27 binary sensors, so the binary
  sensors that do not fit go to a second home (the same sensors, no actuators); each
  binary-sensor sentence runs in the home that holds every sensor of its device class;
- numeric sensors have no pin: each reads a file (the ``source`` of a sensor may be any file
  path) holding the fixture's state; a sensor whose state is not a number (a date) cannot be
  represented and its sentences count as not applicable.
Fixture states are set on the mock devices before every sentence (relays, reed-less covers'
assumed position, binary sensors' input pins driven by MockFactory).

A sentence is "handled locally and right" when the local brain answers it (no language model),
with the expected intent, acting on exactly the expected devices with the expected action and
value, and, for a question, when the reply says the true answer (yes/no, the count, which
devices, the value). The expected devices come from the test's expected slots filtered over the
fixture as Home Assistant's ``async_match_targets`` does (name, area, domain, device class; the
satellite's area from the test's context breaks ties between equal names). Sentences about
floors, colours, positions or another domain (climate, scenes, media ...) are not applicable.

Split (``--split``): the held-out files were never opened while developing, and only run at the
end; see HELD_OUT.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402
from gpiozero.pins.mock import MockFactory, MockPWMPin  # noqa: E402

from assistant.brain.actions import DeviceExecutor  # noqa: E402
from assistant.brain.intents import LocalIntents  # noqa: E402
from assistant.brain.local import LocalBrain  # noqa: E402
from assistant.config import Config, DeviceConfig, parse_config  # noqa: E402
from assistant.devices.registry import DeviceRegistry  # noqa: E402
from assistant.errors import ConfigError  # noqa: E402

DOMAINS = ("light", "switch", "fan", "cover", "lock", "binary_sensor", "sensor")
ACTUATORS = ("light", "switch", "fan", "cover", "lock")
PINS = list(range(2, 28))
INTENTS = {"HassTurnOn", "HassTurnOff", "HassLightSet", "HassGetState"}
NOT_OURS = {"floor", "color", "temperature", "position", "volume_level", "media", "message"}
HELD_OUT = ("HassTurnOff", "lock_HassGetState", "HassGetState/name_state")
"""Files whose path contains one of these were held out: every HassTurnOff file (light, fan,
cover, lock, homeassistant and the HassTurnOff folder), lock_HassGetState.yaml and
HassGetState/name_state.yaml. Chosen before any of them was read."""
_ON = {"light": "turn_on", "switch": "turn_on", "fan": "turn_on", "cover": "open", "lock": "lock"}
_OFF = {"light": "turn_off", "switch": "turn_off", "fan": "turn_off", "cover": "close",
        "lock": "unlock"}
_SAME = {"turn_on": {"turn_on", "open", "lock"}, "turn_off": {"turn_off", "close", "unlock"}}


# ---- reading the repository ------------------------------------------------------------------
class Repo:
    def __init__(self, path: Path):
        self.path = path
        self.bare = not (path / "tests").is_dir()

    def files(self) -> list[str]:
        if not self.bare:
            return sorted(str(p.relative_to(self.path / "tests/en"))
                          for p in (self.path / "tests/en").rglob("*.yaml"))
        out = subprocess.run(["git", "--git-dir", str(self.path), "ls-tree", "-r", "--name-only",
                              "HEAD", "tests/en/"], capture_output=True, text=True, check=True)
        return sorted(line.removeprefix("tests/en/") for line in out.stdout.split())

    def read(self, name: str) -> Any:
        if not self.bare:
            return yaml.safe_load((self.path / "tests/en" / name).read_text(encoding="utf-8"))
        out = subprocess.run(["git", "--git-dir", str(self.path), "show", f"HEAD:tests/en/{name}"],
                             capture_output=True, text=True, check=True)
        return yaml.safe_load(out.stdout)


# ---- the home --------------------------------------------------------------------------------
@dataclass
class Entity:
    id: str
    domain: str
    name: str
    area: str | None
    device_class: str | None
    state: Any
    """The fixture's state (binary sensors: the on/off value)."""
    unit: str | None = None


def entities(fixture: dict[str, Any]) -> list[Entity]:
    areas = {a["id"]: a["name"] for a in fixture["areas"]}
    out = []
    for raw in fixture["entities"]:
        domain = raw["id"].split(".")[0]
        state = raw.get("state")
        if isinstance(state, dict):
            state = state.get("out")
        attrs = raw.get("attributes") or {}
        out.append(Entity(re.sub(r"[^a-z0-9_]", "_", raw["id"].lower().replace(".", "_")), domain,
                          str(raw["name"]), areas.get(raw.get("area")), attrs.get("device_class"),
                          state, attrs.get("unit_of_measurement")))
    return out


def _numeric(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


@dataclass
class Home:
    config: Config
    members: set[str]
    pins: dict[str, int]
    files: dict[str, Path] = field(default_factory=dict)


def build_homes(all_entities: list[Entity], folder: Path) -> tuple[list[Home], list[str]]:
    """The GPIO homes (see the module doc) and the ids that could not be represented."""
    ours = [e for e in all_entities if e.domain in DOMAINS]
    skipped = [e.id for e in ours if e.domain == "sensor" and not _numeric(e.state)]
    sensors = [e for e in ours if e.domain == "sensor" and _numeric(e.state)]
    actuators = [e for e in ours if e.domain in ACTUATORS]
    by_class: dict[str, list[Entity]] = defaultdict(list)
    for e in ours:
        if e.domain == "binary_sensor":
            by_class[e.device_class or ""].append(e)
    groups: list[list[Entity]] = [list(actuators)]
    for members in by_class.values():
        target = next((g for g in groups if len(g) + len(members) <= len(PINS)), None)
        if target is None:
            groups.append(target := [])
        target.extend(members)
    homes = []
    for index, group in enumerate(groups):
        homes.append(_home(group + sensors, folder / f"home{index}"))
    return homes, skipped


def _home(members: list[Entity], folder: Path) -> Home:
    folder.mkdir(parents=True, exist_ok=True)
    has_class = "device_class" in {f.name for f in dataclasses.fields(DeviceConfig)}
    devices, pins, files = [], {}, {}
    free = iter(PINS)
    for e in members:
        spec: dict[str, Any] = {"id": e.id, "name": e.name, "kind": e.domain}
        if e.area:
            spec["area"] = e.area
        if has_class and e.device_class:
            spec["device_class"] = e.device_class
        if e.domain == "sensor":
            path = folder / f"{e.id}.value"
            path.write_text(f"{e.state}\n")
            spec["source"], files[e.id] = str(path), path
            if e.unit:
                spec["unit"] = e.unit
        else:
            spec["pin"] = pins[e.id] = next(free)
            if e.domain in ("light", "fan"):
                spec["dimmable"] = True
            if e.domain == "cover":
                spec["travel_s"] = 0.01
        devices.append(spec)
    dropped: set[str] = set()
    while True:
        kept = [d for d in devices if d["id"] not in dropped]
        try:
            config = parse_config(yaml.safe_dump({"devices": kept}, allow_unicode=True))
            break
        except ConfigError as exc:
            # Code that does not allow one name twice: the later device is left out (and the
            # sentences about it fail), so the baseline can still be measured.
            found = re.search(r"devices\[(\d+)\]", str(exc))
            if found is None or "already used" not in str(exc):
                raise
            dropped.add(kept[int(found.group(1))]["id"])
    return Home(config, {d["id"] for d in kept}, pins, files)


def set_fixture_states(registry: DeviceRegistry, factory: MockFactory, home: Home,
                       by_id: dict[str, Entity]) -> None:
    for device in registry:
        entity = by_id[device.id]
        if entity.domain in ("light", "switch", "fan"):
            registry.apply(device.id, "turn_on" if entity.state == "on" else "turn_off")
        elif entity.domain == "lock":
            registry.apply(device.id, "lock" if entity.state == "locked" else "unlock")
        elif entity.domain == "cover":
            getattr(device, "wait_idle", lambda _t: True)(1.0)
            device.restore({"position": "open" if entity.state == "open" else "closed"})
        elif entity.domain == "binary_sensor":
            pin: Any = factory.pin(home.pins[device.id])
            # A pulled-up input is active (on) when driven low.
            pin.drive_low() if entity.state == "on" else pin.drive_high()


# ---- what a test expects ---------------------------------------------------------------------
@dataclass
class Case:
    file: str
    sentence: str
    intent: str
    slots: dict[str, Any]
    area: str | None
    """The satellite's area (the test's context)."""
    response: str
    targets: set[str] = field(default_factory=set)
    why_not: str | None = None


def _listed(value: Any) -> set[str]:
    if value is None:
        return set()
    return {str(v) for v in value} if isinstance(value, list) else {str(value)}


def expected_targets(intent: str, slots: dict[str, Any], area: str | None,
                     pool: list[Entity]) -> list[Entity]:
    """Home Assistant's async_match_targets over the fixture, from a test's expected slots."""
    found = list(pool)
    domains = _listed(slots.get("domain")) or ({"light"} if intent == "HassLightSet" else set())
    if domains:
        found = [e for e in found if e.domain in domains]
    if "name" in slots:
        found = [e for e in found if e.name.casefold() == str(slots["name"]).casefold()]
    classes = _listed(slots.get("device_class"))
    if classes:
        found = [e for e in found if e.device_class in classes]
    if "area" in slots:
        found = [e for e in found if (e.area or "").casefold() == str(slots["area"]).casefold()]
    if "name" in slots and len(found) > 1 and area:
        preferred = [e for e in found if e.area == area]
        found = preferred or found
    return found


def load_cases(repo: Repo, all_entities: list[Entity], skipped: list[str]) -> list[Case]:
    cases = []
    for name in repo.files():
        if name.startswith("_") or not name.endswith(".yaml"):
            continue
        data = repo.read(name)
        for test in data.get("tests", []):
            intent = test.get("intent") or {}
            slots = dict(intent.get("slots") or {})
            context = dict(intent.get("context") or test.get("context") or {})
            for sentence in test["sentences"]:
                case = Case(name, sentence, str(intent.get("name")), slots, context.get("area"),
                            str(test.get("response", "")))
                case.why_not = _not_applicable(case, context, all_entities, skipped)
                if case.why_not is None:
                    case.targets = {e.id for e in expected_targets(case.intent, slots, case.area, all_entities)}
                cases.append(case)
    return cases


def _not_applicable(case: Case, context: dict[str, Any], all_entities: list[Entity],
                    skipped: list[str]) -> str | None:
    if case.intent not in INTENTS:
        return f"intent {case.intent}"
    extra = (set(case.slots) & NOT_OURS) or (set(context) - {"area"})
    if extra:
        return f"slot {sorted(extra)[0]}"
    if case.intent == "HassLightSet" and "brightness" not in case.slots:
        return "light setting other than brightness"
    found = expected_targets(case.intent, case.slots, case.area, all_entities)
    if not found:
        return "no target in the fixture"
    domains = {e.domain for e in found}
    if not domains <= set(DOMAINS):
        return f"domain {sorted(domains - set(DOMAINS))[0]}"
    if any(e.id in skipped for e in found):
        return "sensor state that is not a number"
    return None


# ---- scoring ---------------------------------------------------------------------------------
def truth(case: Case, by_id: dict[str, Entity]) -> tuple[str, Any]:
    """What a question's true answer is: (kind, value)."""
    response = case.response.strip()
    asked = case.slots.get("state")
    targets = [by_id[t] for t in sorted(case.targets)]
    hits = {e.name.casefold() for e in targets if _state_word(e) == str(asked)}
    if "name" in case.slots and len(targets) == 1:
        entity = targets[0]
        if asked is not None:
            return "yesno", _state_word(entity) == str(asked)
        if entity.domain == "sensor":
            return "value", float(entity.state)
        return "state", str(entity.state)
    if re.fullmatch(r"\d+", response):
        return "count", len(hits)
    if response.startswith(("Yes", "No")):
        if re.match(r"(Yes|No)\b.*\ball\b|No, .* not ", response) or "are all" in case.sentence:
            return "yesno", len(hits) == len(targets)
        return "yesno", bool(hits)
    return "which", hits


def _state_word(entity: Entity) -> str:
    return str(entity.state)


def check(case: Case, answer: Any, by_id: dict[str, Entity]) -> str | None:
    """None when right, else what was wrong."""
    if answer is None:
        return "not local"
    if answer.handled_by != "local":
        return f"handled by {answer.handled_by}"
    if answer.intent != case.intent:
        return f"intent {answer.intent}"
    ran = [r.action for r in answer.results]
    devices = {a.device for a in ran}
    if devices != case.targets:
        return (f"devices {sorted(devices)} != {sorted(case.targets)}; reply {answer.reply!r}")
    if case.intent == "HassGetState":
        if any(a.action != "query" for a in ran):
            return "a question changed a device"
        return _check_reply(case, answer.reply, by_id)
    for action in ran:
        domain = by_id[action.device].domain
        if case.intent == "HassLightSet":
            want = float(case.slots["brightness"])
            if action.action != "set_brightness" or action.value != want:
                return f"{action.action} {action.value} != set_brightness {want:g}"
            continue
        want_action = (_ON if case.intent == "HassTurnOn" else _OFF)[domain]
        if action.action != want_action and action.action not in _SAME.get(want_action, set()):
            return f"{action.action} on {action.device}"
    if not all(r.ok for r in answer.results):
        return f"failed: {answer.reply!r}"
    return None


def _check_reply(case: Case, reply: str, by_id: dict[str, Entity]) -> str | None:
    kind, value = truth(case, by_id)
    said = reply.casefold()
    ok = True
    if kind == "yesno":
        ok = said.startswith("yes" if value else "no")
    elif kind == "count":
        ok = (str(value) in re.findall(r"\d+", said)) or (value == 0 and said.startswith(("no", "none")))
    elif kind == "which":
        names = {by_id[t].name.casefold() for t in case.targets}
        ok = all(n in said for n in value) and not any(
            n in said for n in names - value if not any(n in v for v in value))
        if not value:
            ok = said.startswith(("no", "none"))
    elif kind == "value":
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", said)]
        ok = any(abs(n - value) < 0.06 for n in numbers)
    elif kind == "state":
        ok = str(value).casefold().replace("_", " ") in said
    return None if ok else f"{kind} {value!r}: reply {reply!r}"


def domain_of(case: Case, by_id: dict[str, Entity]) -> str:
    domains = sorted({by_id[t].domain for t in case.targets})
    return "+".join(domains) if domains else "-"


def run(repo: Repo, split: str) -> dict[str, Any]:
    all_entities = entities(repo.read("_fixtures.yaml"))
    by_id = {e.id: e for e in all_entities}
    with tempfile.TemporaryDirectory() as tmp:
        homes, skipped = build_homes(all_entities, Path(tmp))
        cases = load_cases(repo, all_entities, skipped)
        results = _run_cases(homes, cases, split, by_id)
    results["homes"] = [len(h.config.devices) for h in homes]
    results["not_representable"] = skipped
    return results


def _held_out(case: Case) -> bool:
    return any(h in case.file for h in HELD_OUT)


def _run_cases(homes: list[Home], cases: list[Case], split: str,
               by_id: dict[str, Entity]) -> dict[str, Any]:
    rows, not_applicable = [], Counter()
    brains: dict[tuple[int, str | None], tuple[LocalIntents, Any]] = {}
    factories = [MockFactory(pin_class=MockPWMPin) for _ in homes]
    registries = [DeviceRegistry.from_config(h.config, f, None) for h, f in zip(homes, factories,
                                                                                  strict=True)]
    match_cpu, handle_cpu = [], []
    try:
        for case in cases:
            if split == "dev" and _held_out(case) or split == "heldout" and not _held_out(case):
                continue
            if case.why_not is not None:
                not_applicable[case.why_not] += 1
                continue
            index = _home_for(homes, case, by_id)
            if index is None:
                rows.append((case, "targets not in one home"))
                continue
            home, registry, factory = homes[index], registries[index], factories[index]
            intents = _intents(brains, index, home, case.area)
            set_fixture_states(registry, factory, home, by_id)
            brain = LocalBrain(intents, DeviceExecutor(registry))
            start = time.process_time()
            intents._matched.cache_clear()  # noqa: SLF001 - a first hearing, not a cached one
            intents.match(case.sentence)
            match_cpu.append(time.process_time() - start)
            intents._matched.cache_clear()  # noqa: SLF001
            start = time.process_time()
            answer = brain.handle(case.sentence)
            handle_cpu.append(time.process_time() - start)
            rows.append((case, check(case, answer, by_id)))
    finally:
        for registry in registries:
            registry.close()
    return _summary(rows, not_applicable, match_cpu, handle_cpu, by_id)


def _home_for(homes: list[Home], case: Case, by_id: dict[str, Entity]) -> int | None:
    classes = {by_id[t].device_class for t in case.targets if by_id[t].domain == "binary_sensor"}
    for index, home in enumerate(homes):
        wanted = set(case.targets) | {e for e, v in by_id.items()
                                      if v.domain == "binary_sensor" and v.device_class in classes}
        if wanted <= _fixture_ids(home, by_id):
            return index
    # Not in the home's config (a name the code under test could not take twice): the home
    # that should have held it, where the sentence is then scored.
    for index, home in enumerate(homes):
        if any(t in home.pins or t in home.files for t in case.targets):
            return index
    return None


def _fixture_ids(home: Home, by_id: dict[str, Entity]) -> set[str]:
    return set(home.pins) | set(home.files)


def _intents(cache: dict[tuple[int, str | None], tuple[LocalIntents, Any]], index: int,
             home: Home, area: str | None) -> LocalIntents:
    key = (index, area)
    if key not in cache:
        config = home.config
        if area is not None and "area" in {f.name for f in dataclasses.fields(Config)}:
            config = dataclasses.replace(config, area=area)
        cache[key] = (LocalIntents(config), None)
    return cache[key][0]


def _summary(rows: list[tuple[Case, str | None]], not_applicable: Counter[str],
             match_cpu: list[float], handle_cpu: list[float],
             by_id: dict[str, Entity]) -> dict[str, Any]:
    def score(key: Any) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for case, problem in rows:
            out[key(case)][1] += 1
            out[key(case)][0] += problem is None
        return dict(sorted(out.items()))

    right = sum(problem is None for _, problem in rows)
    return {
        "right": right, "total": len(rows),
        "by_intent": score(lambda c: c.intent), "by_file": score(lambda c: c.file),
        "by_domain": score(lambda c: domain_of(c, by_id)),
        "failures": [{"file": c.file, "sentence": c.sentence, "problem": p}
                     for c, p in rows if p is not None],
        "not_applicable": dict(not_applicable.most_common()),
        "match_cpu_ms": _percentiles(match_cpu), "handle_cpu_ms": _percentiles(handle_cpu),
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered) * 1000, 2),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intents-repo", type=Path, required=True,
                        help="a checkout or bare git directory of home-assistant/intents")
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="dev")
    parser.add_argument("--failures", action="store_true", help="list every failure")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    results = run(Repo(args.intents_repo), args.split)
    total = max(results["total"], 1)
    print(f"split {args.split}: {results['right']} of {results['total']} handled locally and "
          f"right ({100 * results['right'] / total:.1f} %); homes of {results['homes']} devices")
    for title in ("by_domain", "by_intent", "by_file"):
        print(f"\n{title.replace('_', ' ')}:")
        for key, (ok, n) in results[title].items():
            print(f"  {key:48s} {ok:4d} / {n:<4d} {100 * ok / n:5.1f} %")
    print(f"\nnot applicable: {sum(results['not_applicable'].values())} "
          f"{results['not_applicable']}")
    print(f"not representable: {results['not_representable']}")
    print(f"match CPU ms (first hearing): {results['match_cpu_ms']}; "
          f"whole local turn CPU ms: {results['handle_cpu_ms']}")
    if args.failures:
        print("\nfailures:")
        for failure in results["failures"]:
            print(f"  [{failure['file']}] {failure['sentence']!r}: {failure['problem']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
