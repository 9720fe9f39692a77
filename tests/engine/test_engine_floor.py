"""The engine on the virtual clock: turn taking, barge-in, batching, bad input, closing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from engine_doubles import Peer, ToneVAD, make_engine, script, silence, speech

from microturn import Agent
from microturn.runtime.apps import load_app
from microturn.runtime.engine.heuristic import HeuristicOptions, HeuristicPolicy
from microturn.runtime.engine.policy import FloorAction, TurnDecision
from microturn.runtime.engine.ports import OUT_FRAME_SAMPLES

LONG = ("this is a rather long answer that keeps going for quite a while so that there is "
        "plenty of time for the user to talk over it")


class Recorder(Agent):
    """Records hooks; says LONG on `say_long` turns."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.handles = []

    async def on_session_started(self, session):
        self.calls.append(("started", session.session_id))

    async def on_user_turn(self, session, turn):
        self.calls.append(("turn", turn.text, turn.start_ms, turn.end_ms))
        self.handles.append(session.say(LONG))
        result = await self.handles[-1]
        self.calls.append(("played", result.interrupted, result.text_played))

    async def on_barge_in(self, session, media_ms):
        self.calls.append(("barge_in", media_ms))

    async def on_user_text(self, session, text):
        self.calls.append(("text", text))

    async def on_session_ended(self, session):
        self.calls.append(("ended",))


async def test_user_turn_end_fires_the_hook_and_the_answer_is_played():
    engine = await make_engine(load_app(), asr_texts=["what is seven times eight"])
    peer = await Peer(engine).join()
    await peer.play(script(silence(400), speech(1200), silence(3000)))
    await engine.stop()
    assert peer.of("user.speech.started")[0]["media_ms"] == 400
    ended = peer.of("user.turn.ended")
    assert len(ended) == 1 and ended[0]["text"] == "what is seven times eight"
    assert ended[0]["start_ms"] == 400 and ended[0]["end_ms"] == 1600
    # the heuristic's silence timer, at micro-turn resolution
    timer = HeuristicOptions().end_of_turn_ms
    assert 1600 + timer <= ended[0]["media_ms"] < 1600 + timer + 200
    assert [e["text"] for e in peer.of("agent.speech.finished")] == ["seven times eight is fifty six"]
    agent_lines = [e for e in peer.of("transcript.final") if e["role"] == "agent"]
    assert [e["text"] for e in agent_lines] == ["seven times eight is fifty six"]
    # audio: silent until the turn ended, then the answer without a gap, then silence again
    loud = peer.loud_turns()
    first = loud.index(True)
    assert first == ended[0]["media_ms"] // 200
    last = len(loud) - 1 - loud[::-1].index(True)
    assert all(loud[first:last + 1]) and not any(loud[last + 1:])
    assert all(len(o) == 10 * OUT_FRAME_SAMPLES for o in peer.out)


async def test_barge_in_cuts_the_audio_within_a_micro_turn_and_keeps_a_strict_prefix():
    agent = Recorder()
    engine = await make_engine(agent, asr_texts=["tell me a story", "stop"])
    peer = await Peer(engine).join()
    await peer.play(script(silence(200), speech(600), silence(1400)))  # agent starts speaking at 1200
    assert peer.loud_turns()[-1], "the long answer is playing"
    onset = len(peer.out) * 200
    await peer.play(script(speech(1000), silence(1000)))
    await engine.stop()
    barge = peer.of("user.barged_in")
    assert len(barge) == 1
    # 200 ms of sustained speech >= the 160 ms barge-in minimum: decided at the end of that
    # micro-turn (the virtual clock runs no between-tick watch; see EngineOptions.early_floor)
    assert barge[0]["media_ms"] == onset + 200
    loud = peer.loud_turns()
    next_turn = peer.of("user.turn.ended")[1]["media_ms"]
    assert loud[barge[0]["media_ms"] // 200 - 1], "still speaking during the micro-turn that decided"
    assert not any(loud[barge[0]["media_ms"] // 200: next_turn // 200]), "audio must stop right after the YIELD"
    cut = peer.of("agent.speech.interrupted")[0]
    played = cut["played_text"]
    assert played and LONG.startswith(played) and len(played) < len(LONG)
    agent_lines = [e["text"] for e in peer.of("transcript.final") if e["role"] == "agent"]
    assert agent_lines[0] == played
    assert ("barge_in", barge[0]["media_ms"]) in agent.calls
    assert ("played", True, played) in agent.calls
    # the user kept the floor: their speech became the next turn
    assert [c[1] for c in agent.calls if c[0] == "turn"] == ["tell me a story", "stop"]


async def test_a_cough_over_the_agent_does_not_stop_it():
    agent = Recorder()
    engine = await make_engine(agent, asr_texts=["go"])
    peer = await Peer(engine).join()
    await peer.play(script(silence(200), speech(600), silence(1400)))
    await peer.play(script(speech(120), silence(600)))  # one short burst inside one micro-turn
    await engine.stop()
    assert not peer.of("user.barged_in")
    assert peer.loud_turns()[-1]


class CountingPolicy:
    """Wraps the heuristic and records every batched call."""

    def __init__(self):
        self.inner = HeuristicPolicy(vad_factory=ToneVAD)
        self.calls: list[list[str]] = []
        self.opened: list[str] = []
        self.closed: list[str] = []

    def open(self, sid):
        self.opened.append(sid)
        self.inner.open(sid)

    def close(self, sid):
        self.closed.append(sid)
        self.inner.close(sid)

    def step(self, turns):
        self.calls.append([t.session_id for t in turns])
        assert all(t.audio.shape == (3200,) and t.audio.dtype == np.float32 for t in turns)
        return self.inner.step(turns)


async def test_one_batched_step_per_tick_for_every_live_session_as_they_come_and_go():
    policy = CountingPolicy()
    engine = await make_engine(load_app(), policy=policy)
    a = await Peer(engine).join()
    await engine.advance(400)
    b = await Peer(engine).join()
    c = await Peer(engine).join()
    await engine.advance(600)
    await b.port.close()
    await engine.advance(400)
    await engine.close_session(a.port.session_id)
    await c.port.close()
    await engine.advance(400)  # nobody left: no step at all
    await engine.stop()
    ids = [p.port.session_id for p in (a, b, c)]
    assert policy.calls == [[ids[0]]] * 2 + [ids] * 3 + [[ids[0], ids[2]]] * 2
    assert policy.opened == ids and sorted(policy.closed) == sorted(ids)
    assert engine.stats.steps == 7


async def test_bad_data_channel_messages_get_an_error_and_the_session_keeps_working():
    agent = Recorder()
    engine = await make_engine(agent)
    peer = await Peer(engine).join()
    bad = ["{nope", "[]", json.dumps({"type": "agent.speech.started"}), json.dumps({"type": "user.text", "text": 3}),
           "x" * 20000, b"\xff\xfe", json.dumps({"type": "user.text", "text": "   "})]
    for raw in bad:
        peer.port.push_message(raw)
    errors = peer.of("error")
    assert [e["code"] for e in errors] == ["bad_json", "bad_event", "unknown_type", "bad_field", "too_large",
                                           "bad_json", "bad_field"]
    assert all(e["message"] for e in errors)
    peer.port.push_audio(np.full(3200, np.nan, np.float32))  # a broken decoder's output
    await engine.advance(200)
    assert engine.stats.policy_errors == 0
    peer.port.push_message(json.dumps({"type": "user.text", "text": "hello there"}))
    peer.port.push_message(json.dumps({"type": "client.ping"}))
    await engine.advance(200)
    assert ("text", "hello there") in agent.calls
    assert peer.of("client.pong")
    await engine.stop()


async def test_tool_calls_from_the_data_channel_go_through_the_dispatcher():
    engine = await make_engine(load_app())
    peer = await Peer(engine).join()
    calls = [{"name": "multiply", "arguments": {"a": 7, "b": 8}, "call_id": "good"},
             {"name": "multiply", "arguments": {"a": "seven"}, "call_id": "bad"},
             {"name": "divide", "arguments": {"a": 1, "b": 0}, "call_id": "zero"},
             {"name": "sqrt", "arguments": {}, "call_id": "unknown"}]
    for call in calls:
        peer.port.push_message(json.dumps({"type": "tool.call", **call}))
    await engine.advance(200)
    await engine.stop()
    results = {e["call_id"]: e for e in peer.of("tool.result")}
    assert results["good"]["ok"] and results["good"]["result"] == 56
    assert not results["bad"]["ok"] and "invalid arguments for multiply" in results["bad"]["error"]
    assert not results["zero"]["ok"] and "divide by zero" in results["zero"]["error"]
    assert not results["unknown"]["ok"] and "unknown tool 'sqrt'" in results["unknown"]["error"]


class BrokenPolicy(CountingPolicy):
    def step(self, turns):
        super().step(turns)
        raise RuntimeError("policy bug")


async def test_a_failing_policy_step_makes_everyone_listen_but_the_engine_goes_on():
    engine = await make_engine(load_app(), policy=BrokenPolicy())
    peer = await Peer(engine).join()
    await peer.play(silence(600))
    await engine.stop()
    assert engine.stats.policy_errors == 3
    assert [e["action"] for e in peer.of("floor.decision")] == ["LISTEN"]


async def test_closing_a_session_releases_everything():
    agent = Recorder()
    policy = CountingPolicy()
    engine = await make_engine(agent, asr_texts=["tell me"], policy=policy)
    peer = await Peer(engine).join()
    await peer.play(script(silence(200), speech(600), silence(1000)))
    assert engine.sessions and agent.handles and not agent.handles[0].done()
    sid = peer.port.session_id
    await peer.port.close()
    await peer.port.close()  # twice is harmless
    assert sid not in engine.sessions and policy.closed == [sid]
    assert sid not in policy.inner._sessions
    assert agent.handles[0].done() and agent.handles[0].result.interrupted
    assert ("ended",) in agent.calls
    assert peer.of("session.ended")[0]["reason"] == "peer_left"
    n_events, n_steps = len(peer.events), len(policy.calls)
    peer.port.push_audio(speech(200))
    peer.port.push_message(json.dumps({"type": "client.ping"}))
    assert not np.any(peer.port.pull_audio())
    await engine.advance(400)
    assert len(peer.events) == n_events and len(policy.calls) == n_steps
    await engine.stop()
    assert not engine._work


async def test_open_session_needs_a_started_engine():
    from microturn.runtime.engine.engine import Engine

    engine = Engine(policy=CountingPolicy())
    with pytest.raises(RuntimeError, match="not started"):
        await engine.open_session("r", "u", lambda e: None)


def test_policy_decisions_are_plain_data():
    d = TurnDecision(FloorAction.INTERJECT, interjection_id="x")
    assert d.action.value == "INTERJECT"


class Scripted(CountingPolicy):
    """The heuristic's decisions, except at the micro-turns `script` names (media ms -> decision)."""

    def __init__(self, script: dict[int, TurnDecision]):
        super().__init__()
        self.script = script

    def step(self, turns):
        return [self.script.get(t.media_ms, d) for t, d in zip(turns, super().step(turns))]


MM_HM = TurnDecision(FloorAction.BACKCHANNEL, text="mm-hm")
HI = TurnDecision(FloorAction.SPEAK, text="the model says hi")


async def test_backchannels_and_a_policy_speaking_for_itself_without_an_agent():
    engine = await make_engine(None, policy=Scripted({600: MM_HM, 1200: HI}))
    peer = await Peer(engine).join()
    await peer.play(silence(3000))
    await engine.stop()
    assert [(e["text"], e["media_ms"]) for e in peer.of("agent.backchannel")] == [("mm-hm", 600)]
    assert peer.loud_turns()[3], "the backchannel plays in the next micro-turn"
    started = peer.of("agent.speech.started")
    assert [(e["text"], e["media_ms"]) for e in started] == [("the model says hi", 1200)]
    agent_lines = [e["text"] for e in peer.of("transcript.final") if e["role"] == "agent"]
    assert agent_lines == ["the model says hi"], "backchannels stay out of the transcript"


async def test_a_run_of_backchannel_micro_turns_says_one_backchannel():
    # BACKCHANNEL for six micro-turns in a row (600-1600 ms), then again at 2400 ms: the model
    # decides it at each micro-turn where one fits, and one "mm-hm" (~0.5 s) would otherwise be
    # followed by another as soon as it ended
    engine = await make_engine(None, policy=Scripted({**{ms: MM_HM for ms in range(600, 1800, 200)}, 2400: MM_HM}))
    peer = await Peer(engine).join()
    await peer.play(silence(3200))
    await engine.stop()
    assert [(e["text"], e["media_ms"]) for e in peer.of("agent.backchannel")] == [("mm-hm", 600), ("mm-hm", 2400)]


async def test_taking_the_turn_cuts_the_agents_own_backchannel():
    # SPEAK at 800 ms while the 600 ms backchannel still plays
    engine = await make_engine(None, policy=Scripted({600: MM_HM, 800: HI}))
    peer = await Peer(engine).join()
    await peer.play(silence(2400))
    await engine.stop()
    assert [e["media_ms"] for e in peer.of("agent.backchannel")] == [600]
    started = peer.of("agent.speech.started")
    assert [(e["text"], e["media_ms"]) for e in started] == [("the model says hi", 800)], "not after the mm-hm"
    assert not peer.of("agent.speech.interrupted"), "a backchannel cut is not an interrupted turn"


async def test_timers_and_visual_changes_reach_the_agent():
    seen = []

    class Watcher(Agent):
        async def on_session_started(self, session):
            session.set_timer("nudge", 600)

        async def on_timer(self, session, name, media_ms):
            seen.append(("timer", name, media_ms))

        async def on_visual_change(self, session, media_ms):
            seen.append(("visual", media_ms))

    engine = await make_engine(Watcher())
    peer = await Peer(engine).join()
    frame = np.zeros((24, 32, 3), np.uint8)
    peer.port.push_video(frame)
    await peer.play(silence(400))
    peer.port.push_video(frame)  # the same picture: no change
    peer.port.push_video(np.zeros((5,), np.uint8))  # malformed: ignored
    await peer.play(silence(400))
    peer.port.push_video(np.full_like(frame, 200))
    peer.port.push_message(json.dumps({"type": "whiteboard.cleared"}))
    await peer.play(silence(400))
    await engine.stop()
    assert seen == [("timer", "nudge", 600), ("visual", 1000)]


async def test_a_burst_of_late_audio_is_trimmed_so_input_never_lags_far_behind():
    policy = CountingPolicy()
    seen = []
    inner_step = policy.step

    def step(turns):
        seen.append(float(np.abs(turns[0].audio).max()))
        return inner_step(turns)

    policy.step = step
    engine = await make_engine(None, policy=policy)
    peer = await Peer(engine).join()
    peer.port.push_audio(script(speech(1000), silence(400)))  # 1.4 s arrive at once
    await engine.advance(600)
    await engine.stop()
    # only the newest 400 ms were kept: silence, then nothing (padded) on the third tick
    assert seen == [pytest.approx(1e-4, abs=5e-4)] * 2 + [0.0]


async def test_uninterruptible_speech_survives_a_barge_in():
    class Notice(Agent):
        async def on_session_started(self, session):
            self.notice = session.say("this call is recorded for quality purposes.", interruptible=False)
            self.chat = session.say("so, what shall we talk about today?")

    agent = Notice()
    engine = await make_engine(agent, asr_texts=["hold on"])
    peer = await Peer(engine).join()
    await peer.play(script(speech(800), silence(3000)))
    await engine.stop()
    assert not agent.notice.result.interrupted
    assert agent.chat.result.interrupted and agent.chat.result.text_played == ""
    assert len(peer.of("user.barged_in")) == 1
