"""The real engine (virtual clock, speech doubles) whose agent runs in a `microturn worker`
process: the user's question is answered by hooks and tools in the worker; when the worker
dies the session goes on under the runtime's defaults until a new worker takes it over."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))  # the engine's test doubles

from engine_doubles import Peer, ToneVAD, doubles, script, silence, speech  # noqa: E402
from worker_helpers import until  # noqa: E402

from microturn.interjection import Interjection  # noqa: E402
from microturn.runtime.engine.clock import VirtualClock  # noqa: E402
from microturn.runtime.engine.engine import Engine  # noqa: E402
from microturn.runtime.engine.heuristic import HeuristicPolicy  # noqa: E402
from microturn.runtime.engine.options import EngineOptions  # noqa: E402


async def until_event(peer: Peer, kind: str, count: int, limit_turns: int = 300, text: str | None = None) -> dict:
    for _ in range(limit_turns):
        found = [e for e in peer.of(kind) if text is None or e.get("text") == text]
        if len(found) >= count:
            return found[count - 1]
        await peer.play(silence(200))
        await asyncio.sleep(0.01)  # wall time for the worker's replies
    raise AssertionError(f"no {kind} #{count}; events: {[e['type'] for e in peer.events]}")


async def test_agent_in_a_worker_process_and_a_worker_crash(hub_and_workers):
    hub, workers = hub_and_workers
    workers.start("W1")
    await until(hub, lambda: len(hub.workers) == 1)
    questions = ["what is seven times eight", "what is two plus two", "what is nine minus three"]
    engine = Engine(EngineOptions(review_timeout_ms=5000), HeuristicPolicy(vad_factory=ToneVAD), doubles(questions),
                    hub.agent_factory, VirtualClock())
    await engine.start()
    try:
        peer = await Peer(engine).join()
        runner = engine.sessions[peer.port.session_id].runner
        assert runner.worker.name == "W1"

        await peer.play(script(speech(1000), silence(600)))
        answer = await until_event(peer, "agent.speech.finished", 1)
        assert answer["text"] == "seven times eight is fifty six"  # the tool ran in the worker

        # the worker dies: the conversation goes on under the runtime's defaults
        workers.kill("W1")
        await until(hub, lambda: runner.worker is None)
        engine.offer_interjection(Interjection(text="remember to check your units", session_id=runner.session_id,
                                               anchor_ms=peer.port.media_ms))
        delivered = await until_event(peer, "interjection.delivered", 1, limit_turns=20)  # no 5 s review wait
        assert delivered["text"] == "remember to check your units"
        await until_event(peer, "agent.speech.finished", 1, text=delivered["text"])
        await peer.play(script(speech(1000), silence(600)))  # asked with nobody to answer: unheard
        assert len(peer.of("user.turn.ended")) == 2

        # a new worker takes the session over and answers the next question
        workers.start("W2")
        await until(hub, lambda: runner.worker is not None and runner.worker.name == "W2")
        await peer.play(script(speech(1000), silence(600)))
        await until_event(peer, "agent.speech.finished", 1, text="nine minus three is six")
        assert [e["text"] for e in peer.of("agent.speech.finished")] == [
            "seven times eight is fifty six", "remember to check your units", "nine minus three is six"]
    finally:
        await engine.stop()
