"""Real `microturn worker` processes attached to a hub: assignment, hooks and tools in the
worker, a worker crash (default behaviour, then takeover), and bad input on the hub."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest

from microturn import messages as m
from microturn.interjection import Interjection
from microturn.runtime.reasoner.protos import worker_pb2 as pb
from microturn.runtime.worker import wire

from worker_helpers import until


class EngineSide:
    """Collects what workers send back to the engine for each session."""

    def __init__(self):
        self.got: dict[str, list[dict]] = {}
        self.arrived = asyncio.Event()

    def send_for(self, sid):
        self.got[sid] = []

        def send(data):
            self.got[sid].append(data)
            self.arrived.set()
        return send

    async def wait_for(self, sid, kind, count=1, timeout=20.0):
        async with asyncio.timeout(timeout):
            while sum(d["kind"] == kind for d in self.got[sid]) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return [d for d in self.got[sid] if d["kind"] == kind][count - 1]


def question(runner, text, at):
    runner.deliver(m.TranscriptAppended(media_ms=at, role="user", text=text, start_ms=at - 900, end_ms=at).to_dict())
    runner.deliver(m.UserTurn(media_ms=at, text=text, start_ms=at - 900, end_ms=at).to_dict())


def offered(at):
    inj = Interjection(text="by the way, eight times seven is the same", session_id="", anchor_ms=at)
    return inj, m.InterjectionOffered(media_ms=at, interjection=inj).to_dict()


async def test_sessions_go_to_the_least_loaded_worker_and_survive_crashes(hub_and_workers):
    hub, workers = hub_and_workers
    engine = EngineSide()
    workers.start("A")
    await until(hub, lambda: len(hub.workers) == 1)
    workers.start("B")
    await until(hub, lambda: len(hub.workers) == 2)
    runners = {}
    for sid in ["s1", "s2", "s3"]:
        agent = hub.agent_factory()
        assert agent.asr_grammar and "grammar arithmetic" in agent.asr_grammar  # the worker's app's grammar
        runners[sid] = agent.make_runner(sid, engine.send_for(sid), room="r", identity=sid)
    owner = {sid: r.worker.name for sid, r in runners.items()}
    assert owner == {"s1": "A", "s2": "B", "s3": "A"}  # least loaded, ties to the earliest attached

    # hooks and tools run in the worker process
    runners["s1"].deliver(m.SessionStarted(session_id="s1", room="r", identity="s1").to_dict())
    question(runners["s1"], "what is seven times eight", 2000)
    say = await engine.wait_for("s1", "say")
    assert say["text"] == "seven times eight is fifty six"
    runners["s2"].deliver(m.ToolCall(media_ms=100, call_id="c1", name="multiply", arguments={"a": 6, "b": 7}).to_dict())
    result = (await engine.wait_for("s2", "tool_call_result"))["result"]
    assert result["ok"] is True and result["result"] == 42 and result["call_id"] == "c1"

    # worker A crashes: its sessions move to B, the only one left, with the transcript so far
    workers.kill("A")
    await until(hub, lambda: len(hub.workers) == 1 and all(r.worker and r.worker.name == "B" for r in runners.values()))
    question(runners["s1"], "what is two plus three", 6000)
    say = await engine.wait_for("s1", "say", count=2)
    assert say["text"] == "two plus three is five"

    # no worker at all: the sessions run on the runtime's defaults, nothing waits forever
    workers.kill("B")
    await until(hub, lambda: not hub.workers and all(r.worker is None for r in runners.values()))
    inj, offer = offered(7000)
    runners["s3"].deliver(offer)
    verdict = await engine.wait_for("s3", "interjection_verdict")
    assert verdict["interjection_id"] == inj.id and verdict["interjection"]["text"] == inj.text
    runners["s3"].deliver(m.ToolCall(call_id="c2", name="add", arguments={"a": 1, "b": 1}).to_dict())
    failed = (await engine.wait_for("s3", "tool_call_result"))["result"]
    assert failed["ok"] is False and "no agent worker" in failed["error"]
    question(runners["s3"], "what is one plus one", 7500)  # unheard, not queued for later

    # a new worker takes every orphaned session over
    workers.start("C")
    await until(hub, lambda: all(r.worker and r.worker.name == "C" for r in runners.values()))
    assert hub.load() == {next(iter(hub.workers)): 3}
    question(runners["s3"], "what is nine minus four", 9000)
    say = await engine.wait_for("s3", "say")
    assert say["text"] == "nine minus four is five"
    runners["s3"].deliver(offer)
    verdict = await engine.wait_for("s3", "interjection_verdict", count=2)  # now the agent's hook reviews it
    assert verdict["interjection_id"] == inj.id

    # a session that ends is released from its worker
    await runners["s2"].aclose()
    await until(hub, lambda: sum(hub.load().values()) == 2)


async def test_hub_rejects_bad_input_and_keeps_serving(hub_and_workers):
    hub, workers = hub_and_workers
    raw = lambda b: b  # noqa: E731
    async with grpc.aio.insecure_channel(workers.address) as ch:
        attach = ch.stream_stream(wire.ATTACH, request_serializer=raw, response_deserializer=pb.HubMessage.FromString)

        async def frames(*items):
            for item in items:
                yield item if isinstance(item, bytes) else item.SerializeToString()

        # not registering first: a clear status, and nothing registered
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for _ in attach(frames(pb.WorkerMessage(release=pb.Release(session_id="x")))):
                pass
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "register" in info.value.details()
        assert hub.workers == {}

        # a registered client sending junk gets in-band errors, one per bad message
        junk: asyncio.Queue = asyncio.Queue()

        async def queued():
            while (item := await junk.get()) is not None:
                yield item if isinstance(item, bytes) else item.SerializeToString()

        call = attach(queued())
        for item in [pb.WorkerMessage(register=pb.Register(name="junk")), b"\xff\xfe garbage",
                     pb.WorkerMessage(message=pb.SessionMessage(session_id="nobody", message_json="{}")),
                     pb.WorkerMessage()]:
            junk.put_nowait(item)
        replies = [await call.read() for _ in range(4)]
        assert replies[0].WhichOneof("kind") == "registered"
        assert [r.error.code for r in replies[1:]] == ["INVALID_ARGUMENT", "NOT_FOUND", "INVALID_ARGUMENT"]

        # a session assigned to the junk client: bad JSON and non-messages are refused too
        engine = EngineSide()
        runner = hub.agent_factory().make_runner("sj", engine.send_for("sj"))
        assign = await call.read()
        assert assign.assign.session_id == "sj"
        for text in ["{not json", json.dumps({"kind": "launch_rockets"}), json.dumps([1, 2])]:
            junk.put_nowait(pb.WorkerMessage(message=pb.SessionMessage(session_id="sj", message_json=text)))
            err = (await call.read()).error
            assert err.code == "INVALID_ARGUMENT" and err.session_id == "sj"
        call2 = attach(frames(pb.WorkerMessage(register=pb.Register(name="big")),
                              pb.WorkerMessage(message=pb.SessionMessage(session_id="sj", message_json="x" * (1 << 20)))))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for _ in call2:
                pass
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        junk.put_nowait(None)
        await asyncio.sleep(0)
        assert engine.got["sj"] == []  # nothing bad reached the engine

    # the hub still serves a real worker, which takes over the orphaned session
    workers.start("D")
    await until(hub, lambda: runner.worker is not None and runner.worker.name == "D")
    question(runner, "what is two times two", 1000)
    assert (await engine.wait_for("sj", "say"))["text"] == "two times two is four"


def test_worker_rejects_a_bad_app(tmp_path, capsys):
    from microturn.runtime.cli import main

    assert main(["worker", str(tmp_path / "missing.py"), "--runtime", "127.0.0.1:1"]) == 2
    assert "does not exist" in capsys.readouterr().err
