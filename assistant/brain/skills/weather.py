"""The weather for the configured place, from Open-Meteo (no key), cached, never invented.

One request (``GET {base_url}?latitude=..&longitude=..&current=..&daily=..&timezone=auto&
forecast_days=2``) gives the current temperature, weather code and wind, and today's and
tomorrow's highs, lows, weather codes and chance of precipitation. The whole request, name
lookup included (which no socket time-out covers), runs on a worker thread and is given up after
``weather.timeout_s``, so a question never waits longer than that; a forecast is kept for
``weather.cache_s`` (and only for the day it was made). Every figure spoken is one the service
sent: a missing field leaves its clause out. Without the internet the reply says so; without a
location it says that instead.
"""

from __future__ import annotations

import http.client
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from assistant.brain.replies import spoken_number
from assistant.config import WeatherConfig

_LOGGER = logging.getLogger(__name__)

NO_LOCATION = "No location is set for the weather."
OFFLINE = "I can't check the weather without the internet."
SERVICE_DOWN = "The weather service isn't answering right now."
MAX_BYTES = 200_000
CURRENT = ("temperature_2m", "weather_code", "wind_speed_10m")
DAILY = ("weather_code", "temperature_2m_max", "temperature_2m_min",
         "precipitation_probability_max")
# WMO weather interpretation codes, as Open-Meteo documents them.
WMO = {
    0: "clear", 1: "mainly clear", 2: "partly cloudy", 3: "overcast", 45: "foggy",
    48: "foggy with rime", 51: "light drizzle", 53: "drizzle", 55: "heavy drizzle",
    56: "light freezing drizzle", 57: "freezing drizzle", 61: "light rain", 63: "rain",
    65: "heavy rain", 66: "light freezing rain", 67: "freezing rain", 71: "light snow",
    73: "snow", 75: "heavy snow", 77: "snow grains", 80: "light showers", 81: "showers",
    82: "heavy showers", 85: "light snow showers", 86: "snow showers", 95: "a thunderstorm",
    96: "a thunderstorm with hail", 99: "a thunderstorm with heavy hail",
}
_WET = {51, 53, 55, 56, 57, 61, 63, 65, 66, 67, 80, 81, 82, 95, 96, 99}


class WeatherUnavailable(Exception):
    def __init__(self, reply: str, detail: str):
        self.reply = reply
        super().__init__(detail)


@dataclass(frozen=True)
class Day:
    code: int | None
    high: float | None
    low: float | None
    rain_pct: float | None


@dataclass(frozen=True)
class Forecast:
    temperature: float | None
    code: int | None
    wind: float | None
    wind_unit: str
    days: tuple[Day, ...]
    """Today first, then tomorrow (in the place's own time zone)."""
    first_day: date | None


class OpenMeteo:
    def __init__(self, config: WeatherConfig, clock: Callable[[], float] = time.monotonic,
                 today: Callable[[], date] = date.today):
        self.config = config
        self.clock = clock
        self.today = today
        self._cached: tuple[float, Forecast] | None = None

    def url(self) -> str:
        config = self.config
        query = {
            "latitude": f"{config.latitude:.4f}", "longitude": f"{config.longitude:.4f}",
            "current": ",".join(CURRENT), "daily": ",".join(DAILY), "timezone": "auto",
            "forecast_days": "2", "temperature_unit": config.units,
            "wind_speed_unit": "mph" if config.units == "fahrenheit" else "kmh",
        }
        return f"{config.base_url}?{urlencode(query)}"

    def forecast(self) -> Forecast:
        """The cached forecast, or a fresh one; WeatherUnavailable says why there is none."""
        now = self.clock()
        if self._cached is not None:
            at, cached = self._cached
            if now - at < self.config.cache_s and cached.first_day in (None, self.today()):
                return cached
        forecast = parse_forecast(self._fetch_within(self.config.timeout_s))
        self._cached = (now, forecast)
        return forecast

    def _fetch_within(self, limit_s: float) -> Any:
        """_fetch on a worker thread, waited for at most limit_s (the thread, a daemon, is left
        to finish or time out on its own: a blocked name lookup cannot be interrupted)."""
        answers: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

        def work() -> None:
            try:
                answers.put((True, self._fetch()))
            except Exception as exc:  # handed to the waiting thread, which raises it
                answers.put((False, exc))

        threading.Thread(target=work, name="weather", daemon=True).start()
        try:
            ok, value = answers.get(timeout=limit_s)
        except queue.Empty:
            raise WeatherUnavailable(SERVICE_DOWN, f"no answer within {limit_s:g} s") from None
        if not ok:
            raise value
        return value

    def _fetch(self) -> Any:
        """The JSON of one request. No connection at all (no route, no name, refused) is
        "without the internet"; a server that answers badly or too slowly is the service's."""
        timeout = self.config.timeout_s
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(self.url(), headers={"User-Agent": "assistant"})
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise WeatherUnavailable(SERVICE_DOWN, f"HTTP {exc.code}") from exc
        except urllib.error.URLError as exc:
            raise WeatherUnavailable(OFFLINE, str(exc.reason)) from exc
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:  # no answer
            raise WeatherUnavailable(SERVICE_DOWN, f"no answer: {exc}") from exc
        body = b""
        try:
            with response:
                while len(body) <= MAX_BYTES:
                    piece = response.read(16384)
                    if not piece:
                        break
                    body += piece
                    if time.monotonic() > deadline:  # a server trickling bytes
                        raise WeatherUnavailable(SERVICE_DOWN, "the answer took too long")
        except (OSError, http.client.HTTPException) as exc:
            raise WeatherUnavailable(SERVICE_DOWN, f"the answer stopped: {exc}") from exc
        if len(body) > MAX_BYTES:
            raise WeatherUnavailable(SERVICE_DOWN, "the weather service sent too much")
        try:
            return json.loads(body)
        except ValueError as exc:
            raise WeatherUnavailable(SERVICE_DOWN, "the weather service sent no JSON") from exc


def parse_forecast(data: Any) -> Forecast:
    """Open-Meteo's JSON as plain values; anything not a number becomes None."""
    if not isinstance(data, dict):
        raise WeatherUnavailable(SERVICE_DOWN, "the weather service sent no forecast")
    current, daily, units = (_mapping(data, k) for k in ("current", "daily", "current_units"))
    days = []
    for i in range(2):
        days.append(Day(_int(_at(daily, "weather_code", i)),
                        _num(_at(daily, "temperature_2m_max", i)),
                        _num(_at(daily, "temperature_2m_min", i)),
                        _num(_at(daily, "precipitation_probability_max", i))))
    first = _at(daily, "time", 0)
    try:
        first_day = date.fromisoformat(first) if isinstance(first, str) else None
    except ValueError:
        first_day = None
    forecast = Forecast(_num(current.get("temperature_2m")), _int(current.get("weather_code")),
                        _num(current.get("wind_speed_10m")),
                        str(units.get("wind_speed_10m") or "km/h"), tuple(days), first_day)
    if forecast.temperature is None and all(d == Day(None, None, None, None) for d in days):
        raise WeatherUnavailable(SERVICE_DOWN, "the forecast had no figures")
    return forecast


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _at(mapping: dict[str, Any], key: str, index: int) -> Any:
    values = mapping.get(key)
    return values[index] if isinstance(values, list) and len(values) > index else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return int(number) if number is not None else None


# -- replies -----------------------------------------------------------------------------------
def weather_command(slots: dict[str, Any], service: OpenMeteo | None, place: str | None) -> str:
    if service is None:
        return NO_LOCATION
    try:
        forecast = service.forecast()
    except WeatherUnavailable as exc:
        _LOGGER.warning("weather: %s", exc)
        return exc.reply
    where = f"in {place}" if place else "here"
    day = 1 if slots.get("day") == "tomorrow" else 0
    ask = slots.get("ask") or "weather"
    if ask == "rain":
        return _rain(forecast.days[day], where, day)
    if ask == "temperature" and day == 0 and forecast.temperature is not None:
        return f"It's {_degrees(forecast.temperature)} {where}."
    if day == 1:
        return _day(forecast.days[1], f"Tomorrow {where}") or "I have no forecast for tomorrow."
    return _today(forecast, where) or "The weather service sent nothing I can read."


def _degrees(value: float) -> str:
    return f"{spoken_number(value)} degrees"


def _today(forecast: Forecast, where: str) -> str:
    said = []
    now = []
    if forecast.temperature is not None:
        now.append(_degrees(forecast.temperature))
    if forecast.code in WMO:
        now.append(WMO[forecast.code])
    if now:
        said.append(f"{where[0].upper()}{where[1:]} it's {' and '.join(now)}.")
    later = _day(forecast.days[0], "Today")
    if later:
        said.append(later)
    return " ".join(said)


def _day(day: Day, lead: str) -> str:
    parts = []
    if day.code in WMO:
        parts.append(WMO[day.code])
    if day.high is not None and day.low is not None:
        parts.append(f"between {spoken_number(day.low)} and {_degrees(day.high)}")
    elif day.high is not None:
        parts.append(f"up to {_degrees(day.high)}")
    if day.rain_pct is not None:
        parts.append(f"{spoken_number(day.rain_pct)} percent chance of rain")
    if not parts:
        return ""
    return f"{lead}: {', '.join(parts)}."


def _rain(day: Day, where: str, index: int) -> str:
    when = "tomorrow" if index else "today"
    if day.rain_pct is not None:
        number = spoken_number(day.rain_pct)
        article = "an" if number.startswith("8") or number in ("11", "18") else "a"
        return f"There's {article} {number} percent chance of rain {when} {where}."
    if day.code in WMO:
        wet = "Rain is" if day.code in _WET else "No rain is"
        return f"{wet} forecast {when} {where}: {WMO[day.code]}."
    return f"I have no rain forecast for {when}."
