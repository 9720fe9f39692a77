"""Interjection delivery rules, each on the virtual clock, plus session.ask and background tools."""

from __future__ import annotations

import asyncio

import pytest
from engine_doubles import Peer, ToneVAD, make_engine, silence, speech

from microturn import Agent, Interjection, ReasonerUnavailable, tool
from microturn.runtime.engine.heuristic import HeuristicPolicy
from microturn.runtime.engine.policy import FloorAction, TurnDecision


class FakeReasoner:
    """A ReasonerLink double: records everything; answers asks when `answer` is set."""

    def __init__(self, answer: str | None = None, echo_request_id: bool = True):
        self.engine = None
        self.answer, self.echo = answer, echo_request_id
        self.contexts, self.requests, self.outcomes = [], [], []

    def context(self, session_id, kind, payload, media_ms):
        self.contexts.append((kind, payload, media_ms))

    async def request(self, session_id, question, context, media_ms):
        self.requests.append((question, context, media_ms))
        if self.answer:
            self.engine.offer_interjection(Interjection(
                self.answer, session_id=session_id, anchor_ms=media_ms, created_ms=media_ms,
                expires_ms=media_ms + 10_000, request_id=context["request_id"] if self.echo else ""))

    def outcome(self, interjection_id, delivered, reason):
        self.outcomes.append((interjection_id, delivered, reason))


class Reviewer(Agent):
    """Rewrites interjections that ask for it, vetoes others that ask for that."""

    greeting = None

    async def on_session_started(self, session):
        if self.greeting:
            session.say(self.greeting)

    async def on_interjection(self, session, inj):
        if "veto" in inj.text:
            return None
        if "rewrite" in inj.text:
            return inj.with_text("a kinder way to say it")
        return inj

    @tool(background=True, priority="next_pause")
    async def lookup(self, topic: str) -> str:
        """Find something out in the background."""
        await asyncio.sleep(0)
        return f"here is what I found about {topic}"


async def setup(agent=None, policy=None, reasoner=None):
    reasoner = reasoner or FakeReasoner()
    engine = await make_engine(agent or Reviewer(), policy=policy, reasoner=reasoner)
    reasoner.engine = engine
    peer = await Peer(engine).join()
    return engine, peer, reasoner


def offer(engine, peer, text, priority="next_pause", ttl=10_000):
    now = peer.port.media_ms
    inj = Interjection(text, session_id=peer.port.session_id, anchor_ms=now, created_ms=now,
                       expires_ms=now + ttl, priority=priority)
    assert engine.offer_interjection(inj)
    return inj


def delivered(peer):
    return peer.of("interjection.delivered")


async def test_next_pause_is_held_while_the_user_speaks_and_voiced_at_the_pause():
    engine, peer, reasoner = await setup()
    await peer.play(speech(400))
    inj = offer(engine, peer, "one more thing")
    await peer.play(speech(1600))
    assert not delivered(peer), "held while the user is speaking"
    speech_end = peer.port.media_ms
    await peer.play(silence(1000))
    await engine.stop()
    d = delivered(peer)
    assert len(d) == 1 and d[0]["id"] == inj.id and d[0]["text"] == "one more thing"
    # the first micro-turn boundary after a full micro-turn of silence (VAD chunks are 32 ms,
    # so the silence measured at speech_end + 200 is a few ms short of 200)
    assert speech_end + 200 <= d[0]["media_ms"] <= speech_end + 400, "voiced at the pause, within a micro-turn"
    assert d[0]["anchor_ms"] == 400 and d[0]["delay_ms"] == d[0]["media_ms"] - 400
    assert peer.loud_turns()[d[0]["media_ms"] // 200], "its audio starts in the next micro-turn"
    assert (inj.id, True, "delivered") in reasoner.outcomes


async def test_urgent_is_voiced_even_over_the_user():
    engine, peer, _ = await setup()
    await peer.play(speech(400))
    inj = offer(engine, peer, "careful, that is wrong", priority="urgent")
    await peer.play(speech(400))
    await engine.stop()
    d = delivered(peer)
    assert len(d) == 1 and d[0]["id"] == inj.id and d[0]["media_ms"] == 600


async def test_when_idle_waits_until_neither_side_has_spoken_for_a_while():
    agent = Reviewer()
    agent.greeting = "welcome to the lesson, let us begin"
    engine, peer, _ = await setup(agent)
    offer(engine, peer, "a tip for later", priority="when_idle")
    await peer.play(silence(4000))
    await engine.stop()
    finished = peer.of("agent.speech.finished")[0]["media_ms"]
    d = delivered(peer)
    assert len(d) == 1
    assert finished + engine.options.idle_ms <= d[0]["media_ms"] <= finished + engine.options.idle_ms + 200


async def test_expired_interjections_are_dropped_never_voiced():
    engine, peer, reasoner = await setup()
    await peer.play(speech(200))
    inj = offer(engine, peer, "too late now", ttl=400)
    stale = Interjection("already stale", session_id=peer.port.session_id, anchor_ms=0, expires_ms=100)
    engine.offer_interjection(stale)
    await peer.play(speech(1000))
    await peer.play(silence(600))
    await engine.stop()
    dropped = {e["id"]: e for e in peer.of("interjection.dropped")}
    assert dropped[inj.id]["reason"] == "expired" and dropped[inj.id]["media_ms"] == 800
    assert dropped[stale.id]["reason"] == "expired"
    assert not delivered(peer) and not peer.of("agent.speech.started")
    assert (inj.id, False, "expired") in reasoner.outcomes


async def test_never_two_interjections_at_once():
    engine, peer, _ = await setup()
    await peer.play(silence(400))
    first = offer(engine, peer, "first point to make")
    second = offer(engine, peer, "second point to make", priority="urgent")
    third = offer(engine, peer, "third point")
    await peer.play(silence(4000))
    await engine.stop()
    order = [e["id"] for e in delivered(peer)]
    assert order == [second.id, first.id, third.id]  # urgent first, then in arrival order
    started = {e["speech_id"]: e["media_ms"] for e in peer.of("agent.speech.started")}
    finished = {e["speech_id"]: e["media_ms"] for e in peer.of("agent.speech.finished")}
    spans = sorted((started[f"inj-{i}"], finished[f"inj-{i}"]) for i in order)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start >= end, "one interjection at a time"
    by_id = {e["id"]: e["media_ms"] for e in delivered(peer)}
    assert by_id[first.id] >= finished[f"inj-{second.id}"]


async def test_on_interjection_can_rewrite_or_veto():
    engine, peer, reasoner = await setup()
    await peer.play(silence(200))
    rewritten = offer(engine, peer, "please rewrite this blunt remark")
    vetoed = offer(engine, peer, "veto this one")
    await peer.play(silence(2400))
    await engine.stop()
    d = delivered(peer)
    assert [(e["id"], e["text"]) for e in d] == [(rewritten.id, "a kinder way to say it")]
    assert peer.of("agent.speech.started")[0]["text"] == "a kinder way to say it"
    dropped = peer.of("interjection.dropped")
    assert [(e["id"], e["reason"]) for e in dropped] == [(vetoed.id, "vetoed")]
    assert (vetoed.id, False, "vetoed") in reasoner.outcomes


class PickingPolicy(HeuristicPolicy):
    """Declares that it picks interjection moments; voices one only on the micro-turn asked."""

    picks_interjections = True

    def __init__(self):
        super().__init__(vad_factory=ToneVAD)
        self.interject_at: int | None = None

    def step(self, turns):
        out = super().step(turns)
        for i, t in enumerate(turns):
            if t.interjections and self.interject_at is not None and t.media_ms >= self.interject_at:
                out[i] = TurnDecision(FloorAction.INTERJECT, interjection_id=t.interjections[0].id)
        return out


async def test_a_policy_that_picks_moments_decides_within_the_rules():
    policy = PickingPolicy()
    engine, peer, _ = await setup(policy=policy)
    await peer.play(silence(200))
    inj = offer(engine, peer, "when you are ready")
    await peer.play(silence(1000))
    assert not delivered(peer), "the policy has not picked a moment yet"
    policy.interject_at = 0
    await peer.play(speech(600))
    assert not delivered(peer), "INTERJECT over the user is refused for a non-urgent one"
    await peer.play(silence(600))
    await engine.stop()
    d = delivered(peer)
    assert len(d) == 1 and d[0]["id"] == inj.id


async def test_ask_goes_through_the_reasoner_and_resolves_with_its_interjection():
    results = {}

    class Asker(Reviewer):
        async def on_user_text(self, session, text):
            results[text] = await session.ask(f"check: {text}", context={"topic": "arithmetic"})

    reasoner = FakeReasoner(answer="no, it is fifty six")
    engine, peer, _ = await setup(Asker(), reasoner=reasoner)
    peer.port.push_message('{"type": "user.text", "text": "is it 54"}')
    await peer.play(silence(1000))
    question, context, media_ms = reasoner.requests[0]
    assert question == "check: is it 54" and context["topic"] == "arithmetic" and context["request_id"]
    assert results["is it 54"].text == "no, it is fifty six"
    assert delivered(peer)[0]["text"] == "no, it is fifty six"
    assert ("user.text", {"text": "is it 54"}, 0) in reasoner.contexts
    # a reasoner that forgets to echo the request id is matched by the ask's anchor time
    reasoner.echo = False
    peer.port.push_message('{"type": "user.text", "text": "and 55"}')
    await peer.play(silence(400))
    assert results["and 55"].text == "no, it is fifty six"
    await engine.stop()


async def test_ask_without_a_reasoner_fails_clearly_and_unknown_sessions_are_refused():
    outcome = {}

    class Asker(Agent):
        async def on_user_text(self, session, text):
            try:
                await session.ask("anything")
            except ReasonerUnavailable as exc:
                outcome["error"] = str(exc)

    engine = await make_engine(Asker())
    peer = await Peer(engine).join()
    peer.port.push_message('{"type": "user.text", "text": "hi"}')
    await peer.play(silence(200))
    assert "no background reasoner" in outcome["error"]
    assert not engine.offer_interjection(Interjection("lost", session_id="no-such-session"))
    await engine.stop()


async def test_background_tool_results_are_voiced_as_interjections():
    engine, peer, _ = await setup()
    peer.port.push_message('{"type": "tool.call", "name": "lookup", "arguments": {"topic": "owls"}, "call_id": "c1"}')
    await peer.play(silence(800))
    await engine.stop()
    result = peer.of("tool.result")[0]
    assert result["ok"] and result["result"] == {"status": "running"}
    d = delivered(peer)
    assert len(d) == 1 and d[0]["text"] == "here is what I found about owls"


async def test_pending_interjections_are_dropped_when_the_session_closes():
    engine, peer, reasoner = await setup()
    await peer.play(speech(400))
    inj = offer(engine, peer, "never said")
    await peer.port.close()
    assert [(e["id"], e["reason"]) for e in peer.of("interjection.dropped")] == [(inj.id, "session_closed")]
    assert (inj.id, False, "session_closed") in reasoner.outcomes
    await engine.stop()


def test_priority_is_checked():
    with pytest.raises(ValueError, match="priority"):
        Interjection("x", priority="whenever")


class SilentRunner:
    """A runner whose agent never answers (a remote worker that went quiet)."""

    busy = False

    def __init__(self):
        self.got = []

    def deliver(self, data):
        self.got.append(data["kind"])

    async def aclose(self, grace_s=1.0):
        self.got.append("closed")


class SilentRemoteAgent:
    asr_grammar = None

    def __init__(self):
        self.runner = SilentRunner()

    def make_runner(self, session_id, send, *, room="", identity=""):
        return self.runner


async def test_an_unanswered_review_times_out_and_the_interjection_is_voiced_unchanged():
    agent = SilentRemoteAgent()
    engine, peer, _ = await setup(agent)
    await peer.play(silence(200))
    inj = offer(engine, peer, "still worth saying")
    await peer.play(silence(1600))
    await engine.stop()
    assert "session_started" in agent.runner.got and "interjection_offered" in agent.runner.got
    assert agent.runner.got[-1] == "closed"
    d = delivered(peer)
    assert len(d) == 1 and d[0]["id"] == inj.id
    assert d[0]["media_ms"] == 200 + engine.options.review_timeout_ms
