"""Baseline floor policies on scripted speech, where the right answer is known by construction.

The audio is real eSpeak speech heard through the real Silero VAD; only the timeline is scripted:
"so I was wondering" + a pause of known length + "what is twelve plus nine" + silence.
"""

from __future__ import annotations

import numpy as np
import pytest

from microturn.runtime.engine.policy import SAMPLES_PER_TURN, FloorAction, TurnInput, make_policy, policy_names
from microturn.runtime.eval.synth import SR

def drive(name: str, audio: np.ndarray, agent_speaking=lambda t_s: False) -> list[tuple[float, FloorAction]]:
    """Step the policy over the clip one micro-turn at a time; returns (end time, action) per turn."""
    policy = make_policy(name)
    policy.open("s")
    out = []
    for k in range(len(audio) // SAMPLES_PER_TURN):
        t_end = (k + 1) * SAMPLES_PER_TURN / SR
        turn = TurnInput("s", int(t_end * 1000), audio[k * SAMPLES_PER_TURN:(k + 1) * SAMPLES_PER_TURN],
                         agent_speaking=agent_speaking(t_end))
        out.append((t_end, policy.step([turn])[0].action))
    policy.close("s")
    return out


def first_speak(actions, after: float = 0.0) -> float | None:
    return next((t for t, a in actions if a == FloorAction.SPEAK and t > after), None)


def test_every_baseline_is_registered():
    names = policy_names()
    for n in ["silence-timeout-200", "silence-timeout-500", "silence-timeout-800", "always-yield", "floor-holder"]:
        assert n in names


# 0.9 s: at least 3 whole silent micro-turns (600 ms) whatever the alignment and the VAD hangover
@pytest.mark.parametrize("pause_s, takes_over", [(0.9, True), (0.3, False)])
def test_silence_timeout_500_takes_over_long_pauses_only(paused_turn, pause_s, takes_over):
    audio, p0, p1, end = paused_turn(pause_s)
    speak_at = first_speak(drive("silence-timeout-500", audio))
    assert speak_at is not None
    in_pause = p0 < speak_at <= p1 + 0.2   # the decision falls in the pause (at its last micro-turn at worst)
    assert in_pause == takes_over
    if not takes_over:   # it waits for the real end of the turn, and not much longer
        assert end + 0.5 <= speak_at <= end + 0.5 + 0.45


def test_always_yield_takes_over_even_a_short_pause_and_800_waits_out_a_long_one(paused_turn):
    audio, p0, p1, _ = paused_turn(0.45)
    assert p0 < first_speak(drive("always-yield", audio)) <= p1 + 0.2
    audio, p0, p1, end = paused_turn(0.7)
    assert first_speak(drive("silence-timeout-800", audio)) >= end + 0.8


def test_yield_on_speech_versus_floor_holder(paused_turn):
    audio, p0, p1, end = paused_turn(0.3)
    talking = lambda t: t <= end + 0.1 and t > 0.6   # the agent talks over the whole user turn
    yields = [t for t, a in drive("silence-timeout-500", audio, talking) if a == FloorAction.YIELD]
    assert yields and yields[0] <= 1.2
    held = drive("floor-holder", audio, talking)
    assert not any(a == FloorAction.YIELD for _, a in held)
    assert any(a == FloorAction.CONTINUE for t, a in held if 0.8 < t < end)
