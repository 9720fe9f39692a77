"""The turn-end word check in the engine (`DecisionOptions.turn_words`): with the arithmetic app's
grammar, a whole question is answered as soon as the user stops, a question cut short by a pause
is not, and without the option the model decides alone. Real providers end to end (Silero VAD,
pocketsphinx, eSpeak NG, the shipped checkpoint) on the engine's virtual clock."""

from __future__ import annotations

import numpy as np
import pytest

from examples.arithmetic import ArithmeticAgent
from microturn.runtime.engine.offline import run_offline
from microturn.runtime.engine.policy import make_policy
from microturn.runtime.eval.synth import speak

VOICE = ("en-us", 160, 50)
LEAD_MS = 400


def clip(*parts) -> tuple[np.ndarray, list[int]]:
    """Speech and silences (ms) after a 400 ms lead-in; returns the audio and where each spoken
    part ends (ms)."""
    pieces, ends, t = [np.zeros(LEAD_MS * 16, np.float32)], [], LEAD_MS
    for part in parts:
        a = np.zeros(part * 16, np.float32) if isinstance(part, int) else speak(part, VOICE).astype(np.float32)
        pieces.append(a)
        t += len(a) // 16
        if not isinstance(part, int):
            ends.append(t)
    return np.concatenate(pieces), ends


def answer_starts(result) -> list[int]:
    return [e["media_ms"] for e in result.events if e["type"] == "agent.speech.started"]


@pytest.fixture(scope="module")
def speech():
    from microturn.runtime.engine.services import default_speech_services

    return default_speech_services()


def test_a_whole_question_is_answered_as_soon_as_the_user_stops(speech):
    audio, (end,) = clip("what is seven times eight", 2000)
    fast = run_offline(audio, policy=make_policy("model", turn_words=True), agent=ArithmeticAgent(), speech=speech)
    starts = answer_starts(fast)
    assert starts and end < starts[0] <= end + 300, (end, starts)
    said = [e["text"] for e in fast.events if e["type"] == "agent.speech.started"]
    assert "fifty six" in said[0]
    # without the option the same model waits longer for this question (its P(SPEAK) alone)
    alone = answer_starts(run_offline(audio, policy=make_policy("model", turn_words=False),
                                      agent=ArithmeticAgent(), speech=speech))
    assert alone and alone[0] > starts[0], (starts, alone)


def test_a_question_cut_short_waits_for_the_rest(speech):
    audio, (cut, end) = clip("what is seven times", 900, "eight", 2000)
    result = run_offline(audio, policy=make_policy("model", turn_words=True, turn_words_wait=True),
                         agent=ArithmeticAgent(), speech=speech)
    starts = answer_starts(result)
    assert starts and starts[0] > end, (cut, end, starts)       # nothing in the pause
    assert starts[0] <= end + 300, (end, starts)                  # and fast once the question is whole
