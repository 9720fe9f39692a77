"""The engine-side link against a real reasoner process that dies: every request it cannot get
answered is reported failed (the kill-and-restart case with the real engine is in
test_reasoner_engine.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from microturn.runtime.reasoner.launch import ReasonerProcess
from microturn.runtime.reasoner.link import GrpcReasonerLink, LinkOptions
from microturn.runtime.reasoner.protos import reasoner_pb2 as pb
from microturn.runtime.reasoner.protos import reasoner_pb2_grpc

SCRIPTED = str(Path(__file__).with_name("scripted_backend.py"))


class RecordingEngine:
    """Stands where the engine stands: the two methods the link calls."""

    def __init__(self):
        self.offered = []
        self.failed = []
        self.changed = asyncio.Event()

    def offer_interjection(self, interjection):
        self.offered.append(interjection)
        self.changed.set()

    def reasoner_failed(self, session_id, request_id, error):
        self.failed.append((session_id, request_id, error))
        self.changed.set()

    async def until(self, predicate, timeout=15.0):
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def answered(self):
        return {ij.request_id for ij in self.offered}


async def pending_on_server(address: str, session_id: str) -> int:
    async with grpc.aio.insecure_channel(address) as ch:
        try:
            summary = await reasoner_pb2_grpc.ReasonerStub(ch).GetSession(pb.SessionRef(session_id=session_id))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:  # the stream has not opened it yet
                return -1
            raise
        return summary.pending_requests


async def wait_pending(address, session_id, n):
    async with asyncio.timeout(10):
        while await pending_on_server(address, session_id) != n:
            await asyncio.sleep(0.05)


def start(tmp_path, name):
    proc = ReasonerProcess(backend=SCRIPTED, log=open(tmp_path / f"{name}.log", "w"))
    proc.start()
    return proc


async def test_unanswerable_requests_are_reported_failed(tmp_path):
    proc = start(tmp_path, "faulty")
    engine = RecordingEngine()
    options = LinkOptions(request_timeout_ms=30_000, grace_ms=200, backoff_initial_s=0.05, backoff_max_s=0.2,
                          max_attempts=1)
    link = GrpcReasonerLink(proc.address, engine, options)
    try:
        await proc.wait_healthy()
        await link.start()
        await link.wait_connected()
        # what the service would refuse is refused at the source, and the shared stream stays up
        with pytest.raises(ValueError):
            await link.request("s2", "1+" * 3000, {}, 0)
        with pytest.raises(ValueError):
            await link.request("s2", "1+1", {"notes": "x" * 70_000}, 0)
        link.context("s2", "whiteboard.stroke", {"points": [[0, 0]] * 20_000}, 50)
        assert link.connected and engine.failed == []
        # out of attempts: the reasoner died while answering it
        await link.request("s2", "sleep 30: 1+1", {"request_id": "lost"}, 100)
        await wait_pending(proc.address, "s2", 1)
        proc.kill()
        await engine.until(lambda: len(engine.failed) == 1)
        assert engine.failed[0][:2] == ("s2", "lost") and "went away" in engine.failed[0][2]
        # out of time: asked while no reasoner is there, and none comes back (options are read per request)
        options.request_timeout_ms = 300
        await link.request("s2", "2+2", {"request_id": "late"}, 200)
        await engine.until(lambda: len(engine.failed) == 2)
        assert engine.failed[1][:2] == ("s2", "late") and "disconnected" in engine.failed[1][2]
        assert engine.offered == []
    finally:
        await link.stop()
        proc.stop()
