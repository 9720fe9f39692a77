"""The worker process: runs an SDK agent for sessions the runtime's hub hands it.

`microturn worker APP --runtime HOST:PORT` attaches to the runtime's worker hub and registers.
For every assigned session it makes the agent (one per session for an Agent class, the shared
instance otherwise) and an `AgentRunner`, exactly as the engine does in-process; only the
`send` callable differs: it puts the SDK's message dicts on the gRPC stream. If the runtime
goes away, the worker drops its sessions (the runtime hands them on) and reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from typing import Any, Callable

import grpc

from microturn.runner import AgentRunner
from microturn.runtime.reasoner.protos import worker_pb2 as pb
from microturn.runtime.worker import wire

log = logging.getLogger("microturn.worker")


@dataclass
class WorkerOptions:
    name: str = ""                  # shown in the runtime's logs; default: the host's name
    capacity: int = 0               # most sessions at once; 0: no limit
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 5.0
    connect_timeout_s: float = 2.0


class AgentWorker:
    def __init__(self, agent_factory: Callable[[], Any], runtime: str, app: str = "",
                 options: WorkerOptions | None = None):
        self.agent_factory = agent_factory
        self.target = wire.grpc_target(runtime)
        self.app = app
        self.options = options or WorkerOptions()
        self.runners: dict[str, AgentRunner] = {}
        self.worker_id = ""
        self._grammar = getattr(agent_factory(), "asr_grammar", None) or ""

    async def run(self) -> None:
        """Serve until cancelled, reconnecting whenever the runtime goes away."""
        backoff = self.options.backoff_initial_s
        while True:
            if await self._attach_once():
                backoff = self.options.backoff_initial_s
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, self.options.backoff_max_s)

    async def _attach_once(self) -> bool:
        async with grpc.aio.insecure_channel(self.target) as channel:
            try:
                await asyncio.wait_for(channel.channel_ready(), self.options.connect_timeout_s)
            except (asyncio.TimeoutError, grpc.aio.AioRpcError):
                return False
            outbox: asyncio.Queue = asyncio.Queue()
            outbox.put_nowait(pb.WorkerMessage(register=pb.Register(
                name=self.options.name, app=self.app, capacity=self.options.capacity, asr_grammar=self._grammar)))

            async def outgoing():
                while True:
                    yield await outbox.get()

            call = channel.stream_stream(wire.ATTACH, request_serializer=pb.WorkerMessage.SerializeToString,
                                         response_deserializer=pb.HubMessage.FromString)(outgoing())
            try:
                async for msg in call:
                    await self._handle(msg, outbox)
            except grpc.aio.AioRpcError as exc:
                log.warning("runtime stream ended: %s %s", exc.code().name, exc.details())
            finally:
                call.cancel()
                await self._drop_all()
            return True

    async def _handle(self, msg: pb.HubMessage, outbox: asyncio.Queue) -> None:
        kind = msg.WhichOneof("kind")
        if kind == "registered":
            self.worker_id = msg.registered.worker_id
            log.info("registered with %s as %s", self.target, self.worker_id)
        elif kind == "assign":
            a = msg.assign
            sid = a.session_id

            def send(data: dict[str, Any], sid: str = sid) -> None:
                outbox.put_nowait(pb.WorkerMessage(message=pb.SessionMessage(
                    session_id=sid, message_json=json.dumps(data, default=str))))

            try:
                runner = AgentRunner(self.agent_factory(), sid, send, room=a.room, identity=a.identity)
            except Exception as exc:  # the app failed to make an agent: give the session back
                log.exception("could not start an agent for %s", sid)
                outbox.put_nowait(pb.WorkerMessage(release=pb.Release(session_id=sid, reason=repr(exc))))
                return
            runner.session.media_ms = a.media_ms
            self.runners[sid] = runner
        elif kind == "message":
            runner = self.runners.get(msg.message.session_id)
            if runner is None:
                log.warning("message for unknown session %s", msg.message.session_id)
                return
            try:
                data = json.loads(msg.message.message_json)
            except json.JSONDecodeError:
                log.warning("undecodable message for %s", msg.message.session_id)
                return
            runner.deliver(data)
        elif kind == "unassign":
            runner = self.runners.pop(msg.unassign.session_id, None)
            if runner is not None:
                asyncio.create_task(runner.aclose())
        elif kind == "error":
            log.warning("runtime refused a message: %s %s", msg.error.code, msg.error.message)

    async def _drop_all(self) -> None:
        runners, self.runners = list(self.runners.values()), {}
        await asyncio.gather(*(r.aclose(grace_s=0.2) for r in runners), return_exceptions=True)
