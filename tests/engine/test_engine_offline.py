"""run_offline: the live engine driven frame-synchronously; and one run on every real provider."""

from __future__ import annotations

import numpy as np
import pytest
from engine_doubles import ToneVAD, doubles, script, silence, speech

from microturn.runtime.apps import load_app
from microturn.runtime.engine.heuristic import HeuristicPolicy
from microturn.runtime.engine.offline import run_offline
from microturn.runtime.engine.policy import FloorAction


@pytest.mark.parametrize("n", [16_000 * 4, 16_000 * 4 + 1234])
def test_output_is_as_long_as_the_input_with_one_decision_per_micro_turn(n):
    audio = np.zeros(n, np.float32)
    clip = script(silence(400), speech(1000), silence(2600))
    audio[: min(n, len(clip))] = clip[:n]
    result = run_offline(audio, policy=HeuristicPolicy(vad_factory=ToneVAD), agent=load_app(),
                         speech=doubles(["what is seven times eight"]))
    assert result.output_audio.shape == (n,) and result.output_audio.dtype == np.float32
    assert len(result.decisions) == -(-n // 3200)
    assert all(isinstance(e["media_ms"], int) for e in result.events)
    speak = [i for i, d in enumerate(result.decisions) if d.action is FloorAction.SPEAK]
    assert speak, "the policy took the turn"
    turn_end_ms = (speak[0] + 1) * 200
    out = result.output_audio
    # frame-synchronous: silence until the turn was taken, the answer right after it
    assert np.abs(out[: turn_end_ms * 16]).max() < 0.01
    assert np.abs(out[turn_end_ms * 16: turn_end_ms * 16 + 3200]).max() > 0.05
    assert "fifty six" in result.agent_transcript()


def test_run_offline_inside_a_running_loop_uses_a_worker_thread():
    import asyncio

    async def main():
        return run_offline(silence(600), policy=HeuristicPolicy(vad_factory=ToneVAD), speech=doubles())

    result = asyncio.run(main())
    assert len(result.output_audio) == 16 * 600 and len(result.decisions) == 3


@pytest.fixture(scope="module")
def real_speech():
    from microturn.runtime.engine.services import default_speech_services

    return default_speech_services()


@pytest.mark.slow
def test_the_real_providers_answer_a_spoken_question_end_to_end(real_speech):
    """Silero VAD (policy and engine), pocketsphinx with the app's grammar, eSpeak NG."""
    from microturn.runtime.speech.silero import SileroVAD
    from microturn.runtime.speech.sphinx import PocketsphinxASR
    from microturn.runtime.speech.espeak import EspeakTTS
    from microturn.runtime.speech.stimuli import render_speech

    assert type(real_speech.vad_factory()) is SileroVAD
    assert isinstance(real_speech.asr, PocketsphinxASR) and isinstance(real_speech.tts, EspeakTTS)
    audio, _, spoken = render_speech([(0.5, "what is seven times eight")], duration_s=4.5)
    result = run_offline(audio, policy=HeuristicPolicy(vad_factory=SileroVAD), agent=load_app(),
                         speech=real_speech)
    turn = result.of_type("user.turn.ended")
    assert [t["text"] for t in turn] == ["what is seven times eight"]
    question_end_ms = spoken[0].end_s * 1000
    assert question_end_ms < turn[0]["media_ms"] <= question_end_ms + 800
    assert "fifty six" in result.agent_transcript()
    answer_start = result.of_type("agent.speech.started")[0]["media_ms"]
    out = result.output_audio
    assert np.abs(out[: answer_start * 16]).max() < 0.01
    assert np.abs(out[answer_start * 16:]).max() > 0.05, "the eSpeak answer is in the output audio"


@pytest.mark.slow
def test_the_real_providers_stop_when_the_user_barges_in(real_speech):
    from microturn.runtime.speech.silero import SileroVAD
    from microturn.runtime.speech.stimuli import render_speech

    audio, _, spoken = render_speech([(0.5, "what is seven times eight"),
                                      (2.9, "wait, stop")], duration_s=4.0)
    result = run_offline(audio, policy=HeuristicPolicy(vad_factory=SileroVAD), agent=load_app(),
                         speech=real_speech)
    barge = result.of_type("user.barged_in")
    onset_ms = spoken[1].start_s * 1000
    assert len(barge) == 1 and onset_ms < barge[0]["media_ms"] <= onset_ms + 600
    cut = result.of_type("agent.speech.interrupted")[0]
    answer = "seven times eight is fifty six"
    assert cut["text"] == answer and answer.startswith(cut["played_text"]) and cut["played_text"] != answer
    # the agent's audio is gone from the micro-turn after the YIELD (only the user talks there)
    # (from 2 ms on: the 48 -> 16 kHz resampler's filter smears the hard cut over a few samples)
    start = barge[0]["media_ms"] * 16 + 32
    assert np.abs(result.output_audio[start: start + 6400]).max() < 0.01
