"""The dashboard's cost: page transfer, event -> browser latency, idle CPU and memory.

    .venv/bin/python bench/web_bench.py [--idle-s 30] [--events 300] [--out bench/results/web.md]

A real dashboard (the example config's devices on mock pins, no pipeline) in this process and a
real headless Chromium logged in to it. The web layer's CPU is this process's CPU-seconds while
only the web layer runs in it (the mock devices have no threads), measured with no browser, with
a browser in a quiet room (the level meter barely moves, so nothing is sent) and with a browser
in a noisy one (a level message 5 times a second). Latency is the page's own measure: the wall
time an event was published (stamped by the server) to its arrival in the page's handler and to
the end of its rendering, on one machine, so both use the same clock.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.events import EventType  # noqa: E402
from bench import browser  # noqa: E402
from tests.polling import wait_for  # noqa: E402
from tests.webtools import PASSWORD, example_config, running  # noqa: E402

TRANSFER_BUDGET = 150 * 1024
LATENCY_BUDGET_MS = 100.0
IDLE_BUDGET = 0.002
"""CPU-seconds per second."""


class Level:
    """A microphone level source: steady (a quiet room) or varying by several dB (noise)."""

    def __init__(self) -> None:
        self.noisy = False

    def level_dbfs(self) -> float:
        return -30.0 + random.uniform(-8, 8) if self.noisy else -62.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_per_s(seconds: float) -> float:
    start_cpu, start = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return (time.process_time() - start_cpu) / (time.monotonic() - start)


def reply(i: int) -> dict[str, Any]:
    return {"text": f"turn on the kitchen light {i}", "handled_by": "local", "intent": "HassTurnOn",
            "reply": "Turned on the kitchen light.", "slots": {},
            "actions": [{"device": "kitchen_light", "action": "turn_on", "value": None, "ok": True,
                         "state": "on"}],
            "timings_ms": {"end_of_speech_ms": 300.0, "stt_ms": 500.0, "stt_wait_ms": 420.0,
                           "brain_ms": 40.0, "action_lag_ms": 780.0, "first_audio_lag_ms": 950.0}}


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"n": len(ordered), "median": statistics.median(ordered),
            "p95": ordered[max(0, int(len(ordered) * 0.95) - 1)], "max": ordered[-1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle-s", type=float, default=30.0, help="seconds per idle measurement")
    parser.add_argument("--events", type=int, default=300, help="events for the latency figure")
    parser.add_argument("--out", type=Path, help="write the report (markdown) here as well")
    args = parser.parse_args(argv)
    import selenium.webdriver  # noqa: F401 - imported before the memory baseline

    from assistant.app import build_home
    from assistant.events import EventBus
    from assistant.web import Controls, start_web

    lines: list[str] = []

    def report(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    level = Level()
    with tempfile.TemporaryDirectory() as folder:
        # The web layer's memory alone: the home first, then the dashboard on it.
        config = example_config(Path(folder))
        home = build_home(config, no_cloud=True)
        rss_home = rss_mb()
        alone = start_web(config, home, EventBus(), port=0)
        rss_web_alone = rss_mb() - rss_home
        alone.close()
        home.close()
    load_before = os.getloadavg()[0]
    base_cpu = cpu_per_s(min(10.0, args.idle_s))
    with tempfile.TemporaryDirectory() as folder, running(Path(folder),
                                                         controls=Controls(level=level)) as app:
        rss_home_web = rss_mb()
        app.client().setup(PASSWORD)
        time.sleep(1.0)
        no_browser = cpu_per_s(args.idle_s)
        driver = browser.start_chromium()
        try:
            browser.log_in(driver, app.web.url, PASSWORD)
            wait_for(lambda: app.web.dashboard.hub.clients == 1, 10)
            time.sleep(2.0)  # the page's first fetches are done
            sizes = browser.transfer_bytes(driver)
            quiet = cpu_per_s(args.idle_s)
            level.noisy = True
            noisy = cpu_per_s(args.idle_s)
            level.noisy = False
            time.sleep(1.0)
            driver.execute_script("window.dashboard.arrival.length = 0;"
                                  "window.dashboard.rendered.length = 0")
            emit_us = []
            for i in range(args.events):
                started = time.perf_counter()
                if i % 3 == 2:
                    app.bus.emit(EventType.REPLY, **reply(i))
                else:
                    app.bus.emit(EventType.TRANSCRIPT, text=f"turn on the kitchen light {i}")
                emit_us.append((time.perf_counter() - started) * 1e6)
                time.sleep(0.05)  # 20 events a second, faster than any conversation
            wait_for(lambda: len(driver.execute_script("return window.dashboard.arrival")
                                 ) >= args.events, 10)
            arrival = [a["ms"] for a in driver.execute_script("return window.dashboard.arrival")]
            rendered = [a["ms"] for a in driver.execute_script("return window.dashboard.rendered")]
            errors = browser.severe_console(driver)
            rss_browser = rss_mb()
        finally:
            driver.quit()
        app.web.history.flush()
        for i in range(1000):
            app.web.history.record_reply(reply(i))
            if i % 100 == 99:
                app.web.history.flush()
        app.web.history.flush()
        dropped = app.web.history.dropped
        db = app.web.history.path
        db_kb = sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 1024
        rss_history = rss_mb()
    total = sum(sizes.values())
    static = sum(v for k, v in sizes.items() if not k.startswith("/api/"))
    lat, ren, emit = summary(arrival), summary(rendered), summary(emit_us)
    web_quiet, web_noisy, web_none = (quiet - base_cpu, noisy - base_cpu, no_browser - base_cpu)
    report("# Dashboard cost (bench/web_bench.py)\n")
    report(f"- page transfer after login: {total / 1024:.1f} KB ({static / 1024:.1f} KB page files, "
           f"gzip; {(total - static) / 1024:.1f} KB API answers), budget {TRANSFER_BUDGET // 1024} KB: "
           f"{'ok' if total <= TRANSFER_BUDGET else 'OVER'}")
    report(f"- event -> browser (arrival in the page's handler), {lat['n']} events at 20/s: median "
           f"{lat['median']:.1f} ms, p95 {lat['p95']:.1f} ms, max {lat['max']:.1f} ms "
           f"({sum(v > LATENCY_BUDGET_MS for v in arrival)} over {LATENCY_BUDGET_MS:.0f} ms); budget "
           f"{LATENCY_BUDGET_MS:.0f} ms: {'ok' if lat['p95'] <= LATENCY_BUDGET_MS else 'OVER'}")
    report(f"- event -> rendered in the page: median {ren['median']:.1f} ms, p95 {ren['p95']:.1f} ms, "
           f"max {ren['max']:.1f} ms")
    report(f"- the bus's cost of the dashboard (bus.emit with history + one browser): median "
           f"{emit['median']:.0f} µs, p95 {emit['p95']:.0f} µs per event")
    report(f"- idle CPU of the web layer (CPU-s per s, this process less its {base_cpu:.5f} before "
           f"the web started): no browser {web_none:.5f}, a browser in a quiet room "
           f"{web_quiet:.5f}, a browser in a noisy room (level 5/s) {web_noisy:.5f}; budget "
           f"{IDLE_BUDGET}: {'ok' if max(web_none, web_quiet) <= IDLE_BUDGET else 'OVER'}")
    report(f"- memory (RSS): the dashboard adds {rss_web_alone:.1f} MB to a home of {rss_home:.0f} MB "
           f"(devices, intents, brain; no pipeline); {rss_home_web:.0f} MB in the benchmark's process, "
           f"{rss_browser:.0f} MB with a browser connected (the page's checks import sounddevice and "
           f"the model packages, which a running appliance has loaded already), {rss_history:.0f} MB "
           f"after 1000 more "
           f"interactions; history file {db_kb:.0f} KB for {1000 + lat['n'] // 3} interactions "
           f"({dropped} writes dropped)")
    report(f"- console errors in the page: {len(errors)}")
    import platform

    report(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
           f"load average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end "
           f"(a shared machine: latency outliers follow the load); "
           f"`bench/web_bench.py --idle-s {args.idle_s:g} --events {args.events}`")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        # Runs are appended: the file keeps each run's figures with its load.
        with args.out.open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
