"""The dashboard's JSON API, apart from HTTP: a request in, a status and a JSON body out.

Every route but ``/api/auth`` needs a session (401 without one); every POST needs the session's
CSRF token in ``X-CSRF-Token`` (403 without it) and a JSON object of known fields (400
otherwise, before anything is touched). Device controls go through the one executor, with the
same validation as a spoken command; a lock or a ``confirm: true`` device also needs
``"confirmed": true`` (409 with the question without it).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.brain.types import Action
from assistant.config import Config
from assistant.events import EventBus, EventType
from assistant.web.auth import LoginLimiter, PasswordError, PasswordStore, Sessions, csrf_ok
from assistant.web.controls import Controls
from assistant.web.history import History
from assistant.web.hub import Hub

_LOGGER = logging.getLogger(__name__)

COOKIE = "assistant_session"
MAX_TEXT = 500
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_DEVICE_PATH = re.compile(r"^/api/devices/([a-z0-9_]+)$")
_SENSOR_PATH = re.compile(r"^/api/sensors/([a-z0-9_]+)/history$")
_PAST = {"lock": "Lock", "unlock": "Unlock", "open": "Open", "close": "Close",
         "turn_on": "Turn on", "turn_off": "Turn off", "toggle": "Switch"}


@dataclass
class Request:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    client: str = "127.0.0.1"
    token: str | None = None
    """The session cookie's value."""


@dataclass
class Response:
    status: int
    body: Any
    cookie: str | None = None
    """A Set-Cookie value, when the session starts or ends."""
    after: Callable[[], None] | None = None
    """Run once the response is sent (the listener moves to web.host after the first password)."""


class BadRequest(Exception):
    pass


def needs_confirmation(kind: str, confirm: bool) -> bool:
    """The page asks before acting on a lock, or on any device marked ``confirm: true``."""
    return kind == "lock" or confirm


class Dashboard:
    def __init__(self, config: Config, home: Any, bus: EventBus, hub: Hub, history: History,
                 passwords: PasswordStore, controls: Controls | None = None, *,
                 limiter: LoginLimiter | None = None, sessions: Sessions | None = None,
                 on_first_password: Callable[[], None] | None = None,
                 run_checks: Callable[[], list[Any]] | None = None):
        self.config = config
        self.home = home
        self.bus = bus
        self.hub = hub
        self.history = history
        self.passwords = passwords
        self.controls = controls or Controls()
        self.limiter = limiter or LoginLimiter()
        self.sessions = sessions or Sessions()
        self.on_first_password = on_first_password
        self.run_checks = run_checks or self._doctor
        self.state = "idle"
        self._ask_lock = threading.Lock()
        self._checks_lock = threading.Lock()
        self._checks: dict[str, Any] | None = None
        bus.subscribe(self._on_event)

    def _on_event(self, event: Any) -> None:
        if event.type is EventType.STATE:
            self.state = str(event.data.get("state", self.state))

    # -- dispatch ----------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        try:
            if req.path == "/api/auth" or req.path.startswith("/api/auth/"):
                return self._auth(req)
            session = self.sessions.get(req.token)
            if session is None:
                return Response(401, {"error": "log in first"})
            if req.method == "POST":
                if not csrf_ok(session, req.headers.get("x-csrf-token")):
                    return Response(403, {"error": "missing or wrong CSRF token"})
                if not _same_origin(req):
                    return Response(403, {"error": "cross-origin request refused"})
            return self._route(req)
        except BadRequest as exc:
            return Response(400, {"error": str(exc)})

    def _route(self, req: Request) -> Response:
        get = req.method == "GET"
        path = req.path
        if get and path == "/api/devices":
            return Response(200, {"devices": self.devices()})
        if get and path == "/api/states":
            return Response(200, self.home.registry.states())
        if get and path == "/api/interactions":
            return Response(200, {"interactions": self.history.interactions(_limit(req))})
        if get and path == "/api/wakes":
            everything = req.query.get("all") == "1"
            return Response(200, {"wakes": self.history.wakes(_limit(req), all_=everything)})
        if get and path == "/api/latency":
            return Response(200, {"hours": self.history.latency()})
        if get and path == "/api/assistant":
            return Response(200, self.assistant())
        if get and path == "/api/reminders":
            return Response(200, self.reminders())
        if get and path == "/api/checks":
            return Response(200, self.checks(rerun=False))
        match = _SENSOR_PATH.match(path)
        if get and match:
            points = self.history.readings(match.group(1))
            return Response(200, {"points": points})
        if req.method != "POST":
            return Response(404 if get else 405, {"error": "no such endpoint"})
        body = _json_object(req.body)
        match = _DEVICE_PATH.match(path)
        if match:
            return self.control(match.group(1), body, req.client)
        posts: dict[str, Callable[[dict[str, Any]], Response]] = {
            "/api/mute": self.mute, "/api/volume": self.set_volume, "/api/ask": self.ask,
            "/api/say": self.say, "/api/speaker-test": self.speaker_test,
            "/api/reminders/cancel": self.cancel_reminder, "/api/checks": self.rerun_checks,
            "/api/forget": self.forget,
        }
        handler = posts.get(path)
        if handler is None:
            return Response(404, {"error": "no such endpoint"})
        return handler(body)

    # -- auth --------------------------------------------------------------------------------
    def _auth(self, req: Request) -> Response:
        session = self.sessions.get(req.token)
        if req.path == "/api/auth" and req.method == "GET":
            out: dict[str, Any] = {"password_set": self.passwords.exists,
                                   "authenticated": session is not None,
                                   "setup_allowed": _local(req), "name": self.config.name}
            if session is not None:
                out["csrf"] = session.csrf
            return Response(200, out)
        if req.method != "POST":
            return Response(405, {"error": "use POST"})
        if not _same_origin(req):
            return Response(403, {"error": "cross-origin request refused"})
        if req.path == "/api/auth/logout":
            if session is None:
                return Response(401, {"error": "log in first"})
            if not csrf_ok(session, req.headers.get("x-csrf-token")):
                return Response(403, {"error": "missing or wrong CSRF token"})
            self.sessions.drop(req.token)
            return Response(200, {"ok": True}, cookie=_cookie("", 0))
        # No session yet, so no CSRF token: a JSON body is required, which a cross-site form
        # cannot send without the browser asking first (and SameSite=Strict keeps the cookie).
        if not req.headers.get("content-type", "").startswith("application/json"):
            return Response(415, {"error": "send JSON"})
        body = _json_object(req.body)
        password = _text(body, "password", allowed={"password"}, limit=1024)
        if req.path == "/api/auth/setup":
            return self._setup(req, password)
        if req.path != "/api/auth/login":
            return Response(404, {"error": "no such endpoint"})
        wait = self.limiter.retry_after_s(req.client)
        if wait > 0:
            return Response(429, {"error": "too many failed logins; try again later",
                                  "retry_after_s": math.ceil(wait)})
        if not self.passwords.verify(password):
            self.limiter.failed(req.client)
            _LOGGER.warning("dashboard: failed login from %s", req.client)
            return Response(401, {"error": "wrong password"})
        self.limiter.succeeded(req.client)
        return self._new_session()

    def _setup(self, req: Request, password: str) -> Response:
        # Only from this machine, by its own name: a web page elsewhere that rebinds its DNS
        # name to 127.0.0.1 sends its own Host header and is refused.
        if not _local(req):
            return Response(403, {"error": "set the first password from the appliance itself "
                                           "(http://localhost:PORT) or with web.password_file"})
        try:
            self.passwords.set_first(password)
        except PasswordError as exc:
            return Response(400, {"error": str(exc)})
        response = self._new_session()
        response.after = self.on_first_password
        return response

    def _new_session(self) -> Response:
        token, session = self.sessions.create()
        return Response(200, {"ok": True, "csrf": session.csrf},
                        cookie=_cookie(token, int(7 * 86400)))

    # -- devices -----------------------------------------------------------------------------
    def devices(self) -> list[dict[str, Any]]:
        out = []
        for device in self.home.registry:
            cfg = device.config
            out.append({
                "id": device.id, "name": device.name, "kind": device.kind, "area": cfg.area,
                "state": device.state, "attributes": device.attributes,
                "actions": sorted(device.supported_actions), "dimmable": cfg.dimmable,
                "unit": cfg.unit, "confirm": needs_confirmation(device.kind, cfg.confirm),
            })
        return out

    def control(self, device_id: str, body: dict[str, Any], client: str) -> Response:
        _only(body, {"action", "value", "confirmed"})
        action = _text(body, "action", allowed=None, limit=40)
        value = body.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise BadRequest("value must be a number")
        confirmed = body.get("confirmed", False)
        if not isinstance(confirmed, bool):
            raise BadRequest("confirmed must be true or false")
        device = self.home.registry.get(device_id)
        if device is None:
            return Response(404, {"error": f"no device called {device_id}"})
        if (action != "query" and needs_confirmation(device.kind, device.config.confirm)
                and not confirmed):
            verb = _PAST.get(action, action.replace("_", " ").capitalize())
            return Response(409, {"needs_confirmation": True,
                                  "question": f"{verb} the {device.name}?",
                                  "error": "confirm first"})
        result = self.home.executor.run(Action(device_id, action, value))
        _LOGGER.info("dashboard: %s %s%s from %s: %s", action, device_id,
                     "" if value is None else f" {value:g}", client,
                     "done" if result.ok else result.error)
        if not result.ok:
            return Response(422, {"ok": False, "error": result.error})
        return Response(200, {"ok": True, "state": result.state, "attributes": result.attributes})

    # -- the assistant -----------------------------------------------------------------------
    def assistant(self) -> dict[str, Any]:
        c = self.controls
        volume = None
        if c.volume is not None:
            try:
                volume = float(c.volume.get())
            except Exception:  # a volume control that fails is shown as absent
                _LOGGER.warning("reading the volume failed", exc_info=True)
        return {"state": self.state, "muted": bool(getattr(c.muting, "muted", False)),
                "can_mute": c.muting is not None, "volume": volume,
                "level": c.level is not None, "speaker": c.speaker is not None,
                "alarms": c.alarms is not None, "name": self.config.name}

    def mute(self, body: dict[str, Any]) -> Response:
        _only(body, {"muted"})
        muted = body.get("muted")
        if not isinstance(muted, bool):
            raise BadRequest("muted must be true or false")
        if self.controls.muting is None:
            return Response(404, {"error": "no microphone to mute"})
        self.controls.muting.set_muted(muted)  # emits STATE muted / idle on the bus
        return Response(200, {"muted": muted})

    def set_volume(self, body: dict[str, Any]) -> Response:
        _only(body, {"percent"})
        percent = body.get("percent")
        if isinstance(percent, bool) or not isinstance(percent, int | float) or not (
                0 <= percent <= 100):
            raise BadRequest("percent must be a number from 0 to 100")
        if self.controls.volume is None:
            return Response(404, {"error": "no volume control"})
        self.controls.volume.set(float(percent))
        self.hub.publish("volume", {"percent": float(percent)})
        return Response(200, {"percent": float(percent)})

    def ask(self, body: dict[str, Any]) -> Response:
        """As if spoken: the same brain (the router), the reply through the speaker."""
        text = _text(body, "text", allowed={"text"}, limit=MAX_TEXT)
        speaker = self.controls.speaker
        with self._ask_lock:
            answer = self.home.brain.answer(text, speaker.say if speaker else lambda _s: None)
        out = answer.to_json()
        out["via"] = "web"
        if answer.results:
            self.bus.emit(EventType.ACTIONS, actions=[r.to_json() for r in answer.results],
                          via="web")
        self.bus.emit(EventType.REPLY, **out)
        return Response(200, out)

    def say(self, body: dict[str, Any]) -> Response:
        text = _text(body, "text", allowed={"text"}, limit=MAX_TEXT)
        if self.controls.speaker is None:
            return Response(404, {"error": "no speaker"})
        self.controls.speaker.say(text)
        return Response(200, {"ok": True})

    def speaker_test(self, body: dict[str, Any]) -> Response:
        _only(body, set())
        if self.controls.speaker is None:
            return Response(404, {"error": "no speaker"})
        from assistant.feedback import SOUND_RATE, tone

        self.controls.speaker.play(tone([523, 659, 784], seconds=0.25, volume=0.3), SOUND_RATE)
        return Response(200, {"ok": True})

    # -- timers and alarms -------------------------------------------------------------------
    def reminders(self) -> dict[str, Any]:
        out: dict[str, Any] = {"now": time.time()}
        for name in ("timers", "alarms"):
            source = getattr(self.controls, name)
            out[name] = None if source is None else [asdict(r) for r in source.items()]
        return out

    def cancel_reminder(self, body: dict[str, Any]) -> Response:
        reminder_id = _text(body, "id", allowed={"id"}, limit=100)
        for source in (self.controls.timers, self.controls.alarms):
            if source is not None and source.cancel(reminder_id):
                self.hub.publish("reminders", {})
                return Response(200, {"ok": True})
        return Response(404, {"error": "no such timer or alarm"})

    # -- checks and history ------------------------------------------------------------------
    def checks(self, rerun: bool) -> dict[str, Any]:
        with self._checks_lock:
            if rerun or self._checks is None:
                started = time.time()
                checks = self.run_checks()
                self._checks = {"ran_at": started, "checks": [asdict(c) for c in checks]}
            return self._checks

    def rerun_checks(self, body: dict[str, Any]) -> Response:
        _only(body, set())
        return Response(200, self.checks(rerun=True))

    def _doctor(self) -> list[Any]:
        # The microphone and speaker belong to the running pipeline, and loading models twice
        # would double the memory: the page's checks only look.
        from assistant import doctor

        return doctor.run_doctor(self.config.source_path or "config/assistant.yaml", listen_s=0,
                                 speaker_test=False, load_models=False)

    def forget(self, body: dict[str, Any]) -> Response:
        _only(body, set())
        self.history.forget()
        self.hub.publish("forgotten", {})
        return Response(200, {"ok": True})


# -- helpers -----------------------------------------------------------------------------------
def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}")


def _text(body: dict[str, Any], key: str, *, allowed: set[str] | None, limit: int) -> str:
    if allowed is not None:
        _only(body, allowed)
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key} must be a non-empty text")
    if len(value) > limit:
        raise BadRequest(f"{key} is longer than {limit} characters")
    return value.strip() if key != "password" else value


def _limit(req: Request) -> int:
    try:
        return max(1, min(500, int(req.query.get("limit", "50"))))
    except ValueError as exc:
        raise BadRequest("limit must be a whole number") from exc


def _host(value: str) -> str:
    """The host of a Host header, without the port."""
    if value.startswith("["):
        return value[: value.find("]") + 1]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _local(req: Request) -> bool:
    return (req.client in ("127.0.0.1", "::1")
            and _host(req.headers.get("host", "")).lower() in LOCAL_HOSTS)


def _same_origin(req: Request) -> bool:
    """A browser names the page's origin on every POST; it must be this server's."""
    origin = req.headers.get("origin")
    if origin is None:
        return True  # not a browser (curl, a script with the token): CSRF does not apply
    host = req.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def _cookie(token: str, max_age: int) -> str:
    return f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"
