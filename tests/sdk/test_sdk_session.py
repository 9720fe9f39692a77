"""Session, SpeechHandle and the serialisable messages between an agent and the engine."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

import microturn
from microturn import messages as m
from microturn.interjection import Interjection
from microturn.runner import AgentRunner
from microturn.session import ReasonerUnavailable, Session, SessionClosed


def every_message() -> list[m.Message]:
    inj = Interjection("check your sign", session_id="s", anchor_ms=400, priority="urgent", request_id="r1")
    return [
        m.Say(media_ms=1, speech_id="a", text="hello"), m.Interrupt(speech_id="a"),
        m.SendEvent(event={"type": "x.y", "n": 1}), m.Ask(request_id="r", question="q", context={"k": [1]}),
        m.SetTimer(name="t", at_ms=5), m.OfferInterjection(interjection=inj),
        m.InterjectionVerdict(interjection_id="i", interjection=inj), m.InterjectionVerdict(interjection_id="i"),
        m.ToolCallResult(result={"name": "n", "ok": True}), m.SessionStarted(session_id="s", room="r"),
        m.SessionEnded(reason="bye"), m.UserTurn(text="hi", start_ms=1, end_ms=2), m.BargeIn(media_ms=3),
        m.SpeechDone(speech_id="a", text="hello", text_played="hel", interrupted=True), m.UserText(text="t"),
        m.InterjectionOffered(interjection=inj), m.AskFailed(request_id="r", error="e"),
        m.ToolCall(call_id="c", name="n", arguments={"a": 1}), m.VisualChange(), m.TimerFired(name="t"),
        m.TranscriptAppended(role="user", text="x", start_ms=0, end_ms=1),
    ]


@pytest.mark.parametrize("msg", every_message(), ids=lambda x: x.kind)
def test_every_message_round_trips_through_json(msg):
    wire = json.loads(json.dumps(msg.to_dict()))
    assert wire["kind"] == msg.kind
    assert m.message_from_dict(wire) == msg


def test_bad_messages_are_refused_clearly():
    with pytest.raises(m.MessageError, match="unknown message kind"):
        m.message_from_dict({"kind": "nope"})
    with pytest.raises(m.MessageError):
        m.message_from_dict("not a dict")  # type: ignore[arg-type]
    with pytest.raises(m.MessageError, match="bad offer_interjection"):
        m.message_from_dict({"kind": "offer_interjection", "interjection": {"text": "x", "priority": "soon"}})


async def test_say_handle_resolves_when_played_and_can_interrupt():
    sent: list[dict] = []
    session = Session("s", sent.append)
    handle = session.say("seven times eight is fifty six")
    assert sent[-1] == {"kind": "say", "media_ms": 0, "speech_id": handle.speech_id,
                        "text": "seven times eight is fifty six", "interruptible": True}
    handle.interrupt()
    assert sent[-1]["kind"] == "interrupt" and sent[-1]["speech_id"] == handle.speech_id
    assert not handle.done()
    waiter = asyncio.ensure_future(handle)
    await asyncio.sleep(0)
    assert session._parked == 1  # a hook awaiting playout is parked on the engine
    session.receive(m.SpeechDone(media_ms=800, speech_id=handle.speech_id, text=handle.text,
                                 text_played="seven times", interrupted=True))
    result = await waiter
    assert result.interrupted and result.text_played == "seven times" and handle.done()
    assert session._parked == 0 and session.media_ms == 800
    n = len(sent)
    handle.interrupt()  # after the end: nothing is sent
    assert len(sent) == n
    with pytest.raises(ValueError):
        session.say("   ")


async def test_send_ask_and_session_end():
    sent: list[dict] = []
    session = Session("s", sent.append)
    with pytest.raises(ValueError, match="noun.verb"):
        session.send({"type": "nodot"})
    session.send({"type": "quiz.shown", "n": 3})
    assert sent[-1]["event"] == {"type": "quiz.shown", "n": 3}
    fut = session.ask("is 7*8=54?", context={"step": 2})
    assert isinstance(fut, asyncio.Future)
    async def hook():
        return await fut

    waiter = asyncio.ensure_future(hook())
    await asyncio.sleep(0)
    assert session._parked == 1  # a hook awaiting the reasoner is parked on the engine
    ask = sent[-1]
    assert ask["kind"] == "ask" and ask["context"] == {"step": 2}
    answer = Interjection("no, 56", session_id="s", request_id=ask["request_id"])
    session.receive(m.InterjectionOffered(interjection=answer))
    assert (await waiter).text == "no, 56" and session._parked == 0
    failing = session.ask("anything")
    session.receive(m.AskFailed(request_id=sent[-1]["request_id"], error="no background reasoner"))
    with pytest.raises(ReasonerUnavailable, match="no background reasoner"):
        await failing
    pending_say = session.say("still talking")
    pending_ask = session.ask("later")
    session.receive(m.SessionEnded(reason="peer_left"))
    assert (await pending_say).interrupted
    with pytest.raises(SessionClosed):
        await pending_ask
    session.receive(m.TranscriptAppended(role="agent", text="hi", start_ms=0, end_ms=200))
    assert session.transcript[-1].text == "hi"


async def test_runner_turns_notifications_into_hooks_and_replies():
    seen: list = []

    class Spy(microturn.Agent):
        @microturn.tool
        def add(self, a: int, b: int) -> int:
            """Add."""
            return a + b

        async def on_user_turn(self, session, turn):
            seen.append(("turn", turn.text, turn.start_ms, turn.end_ms))

        async def on_interjection(self, session, inj):
            return None if "veto" in inj.text else inj.with_text(inj.text.upper())

        async def on_barge_in(self, session, media_ms):
            raise RuntimeError("hook bug")

    sent: list[dict] = []
    runner = AgentRunner(Spy(), "s", sent.append)
    runner.deliver(m.UserTurn(text="hi", start_ms=1, end_ms=2, media_ms=3).to_dict())
    runner.deliver(m.InterjectionOffered(interjection=Interjection("keep", id="i1")).to_dict())
    runner.deliver(m.InterjectionOffered(interjection=Interjection("veto me", id="i2")).to_dict())
    runner.deliver(m.ToolCall(call_id="c", name="add", arguments={"a": 2, "b": "x"}).to_dict())
    runner.deliver(m.BargeIn().to_dict())
    runner.deliver({"kind": "garbage"})  # logged, never raised
    await runner.aclose()
    assert seen == [("turn", "hi", 1, 2)]
    verdicts = {d["interjection_id"]: d["interjection"] for d in sent if d["kind"] == "interjection_verdict"}
    assert verdicts["i1"]["text"] == "KEEP" and verdicts["i1"]["id"] == "i1" and verdicts["i2"] is None
    tool_result = next(d["result"] for d in sent if d["kind"] == "tool_call_result")
    assert tool_result["ok"] is False and "b:" in tool_result["error"] and tool_result["call_id"] == "c"
    errors = [d["event"] for d in sent if d["kind"] == "send_event"]
    assert errors and errors[0]["code"] == "hook_failed" and "hook bug" in errors[0]["message"]


AGENT_API = ["Agent", "tool", "Tool", "ToolDispatcher", "ToolResult", "ToolError", "Session", "SpeechHandle",
             "TranscriptEntry", "ReasonerUnavailable", "SessionClosed", "Interjection", "UserTurn", "SpeechResult",
             "AgentRunner"]


def test_import_microturn_is_light_and_exports_the_public_api():
    code = (f"import sys, microturn; names = [getattr(microturn, n) for n in {AGENT_API!r}]; "
            "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, sorted(sys.modules); print(len(names))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for name in AGENT_API:
        assert name in microturn._EXPORTS
        assert getattr(microturn, name).__doc__, f"{name} needs a docstring"
    with pytest.raises(AttributeError):
        microturn.NoSuchThing  # noqa: B018
