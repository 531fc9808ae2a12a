"""The dashboard in a real headless Chromium: it loads clean, lists the config's devices, a
click drives a mock pin, a lock asks first, and a spoken command fed to the real pipeline shows
up live in the history with its timings. A screenshot is written (to $ASSISTANT_SCREENSHOT
too, e.g. docs/dashboard.png)."""

from __future__ import annotations

import logging
import os
import statistics
import threading
from pathlib import Path

import pytest

from bench import browser, corpus
from tests.polling import wait_for
from tests.webtools import PASSWORD, voiced

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(browser.chromium_paths() is None,
                                 reason="chromium and chromium-driver are not installed "
                                        "(scripts/setup.sh --test)")]
_LOGGER = logging.getLogger(__name__)

KITCHEN_LIGHT_PIN, BEDROOM_LIGHT_PIN, FRONT_DOOR_PIN = 17, 27, 5
SENSOR = """
  - id: shed_temperature
    name: shed temperature
    area: garden
    kind: sensor
    source: {path}
    unit: °C
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The appliance as `assistant run --input command.wav --realtime` builds it with the
    dashboard on: the pipeline waits for the spoken-command test to start it."""
    folder = tmp_path_factory.mktemp("web")
    reading = folder / "shed"
    reading.write_text("18.5\n")
    wav = folder / "command.wav"
    corpus.write_wav(wav, corpus.silence(1.0) + corpus.speak("Okay Nabu.") + corpus.silence(0.4)
                     + corpus.speak("Turn on the bedroom light.") + corpus.silence(2.5))
    with voiced(folder, wav, extra_yaml=SENSOR.format(path=reading)) as app:
        app.client().setup(PASSWORD)
        now = app.web.history.clock()
        for i in range(24):  # a day of the sensor's readings, for its chart
            app.web.history.record_reading("shed_temperature", 14 + 6 * (i % 12) / 11,
                                           now - (24 - i) * 3600)
        app.folder = folder  # type: ignore[attr-defined]
        yield app


@pytest.fixture(scope="module")
def page(app):
    driver = browser.start_chromium()
    try:
        browser.log_in(driver, app.web.url, PASSWORD)
        yield driver
    finally:
        driver.quit()


def card(page, device_id: str):  # type: ignore[no-untyped-def]
    return page.find_element("css selector", f'[data-device="{device_id}"]')


def test_the_page_loads_without_console_errors_and_lists_the_devices(app, page):
    names = {e.text for e in page.find_elements("css selector", "#devices .card .title")}
    assert names == {d.name for d in app.config.devices}
    assert wait_for(lambda: "18.5" in card(page, "shed_temperature").text, 5)
    assert wait_for(lambda: bool(page.find_elements("css selector",
                                                   '[data-device="shed_temperature"] polyline')))
    assert wait_for(lambda: bool(page.find_elements("css selector", "#checks .check")),
                    10)
    assert browser.severe_console(page) == []
    sizes = browser.transfer_bytes(page)
    _LOGGER.info("page transfer: %d bytes %s", sum(sizes.values()), sizes)
    assert set(sizes) >= {"/", "/app.js", "/app.css"}


def test_a_click_on_a_toggle_drives_the_mock_pin(app, page):
    assert app.pin(KITCHEN_LIGHT_PIN) == 0
    card(page, "kitchen_light").find_element("css selector", ".toggle").click()
    assert wait_for(lambda: app.pin(KITCHEN_LIGHT_PIN) == 1)
    assert wait_for(lambda: card(page, "kitchen_light").get_attribute("data-on") == "true")


def test_a_lock_asks_before_the_request_is_sent(app, page):
    dialog = page.find_element("id", "confirm")
    for answer, pin in (("confirm-no", 1), ("confirm-yes", 0)):
        card(page, "front_door").find_element("css selector", ".lock-btn").click()
        assert wait_for(lambda: dialog.get_attribute("open") is not None)
        assert "Unlock the front door?" in dialog.text
        assert app.pin(FRONT_DOOR_PIN) == 1  # nothing sent while the page asks
        page.find_element("id", answer).click()
        assert wait_for(lambda p=pin: app.pin(FRONT_DOOR_PIN) == p)
    assert wait_for(lambda: "unlocked" in card(page, "front_door").text)
    assert browser.severe_console(page) == []


def test_a_spoken_command_appears_live_with_its_timings(app, page, tmp_path):
    """The real pipeline on a WAV of piper's voice, paced in real time, on the same bus and
    devices as the page; the microphone's level reaches the page's meter on the way."""
    page.execute_script("window.dashboard.arrival.length = 0; window.dashboard.rendered.length = 0")
    runner = threading.Thread(target=app.voice.run, daemon=True)
    runner.start()
    selector = "#interactions .interaction[data-fresh]"
    assert wait_for(lambda: any("bedroom light" in e.text
                                for e in page.find_elements("css selector", selector)),
                    60)
    runner.join(30)
    entry = next(e for e in page.find_elements("css selector", selector)
                 if "bedroom light" in e.text)
    assert app.pin(BEDROOM_LIGHT_PIN) == 1
    segments = entry.find_elements("css selector", ".timing-bar .seg")
    assert {s.get_attribute("class") for s in segments} >= {"seg endpoint", "seg brain"}
    assert all(int(s.get_attribute("data-ms")) >= 0 for s in segments)
    assert "spoken" in entry.text and "local" in entry.text
    assert entry.find_elements("css selector", ".timing-bar .mark")  # action, first audio
    arrival = page.execute_script("return window.dashboard.arrival")
    kinds = [a["type"] for a in arrival]
    for kind in ("wake", "transcript", "reply", "level"):
        assert kind in kinds, kinds
    lags = [a["ms"] for a in arrival]
    _LOGGER.info("event -> browser: n=%d median %.1f ms, max %.1f ms (%s)", len(lags),
                 statistics.median(lags), max(lags), kinds)
    print(f"event -> browser latency: n={len(lags)} median={statistics.median(lags):.1f} ms "
          f"max={max(lags):.1f} ms")
    page.find_element("id", "ask-text").send_keys("what time is it")
    page.find_element("css selector", "#ask-form button").click()
    assert wait_for(lambda: "typed" in page.find_element("id", "interactions").text, 10)
    assert not page.find_element("id", "mute").get_attribute("hidden")
    assert browser.severe_console(page) == []
    shot = browser.full_page_png(page, tmp_path / "dashboard.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = os.environ.get("ASSISTANT_SCREENSHOT")
    if target:
        Path(target).write_bytes(shot.read_bytes())
