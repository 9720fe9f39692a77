"""A held turn (`TurnDecision.hold`): the agent's voice pauses without giving up the floor, and
resumes from the same sample; a YIELD during the hold cuts as usual."""

from __future__ import annotations

import dataclasses

from engine_doubles import Peer, ToneVAD, make_engine, silence

from microturn import Agent
from microturn.runtime.engine.heuristic import HeuristicPolicy
from microturn.runtime.engine.policy import FloorAction, TurnDecision

TWO = "first sentence here. and the second one is longer than the first."


class Teller(Agent):
    async def on_session_started(self, session):
        self.line = session.say(TWO)


class HoldingPolicy:
    """The heuristic, but told to hold at some media times (and to yield at others)."""

    def __init__(self, hold_at=(), yield_at=()):
        self.inner = HeuristicPolicy(vad_factory=ToneVAD)
        self.hold_at, self.yield_at = set(hold_at), set(yield_at)

    def open(self, sid):
        self.inner.open(sid)

    def close(self, sid):
        self.inner.close(sid)

    def step(self, turns):
        out = []
        for t, d in zip(turns, self.inner.step(turns)):
            if t.media_ms in self.yield_at:
                d = TurnDecision(FloorAction.YIELD)
            elif t.media_ms in self.hold_at:
                d = dataclasses.replace(d, hold=True)
            out.append(d)
        return out


async def _tell(policy) -> tuple[Peer, Teller]:
    agent = Teller()
    engine = await make_engine(agent, policy=policy)
    peer = await Peer(engine).join()
    await peer.play(silence(5000))
    await engine.stop()
    return peer, agent


async def test_a_hold_pauses_the_voice_and_it_resumes_where_it_stopped():
    plain, _ = await _tell(HoldingPolicy())
    held, agent = await _tell(HoldingPolicy(hold_at={1000, 1200}))
    loud_plain, loud_held = plain.loud_turns(), held.loud_turns()
    # the decision at media 1000 ms acts on the output of the following micro-turns
    pause = [i for i, (a, b) in enumerate(zip(loud_plain, loud_held)) if a and not b]
    assert len(pause) == 2 and pause[1] == pause[0] + 1, (loud_plain, loud_held)
    assert all(loud_held[:pause[0]]) and loud_held[pause[1] + 1]
    # nothing was skipped or cut: the same speech, two micro-turns later
    assert sum(loud_held) == sum(loud_plain)
    assert loud_held[pause[1] + 1:].index(False) == loud_plain[pause[0]:].index(False)
    assert not agent.line.result.interrupted and agent.line.result.text_played == TWO
    assert [e["type"] for e in held.events if e["type"].startswith("agent.speech.")] == [
        "agent.speech.started", "agent.speech.paused", "agent.speech.resumed", "agent.speech.finished"]
    assert not held.of("agent.speech.interrupted") and not plain.of("agent.speech.paused")


async def test_a_yield_during_a_hold_cuts_and_nothing_resumes():
    held, agent = await _tell(HoldingPolicy(hold_at={1000}, yield_at={1200}))
    loud = held.loud_turns()
    first_quiet = loud.index(False, 1)
    assert not any(loud[first_quiet:]), "silent from the hold on: the yield cut what the hold paused"
    result = agent.line.result
    assert result.interrupted and TWO.startswith(result.text_played) and result.text_played != TWO
    assert held.of("agent.speech.paused") and not held.of("agent.speech.resumed")
    assert len(held.of("user.barged_in")) == 1
