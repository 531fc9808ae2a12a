"""Weather: a scripted Open-Meteo on loopback. The request asks for what the docs name, every
figure spoken is one the server sent, a forecast is cached, and no internet, a failing or
stalling service, bad JSON and missing fields each get a plain answer without an invented
number."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from assistant.brain.skills.weather import (
    NO_LOCATION,
    OFFLINE,
    SERVICE_DOWN,
    OpenMeteo,
    weather_command,
)
from assistant.config import WeatherConfig, parse_config
from tests.clock import Clock
from tests.llm_server import closed_port

TODAY = date(2025, 3, 3)
FORECAST: dict[str, Any] = {
    "latitude": 52.52, "longitude": 13.42, "timezone": "Europe/Berlin",
    "current_units": {"temperature_2m": "°C", "wind_speed_10m": "km/h", "weather_code": "wmo code"},
    "current": {"time": "2025-03-03T10:15", "temperature_2m": 11.3, "weather_code": 2,
                "wind_speed_10m": 14.8},
    "daily_units": {"temperature_2m_max": "°C"},
    "daily": {"time": ["2025-03-03", "2025-03-04"], "weather_code": [3, 61],
              "temperature_2m_max": [14.2, 9.6], "temperature_2m_min": [4.1, 5.0],
              "precipitation_probability_max": [10, 80]},
}


class OpenMeteoServer:
    """Plays one scripted answer per request: a JSON body, a status, raw bytes, or a stall."""

    def __init__(self) -> None:
        self.answers: list[Any] = []
        self.queries: list[dict[str, list[str]]] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.queries.append(parse_qs(urlsplit(self.path).query))
                answer = server.answers.pop(0) if server.answers else FORECAST
                if answer == "stall":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"current": ')
                    self.wfile.flush()
                    server.release.wait(30)
                    return
                status, body = (answer, b'{"error": true, "reason": "scripted"}') if isinstance(
                    answer, int) else (200, answer if isinstance(answer, bytes)
                                       else json.dumps(answer).encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/forecast"

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[OpenMeteoServer]:
    scripted = OpenMeteoServer()
    yield scripted
    scripted.stop()


def service(url: str, clock: Clock | None = None, **kwargs: Any) -> OpenMeteo:
    config = WeatherConfig(latitude=52.52, longitude=13.41, name="Berlin", base_url=url,
                           timeout_s=kwargs.pop("timeout_s", 1.0), **kwargs)
    return OpenMeteo(config, clock or Clock(100.0), today=lambda: TODAY)


def ask(weather: OpenMeteo | None, **slots: str) -> str:
    return weather_command(slots, weather, "Berlin")


def test_the_request_asks_for_what_open_meteo_documents(server: OpenMeteoServer) -> None:
    ask(service(server.url, units="fahrenheit"))
    query = {k: v[0] for k, v in server.queries[0].items()}
    assert query["latitude"] == "52.5200" and query["longitude"] == "13.4100"
    assert query["current"] == "temperature_2m,weather_code,wind_speed_10m"
    assert query["daily"] == ("weather_code,temperature_2m_max,temperature_2m_min,"
                              "precipitation_probability_max")
    assert query["timezone"] == "auto" and query["forecast_days"] == "2"
    assert query["temperature_unit"] == "fahrenheit" and query["wind_speed_unit"] == "mph"


def test_the_replies_say_only_the_servers_figures(server: OpenMeteoServer) -> None:
    weather = service(server.url)
    assert ask(weather) == ("In Berlin it's 11.3 degrees and partly cloudy. Today: overcast, "
                            "between 4.1 and 14.2 degrees, 10 percent chance of rain.")
    assert ask(weather, day="tomorrow") == ("Tomorrow in Berlin: light rain, between 5 and 9.6 "
                                            "degrees, 80 percent chance of rain.")
    assert ask(weather, ask="rain") == "There's a 10 percent chance of rain today in Berlin."
    assert ask(weather, ask="rain", day="tomorrow") == \
        "There's an 80 percent chance of rain tomorrow in Berlin."
    assert ask(weather, ask="temperature") == "It's 11.3 degrees in Berlin."
    assert len(server.queries) == 1  # one request, then the cache


def test_the_cache_expires_and_a_new_day_refetches(server: OpenMeteoServer) -> None:
    clock = Clock(100.0)
    weather = service(server.url, clock, cache_s=900)
    ask(weather)
    clock.now += 899
    ask(weather)
    assert len(server.queries) == 1
    clock.now += 2
    ask(weather)
    assert len(server.queries) == 2
    weather.today = lambda: date(2025, 3, 4)  # past midnight: yesterday's "today" is stale
    ask(weather)
    assert len(server.queries) == 3


def test_missing_fields_are_left_out_never_made_up(server: OpenMeteoServer) -> None:
    sparse = {"current": {"temperature_2m": None, "weather_code": 95},
              "daily": {"time": ["2025-03-03"], "temperature_2m_max": [20.0],
                        "weather_code": [None], "precipitation_probability_max": [None]}}
    server.answers = [sparse]
    weather = service(server.url)
    assert ask(weather) == "In Berlin it's a thunderstorm. Today: up to 20 degrees."
    assert ask(weather, day="tomorrow") == "I have no forecast for tomorrow."
    assert ask(weather, ask="rain") == "I have no rain forecast for today."
    # No temperature now: the question about it gets the day's figures, not a guess.
    assert ask(weather, ask="temperature") == "In Berlin it's a thunderstorm. Today: up to 20 degrees."
    server.answers = [{"current": {}, "daily": {}}]
    assert ask(service(server.url)) == SERVICE_DOWN


@pytest.mark.parametrize("answer", [500, 429, b"<html>busy</html>", b"[1, 2]"],
                         ids=["http 500", "http 429", "not json", "not a forecast"])
def test_a_failing_service_is_said_so(server: OpenMeteoServer, answer: Any) -> None:
    server.answers = [answer]
    assert ask(service(server.url)) == SERVICE_DOWN


def test_a_stalling_service_is_given_up_on(server: OpenMeteoServer) -> None:
    server.answers = ["stall"]
    started = time.monotonic()
    assert ask(service(server.url, timeout_s=0.3)) == SERVICE_DOWN
    # Bounded by the time-outs (the read time-out is 0.3 s): a generous bound, not a benchmark.
    assert time.monotonic() - started < 10


def test_no_internet() -> None:
    assert ask(service(f"http://127.0.0.1:{closed_port()}/v1/forecast")) == OFFLINE
    # A name that does not resolve (.invalid never does) is no internet too.
    assert ask(service("http://open-meteo.invalid/v1/forecast")) == OFFLINE


def test_no_location() -> None:
    assert ask(None) == NO_LOCATION


def test_config_section_and_its_errors() -> None:
    config = parse_config("weather: {latitude: 52.52, longitude: 13.41, name: Berlin}\n")
    assert config.weather.name == "Berlin" and config.weather.cache_s == 900
    from assistant.errors import ConfigError

    for text, key in (("weather: {latitude: 95, longitude: 0}\n", "weather.latitude"),
                      ("weather: {latitude: 50}\n", "weather.longitude"),
                      ("weather: {latitude: 50, longitude: 8, timeout_s: 0}\n", "weather.timeout_s"),
                      ("weather: {city: Berlin}\n", "weather.city")):
        with pytest.raises(ConfigError) as info:
            parse_config(text, "w.yaml")
        assert info.value.key == key and info.value.line == 1


def test_weather_sentences_through_the_home(server: OpenMeteoServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    from assistant.app import build_home

    config = parse_config(f"state: {{path: {tmp_path / 'state.json'}}}\n"
                          f"weather: {{latitude: 52.52, longitude: 13.41, name: Berlin, "
                          f"base_url: '{server.url}'}}\n")
    home = build_home(config, no_cloud=True, pin_factory=MockFactory(pin_class=MockPWMPin))
    try:
        for sentence, start in (("What's the weather?", "In Berlin it's 11.3 degrees"),
                                ("What's the weather like tomorrow?", "Tomorrow in Berlin:"),
                                ("Will it rain today?", "There's a 10 percent chance"),
                                ("What's the temperature outside?", "It's 11.3 degrees")):
            answer = home.brain.answer(sentence, lambda _s: None)
            assert answer.handled_by == "skill" and answer.intent == "HassGetWeather", sentence
            assert answer.reply.startswith(start), (sentence, answer.reply)
    finally:
        home.close()
