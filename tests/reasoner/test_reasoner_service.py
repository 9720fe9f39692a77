"""The reasoner service in a real process: answers, concurrency, timeouts, and bad input."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from microturn.runtime.reasoner import wire
from microturn.runtime.reasoner.protos import reasoner_pb2 as pb
from microturn.runtime.reasoner.protos import reasoner_pb2_grpc


class Stream:
    """One Connect stream; `send` takes a RuntimeMessage or raw bytes (to send garbage)."""

    def __init__(self, channel: grpc.aio.Channel):
        self.out: asyncio.Queue = asyncio.Queue()

        async def outgoing():
            while (item := await self.out.get()) is not None:
                yield item

        raw = lambda m: m if isinstance(m, bytes) else m.SerializeToString()  # noqa: E731
        self.call = channel.stream_stream(wire.CONNECT, request_serializer=raw,
                                          response_deserializer=pb.ReasonerMessage.FromString)(outgoing())

    def send(self, **kind) -> None:
        self.out.put_nowait(pb.RuntimeMessage(**kind))

    async def until(self, predicate, timeout=10.0) -> list[pb.ReasonerMessage]:
        """Read replies until one matches; return all read, the match last."""
        seen = []
        async with asyncio.timeout(timeout):
            while True:
                reply = await self.call.read()
                assert reply is not grpc.aio.EOF, f"stream ended; saw {seen}"
                seen.append(reply)
                if predicate(reply):
                    return seen


def done_for(rid):
    return lambda r: (r.WhichOneof("kind") == "done" and r.done.request_id == rid) or (
        r.WhichOneof("kind") == "failed" and r.failed.request_id == rid)


@pytest.fixture
async def channel(reasoner):
    async with grpc.aio.insecure_channel(reasoner.address) as ch:
        yield ch


async def test_health_and_ask(channel):
    health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=wire.SERVICE))
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    stub = reasoner_pb2_grpc.ReasonerStub(channel)
    reply = await stub.Ask(pb.AskRequest(session_id="s", question="twelve times seven is eighty five", media_ms=1500))
    (ij,) = reply.interjections
    assert "84" in ij.text and "85" in ij.text
    assert ij.anchor_ms == 1500 and ij.session_id == "s"
    assert ij.expires_ms > ij.created_ms >= 1500
    assert ij.priority == pb.NEXT_PAUSE and ij.source == "scripted"


async def test_stream_request_and_unprompted_correction(channel):
    s = Stream(channel)
    s.send(opened=pb.SessionOpened(session_id="a"))
    s.send(context=pb.ContextEvent(session_id="a", kind="problem.set", payload_json=json.dumps({"problem": "2x+3=7"}),
                                   media_ms=1000))
    # the user states a wrong answer: the reasoner speaks up unprompted, anchored at the statement
    s.send(context=pb.ContextEvent(session_id="a", kind="transcript.final", media_ms=5200, payload_json=json.dumps(
        {"role": "user", "text": "x equals three", "start_ms": 4400, "end_ms": 5200})))
    seen = await s.until(lambda r: r.WhichOneof("kind") == "interjection")
    ij = seen[-1].interjection
    assert ij.request_id == "" and ij.interjection.anchor_ms == 4400
    assert "x = 2" in ij.interjection.text and ij.interjection.session_id == "a"
    # a right answer gets no unprompted comment; an explicit request always gets a verdict
    s.send(context=pb.ContextEvent(session_id="a", kind="transcript.final", media_ms=7000,
                                   payload_json=json.dumps({"role": "user", "text": "so x is two"})))
    s.send(request=pb.Request(request_id="r1", session_id="a", question="x = 2", media_ms=7100))
    seen = await s.until(done_for("r1"))
    kinds = [r.WhichOneof("kind") for r in seen]
    assert kinds == ["interjection", "done"], seen
    assert seen[0].interjection.request_id == "r1" and seen[0].interjection.interjection.text.startswith("Yes")
    assert seen[1].done.interjections == 1
    summary = await reasoner_pb2_grpc.ReasonerStub(channel).GetSession(pb.SessionRef(session_id="a"))
    assert summary.context_events == 3 and summary.last_media_ms >= 7100
    s.out.put_nowait(None)


async def test_slow_request_does_not_hold_up_others_and_times_out(channel):
    s = Stream(channel)
    s.send(opened=pb.SessionOpened(session_id="b"))
    s.send(request=pb.Request(request_id="slow", session_id="b", question="sleep 30: 1+1", timeout_ms=1500))
    for i in range(5):
        s.send(request=pb.Request(request_id=f"fast{i}", session_id="b", question=f"{i}+{i}"))
    finished: list[str] = []
    while "slow" not in finished:
        seen = await s.until(lambda r: r.WhichOneof("kind") in ("done", "failed"))
        end = seen[-1]
        finished.append(end.done.request_id if end.WhichOneof("kind") == "done" else end.failed.request_id)
        if end.WhichOneof("kind") == "failed":
            assert end.failed.code == "DEADLINE_EXCEEDED"
    assert finished[-1] == "slow" and sorted(finished[:-1]) == [f"fast{i}" for i in range(5)]
    s.out.put_nowait(None)


async def test_bad_messages_on_the_stream_are_answered_and_the_stream_keeps_working(channel):
    s = Stream(channel)
    s.out.put_nowait(b"\xff\xff\xff not a protobuf")
    assert (await s.until(lambda r: True))[-1].error.code == "INVALID_ARGUMENT"
    s.send(request=pb.Request(request_id="r0", session_id="nobody", question="1+1"))
    end = (await s.until(done_for("r0")))[-1]
    assert end.failed.code == "NOT_FOUND" and "nobody" in end.failed.message
    s.send(context=pb.ContextEvent(session_id="nobody", kind="x", payload_json="{}"))
    assert (await s.until(lambda r: True))[-1].error.code == "NOT_FOUND"
    s.send(opened=pb.SessionOpened(session_id="c"))
    s.send(context=pb.ContextEvent(session_id="c", kind="user.text", payload_json="{not json"))
    err = (await s.until(lambda r: True))[-1].error
    assert err.code == "INVALID_ARGUMENT" and "payload_json" in err.message
    s.send(context=pb.ContextEvent(session_id="c", kind="user.text", payload_json=json.dumps({"t": "x" * 70_000})))
    assert (await s.until(lambda r: True))[-1].error.code == "RESOURCE_EXHAUSTED"
    s.send(request=pb.Request(request_id="r1", session_id="c", question="what is the weather"))
    end = (await s.until(done_for("r1")))[-1]
    assert end.failed.code == "INVALID_ARGUMENT"
    s.send(request=pb.Request(request_id="r2", session_id="c", question="boom"))
    end = (await s.until(done_for("r2")))[-1]
    assert end.failed.code == "INTERNAL"
    # after all that, the same stream still answers
    s.send(request=pb.Request(request_id="r3", session_id="c", question="6*7"))
    seen = await s.until(done_for("r3"))
    assert seen[-1].WhichOneof("kind") == "done" and "42" in seen[0].interjection.interjection.text
    s.out.put_nowait(None)


async def test_bad_unary_calls_get_status_codes_and_the_service_keeps_serving(channel):
    stub = reasoner_pb2_grpc.ReasonerStub(channel)
    raw_ask = channel.unary_unary(wire.ASK, request_serializer=lambda b: b,
                                  response_deserializer=pb.AskReply.FromString)
    cases = [
        (raw_ask(b"\x0a\xff\xff\xff\xff"), grpc.StatusCode.INVALID_ARGUMENT),
        (raw_ask(b"x" * (1024 * 1024 + 10)), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (stub.Ask(pb.AskRequest(question="")), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.Ask(pb.AskRequest(question="1+1", context_json="[1]")), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.Ask(pb.AskRequest(question="1+" * 3000)), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (stub.Ask(pb.AskRequest(question="2^5000 = 1")), grpc.StatusCode.INVALID_ARGUMENT),
        (stub.Ask(pb.AskRequest(question="sleep 5: 1+1", timeout_ms=200)), grpc.StatusCode.DEADLINE_EXCEEDED),
        (stub.GetSession(pb.SessionRef(session_id="ghost")), grpc.StatusCode.NOT_FOUND),
    ]
    for call, code in cases:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call
        assert info.value.code() == code, info.value.details()
        assert info.value.details()
    reply = await stub.Ask(pb.AskRequest(question="what is 3/4 + 1/4"))
    assert reply.interjections[0].text == "3/4 + 1/4 is 1."
