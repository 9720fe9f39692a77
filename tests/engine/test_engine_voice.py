"""The agent's voice: played-text estimation, interrupting by handle, TTS failures, queue order."""

from __future__ import annotations

from engine_doubles import BeepTTS, Peer, make_engine, silence

from microturn import Agent
from microturn.runtime.engine.voice import Utterance

TWO = "first sentence here. and the second one is longer than the first."


def test_played_text_is_a_word_prefix_that_follows_the_samples():
    utt = Utterance("s", TWO)
    utt.sentences = [("first sentence here.", 300), ("and the second one is longer than the first.", 900)]
    utt.synthesized = True
    assert utt.played_text() == ""
    utt.played = 150  # half of three words: one whole word heard
    assert utt.played_text() == "first"
    utt.played = 300 + 450  # all of the first sentence, half of the second (9 words -> 4)
    assert utt.played_text() == "first sentence here. and the second one"
    utt.played = 1200
    assert utt.played_text() == TWO


async def test_interrupt_by_handle_cuts_only_that_utterance():
    class Interrupter(Agent):
        async def on_session_started(self, session):
            self.first = session.say(TWO)
            self.second = session.say("the next one plays.")

    agent = Interrupter()
    engine = await make_engine(agent)
    peer = await Peer(engine).join()
    await peer.play(silence(1400))  # 1.4 s of the 4.75 s first utterance
    agent.first.interrupt()
    await peer.play(silence(2000))
    await engine.stop()
    first = agent.first.result
    assert first.interrupted and TWO.startswith(first.text_played) and first.text_played.startswith("first")
    assert first.text_played != TWO
    second = agent.second.result
    assert not second.interrupted and second.text_played == "the next one plays."
    lines = [e["text"] for e in peer.of("transcript.final") if e["role"] == "agent"]
    assert lines == [first.text_played, "the next one plays."]


class FailingTTS(BeepTTS):
    def synthesize(self, text, voice=None):
        if "fail" in text:
            raise RuntimeError("synthesiser crashed")
        yield from super().synthesize(text, voice)


async def test_a_tts_failure_ends_that_utterance_and_the_session_goes_on():
    class Two(Agent):
        async def on_session_started(self, session):
            self.bad = session.say("please fail now")
            self.good = session.say("all good.")

    agent = Two()
    engine = await make_engine(agent)
    engine.speech.tts = FailingTTS()
    peer = await Peer(engine).join()
    await peer.play(silence(1600))
    await engine.stop()
    assert agent.bad.result.interrupted and agent.bad.result.text_played == ""
    cut = peer.of("agent.speech.interrupted")[0]
    assert "synthesiser crashed" in cut["error"]
    assert agent.good.result is not None and not agent.good.result.interrupted
