"""The HTTP side: the standard library's ThreadingHTTPServer, one thread per connection.

Why not a framework: the assistant is threads around a synchronous event bus, and a thread per
connection fits that as it is, with nothing to bridge into an event loop; a household opens a
few pages, and the server adds no dependency to the appliance. What http.server leaves out is
done here: a body size cap, socket timeouts, a cap on event streams, security headers, and no
directory listing (only the page's own files are served, from memory).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import threading
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from assistant.web.api import COOKIE, Dashboard, Request, Response
from assistant.web.hub import TooManyClients

_LOGGER = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
KEEPALIVE_S = 15.0
"""An event stream sends a comment this often, so proxies and phones keep it open."""
STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/app.css": ("app.css", "text/css; charset=utf-8"),
          "/icon.svg": ("icon.svg", "image/svg+xml")}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


class _StaticFile:
    def __init__(self, name: str, content_type: str):
        self.body = resources.files("assistant.web").joinpath("static", name).read_bytes()
        self.gzipped = gzip.compress(self.body, 9, mtime=0)
        self.content_type = content_type
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class WebServer:
    """Serves a Dashboard on (host, port) until ``close``; ``move_to`` changes the address."""

    def __init__(self, dashboard: Dashboard, host: str, port: int):
        self.dashboard = dashboard
        self.static = {path: _StaticFile(*spec) for path, spec in STATIC.items()}
        self._closing = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._listen(host, port)

    @property
    def address(self) -> tuple[str, int]:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/"

    def _listen(self, host: str, port: int) -> None:
        server = self

        class Handler(_Handler):
            web = server

        httpd = ThreadingHTTPServer((host, port), Handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="web-http", daemon=True)
        self._thread.start()
        _LOGGER.info("dashboard on http://%s:%d/", host, self.address[1])

    def move_to(self, host: str) -> None:
        """Listen on another address, same port (once a password exists: web.host)."""
        with self._lock:
            if self._httpd is None or self.address[0] == host:
                return
            port = self.address[1]
            self._stop_listening()
            self._listen(host, port)

    def _stop_listening(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def close(self) -> None:
        self._closing.set()
        self.dashboard.hub.close()
        with self._lock:
            self._stop_listening()
            self._httpd = None


class _Handler(BaseHTTPRequestHandler):
    web: WebServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a client may take to send a request (slowloris)
    server_version = "assistant"
    sys_version = ""

    def handle(self) -> None:
        # The page went away mid-answer (reloaded, a phone asleep): nothing to do.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        _LOGGER.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._send_json(Response(405, {"error": "use GET or POST"}))

    do_DELETE = do_PATCH = do_PUT

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if not path.startswith("/api/"):
            self._send_static(path, method)
            return
        length = self._length()
        if length is None:
            return
        body = self.rfile.read(length) if length else b""
        request = Request("GET" if method == "HEAD" else method, path,
                          dict(parse_qsl(parts.query)),
                          {k.lower(): v for k, v in self.headers.items()}, body,
                          self.client_address[0], self._token())
        if path == "/api/events" and request.method == "GET":
            self._stream(request)
            return
        response = self.web.dashboard.handle(request)
        self._send_json(response, head=method == "HEAD")
        if response.after is not None:
            threading.Thread(target=response.after, name="web-after", daemon=True).start()

    def _length(self) -> int | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._send_json(Response(400, {"error": "bad Content-Length"}), close=True)
            return None
        if length > MAX_BODY:
            self._send_json(Response(413, {"error": f"the body is over {MAX_BODY} bytes"}),
                            close=True)
            return None
        return length

    def _token(self) -> str | None:
        raw = self.headers.get("Cookie")
        if not raw:
            return None
        try:
            morsel = SimpleCookie(raw).get(COOKIE)
        except CookieError:
            return None
        return morsel.value if morsel is not None else None

    def _security_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")

    def _send_json(self, response: Response, *, head: bool = False, close: bool = False) -> None:
        import json

        body = json.dumps(response.body, default=str, ensure_ascii=False).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if response.status == 429 and isinstance(response.body, dict):
            self.send_header("Retry-After", str(response.body.get("retry_after_s", 60)))
        if response.cookie is not None:
            self.send_header("Set-Cookie", response.cookie)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self._security_headers()
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_static(self, path: str, method: str) -> None:
        item = self.web.static.get(path)
        if item is None or method == "POST":
            status = HTTPStatus.NOT_FOUND if item is None else HTTPStatus.METHOD_NOT_ALLOWED
            self._send_json(Response(int(status), {"error": "not found"}))
            return
        if self.headers.get("If-None-Match") == item.etag:
            self.send_response(304)
            self.send_header("ETag", item.etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        gzipped = "gzip" in self.headers.get("Accept-Encoding", "")
        body = item.gzipped if gzipped else item.body
        self.send_response(200)
        self.send_header("Content-Type", item.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", item.etag)
        self.send_header("Cache-Control", "no-cache")  # revalidated: an update shows at once
        self.send_header("Vary", "Accept-Encoding")
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self._security_headers()
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)

    def _stream(self, request: Request) -> None:
        """Server-sent events: one JSON message per bus event until the page goes away."""
        dashboard = self.web.dashboard
        if dashboard.sessions.get(request.token) is None:
            self._send_json(Response(401, {"error": "log in first"}))
            return
        try:
            client = dashboard.hub.subscribe()
        except TooManyClients:
            self._send_json(Response(503, {"error": "too many open pages"}))
            return
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Accel-Buffering", "no")  # nginx: pass each event on at once
            self.send_header("Connection", "close")
            self._security_headers()
            self.end_headers()
            self.wfile.write(b"retry: 2000\n\ndata: {\"type\": \"hello\"}\n\n")
            self.wfile.flush()
            while not self.web._closing.is_set() and not client.closed:
                message = client.get(KEEPALIVE_S)
                if message is None:
                    if dashboard.sessions.get(request.token) is None:
                        return  # logged out or expired: the page will find out and ask again
                    chunk = b": keepalive\n\n"
                elif message == "":
                    chunk = b"data: {\"type\": \"resync\"}\n\n"
                else:
                    chunk = b"data: " + message.encode() + b"\n\n"
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        finally:
            dashboard.hub.unsubscribe(client)
