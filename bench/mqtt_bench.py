"""MQTT benchmark on a real mosquitto (loopback): the latencies Home Assistant users feel and
what the MQTT layer costs.

    .venv/bin/python bench/mqtt_bench.py [--n 200] [--idle-s 60]

- command -> GPIO: a client publishes ON/OFF on a switch's command topic; the time until the
  mock pin changes (gpiozero's MockFactory, through the executor); with TCP_NODELAY on the
  broker and the client ("tuned"), with both at their defaults as Home Assistant and mosquitto
  ship ("default_sockets"), and those commands back to back (Nagle's worst case);
- pin -> state message: a binary sensor's pin is driven; the time until a subscriber has the
  new state; and command -> state message (HA's whole round trip);
- arbitration: the time ``contest`` adds for the winner with two appliances that both heard
  the wake word, with one that heard it alone while another is online (the whole window), and
  alone on the broker;
- a home of 100 devices over MQTT: build time (wall and CPU-seconds) and intent matching time,
  beside a 10-device GPIO home;
- idle: CPU-seconds per minute and RSS of an appliance with the MQTT layer, against the same
  home without it (each in a fresh process).

Writes bench/results/mqtt.md (and .json). Figures come from this machine's 2 shared cores; the
load average at the time is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.app import build_home  # noqa: E402
from assistant.config import parse_config  # noqa: E402
from assistant.mqtt.arbiter import MqttWakeArbiter, WakeClaim  # noqa: E402
from assistant.mqtt.link import MqttLink  # noqa: E402
from assistant.mqtt.settings import Topics, link_settings  # noqa: E402
from tests.mqtt_broker import HOME_DEVICES, Broker, Watcher, appliance_yaml  # noqa: E402
from tests.test_mqtt_many import many_devices  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"n": len(ordered), "median_ms": round(statistics.median(ordered) * 1000, 3),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 3),
            "max_ms": round(ordered[-1] * 1000, 3)}


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _arrival(watcher: Watcher, topic: str) -> float:
    """When the last message on ``topic`` arrived (perf_counter)."""
    return next(at for t, _payload, _retained, at in reversed(watcher.messages) if t == topic)


def command_to_gpio(port: int, folder: Path, n: int, nodelay: bool = True, qos: int = 1,
                    gap_s: float = 0.005) -> dict[str, Any]:
    home = build_home(parse_config(appliance_yaml(port, folder)), appliance=True)
    home.mqtt.finish()
    ha = Watcher(port, ("assistant/test/device/#",), client_id="bench-ha", nodelay=nodelay, qos=qos)
    pin = home.pin_factory.pin(22)  # the kettle's relay
    changed: list[float] = []
    event = threading.Event()
    original = pin._change_state

    def watch(value: Any) -> Any:
        changed.append(time.perf_counter())
        event.set()
        return original(value)

    pin._change_state = watch
    gpio, state = [], []
    topic = "assistant/test/device/kettle/state"
    try:
        ha.wait_for(topic, "OFF")
        cpu0 = cpu_s()
        for i in range(n):
            word = "ON" if i % 2 == 0 else "OFF"
            event.clear()
            sent = time.perf_counter()
            ha.publish("assistant/test/device/kettle/set", word, qos=0)
            event.wait(2)
            gpio.append(changed[-1] - sent)
            ha.wait_for(topic, word)
            state.append(_arrival(ha, topic) - sent)
            time.sleep(gap_s)
        cpu_per_command_ms = (cpu_s() - cpu0) / n * 1000
    finally:
        ha.close()
        home.close()
    return {"command_to_gpio": stats(gpio), "command_to_state_message": stats(state),
            "cpu_ms_per_command_whole_process": round(cpu_per_command_ms, 3)}


def pin_to_state(port: int, folder: Path, n: int) -> dict[str, Any]:
    home = build_home(parse_config(appliance_yaml(port, folder)), appliance=True)
    home.mqtt.finish()
    ha = Watcher(port, ("assistant/test/device/hall_motion/state",), client_id="bench-ha2")
    topic = "assistant/test/device/hall_motion/state"
    pin = home.pin_factory.pin(16)
    lags = []
    try:
        ha.wait_for(topic, "OFF")
        for i in range(n):
            high = i % 2 == 0
            before = len(ha.messages)
            started = time.perf_counter()
            pin.drive_high() if high else pin.drive_low()
            ha.wait(lambda before=before: len(ha.messages) > before, 2, "a state")
            lags.append(_arrival(ha, topic) - started)
            time.sleep(0.005)
    finally:
        ha.close()
        home.close()
    return {"pin_to_state_message": stats(lags)}


def arbitration(port: int, n: int) -> dict[str, Any]:
    parts = []
    for name in ("kitchen", "living"):
        config = parse_config(f"name: {name}\nmqtt: {{host: 127.0.0.1, port: {port}}}\n")
        topics = Topics(f"assistant/{name}")
        link = MqttLink(link_settings(config), topics.base)
        link.start()
        link.wait_connected(5)
        arbiter = MqttWakeArbiter(link, topics)
        arbiter.start()
        parts.append((link, arbiter))
    time.sleep(0.5)
    both, alone_waits = [], []
    try:
        for i in range(n):
            claims = [WakeClaim("assistant/kitchen", i, 0.9, -20.0, time.time()),
                      WakeClaim("assistant/living", i, 0.9, -30.0, time.time())]
            barrier = threading.Barrier(2)
            waits: list[float] = [0.0, 0.0]
            won: list[bool] = [False, False]

            def run(k: int, claims: list[WakeClaim] = claims, barrier: threading.Barrier = barrier,
                    waits: list[float] = waits, won: list[bool] = won) -> None:
                barrier.wait()
                started = time.perf_counter()
                won[k] = parts[k][1].contest(claims[k])
                waits[k] = time.perf_counter() - started

            threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if won.count(True) != 1:
                raise AssertionError(f"round {i}: {won}")
            both.append(waits[won.index(True)])
            time.sleep(1.6)  # the next wake word is another utterance
            # The same number of rounds in which only the kitchen heard it.
            started = time.perf_counter()
            parts[0][1].contest(WakeClaim("assistant/kitchen", i, 0.9, -20.0, time.time()))
            alone_waits.append(time.perf_counter() - started)
            time.sleep(1.6)
    finally:
        for link, _ in parts:
            link.stop()
    config = parse_config(f"name: solo\nmqtt: {{host: 127.0.0.1, port: {port}}}\n")
    link = MqttLink(link_settings(config), "assistant/solo")
    link.start()
    link.wait_connected(5)
    solo = MqttWakeArbiter(link, Topics("assistant/solo"))
    solo.start()
    solo_waits = []
    for i in range(50):
        started = time.perf_counter()
        solo.contest(WakeClaim("assistant/solo", i, 0.9, -20.0, time.time()))
        solo_waits.append(time.perf_counter() - started)
    link.stop()
    return {"arbitration_winner_both_heard": stats(both),
            "arbitration_only_one_heard": stats(alone_waits),
            "arbitration_alone_on_broker": stats(solo_waits)}


def many(port: int, folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, devices in (("gpio_10_devices", HOME_DEVICES), ("mqtt_100_devices", many_devices(100))):
        sub = folder / label
        sub.mkdir()
        text = appliance_yaml(port, sub, devices=devices)
        wall, cpu = time.perf_counter(), cpu_s()
        home = build_home(parse_config(text), appliance=True)
        home.mqtt.finish()
        out[f"{label}_build_s"] = round(time.perf_counter() - wall, 3)
        out[f"{label}_build_cpu_s"] = round(cpu_s() - cpu, 3)
        sentences = ["turn on the garage heater", "set the office desk lamp to 20 percent",
                     "what is the kitchen temperature", "turn off the hall light", "open the kitchen blind"]
        times = []
        for sentence in sentences * 20:
            home.intents._matched.cache_clear()
            started = time.perf_counter()
            home.intents.match(sentence)
            times.append(time.perf_counter() - started)
        out[f"{label}_match"] = stats(times)
        home.close()
    return out


IDLE_CHILD = """
import sys, time, resource
sys.path.insert(0, {repo!r})
from pathlib import Path
from assistant.app import build_home
from assistant.config import parse_config
from tests.mqtt_broker import appliance_yaml
from tests.test_mqtt_many import many_devices
folder = Path({folder!r})
if {case!r} == "mqtt_100_devices":
    text = appliance_yaml({port}, folder, devices=many_devices(100))
else:
    text = appliance_yaml({port}, folder)
    if {case!r} == "gpio_10_devices_no_mqtt":
        text = "\\n".join(line for line in text.splitlines() if not line.startswith("mqtt:"))
text = text.replace("keepalive_s: 5", "keepalive_s: 30")  # the default
home = build_home(parse_config(text), appliance=True)
if home.mqtt is not None:
    home.mqtt.finish()
time.sleep(3)
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
c0, t0 = cpu(), time.monotonic()
time.sleep({idle_s})
print(cpu() - c0, time.monotonic() - t0, rss())
home.close()
"""


def idle(port: int, folder: Path, idle_s: float) -> dict[str, Any]:
    """Each home in a fresh process: CPU-seconds per minute of doing nothing, and RSS."""
    out: dict[str, Any] = {}
    repo = str(Path(__file__).resolve().parent.parent)
    for case in ("gpio_10_devices_no_mqtt", "gpio_10_devices_mqtt", "mqtt_100_devices"):
        sub = folder / f"idle_{case}"
        sub.mkdir()
        code = IDLE_CHILD.format(repo=repo, port=port, folder=str(sub), case=case, idle_s=idle_s)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=idle_s + 120)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        cpu, wall, rss = (float(x) for x in done.stdout.split())
        out[f"idle_{case}_cpu_s_per_min"] = round(cpu / wall * 60, 4)
        out[f"idle_{case}_rss_mb"] = round(rss, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="commands / edges / wake rounds per figure")
    parser.add_argument("--idle-s", type=float, default=60.0)
    args = parser.parse_args()
    results: dict[str, Any] = {"load_average": os.getloadavg(), "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # Nagle's algorithm: mosquitto's default (set_tcp_nodelay false) and a client that does
        # not set TCP_NODELAY (as Home Assistant's) hold a small publish back until the last
        # segment is acknowledged, up to the peer's delayed ACK (~40 ms on Linux).
        cases = (("tuned", True, 0.1), ("default_sockets", False, 0.1), ("default_sockets_back_to_back", False, 0.005))
        for label, tuned, gap in cases:
            (folder / label).mkdir()
            with Broker(folder / label, nodelay=tuned) as broker:
                print(f"commands ({label}) ...", file=sys.stderr, flush=True)
                found = command_to_gpio(broker.port, folder / label, args.n, nodelay=tuned, gap_s=gap)
                results.update({f"{key}_{label}": value for key, value in found.items()})
        with Broker(folder, nodelay=True) as broker:
            for step, run in (("edges", lambda: pin_to_state(broker.port, folder / "b", args.n)),
                              ("arbitration", lambda: arbitration(broker.port, max(10, args.n // 10))),
                              ("many", lambda: many(broker.port, folder)),
                              ("idle", lambda: idle(broker.port, folder, args.idle_s))):
                (folder / "b").mkdir(exist_ok=True)
                print(f"{step} ...", file=sys.stderr, flush=True)
                results.update(run())
    results["load_average_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "mqtt.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = ["# MQTT benchmark", "", f"`bench/mqtt_bench.py --n {args.n} --idle-s {args.idle_s:g}`, "
             f"{results['cores']} cores, load average {results['load_average'][0]:.1f} before, "
             f"{results['load_average_after'][0]:.1f} after", "", "| figure | value |", "|---|---|"]
    for key, value in results.items():
        if key.startswith("load_average") or key == "cores":
            continue
        shown = (f"median {value['median_ms']} ms, p95 {value['p95_ms']} ms, max {value['max_ms']} ms (n={value['n']})"
                 if isinstance(value, dict) else str(value))
        lines.append(f"| {key} | {shown} |")
    (RESULTS / "mqtt.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
