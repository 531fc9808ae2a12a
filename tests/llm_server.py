"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests and the bench.

Each request to /v1/chat/completions takes the next scripted ``Reply`` (or asks a responder
function), and the server plays it exactly: status, delays, text tokens, tool calls, a stall.
Streaming requests get Server-Sent Events like the real API; every request body is recorded.

    with ScriptedServer() as server:
        server.script(Reply(text="Hello there. How are you?"))
        ... base_url=server.url ...
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ToolCall:
    name: str
    arguments: str
    """Raw JSON text, sent as is (it may be malformed on purpose)."""


@dataclass
class Reply:
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    status: int = 200
    error: str = "scripted failure"
    header_delay_s: float = 0.0
    """Wait before the response headers (a server that hangs)."""
    first_token_delay_s: float = 0.0
    """Wait after the headers and the role chunk, before the first token."""
    token_delay_s: float = 0.0
    stall_after_tokens: int | None = None
    """Stop sending after this many tokens and hold the connection open (until stop())."""
    chunk_words: int = 1
    gate: threading.Event | None = None
    """With gate_after_tokens: hold the stream there until the test sets this event."""
    gate_after_tokens: int = 0


Responder = Callable[[dict[str, Any]], Reply]


class ScriptedServer:
    def __init__(self, default: Reply | None = None):
        self.replies: deque[Reply] = deque()
        self.responder: Responder | None = None
        self.default = default or Reply(text="I have nothing scripted.")
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        """The Authorization header of each request (a test can check which key was sent)."""
        self.released = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()  # wakes handlers that hang or stall
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, body: dict[str, Any]) -> Reply:
        self.requests.append(body)
        if self.replies:
            return self.replies.popleft()
        if self.responder is not None:
            return self.responder(body)
        return self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.authorizations.append(self.headers.get("Authorization", ""))
                reply = server._next(body)
                # The client may give up (a watchdog fired): that is part of the script.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._play(reply, body)

            def _wait(self, seconds: float) -> None:
                if seconds:
                    server.released.wait(seconds)

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _play(self, reply: Reply, body: dict[str, Any]) -> None:
                self._wait(reply.header_delay_s)
                if reply.status != 200:
                    kind = "rate_limit_exceeded" if reply.status == 429 else "server_error"
                    self._json(reply.status, {"error": {"message": reply.error, "type": kind}})
                    return
                if not body.get("stream"):
                    self._json(200, _completion(reply))
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                self._event({"role": "assistant", "content": ""})
                self._wait(reply.first_token_delay_s)
                for n, token in enumerate(_tokens(reply.text, reply.chunk_words)):
                    if reply.stall_after_tokens is not None and n >= reply.stall_after_tokens:
                        server.released.wait(60)
                        return
                    if reply.gate is not None and n == reply.gate_after_tokens:
                        reply.gate.wait(10)
                    if n:
                        self._wait(reply.token_delay_s)
                    self._event({"content": token})
                for i, call in enumerate(reply.tool_calls):
                    head = {"name": call.name, "arguments": ""}
                    self._event({"tool_calls": [{"index": i, "id": f"call_{i}",
                                                 "type": "function", "function": head}]})
                    half = len(call.arguments) // 2  # arguments arrive in pieces, as for real
                    for piece in (call.arguments[:half], call.arguments[half:]):
                        part = {"index": i, "function": {"arguments": piece}}
                        self._event({"tool_calls": [part]})
                finish = "tool_calls" if reply.tool_calls else "stop"
                self._event({}, finish)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, delta: dict[str, Any], finish: str | None = None) -> None:
                chunk = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk",
                         "created": int(time.time()), "model": "scripted",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.flush()

        return Handler


def _tokens(text: str, words: int) -> list[str]:
    parts = text.split(" ")
    out = [" ".join(parts[i:i + words]) for i in range(0, len(parts), words)] if text else []
    return [p if i == 0 else " " + p for i, p in enumerate(out)]


def _completion(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = [{"id": f"call_{i}", "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}}
                                 for i, c in enumerate(reply.tool_calls)]
    return {"id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
            "model": "scripted", "choices": [{"index": 0, "message": message,
                                              "finish_reason": "stop"}]}


def closed_port() -> int:
    """A loopback port with nothing listening (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
