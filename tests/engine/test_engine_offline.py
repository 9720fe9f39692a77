"""run_offline: the live engine driven frame-synchronously; and one run on every real provider."""

from __future__ import annotations

import numpy as np
import pytest
from engine_doubles import ToneVAD, doubles, script, silence, speech

from microturn.runtime.apps import load_app
from microturn.runtime.engine.heuristic import HeuristicPolicy
from microturn.runtime.engine.offline import run_offline
from microturn.runtime.engine.options import EngineOptions
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
    ended = result.of_type("user.turn.ended")
    assert [e["text"] for e in ended] == ["what is seven times eight"], "the turn was taken"
    turn_end_ms = ended[0]["media_ms"]
    out = result.output_audio
    # frame-synchronous: silence until the turn was taken, the answer from the next 20 ms frame
    assert np.abs(out[: turn_end_ms * 16]).max() < 0.01
    first_loud_ms = int(np.argmax(np.abs(out) > 0.01)) // 16
    assert turn_end_ms <= first_loud_ms <= turn_end_ms + 20
    started = result.of_type("agent.speech.started")[0]["media_ms"]
    assert started == first_loud_ms // 20 * 20, "the answer's start is stamped when it is heard"
    assert "fifty six" in result.agent_transcript()


@pytest.mark.parametrize("early_floor", [None, False])
def test_offline_takes_the_turn_at_chunk_resolution_like_live_unless_told_not_to(early_floor):
    """With the watch on (run_offline's default) the heuristic's 300 ms silence timer is acted on
    at the first 32 ms VAD chunk where it has run out, mid-tick; without it, at the next tick."""
    clip = script(silence(400), speech(1000), silence(2600))  # last speech chunk ends at 1408 ms
    result = run_offline(clip, policy=HeuristicPolicy(vad_factory=ToneVAD), agent=load_app(),
                         speech=doubles(["what is seven times eight"]),
                         options=EngineOptions(early_floor=early_floor))
    expiry_ms = 1408 + 300
    ended = result.of_type("user.turn.ended")
    assert len(ended) == 1
    turn_ms = ended[0]["media_ms"]
    first_loud_ms = int(np.argmax(np.abs(result.output_audio) > 0.01)) // 16
    speak = [(i + 1) * 200 for i, d in enumerate(result.decisions) if d.action is FloorAction.SPEAK]
    if early_floor is None:
        assert expiry_ms <= turn_ms < expiry_ms + 32 and turn_ms % 200 != 0, "one chunk after expiry, mid-tick"
        early = [e for e in result.of_type("floor.decision") if e.get("early")]
        assert [(e["action"], e["media_ms"]) for e in early] == [("SPEAK", turn_ms)]
        assert not speak, "the tick had nothing left to decide"
    else:
        assert turn_ms == 1800 and speak == [1800], "waited for the tick after the timer ran out"
        assert not any(e.get("early") for e in result.events)
    assert turn_ms <= first_loud_ms <= turn_ms + 20
    assert result.of_type("agent.speech.started")[0]["media_ms"] == first_loud_ms // 20 * 20


def test_offline_barge_in_between_ticks_is_deterministic_and_cut_from_the_next_frame():
    # the user talks over the answer from 2800 ms: 160 ms of speech chunks make the heuristic yield
    clip = script(silence(400), speech(1000), silence(1400), speech(300), silence(1700))
    runs = [run_offline(clip, policy=HeuristicPolicy(vad_factory=ToneVAD), agent=load_app(),
                        speech=doubles(["what is seven times eight", "stop"])) for _ in range(2)]
    assert [(e["type"], e["media_ms"]) for e in runs[0].events] == [(e["type"], e["media_ms"]) for e in runs[1].events]
    assert np.array_equal(runs[0].output_audio, runs[1].output_audio)
    result = runs[0]
    barge = result.of_type("user.barged_in")
    assert len(barge) == 1 and 2800 + 160 - 32 <= barge[0]["media_ms"] <= 2800 + 160 + 32 < 3000, "mid-tick"
    cut_ms = -(-barge[0]["media_ms"] // 20) * 20  # the first 20 ms frame after the watch fired
    assert result.of_type("agent.speech.interrupted")[0]["media_ms"] == cut_ms
    out = result.output_audio
    assert np.abs(out[(cut_ms - 40) * 16: (cut_ms - 20) * 16]).max() > 0.05, "the answer played until the cut"
    assert np.abs(out[cut_ms * 16 + 32: 3000 * 16]).max() < 0.01, "and is silent from the next frame on"


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
    # the agent's audio is gone from the 20 ms frame after the cut on (only the user talks there)
    # (from 2 ms on: the 48 -> 16 kHz resampler's filter smears the hard cut over a few samples)
    cut_frame_ms = -(-barge[0]["media_ms"] // 20) * 20
    start = cut_frame_ms * 16 + 32
    assert np.abs(result.output_audio[start: start + 6400]).max() < 0.01
