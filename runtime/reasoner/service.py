"""The reasoner gRPC service: sessions' context and requests in, interjections out.

Walk it in order:
1. `Connect` (one bidirectional stream per runtime) reads `RuntimeMessage`s. Sessions are opened
   on a stream and belong to it; their recent context is kept (bounded) for the backend.
2. Every request and every context event runs as its own task under its own timeout, so a slow
   backend call never holds up the others; each request ends in exactly one `RequestDone` or
   `RequestFailed`.
3. A message that cannot be accepted (undecodable, bad JSON, unknown session, too large) is
   answered in-band with an `Error`/`RequestFailed` naming a gRPC status code: the stream carries
   every session of that runtime, so one bad message must not end it.
4. `Ask` and `GetSession` are unary and answer with ordinary gRPC status errors.

Handlers take raw bytes (not generated deserialisers) so an undecodable message becomes a clear
INVALID_ARGUMENT instead of grpc's generic "exception deserializing request".
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import grpc
from google.protobuf.message import DecodeError

from microturn.interjection import Interjection
from microturn.reasoner import ContextItem, Observation, ReasonerBackend, ReasonerError, ReasonerRequest
from microturn.runtime.reasoner import wire
from microturn.runtime.reasoner.protos import reasoner_pb2 as pb

log = logging.getLogger("microturn.reasoner")


@dataclass
class ServiceOptions:
    default_timeout_ms: int = 5000         # a request that sets no timeout gets this
    max_timeout_ms: int = 60_000           # nobody may hold a task longer
    observe_timeout_ms: int = 2000         # limit for one unprompted look at a context event
    max_question_chars: int = wire.MAX_QUESTION_CHARS
    max_json_bytes: int = wire.MAX_JSON_BYTES  # payload_json / context_json
    max_message_bytes: int = 1024 * 1024   # whole gRPC message; grpc refuses larger ones itself
    max_session_id_chars: int = 128
    history_len: int = 64                  # context events kept per session
    max_pending_per_stream: int = 512      # concurrent requests per runtime connection


@dataclass
class _Session:
    session_id: str
    owner: int
    history: deque = field(default_factory=deque)
    last_media_ms: int = 0
    pending: int = 0  # requests running for it now
    reported_at: float = field(default_factory=time.monotonic)

    def now_ms(self) -> int:
        """The session's media time now: what the runtime last said plus the time since."""
        return self.last_media_ms + int((time.monotonic() - self.reported_at) * 1000)

    def saw(self, media_ms: int) -> None:
        if media_ms >= self.last_media_ms:
            self.last_media_ms, self.reported_at = media_ms, time.monotonic()


class _Rejected(Exception):
    """One message refused; `code` is a gRPC status code name."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class ReasonerService:
    def __init__(self, backend: ReasonerBackend, options: ServiceOptions | None = None):
        self.backend = backend
        self.options = options or ServiceOptions()
        self.sessions: dict[str, _Session] = {}
        self._stream_ids = itertools.count(1)

    # ---- the runtime's stream ----------------------------------------------------------------

    async def connect(self, requests, context: grpc.aio.ServicerContext):
        stream_id = next(self._stream_ids)
        out: asyncio.Queue = asyncio.Queue()
        tasks: set[asyncio.Task] = set()

        async def read() -> None:
            try:
                async for raw in requests:
                    self._on_message(raw, stream_id, out.put_nowait, tasks)
            finally:
                # the runtime half-closed: finish what it asked for, then end the replies
                if tasks:
                    await asyncio.gather(*list(tasks), return_exceptions=True)
                out.put_nowait(None)

        reader = asyncio.create_task(read())
        try:
            while (msg := await out.get()) is not None:
                yield msg
        finally:
            reader.cancel()
            for task in list(tasks):
                task.cancel()
            for sid in [s for s, sess in self.sessions.items() if sess.owner == stream_id]:
                del self.sessions[sid]

    def _on_message(self, raw: bytes, stream_id: int, send: Callable, tasks: set) -> None:
        try:
            msg = pb.RuntimeMessage.FromString(raw)
        except DecodeError:
            send(_error("INVALID_ARGUMENT", "undecodable message: not a microturn.reasoner.v1.RuntimeMessage"))
            return
        kind = msg.WhichOneof("kind")
        try:
            if kind == "opened":
                sid = self._check_session_id(msg.opened.session_id)
                self.sessions[sid] = _Session(sid, stream_id, deque(maxlen=self.options.history_len))
            elif kind == "closed":
                self._session(msg.closed.session_id)
                del self.sessions[msg.closed.session_id]
            elif kind == "context":
                self._on_context(msg.context, send, tasks)
            elif kind == "request":
                self._on_request(msg.request, send, tasks)
            else:
                raise _Rejected("INVALID_ARGUMENT", "empty RuntimeMessage: set one of opened, closed, context, request")
        except _Rejected as exc:
            sid = getattr(getattr(msg, kind), "session_id", "") if kind else ""
            send(_error(exc.code, str(exc), session_id=sid))

    def _on_context(self, ev: pb.ContextEvent, send: Callable, tasks: set) -> None:
        session = self._session(ev.session_id)
        payload = self._json(ev.payload_json, "payload_json")
        if not ev.kind:
            raise _Rejected("INVALID_ARGUMENT", "context event needs a kind")
        session.saw(ev.media_ms)
        item = ContextItem(session.session_id, ev.kind, payload, ev.media_ms)
        history = list(session.history)
        session.history.append(item)
        obs = Observation(item, session.now_ms(), history, source=self.backend.name)
        self._spawn(self._observe(obs, send), tasks)

    def _on_request(self, req: pb.Request, send: Callable, tasks: set) -> None:
        def failed(code: str, message: str) -> None:
            send(pb.ReasonerMessage(failed=pb.RequestFailed(request_id=req.request_id, code=code, message=message)))

        if not req.request_id:
            raise _Rejected("INVALID_ARGUMENT", "request needs a request_id")
        if len(tasks) >= self.options.max_pending_per_stream:
            return failed("RESOURCE_EXHAUSTED", f"more than {self.options.max_pending_per_stream} requests in flight")
        try:
            session = self._session(req.session_id)
            rr = self._request(req.request_id, session, req.question, req.context_json, req.media_ms)
        except _Rejected as exc:
            return failed(exc.code, str(exc))
        self._spawn(self._answer_on_stream(session, rr, req.timeout_ms, send), tasks)

    async def _answer_on_stream(self, session: _Session, rr: ReasonerRequest, timeout_ms: int,
                                send: Callable) -> None:
        count = 0
        session.pending += 1

        def emit(ij: Interjection) -> None:
            nonlocal count
            count += 1
            send(pb.ReasonerMessage(interjection=pb.InterjectionReply(
                request_id=rr.request_id, interjection=wire.interjection_to_pb(ij))))

        try:
            await self._answer(rr, timeout_ms, emit)
        except ReasonerError as exc:
            send(pb.ReasonerMessage(failed=pb.RequestFailed(request_id=rr.request_id, code=exc.code, message=str(exc))))
        else:
            send(pb.ReasonerMessage(done=pb.RequestDone(request_id=rr.request_id, interjections=count)))
        finally:
            session.pending -= 1

    # ---- running the backend -----------------------------------------------------------------

    async def _answer(self, rr: ReasonerRequest, timeout_ms: int, emit: Callable[[Interjection], None]) -> None:
        """Run `backend.answer` under its timeout; every failure becomes a ReasonerError."""
        limit = min(timeout_ms or self.options.default_timeout_ms, self.options.max_timeout_ms)
        try:
            async with asyncio.timeout(limit / 1000):
                async for ij in self.backend.answer(rr):
                    emit(_checked(ij, rr.session_id))
        except TimeoutError:
            raise ReasonerError("DEADLINE_EXCEEDED", f"no answer within {limit} ms") from None
        except ReasonerError:
            raise
        except Exception as exc:  # a backend bug fails this request only
            log.exception("backend %s failed on request %s", self.backend.name, rr.request_id)
            raise ReasonerError("INTERNAL", f"backend {self.backend.name} failed: {exc!r}") from None

    async def _observe(self, obs: Observation, send: Callable) -> None:
        try:
            async with asyncio.timeout(self.options.observe_timeout_ms / 1000):
                async for ij in self.backend.observe(obs):
                    send(pb.ReasonerMessage(interjection=pb.InterjectionReply(
                        interjection=wire.interjection_to_pb(_checked(ij, obs.event.session_id)))))
        except TimeoutError:
            log.warning("observe timed out on %s event of %s", obs.event.kind, obs.event.session_id)
        except Exception:
            log.exception("backend %s failed observing %s", self.backend.name, obs.event.kind)

    @staticmethod
    def _spawn(coro, tasks: set) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    # ---- validation --------------------------------------------------------------------------

    def _check_session_id(self, sid: str) -> str:
        if not sid:
            raise _Rejected("INVALID_ARGUMENT", "session_id is empty")
        if len(sid) > self.options.max_session_id_chars:
            raise _Rejected("INVALID_ARGUMENT", f"session_id longer than {self.options.max_session_id_chars} characters")
        return sid

    def _session(self, sid: str) -> _Session:
        session = self.sessions.get(self._check_session_id(sid))
        if session is None:
            raise _Rejected("NOT_FOUND", f"unknown session {sid!r}: open it first")
        return session

    def _json(self, text: str, what: str) -> dict:
        if len(text.encode()) > self.options.max_json_bytes:
            raise _Rejected("RESOURCE_EXHAUSTED", f"{what} exceeds {self.options.max_json_bytes} bytes")
        try:
            return wire.json_object(text, what)
        except wire.BadJson as exc:
            raise _Rejected("INVALID_ARGUMENT", str(exc)) from None

    def _request(self, request_id: str, session: _Session | None, question: str, context_json: str,
                 media_ms: int, session_id: str = "") -> ReasonerRequest:
        if not question.strip():
            raise _Rejected("INVALID_ARGUMENT", "question is empty")
        if len(question) > self.options.max_question_chars:
            raise _Rejected("RESOURCE_EXHAUSTED", f"question longer than {self.options.max_question_chars} characters")
        context = self._json(context_json, "context_json")
        if session is not None:
            session.saw(media_ms)
        return ReasonerRequest(
            request_id=request_id, session_id=session.session_id if session else session_id,
            question=question, context=context, media_ms=media_ms,
            now_ms=session.now_ms() if session else media_ms,
            history=list(session.history) if session else [], source=self.backend.name,
        )

    # ---- unary -------------------------------------------------------------------------------

    async def ask(self, raw: bytes, context: grpc.aio.ServicerContext) -> pb.AskReply:
        try:
            req = pb.AskRequest.FromString(raw)
        except DecodeError:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "undecodable message: not an AskRequest")
        try:
            rr = self._request(f"ask-{id(req):x}", self.sessions.get(req.session_id), req.question,
                               req.context_json, req.media_ms, session_id=req.session_id)
        except _Rejected as exc:
            await context.abort(_status(exc.code), str(exc))
        found: list[Interjection] = []
        try:
            await self._answer(rr, req.timeout_ms, found.append)
        except ReasonerError as exc:
            await context.abort(_status(exc.code), str(exc))
        return pb.AskReply(interjections=[wire.interjection_to_pb(ij) for ij in found])

    async def get_session(self, raw: bytes, context: grpc.aio.ServicerContext) -> pb.SessionSummary:
        try:
            ref = pb.SessionRef.FromString(raw)
            session = self._session(ref.session_id)
        except DecodeError:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "undecodable message: not a SessionRef")
        except _Rejected as exc:
            await context.abort(_status(exc.code), str(exc))
        return pb.SessionSummary(session_id=session.session_id, context_events=len(session.history),
                                 pending_requests=session.pending,
                                 last_media_ms=session.last_media_ms)

    def handler(self) -> grpc.GenericRpcHandler:
        out = lambda m: m.SerializeToString()  # noqa: E731
        return grpc.method_handlers_generic_handler(wire.SERVICE, {
            "Connect": grpc.stream_stream_rpc_method_handler(self.connect, response_serializer=out),
            "Ask": grpc.unary_unary_rpc_method_handler(self.ask, response_serializer=out),
            "GetSession": grpc.unary_unary_rpc_method_handler(self.get_session, response_serializer=out),
        })


def _checked(ij, session_id: str) -> Interjection:
    if not isinstance(ij, Interjection):
        raise ReasonerError("INTERNAL", f"backend yielded {type(ij).__name__}, not an Interjection")
    if not ij.text.strip():
        raise ReasonerError("INTERNAL", "backend yielded an interjection without text")
    return dataclasses.replace(ij, session_id=session_id)


def _error(code: str, message: str, session_id: str = "") -> pb.ReasonerMessage:
    return pb.ReasonerMessage(error=pb.Error(code=code, message=message, session_id=session_id))


def _status(code: str) -> grpc.StatusCode:
    return getattr(grpc.StatusCode, code, grpc.StatusCode.UNKNOWN)
