"""Headless Chromium from Debian (``chromium``, ``chromium-driver``) driven by selenium, for the
dashboard's browser test and benchmark. Nothing is downloaded: the driver and browser are the
system's, and the flags keep Chromium from reaching out on its own (this machine's closed
network refuses its background connections otherwise)."""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def start_chromium(width: int = 412, height: int = 915) -> Any:
    """A selenium driver on a fresh, empty profile (removed with ``quit``); phone-sized first."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    paths = chromium_paths()
    if paths is None:
        raise RuntimeError("chromium and chromedriver are not installed: "
                           "apt-get install chromium chromium-driver (scripts/setup.sh --test)")
    profile = tempfile.mkdtemp(prefix="assistant-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(paths[1]))
    quit_ = driver.quit

    def quit_and_clean() -> None:
        quit_()
        shutil.rmtree(profile, ignore_errors=True)

    driver.quit = quit_and_clean
    return driver


def full_page_png(driver: Any, path: Path, width: int = 1280) -> Path:
    """A screenshot of the whole page at a desktop width (DevTools' captureBeyondViewport)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    driver.execute_script("window.scrollTo(0, 0)")  # the sticky header stays at the top
    height = driver.execute_script("return document.documentElement.scrollHeight")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def transfer_bytes(driver: Any) -> dict[str, int]:
    """Bytes over the wire for the page and everything it loaded (Resource Timing)."""
    return driver.execute_script("""
        const out = {};
        for (const e of performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))) {
          const name = new URL(e.name).pathname;
          out[name] = (out[name] || 0) + (e.transferSize || e.encodedBodySize || 0);
        }
        return out;""")


def severe_console(driver: Any) -> list[dict[str, Any]]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def log_in(driver: Any, url: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    wait = WebDriverWait(driver, 10)
    field = wait.until(ec.visibility_of_element_located((By.ID, "password")))
    field.send_keys(password)
    driver.find_element(By.ID, "login-button").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#devices .card")))
