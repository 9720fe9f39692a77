"""Latency paths on the virtual clock: the between-tick watch and speculative finalising.

The watch (engine/watch.py) acts on the policy's armed timers at 32 ms VAD-chunk resolution
instead of at the next 200 ms tick; these tests feed the engine 20 ms at a time, the way a
WebRTC peer does, with `EngineOptions(early_floor=True)` (the virtual clock leaves it off by
default). Speculative finalising (engine/listener.py) decodes an utterance while the end-of-turn
timer runs, and must never change the words.
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_doubles import ToneVAD, make_engine, script, silence, speech

from microturn import Agent
from microturn.runtime.engine.heuristic import HeuristicPolicy
from microturn.runtime.engine.options import EngineOptions
from microturn.runtime.engine.watch import FloorWatch

FRAME = 320  # 20 ms at 16 kHz
LONG = "this answer goes on and on for long enough that the user can talk over it"


class Answerer(Agent):
    def __init__(self, text: str = "fifty six"):
        self.text = text
        self.turns: list[tuple] = []

    async def on_user_turn(self, session, turn):
        self.turns.append((turn.text, turn.start_ms, turn.end_ms))
        session.say(self.text)


class FramePeer:
    """Pushes the microphone and pulls the agent's audio 20 ms at a time, like the real track."""

    def __init__(self, engine):
        self.engine, self.events, self.loud = engine, [], []

    async def join(self) -> "FramePeer":
        self.port = await self.engine.open_session("r", "u", self.events.append)
        await self.engine.settle()
        return self

    async def play(self, audio: np.ndarray) -> None:
        for k in range(0, len(audio), FRAME):
            self.loud.append(bool(np.abs(self.port.pull_audio()).max() > 0.01))
            self.port.push_audio(audio[k:k + FRAME])
            await self.engine.advance(20)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]

    def first_loud_ms(self, after_ms: int = 0) -> int:
        return next(i * 20 for i, loud in enumerate(self.loud) if loud and i * 20 >= after_ms)


# ---- the watch on its own -------------------------------------------------------------------

def test_watch_fires_when_the_armed_silence_or_speech_lasts():
    w = FloorWatch()
    assert w.arm("speak", 100, from_pos=1000) is None
    assert w.chunk(1000, False, 32) is None, "a chunk the policy has already seen does not count"
    assert [w.chunk(1000 + 512 * i, False, 32) for i in range(1, 5)] == [None, None, None, "speak"]
    assert w.armed is None, "fires once"
    w.arm("yield", 60, from_pos=3048)
    assert w.chunk(3560, True, 32) is None and w.chunk(4072, True, 32) == "yield"


def test_watch_is_disarmed_by_a_chunk_that_breaks_the_condition():
    w = FloorWatch()
    w.arm("speak", 64, from_pos=0)
    assert w.chunk(512, False, 32) is None and w.chunk(1024, True, 32) is None  # the user went on
    assert w.armed is None and w.chunk(1536, False, 32) is None and w.chunk(2048, False, 32) is None
    w.arm("yield", 64, from_pos=0)
    assert w.chunk(2560, True, 32) is None and w.chunk(3072, False, 32) is None  # a short burst
    assert w.armed is None
    with pytest.raises(ValueError):
        w.arm("dance", 10, from_pos=0)


def test_watch_replays_chunks_scored_before_the_arming_decision_came_back():
    w = FloorWatch()
    for i in range(1, 4):
        w.chunk(512 * i, False, 32)           # scored while the tick's step was running
    assert w.arm("speak", 64, from_pos=512) == "speak"  # chunks 2 and 3 are past the tick's cut


def test_watch_hears_each_pause_once_and_remembers_speech_past_its_chunk_history():
    w = FloorWatch(pause_ms=64)
    heard = []
    for i, speech in enumerate([False, True, True, False, False, False, True, False, False], start=1):
        w.chunk(512 * i, speech, 32)
        heard.append(w.pause_heard)
    # silence before any speech is no pause; 64 ms after the speech ending at chunk 3 is, once
    assert heard == [None, None, None, None, 512 * 3, None, None, None, 512 * 7]
    assert w.silent_since(512 * 7) == 512 * 9 and w.silent_since(512 * 6) is None
    for i in range(10, 10 + 2 * FloorWatch.HISTORY):   # long silence: older chunks are forgotten
        w.chunk(512 * i, False, 32)
    assert w.silent_since(512 * 6) is None, "the speech at chunk 7 still counts"


# ---- the watch in the engine ----------------------------------------------------------------

async def test_the_turn_is_taken_when_the_silence_timer_runs_out_not_at_the_next_tick():
    agent = Answerer()
    engine = await make_engine(agent, asr_texts=["what is seven times eight"],
                               options=EngineOptions(early_floor=True))
    peer = await FramePeer(engine).join()
    await peer.play(script(silence(200), speech(560), silence(1240)))  # speech ends at 760 ms
    await engine.stop()
    ended = peer.of("user.turn.ended")
    assert [e["text"] for e in ended] == ["what is seven times eight"]
    # 300 ms after the last speech chunk (which ends on the 32 ms grid at 768 ms), within one
    # chunk; at tick resolution it would have waited for the tick at 1200 ms
    assert 760 + 300 <= ended[0]["media_ms"] < 768 + 300 + 32 < 1200
    early = [e for e in peer.of("floor.decision") if e.get("early")]
    assert early and early[0]["action"] == "SPEAK" and early[0]["media_ms"] == ended[0]["media_ms"]
    # and the answer is heard from the next 20 ms frame on, not from the next tick
    assert ended[0]["media_ms"] <= peer.first_loud_ms(after_ms=800) <= ended[0]["media_ms"] + 40
    text, start, end = agent.turns[0]
    assert len(agent.turns) == 1 and (text, start) == ("what is seven times eight", 200) and 760 <= end < 800


async def test_a_barge_in_cuts_the_agent_once_the_speech_run_is_long_enough():
    agent = Answerer(LONG)
    engine = await make_engine(agent, asr_texts=["go on", "stop"], options=EngineOptions(early_floor=True))
    peer = await FramePeer(engine).join()
    await peer.play(script(silence(200), speech(400), silence(1460)))  # the answer starts ~1000
    assert peer.loud[-1], "the long answer is playing"
    onset = len(peer.loud) * 20 + 60  # 2120 ms: 120 ms after the tick at 2000 ms
    await peer.play(script(silence(60), speech(600), silence(1000)))
    await engine.stop()
    barge = peer.of("user.barged_in")
    assert len(barge) == 1
    # 160 ms of speech = 5 chunks on the 32 ms grid (the first one holds the onset): cut at the
    # end of the fifth, well before the tick at 2400 ms where a per-tick decision would land
    assert onset + 160 - 32 <= barge[0]["media_ms"] <= onset + 160 + 32 < 2400
    cut_frame = barge[0]["media_ms"] // 20
    assert all(peer.loud[onset // 20: onset // 20 + 7]), "the agent talked until the cut"
    assert not any(peer.loud[cut_frame + 1: cut_frame + 20]), "silent from the next frame on"
    assert agent.turns[-1][0] == "stop", "the user's speech became the next turn"


async def test_a_cough_over_the_agent_is_not_a_barge_in_between_ticks_either():
    engine = await make_engine(Answerer(LONG), asr_texts=["go on"], options=EngineOptions(early_floor=True))
    peer = await FramePeer(engine).join()
    await peer.play(script(silence(200), speech(400), silence(1460)))
    await peer.play(script(silence(60), speech(100), silence(600)))
    await engine.stop()
    assert not peer.of("user.barged_in") and peer.loud[-1]


# ---- speculative finalising -------------------------------------------------------------------

@pytest.mark.parametrize("partials", [True, False])
async def test_a_paused_utterance_is_finalised_once_and_reused_when_the_turn_ends(partials):
    agent = Answerer()
    engine = await make_engine(agent, asr_texts=["what is seven times eight", "extra"],
                               options=EngineOptions(asr_partials=partials))
    asr = engine.speech.asr
    decoded_at: list[float] = []

    class Stamped(list):  # when the recogniser finalised, on the virtual clock
        def append(self, item):
            decoded_at.append(engine.clock.now_ms())
            super().append(item)

    asr.finished = Stamped()
    peer = await FramePeer(engine).join()
    await peer.play(script(silence(200), speech(560), silence(1240)))
    await engine.stop()
    assert [t[0] for t in agent.turns] == ["what is seven times eight"]
    assert len(asr.finished) == 1, "the speculative result was the final one: no second decode"
    assert list(asr.texts) == ["extra"]
    # decoded in the pause, while the end-of-turn timer ran, not after the turn was taken
    assert decoded_at[0] < peer.of("user.turn.ended")[0]["media_ms"]


@pytest.mark.parametrize("partials", [True, False])
async def test_speech_after_a_speculative_finish_continues_the_same_utterance(partials):
    agent = Answerer()
    # the first decode is the speculative one, made in the pause; it must not be the turn's text
    engine = await make_engine(agent, asr_texts=["what is seven", "what is seven times eight"],
                               options=EngineOptions(asr_partials=partials))
    asr = engine.speech.asr
    peer = await FramePeer(engine).join()
    # a 220 ms pause (480-700 ms) inside the question: too short to end the turn, long enough
    # to be finalised speculatively at the tick at 600 ms
    await peer.play(script(silence(200), speech(280), silence(220), speech(400), silence(1300)))
    await engine.stop()
    text, start, end = agent.turns[0]
    assert len(agent.turns) == 1 and (text, start) == ("what is seven times eight", 200) and 1100 <= end < 1140
    assert len(asr.finished) == 2
    if partials:  # the second stream was fed the whole utterance again, not just its second half
        assert asr.finished[1] > asr.finished[0] + 400 * 16
