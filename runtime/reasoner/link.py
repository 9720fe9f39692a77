"""The engine's connection to the reasoner service: `GrpcReasonerLink` implements `ReasonerLink`.

The engine calls `context(...)`, `request(...)` and `outcome(...)` and never waits on the
network: messages go into the current connection's outbox. Interjections come back through
`engine.offer_interjection(interjection)`; a request that ends without one is reported through
`engine.reasoner_failed(session_id, request_id, error)`, which fails the asking `session.ask`.

Faults. The link runs one `Connect` stream at a time and reconnects with exponential backoff
when it breaks. It remembers what a fresh reasoner would need: every open session with its
recent context (replayed on reconnect) and every request still unanswered. After a reconnect the
unanswered requests are sent again (up to `max_attempts` sends in all); one that runs out of
attempts, or out of time while the reasoner is away, is reported as failed. Nothing is dropped
without a report, and the conversation never waits for any of this.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import grpc

from microturn.interjection import Interjection
from microturn.runtime.reasoner import wire
from microturn.runtime.reasoner.protos import reasoner_pb2 as pb

log = logging.getLogger("microturn.reasoner.link")


@dataclass
class LinkOptions:
    request_timeout_ms: int = 5000     # the service's limit for one request
    grace_ms: int = 2000               # on top of that, before the link gives up by itself
    max_attempts: int = 2              # sends of one request across reconnects
    backoff_initial_s: float = 0.1
    backoff_max_s: float = 5.0
    connect_timeout_s: float = 1.0     # one try at opening the channel
    replay_per_session: int = 32       # recent context events resent to a fresh reasoner


@dataclass
class _Pending:
    request_id: str
    session_id: str
    message: pb.RuntimeMessage
    deadline: float                    # monotonic seconds
    attempts: int = 0
    sent_on: int = -1                  # connection number it was last sent on
    answered: bool = False             # an interjection for it has arrived


@dataclass
class LinkStats:
    connects: int = 0
    disconnects: int = 0
    resent: int = 0
    failed: int = 0
    interjections: int = 0
    errors: deque = field(default_factory=lambda: deque(maxlen=100))  # the latest refusals


class GrpcReasonerLink:
    def __init__(self, address: str, engine: Any = None, options: LinkOptions | None = None):
        self.address = address
        self.engine = engine
        self.options = options or LinkOptions()
        self.stats = LinkStats()
        self._sessions: dict[str, deque] = {}       # session id -> recent context messages
        self._pending: dict[str, _Pending] = {}
        self._outbox: asyncio.Queue | None = None   # the live connection's, None while away
        self._conn = 0
        self._task: asyncio.Task | None = None
        self._connected = asyncio.Event()

    def attach(self, engine: Any) -> None:
        self.engine = engine

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reasoner-link")

    async def wait_connected(self, timeout_s: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for p in list(self._pending.values()):
            self._fail(p, "the runtime stopped before the reasoner answered")

    # ---- ReasonerLink ------------------------------------------------------------------------

    def context(self, session_id: str, kind: str, payload: dict, media_ms: int) -> None:
        if kind == "session.ended":
            if self._sessions.pop(session_id, None) is not None:
                self._send(pb.RuntimeMessage(closed=pb.SessionClosed(session_id=session_id)))
            return
        payload_json = json.dumps(payload, default=str)
        if len(payload_json.encode()) > wire.MAX_JSON_BYTES:
            log.warning("not sending a %s event of %d bytes to the reasoner (limit %d)", kind,
                        len(payload_json.encode()), wire.MAX_JSON_BYTES)
            return
        self._open(session_id)
        msg = pb.RuntimeMessage(context=pb.ContextEvent(
            session_id=session_id, kind=kind, payload_json=payload_json, media_ms=int(media_ms)))
        self._sessions[session_id].append(msg)
        self._send(msg)

    async def request(self, session_id: str, question: str, context: dict, media_ms: int) -> str:
        """Queue a question; returns its request id (the `request_id` in `context` if given).
        Raises ValueError at once for a question or context the service would refuse."""
        context_json = json.dumps(context, default=str)
        if len(question) > wire.MAX_QUESTION_CHARS or not question.strip():
            raise ValueError(f"a question must be 1 to {wire.MAX_QUESTION_CHARS} characters")
        if len(context_json.encode()) > wire.MAX_JSON_BYTES:
            raise ValueError(f"the question's context exceeds {wire.MAX_JSON_BYTES} bytes of JSON")
        self._open(session_id)
        rid = context.get("request_id") if isinstance(context.get("request_id"), str) else ""
        if not rid or rid in self._pending:
            rid = uuid.uuid4().hex[:12]
        o = self.options
        msg = pb.RuntimeMessage(request=pb.Request(
            request_id=rid, session_id=session_id, question=question,
            context_json=context_json, media_ms=int(media_ms), timeout_ms=o.request_timeout_ms))
        # the deadline covers a wait for reconnection plus every attempt the reasoner may take
        deadline = time.monotonic() + (o.request_timeout_ms + o.grace_ms) / 1000 * o.max_attempts
        pending = _Pending(rid, session_id, msg, deadline)
        self._pending[rid] = pending
        if self._outbox is not None:
            self._send_request(pending)
        return rid

    def outcome(self, interjection_id: str, delivered: bool, reason: str) -> None:
        # the service keeps no per-interjection state yet; outcomes are logged for tracing
        log.debug("interjection %s %s (%s)", interjection_id, "delivered" if delivered else "dropped", reason)

    # ---- connection loop ---------------------------------------------------------------------

    def _open(self, session_id: str) -> None:
        if session_id not in self._sessions:
            self._sessions[session_id] = deque(maxlen=self.options.replay_per_session)
            self._send(pb.RuntimeMessage(opened=pb.SessionOpened(session_id=session_id)))

    def _send(self, msg: pb.RuntimeMessage) -> None:
        if self._outbox is not None:
            self._outbox.put_nowait(msg)

    def _send_request(self, p: _Pending) -> None:
        p.attempts += 1
        p.sent_on = self._conn
        self._outbox.put_nowait(p.message)

    async def _run(self) -> None:
        backoff = self.options.backoff_initial_s
        expiry = asyncio.create_task(self._expire_loop())
        try:
            while True:
                was_connected = await self._connect_once()
                if was_connected:
                    backoff = self.options.backoff_initial_s
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, self.options.backoff_max_s)
        finally:
            expiry.cancel()

    async def _connect_once(self) -> bool:
        """One connection's life; True if it got as far as streaming."""
        async with grpc.aio.insecure_channel(self.address) as channel:
            try:
                await asyncio.wait_for(channel.channel_ready(), self.options.connect_timeout_s)
            except (asyncio.TimeoutError, grpc.aio.AioRpcError):
                return False
            self._conn += 1
            outbox: asyncio.Queue = asyncio.Queue()
            self._outbox = outbox
            self._replay()

            async def outgoing():
                while True:
                    yield await outbox.get()

            call = channel.stream_stream(wire.CONNECT, request_serializer=pb.RuntimeMessage.SerializeToString,
                                         response_deserializer=pb.ReasonerMessage.FromString)(outgoing())
            self.stats.connects += 1
            self._connected.set()
            log.info("connected to reasoner at %s", self.address)
            try:
                async for reply in call:
                    self._on_reply(reply)
            except grpc.aio.AioRpcError as exc:
                log.warning("reasoner stream ended: %s %s", exc.code().name, exc.details())
            finally:
                self._outbox = None
                self._connected.clear()
                self.stats.disconnects += 1
                call.cancel()
                self._after_disconnect()
            return True

    def _replay(self) -> None:
        """A fresh connection may reach a fresh reasoner: open every session again, with context."""
        for sid, recent in self._sessions.items():
            self._outbox.put_nowait(pb.RuntimeMessage(opened=pb.SessionOpened(session_id=sid)))
            for msg in recent:
                self._outbox.put_nowait(msg)
        for p in list(self._pending.values()):
            if p.attempts > 0:
                self.stats.resent += 1
            self._send_request(p)

    def _after_disconnect(self) -> None:
        for p in list(self._pending.values()):
            if p.answered:  # its answer arrived; only the closing `done` was lost
                del self._pending[p.request_id]
            elif p.attempts >= self.options.max_attempts:
                self._fail(p, f"the reasoner went away {p.attempts} times while answering")

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            for p in [p for p in self._pending.values() if p.deadline < now]:
                self._fail(p, "no answer from the reasoner in time" + ("" if self.connected else " (disconnected)"))

    # ---- replies -----------------------------------------------------------------------------

    def _on_reply(self, reply: pb.ReasonerMessage) -> None:
        kind = reply.WhichOneof("kind")
        if kind == "interjection":
            rid = reply.interjection.request_id
            ij = wire.interjection_from_pb(reply.interjection.interjection, request_id=rid)
            p = self._pending.get(rid)
            if p is not None:
                p.answered = True
            self.stats.interjections += 1
            self._call_engine("offer_interjection", ij)
        elif kind == "done":
            p = self._pending.pop(reply.done.request_id, None)
            if p is not None and reply.done.interjections == 0:
                self._report(p, "the reasoner had nothing to say")
        elif kind == "failed":
            p = self._pending.pop(reply.failed.request_id, None)
            if p is not None:
                self._report(p, f"{reply.failed.code}: {reply.failed.message}")
        elif kind == "error":
            self.stats.errors.append(f"{reply.error.code}: {reply.error.message}")
            log.warning("reasoner refused a message: %s %s", reply.error.code, reply.error.message)

    def _fail(self, p: _Pending, error: str) -> None:
        if self._pending.pop(p.request_id, None) is not None:
            self._report(p, error)

    def _report(self, p: _Pending, error: str) -> None:
        self.stats.failed += 1
        log.warning("reasoner request %s for %s failed: %s", p.request_id, p.session_id, error)
        self._call_engine("reasoner_failed", p.session_id, p.request_id, error)

    def _call_engine(self, method: str, *args) -> None:
        fn = getattr(self.engine, method, None)
        if fn is None:
            return
        try:
            result = fn(*args)
            if inspect.isawaitable(result):
                asyncio.ensure_future(result)
        except Exception:
            log.exception("engine.%s raised", method)
