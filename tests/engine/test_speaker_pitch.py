"""The voice check: another talker at the user's level is told apart by pitch, the user is not,
and a run the check holds off is still yielded to once it has lasted twice the barge-in time."""

from __future__ import annotations

import numpy as np
from engine_doubles import ToneVAD

from microturn.runtime.engine.heuristic import HeuristicPolicy
from microturn.runtime.engine.policy import SAMPLES_PER_TURN, FloorAction, TurnInput
from microturn.runtime.engine.speaker_pitch import RunPitch, UserPitch, voiced_frames

SR = 16_000


def voice(f0: float, ms: int, amp: float = 0.3, seed: int = 0) -> np.ndarray:
    """A steady vowel-like tone: five harmonics of `f0`, a little noise."""
    t = np.arange(SR * ms // 1000) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    x = amp * x / np.abs(x).max() + 0.002 * np.random.default_rng(seed).standard_normal(len(t))
    return x.astype(np.float32)


def voiced_f0(audio: np.ndarray, min_power: float = 0.0) -> np.ndarray:
    return voiced_frames(audio, min_power)[1]


def test_voiced_frames_read_the_pitch_and_ignore_silence_and_quiet_frames():
    f0 = voiced_f0(voice(120.0, 400))
    assert len(f0) == 10 and np.all(np.abs(f0 - 120.0) < 6.0)  # lag steps: about half a semitone here
    assert len(voiced_f0(np.zeros(6400, np.float32))) == 0
    assert len(voiced_f0(voice(120.0, 400, amp=0.3), min_power=1.0)) == 0  # quieter than asked


def test_run_pitch_gives_a_distance_only_when_both_sides_know_enough():
    user, run = UserPitch(), RunPitch()
    run.hear(voiced_f0(voice(240.0, 400)))
    assert run.distance(user) is None, "no user pitch learnt yet: no verdict"
    user.hear(voiced_f0(voice(120.0, 800)))
    assert 6.0 < run.distance(user) < 13.0               # an octave (12 semitones) apart
    run.clear()
    run.hear(voiced_f0(voice(130.0, 400)))                # 1.4 semitones: the user
    assert run.distance(user) < 6.0
    run.clear()
    run.hear(voiced_f0(voice(240.0, 80)))                 # two frames: too little to judge
    assert run.distance(user) is None


def _yield_tick(policy: HeuristicPolicy, over_agent: np.ndarray) -> int | None:
    """Feed 1 s of the user at 120 Hz (agent silent), then `over_agent` while the agent talks;
    the micro-turn index (from the agent's start) of the first YIELD, if any."""
    policy.open("s")
    ms = 0
    user = voice(120.0, 1000, seed=1)
    for k in range(0, len(user), SAMPLES_PER_TURN):
        ms += 200
        policy.step([TurnInput("s", ms, user[k:k + SAMPLES_PER_TURN])])
    for i, k in enumerate(range(0, len(over_agent), SAMPLES_PER_TURN)):
        ms += 200
        chunk = over_agent[k:k + SAMPLES_PER_TURN]
        if policy.step([TurnInput("s", ms, chunk, agent_speaking=True)])[0].action is FloorAction.YIELD:
            return i
    return None


def test_heuristic_holds_off_another_voice_at_the_users_level_but_not_the_user():
    options = dict(barge_in_ms=300, near_field_db=6.0, voice_semitones=6.0)
    other = np.concatenate([np.zeros(3200, np.float32), voice(240.0, 1600, seed=2)])
    same = np.concatenate([np.zeros(3200, np.float32), voice(125.0, 1600, seed=3)])
    # the user (1 semitone off) is yielded to once the run reaches 300 ms: micro-turn 2
    assert _yield_tick(HeuristicPolicy(vad_factory=ToneVAD, **options), same) == 2
    # another voice as loud: held off until the run has lasted 600 ms (twice barge_in_ms)
    assert _yield_tick(HeuristicPolicy(vad_factory=ToneVAD, **options), other) == 3
    # without the check, the other voice is yielded to like the user
    no_check = dict(options, voice_semitones=None)
    assert _yield_tick(HeuristicPolicy(vad_factory=ToneVAD, **no_check), other) == 2


def test_the_near_field_verdict_says_no_to_another_voice():
    policy = HeuristicPolicy(vad_factory=ToneVAD, near_field_db=6.0, voice_semitones=6.0, barge_in_ms=1000)
    _yield_tick(policy, np.zeros(0, np.float32))       # learn the user
    policy.step([TurnInput("s", 1200, voice(240.0, 200, seed=4), agent_speaking=True)])
    assert policy.speech_near_field("s") is False
    policy.step([TurnInput("s", 1400, np.zeros(3200, np.float32), agent_speaking=True)])
    policy.step([TurnInput("s", 1600, voice(120.0, 200, seed=5), agent_speaking=True)])
    assert policy.speech_near_field("s") is True
