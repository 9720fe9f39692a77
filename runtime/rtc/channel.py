"""The session's data channel, seen from the runtime: JSON events out, raw messages in.

The browser creates the channel in its offer, but it only opens after ICE and DTLS are up,
while the engine may emit events (`session.started`, ...) as soon as the session exists. So
`EventChannel.send` queues until the channel opens, then flushes in order. The queue is bounded:
a peer that never opens its channel cannot make the server hoard events.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from typing import Any

from microturn.runtime import metrics

log = logging.getLogger(__name__)

MAX_QUEUED_EVENTS = 1000


class EventChannel:
    """Outbound events for one session; thread-safe `send`, queued until the channel is open."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None):
        self._loop = loop or asyncio.get_running_loop()
        self._channel = None
        self._queue: deque[str] = deque(maxlen=MAX_QUEUED_EVENTS)
        self._closed = False
        self.sent = 0

    def attach(self, channel) -> None:
        """Use this aiortc RTCDataChannel from now on (flushes the queue once it is open)."""
        self._channel = channel
        if channel.readyState == "open":
            self._flush()
        else:
            channel.on("open", self._flush)

    def send(self, event: dict[str, Any]) -> None:
        """The engine's EventSink. May be called from any thread."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self._loop:
            self._loop.call_soon_threadsafe(self.send, event)
            return
        if self._closed:
            return
        if event.get("type") == "error":
            metrics.DATACHANNEL_ERRORS.labels(code=str(event.get("code", "unknown"))).inc()
        text = json.dumps(event, separators=(",", ":"), default=str)
        if self._channel is not None and self._channel.readyState == "open":
            self._send_now(text)
        else:
            self._queue.append(text)

    def _flush(self) -> None:
        while self._queue and self._channel is not None and self._channel.readyState == "open":
            self._send_now(self._queue.popleft())

    def _send_now(self, text: str) -> None:
        try:
            self._channel.send(text)
            self.sent += 1
        except Exception:  # the transport went away between the check and the send
            log.debug("data channel send failed", exc_info=True)

    def close(self) -> None:
        self._closed = True
        self._queue.clear()
