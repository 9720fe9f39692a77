"""The real engine (virtual clock, speech doubles) with the gRPC link to a real reasoner process:
`session.ask` answered and voiced at a pause; the reasoner killed (SIGKILL) while it works on a
question and restarted, while the conversation goes on, the question asked again and answered,
the session's context given to the fresh process; and a question that cannot be answered
failing the agent's `ask`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))  # the engine's test doubles

from engine_doubles import Peer, make_engine, script, silence, speech  # noqa: E402

from microturn import Agent  # noqa: E402
from microturn.runtime.engine.reasoner_link import ReasonerLink  # noqa: E402
from microturn.runtime.reasoner.launch import ReasonerConnection  # noqa: E402
from microturn.runtime.reasoner.link import LinkOptions  # noqa: E402
from microturn.runtime.reasoner.protos import reasoner_pb2 as pb  # noqa: E402
from microturn.runtime.reasoner.protos import reasoner_pb2_grpc  # noqa: E402
from microturn.session import ReasonerUnavailable  # noqa: E402

SCRIPTED = str(Path(__file__).with_name("scripted_backend.py"))


class Tutor(Agent):
    """Acknowledges each answer at once and asks the reasoner to check it in the background."""

    def __init__(self):
        self.asks: list[asyncio.Future] = []

    async def on_user_turn(self, session, turn):
        session.say("let me check")
        self.asks.append(session.ask(turn.text, context={"problem": "2x+3=7"}))


async def talk(peer: Peer, ms: int = 800) -> None:
    await peer.play(script(speech(ms), silence(600)))


async def until_event(peer: Peer, kind: str, count: int, limit_turns: int = 300) -> dict:
    """Let media time run in silence (and wall time pass for the network) until the event shows."""
    for _ in range(limit_turns):
        if len(peer.of(kind)) >= count:
            return peer.of(kind)[count - 1]
        await peer.play(silence(200))
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {kind} #{count}; events: {[e['type'] for e in peer.events]}")


async def server_session(address: str, session_id: str) -> pb.SessionSummary | None:
    """What the reasoner process holds for a session (None until the stream has opened it)."""
    async with grpc.aio.insecure_channel(address) as ch:
        try:
            return await reasoner_pb2_grpc.ReasonerStub(ch).GetSession(pb.SessionRef(session_id=session_id))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise


async def test_engine_with_a_reasoner_that_dies_and_comes_back(tmp_path):
    agent = Tutor()
    engine = await make_engine(agent, asr_texts=["x equals three", "slowly x equals two", "x equals four"])
    conn = await ReasonerConnection.open(engine, spawn_backend=SCRIPTED, log=open(tmp_path / "reasoner.log", "w"),
                                         options=LinkOptions(backoff_initial_s=0.05, backoff_max_s=0.3))
    proc, link = conn.process, conn.link
    try:
        assert engine.reasoner is link and isinstance(link, ReasonerLink)
        await link.wait_connected()
        peer = await Peer(engine).join()

        # 1. asked, answered, and voiced at a pause (not over the user)
        await talk(peer)
        first = await until_event(peer, "interjection.delivered", 1)
        assert "x = 2" in first["text"] and "not x = 3" in first["text"]
        stopped = peer.of("user.speech.stopped")[0]["media_ms"]
        assert first["media_ms"] > stopped
        assert agent.asks[0].result().text == first["text"]
        await until_event(peer, "agent.speech.finished", 2)  # "let me check", then the interjection

        # 2. the reasoner dies while it works on the next question; the conversation goes on
        sid = peer.port.session_id
        await talk(peer)
        for _ in range(500):
            summary = await server_session(proc.address, sid)
            if summary is not None and summary.pending_requests == 1:
                break
            await asyncio.sleep(0.02)
        assert summary.pending_requests == 1
        proc.kill()
        await until_event(peer, "agent.speech.finished", 3)  # the second "let me check"
        assert not link.connected and not agent.asks[1].done()

        # 3. it comes back (quick this time): the question is asked again and answered, and the
        #    fresh process was given the session with its recent context
        proc.restart(env={"MICROTURN_TEST_SLOW_S": "0"})
        await proc.wait_healthy()
        second = await until_event(peer, "interjection.delivered", 2)
        assert second["text"].startswith("Yes") and agent.asks[1].result().text == second["text"]
        assert link.stats.resent >= 1 and link.stats.connects == 2
        replayed = await server_session(proc.address, sid)
        assert replayed.context_events >= 4  # session start, and transcript lines of both sides

        # 4. it dies for good: the next question fails, and the agent is told
        proc.kill()
        link.options.request_timeout_ms, link.options.grace_ms = 300, 100
        await talk(peer)
        for _ in range(100):
            if agent.asks[2].done():
                break
            await peer.play(silence(200))
            await asyncio.sleep(0.02)
        assert isinstance(agent.asks[2].exception(), ReasonerUnavailable)
        assert "no answer from the reasoner" in str(agent.asks[2].exception())
        assert len(peer.of("interjection.delivered")) == 2
    finally:
        await conn.close()
        await engine.stop()
