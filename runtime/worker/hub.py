"""The runtime's worker hub: agents that run in other processes (`microturn worker`).

Walk it in order:
1. A worker attaches (`Attach` stream) and registers; the hub gives it an id.
2. The engine makes each new session's agent with `hub.agent_factory()`: a `RemoteAgent` whose
   `make_runner(...)` opens the session in the hub, which hands it to the least loaded worker
   (fewest sessions, then the earliest attached; full workers are skipped).
3. From then on the session's `RemoteRunner` is the engine's runner: notifications (the SDK's
   message dicts) go to the worker, the worker's commands come back to the engine's `send`.
4. When a worker goes away, its sessions run on the runtime's default behaviour (interjections
   voiced as offered, tool calls answered "no agent", the rest unheard) and are handed to the
   least loaded remaining worker, or to the next one that attaches, with the recent transcript.

Everything runs on the runtime's event loop, so the engine's `send` is called where it expects.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import grpc
from google.protobuf.message import DecodeError

from microturn import messages as m
from microturn.interjection import Interjection
from microturn.runtime.reasoner.protos import worker_pb2 as pb
from microturn.runtime.worker import wire

log = logging.getLogger("microturn.worker.hub")

Send = Callable[[dict[str, Any]], None]


@dataclass
class HubOptions:
    replay_transcript: int = 50             # transcript lines a worker taking over a session gets
    max_message_bytes: int = 1024 * 1024    # one gRPC message; grpc refuses larger ones itself
    max_session_json_bytes: int = 256 * 1024


@dataclass(eq=False)
class _Worker:
    worker_id: str
    name: str
    app: str
    capacity: int
    asr_grammar: str | None
    order: int
    outbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    sessions: set[str] = field(default_factory=set)

    @property
    def full(self) -> bool:
        return self.capacity > 0 and len(self.sessions) >= self.capacity

    def send(self, **kind: Any) -> None:
        self.outbox.put_nowait(pb.HubMessage(**kind))


class RemoteRunner:
    """The engine's runner for one session whose agent lives in a worker (AgentRunner's face)."""

    busy = False  # hooks run elsewhere: virtual-time settling never waits for them

    def __init__(self, hub: "WorkerHub", session_id: str, send: Send, room: str, identity: str):
        self.hub = hub
        self.session_id = session_id
        self.room = room
        self.identity = identity
        self.send_to_engine = send
        self.worker: _Worker | None = None
        self.media_ms = 0
        self.transcript: deque = deque(maxlen=hub.options.replay_transcript)
        self.defaulted = 0  # notifications handled by the default behaviour (for tests, metrics)

    def deliver(self, data: dict[str, Any]) -> None:
        """One engine notification (a message dict)."""
        self.media_ms = max(self.media_ms, int(data.get("media_ms") or 0))
        if data.get("kind") == m.TranscriptAppended.kind:
            self.transcript.append(data)
        if self.worker is not None:
            self.worker.send(message=pb.SessionMessage(session_id=self.session_id,
                                                       message_json=json.dumps(data, default=str)))
        else:
            self._default(data)

    def _default(self, data: dict[str, Any]) -> None:
        """What the runtime does while no worker holds the session: answer what waits for an answer."""
        self.defaulted += 1
        kind = data.get("kind")
        if kind == m.InterjectionOffered.kind and data.get("interjection"):
            inj = data["interjection"]
            self.send_to_engine(m.InterjectionVerdict(media_ms=self.media_ms, interjection_id=inj.get("id", ""),
                                                      interjection=Interjection.from_dict(inj)).to_dict())
        elif kind == m.ToolCall.kind:
            self.send_to_engine(m.ToolCallResult(media_ms=self.media_ms, result={
                "name": data.get("name", ""), "ok": False, "result": None, "call_id": data.get("call_id", ""),
                "error": "no agent worker is attached to this runtime right now"}).to_dict())

    async def aclose(self, grace_s: float = 1.0) -> None:
        self.hub._close_session(self)


class RemoteAgent:
    """What `WorkerHub.agent_factory()` returns to the engine: "the agent in some worker"."""

    def __init__(self, hub: "WorkerHub", asr_grammar: str | None):
        self.hub = hub
        self.asr_grammar = asr_grammar

    def make_runner(self, session_id: str, send: Send, *, room: str = "", identity: str = "") -> RemoteRunner:
        return self.hub.open_session(session_id, send, room=room, identity=identity)


class WorkerHub:
    def __init__(self, options: HubOptions | None = None):
        self.options = options or HubOptions()
        self.workers: dict[str, _Worker] = {}
        self.sessions: dict[str, RemoteRunner] = {}
        self._ids = itertools.count(1)
        self.changed = asyncio.Event()  # set whenever workers or assignments change (tests wait on it)

    # ---- the engine's side -------------------------------------------------------------------

    def agent_factory(self) -> RemoteAgent:
        worker = self._pick()
        return RemoteAgent(self, worker.asr_grammar if worker else None)

    def open_session(self, session_id: str, send: Send, *, room: str = "", identity: str = "") -> RemoteRunner:
        runner = RemoteRunner(self, session_id, send, room, identity)
        self.sessions[session_id] = runner
        self._assign(runner, takeover=False)
        return runner

    def load(self) -> dict[str, int]:
        """Sessions per worker id."""
        return {wid: len(w.sessions) for wid, w in self.workers.items()}

    # ---- assignment --------------------------------------------------------------------------

    def _pick(self, exclude: _Worker | None = None) -> _Worker | None:
        free = [w for w in self.workers.values() if not w.full and w is not exclude]
        return min(free, key=lambda w: (len(w.sessions), w.order), default=None)

    def _assign(self, runner: RemoteRunner, takeover: bool, exclude: _Worker | None = None) -> None:
        worker = self._pick(exclude)
        runner.worker = worker
        if worker is not None:
            worker.sessions.add(runner.session_id)
            worker.send(assign=pb.Assign(session_id=runner.session_id, room=runner.room, identity=runner.identity,
                                         takeover=takeover, media_ms=runner.media_ms))
            if takeover:  # the new agent starts with what was said so far
                for line in runner.transcript:
                    worker.send(message=pb.SessionMessage(session_id=runner.session_id, message_json=json.dumps(line)))
            log.info("session %s -> worker %s%s", runner.session_id, worker.name, " (takeover)" if takeover else "")
        self.changed.set()

    def _unassign(self, runner: RemoteRunner) -> None:
        if runner.worker is not None:
            runner.worker.sessions.discard(runner.session_id)
            runner.worker = None

    def _close_session(self, runner: RemoteRunner) -> None:
        if self.sessions.pop(runner.session_id, None) is None:
            return
        if runner.worker is not None:
            runner.worker.send(unassign=pb.Unassign(session_id=runner.session_id, reason="session ended"))
        self._unassign(runner)
        self.changed.set()

    def _orphans(self) -> list[RemoteRunner]:
        return [r for r in self.sessions.values() if r.worker is None]

    # ---- the workers' side (gRPC) ------------------------------------------------------------

    async def attach(self, requests, context: grpc.aio.ServicerContext):
        it = requests.__aiter__()
        try:
            first = pb.WorkerMessage.FromString(await it.__anext__())
        except (StopAsyncIteration, DecodeError):
            first = None
        if first is None or first.WhichOneof("kind") != "register":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message on Attach must be a register")
        reg = first.register
        if reg.capacity < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "capacity must be >= 0")
        order = next(self._ids)
        worker = _Worker(f"w{order}", reg.name or f"worker-{order}", reg.app, reg.capacity,
                         reg.asr_grammar or None, order)
        self.workers[worker.worker_id] = worker
        worker.send(registered=pb.Registered(worker_id=worker.worker_id))
        log.info("worker %s (%s) attached, capacity %s", worker.name, worker.app, worker.capacity or "unlimited")
        for runner in self._orphans():
            self._assign(runner, takeover=True)
        self.changed.set()

        async def read() -> None:
            try:
                async for raw in it:
                    self._from_worker(worker, raw)
            finally:
                worker.outbox.put_nowait(None)

        reader = asyncio.create_task(read())
        try:
            while (msg := await worker.outbox.get()) is not None:
                yield msg
        finally:
            reader.cancel()
            self._detach(worker)

    def _detach(self, worker: _Worker) -> None:
        self.workers.pop(worker.worker_id, None)
        moved = [self.sessions[sid] for sid in list(worker.sessions) if sid in self.sessions]
        worker.sessions.clear()
        log.warning("worker %s went away; %d sessions to hand over", worker.name, len(moved))
        for runner in moved:
            runner.worker = None
            self._assign(runner, takeover=True, exclude=worker)
        self.changed.set()

    def _from_worker(self, worker: _Worker, raw: bytes) -> None:
        def error(code: str, message: str, session_id: str = "") -> None:
            worker.send(error=pb.Error(code=code, message=message, session_id=session_id))

        try:
            msg = pb.WorkerMessage.FromString(raw)
        except DecodeError:
            return error("INVALID_ARGUMENT", "undecodable message: not a microturn.worker.v1.WorkerMessage")
        kind = msg.WhichOneof("kind")
        if kind == "message":
            sid = msg.message.session_id
            runner = self.sessions.get(sid)
            if runner is None or sid not in worker.sessions:
                return error("NOT_FOUND", f"session {sid!r} is not assigned to this worker", sid)
            if len(msg.message.message_json) > self.options.max_session_json_bytes:
                return error("RESOURCE_EXHAUSTED", f"message_json exceeds {self.options.max_session_json_bytes} bytes", sid)
            try:
                data = json.loads(msg.message.message_json)
                m.message_from_dict(data)  # validate before the engine sees it
            except (json.JSONDecodeError, m.MessageError) as exc:
                return error("INVALID_ARGUMENT", f"not an SDK session message: {exc}", sid)
            runner.send_to_engine(data)
        elif kind == "release":
            sid = msg.release.session_id
            runner = self.sessions.get(sid)
            if runner is None or sid not in worker.sessions:
                return error("NOT_FOUND", f"session {sid!r} is not assigned to this worker", sid)
            self._unassign(runner)
            self._assign(runner, takeover=True, exclude=worker)
        elif kind == "register":
            error("INVALID_ARGUMENT", "already registered")
        else:
            error("INVALID_ARGUMENT", "empty WorkerMessage")

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(wire.SERVICE, {
            "Attach": grpc.stream_stream_rpc_method_handler(self.attach, response_serializer=lambda x: x.SerializeToString()),
        })


async def start_hub(hub: WorkerHub, host: str = "127.0.0.1", port: int = 0) -> tuple[grpc.aio.Server, int]:
    """Serve the hub on its own grpc.aio server (beside the runtime's HTTP server)."""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", hub.options.max_message_bytes)])
    server.add_generic_rpc_handlers((hub.handler(),))
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    await server.start()
    return server, bound
