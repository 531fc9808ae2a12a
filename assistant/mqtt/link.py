"""The connection to the broker (paho-mqtt 2.x): reconnects by itself, never blocks its callers.

``publish`` only queues (``outbox.Outbox``, bounded, with its drop policy); a sender thread
hands messages to paho while connected. paho's own network thread reconnects with exponential
backoff (``min_backoff_s`` doubling up to ``max_backoff_s``); after every connect the link
subscribes again and runs its connect hooks, which republish discovery, availability and every
state. A broker that is down at start is said once in the log; the assistant runs voice-only
meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from assistant.mqtt.outbox import Outbox, Outgoing
from assistant.mqtt.settings import LinkSettings

_LOGGER = logging.getLogger(__name__)

Callback = Callable[[str, bytes], None]
ONLINE, OFFLINE = "online", "offline"


class MqttLink:
    def __init__(self, settings: LinkSettings, base: str, *, appliance: bool = True,
                 min_backoff_s: int = 1, max_backoff_s: int = 60, outbox: Outbox | None = None):
        self.settings = settings
        self.base = base
        status_topic = f"{base}/status" if appliance else None
        self.status_topic = status_topic
        """online / offline (retained, the last will); None for a client that is not the
        appliance (``assistant ask``, ``assistant devices`` while ``assistant run`` runs)."""
        self.outbox = outbox or Outbox()
        self._callbacks: dict[str, list[Callback]] = {}
        self._hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._ever_connected = False
        self._said_down = False
        self._down_since: float | None = None
        self.connects = 0
        """Successful connections since start (a reconnect counts)."""
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                             protocol=paho.MQTTv311, clean_session=True)
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            client.tls_set(ca_certs=settings.ca_file, certfile=settings.cert_file,
                           keyfile=settings.key_file)
        if status_topic is not None:
            client.will_set(status_topic, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(min_backoff_s, max_backoff_s)
        client.max_queued_messages_set(1000)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_socket_open = _no_delay
        self._client = client
        self._sender = threading.Thread(target=self._send_loop, name="mqtt-send", daemon=True)

    # -- the assistant's side ------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        self._client.loop_start()
        self._sender.start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish(self, topic: str, payload: str, *, retain: bool = False, qos: int = 1) -> bool:
        if self._stopping.is_set():
            return False
        return self.outbox.put(Outgoing(topic, payload, retain, qos))

    def subscribe(self, topic: str, callback: Callback) -> None:
        with self._lock:
            known = topic in self._callbacks
            self._callbacks.setdefault(topic, []).append(callback)
        if not known:
            self._client.message_callback_add(topic, self._dispatcher(topic))
            if self.connected:
                self._client.subscribe(topic, qos=1)

    def on_connect(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after every connect (on paho's thread: it must only queue messages)."""
        with self._lock:
            self._hooks.append(hook)
        if self.connected:
            hook()

    def sync(self, timeout: float = 1.0) -> bool:
        """Wait until the broker has sent everything retained for the subscriptions made so far
        (it answers a subscribe's retained messages before a later publish of ours)."""
        if not self.connected:
            return False
        marker = f"{self.base}/sync/{uuid.uuid4().hex}"
        seen = threading.Event()
        self.subscribe(marker, lambda _topic, _payload: seen.set())
        self.publish(marker, "1", qos=0)
        ok = seen.wait(timeout)
        self._client.unsubscribe(marker)
        with self._lock:
            self._callbacks.pop(marker, None)
        self._client.message_callback_remove(marker)
        return ok

    def stop(self) -> None:
        """Say offline (retained), disconnect, end both threads."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self.connected and self.status_topic is not None:
            info = self._client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):  # not connected any more
                info.wait_for_publish(timeout=1.0)
        self._client.disconnect()
        self._client.loop_stop()
        self.outbox.close()
        if self._sender.is_alive():
            self._sender.join(timeout=2.0)

    # -- paho's thread -------------------------------------------------------------------------
    def _dispatcher(self, topic_filter: str) -> Callable[[Any, Any, paho.MQTTMessage], None]:
        def dispatch(_client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
            with self._lock:
                callbacks = list(self._callbacks.get(topic_filter, ()))
            for callback in callbacks:
                try:
                    callback(message.topic, bytes(message.payload))
                except Exception:  # a bad message must not stop the network thread
                    _LOGGER.exception("MQTT message on %s failed", message.topic)

        return dispatch

    def _on_connect(self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any,
                    _properties: Any) -> None:
        if reason.is_failure:
            _LOGGER.error("the MQTT broker %s:%d refused the connection: %s (check mqtt.username "
                          "and the password)", self.settings.host, self.settings.port, reason)
            return
        with self._lock:
            filters = list(self._callbacks)
            hooks = list(self._hooks)
        if filters:
            client.subscribe([(f, 1) for f in filters])
        if self.status_topic is not None:
            client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        self.connects += 1
        if self._down_since is not None:
            _LOGGER.info("MQTT reconnected to %s:%d after %.1f s", self.settings.host,
                         self.settings.port, time.monotonic() - self._down_since)
        else:
            _LOGGER.info("MQTT connected to %s:%d as %s", self.settings.host, self.settings.port,
                         self.settings.client_id)
        self._ever_connected, self._said_down, self._down_since = True, False, None
        self._connected.set()
        for hook in hooks:
            try:
                hook()
            except Exception:
                _LOGGER.exception("MQTT connect hook failed")

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason: Any,
                       _properties: Any) -> None:
        self._connected.clear()
        if self._stopping.is_set():
            return
        self._down_since = time.monotonic()
        dropped = self.outbox.clear_transient()  # stale commands and answers are not resent
        _LOGGER.warning("lost the MQTT broker %s:%d (%s): voice-only until it is back, reconnecting"
                        " with backoff%s", self.settings.host, self.settings.port, reason,
                        f"; {dropped} unsent messages dropped" if dropped else "")
        self._said_down = True

    def _on_connect_fail(self, _client: Any, _userdata: Any) -> None:
        if self._said_down:
            _LOGGER.debug("MQTT broker %s:%d still not reachable", self.settings.host,
                          self.settings.port)
            return
        self._said_down = True
        if self._down_since is None:
            self._down_since = time.monotonic()
        _LOGGER.warning("the MQTT broker %s:%d is not reachable: running voice-only, retrying in the"
                        " background", self.settings.host, self.settings.port)

    def _send_loop(self) -> None:
        while not self._stopping.is_set():
            if not self._connected.wait(0.5):
                continue
            message = self.outbox.get(timeout=0.5)
            if message is None:
                continue
            info = self._client.publish(message.topic, message.payload, qos=message.qos,
                                        retain=message.retain)
            if info.rc in (MQTTErrorCode.MQTT_ERR_NO_CONN, MQTTErrorCode.MQTT_ERR_QUEUE_SIZE):
                self.outbox.put_back(message)
                time.sleep(0.05)
            elif info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                _LOGGER.warning("cannot publish to %s: %s", message.topic, paho.error_string(info.rc))


def _no_delay(_client: Any, _userdata: Any, sock: Any) -> None:
    """Small messages go at once: with Nagle's algorithm a state after a PUBACK waited ~40 ms
    for the broker's delayed ACK (bench/mqtt_bench.py)."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
