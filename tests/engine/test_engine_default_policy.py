"""The engine's default floor policy is the shipped interaction model, and with it the live
prompts work: a whiteboard change in silence and a due timer are voiced within two micro-turns,
and a prompt the app offers as an interjection while the user talks waits for their pause."""

from __future__ import annotations

import numpy as np
from engine_doubles import Peer, doubles, script, silence, speech

from microturn import Agent, Interjection
from microturn.runtime.apps import agent_factory
from microturn.runtime.engine.clock import VirtualClock
from microturn.runtime.engine.engine import Engine
from microturn.runtime.engine.heuristic import HeuristicPolicy
from microturn.runtime.engine.options import EngineOptions
from microturn.runtime.model.policy import ModelPolicy


class Prompted(Agent):
    """Speaks up on a whiteboard change and when its reminder is due; the app supplies the words."""

    async def on_session_started(self, session):
        session.set_timer("reminder", 2000)

    async def on_visual_change(self, session, media_ms):
        session.say("I see you changed the board")

    async def on_timer(self, session, name, media_ms):
        session.say("time for the next step")


async def test_default_engine_voices_visual_and_timer_prompts_within_two_micro_turns():
    engine = Engine(EngineOptions(), speech=doubles(), agent_factory=agent_factory(Prompted()),
                    clock=VirtualClock())
    assert isinstance(engine.policy, ModelPolicy), "the default policy is the trained model"
    await engine.start()
    peer = await Peer(engine).join()
    board = np.zeros((24, 32, 3), np.uint8)
    peer.port.push_video(board)
    await peer.play(silence(600))
    peer.port.push_video(np.full_like(board, 200))   # the board changes at 600 ms, nobody speaks
    await peer.play(silence(3000))
    await engine.stop()
    started = {e["text"]: e["media_ms"] for e in peer.of("agent.speech.started")}
    assert set(started) == {"I see you changed the board", "time for the next step"}, peer.events
    assert 600 <= started["I see you changed the board"] <= 600 + 400
    assert 2000 <= started["time for the next step"] <= 2000 + 400
    loud = peer.loud_turns()
    assert any(loud[3:6]) and any(loud[10:13]), "the prompts are heard, not only announced"


class WaitsForThePause(Agent):
    """Offers what it has to say about the board as an interjection: voiced at the next pause,
    not over the user."""

    async def on_visual_change(self, session, media_ms):
        session.offer_interjection(Interjection("the board changed", priority="next_pause"))

    async def on_interjection(self, session, interjection):
        return interjection


async def _board_changes_while_the_user_talks(engine: Engine, after_ms: int) -> Peer:
    """400 ms of silence, then 1.2 s of speech with the board changing as it starts, then silence."""
    await engine.start()
    peer = await Peer(engine).join()
    board = np.zeros((24, 32, 3), np.uint8)
    peer.port.push_video(board)
    await peer.play(silence(400))
    peer.port.push_video(np.full_like(board, 200))
    await peer.play(script(speech(1200), silence(after_ms)))
    await engine.stop()
    return peer


async def test_default_engine_holds_a_board_prompt_offered_mid_sentence_until_the_users_pause():
    engine = Engine(EngineOptions(), speech=doubles(), agent_factory=agent_factory(WaitsForThePause()),
                    clock=VirtualClock())
    peer = await _board_changes_while_the_user_talks(engine, 2000)
    delivered = peer.of("interjection.delivered")
    assert len(delivered) == 1, peer.events
    user_stopped = [e["media_ms"] for e in peer.of("user.speech.stopped")]
    assert user_stopped and delivered[0]["media_ms"] >= user_stopped[0], "not over the user"
    started = [e for e in peer.of("agent.speech.started") if e["text"] == "the board changed"]
    assert started and started[0]["media_ms"] <= 400 + 1200 + 1000, "voiced within a second of the pause"


class AnswersToo(WaitsForThePause):
    """As above, and answers what the user said."""

    async def on_user_turn(self, session, turn):
        session.say(f"you said {turn.text}")


async def test_a_question_asked_while_a_prompt_waited_is_answered_after_it_not_lost():
    """The board prompt is voiced at the user's first pause, which is also the end of their
    question: the interjection takes the floor, and the question must still reach the app and be
    answered after it (it used to stay open behind the interjection and never be answered)."""
    # a slow end-of-turn timer, so the interjection comes first (scripted tones are no speech to the model)
    engine = Engine(EngineOptions(), HeuristicPolicy(end_of_turn_ms=3000), speech=doubles(asr_texts=["what is two plus two"]),
                    agent_factory=agent_factory(AnswersToo()), clock=VirtualClock())
    peer = await _board_changes_while_the_user_talks(engine, 6000)
    started = [e["text"] for e in peer.of("agent.speech.started")]
    assert started[:2] == ["the board changed", "you said what is two plus two"], peer.events
    ended = peer.of("user.turn.ended")
    assert len(ended) == 1 and ended[0]["text"] == "what is two plus two"

