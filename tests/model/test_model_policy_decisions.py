"""How the model policy turns floor probabilities into actions: thresholds, early arms, the
hard fallbacks under it, and tuned thresholds read from the checkpoint folder."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from microturn.runtime.engine.heuristic import HeuristicPolicy
from microturn.runtime.engine.policy import FloorAction, TurnDecision, TurnInput, make_policy
from microturn.runtime.model.checkpoint import save_checkpoint
from microturn.runtime.model.config import FLOOR_ACTIONS
from microturn.runtime.model.policy import DecisionOptions, ModelPolicy, _with_fallback
from model_helpers import make_model


def logits(**probs: float) -> torch.Tensor:
    """Floor logits whose softmax gives `probs` (the rest shared by the other actions)."""
    rest = (1.0 - sum(probs.values())) / (len(FLOOR_ACTIONS) - len(probs))
    return torch.tensor([math.log(probs.get(a, rest)) for a in FLOOR_ACTIONS])


def turn(agent_speaking=False, ms=200, audio=None):
    audio = np.zeros(3200, np.float32) if audio is None else audio
    return TurnInput(session_id="s", media_ms=ms, audio=audio, agent_speaking=agent_speaking)


def decide(options: DecisionOptions, floor, agent_speaking=False) -> TurnDecision:
    return ModelPolicy(make_model(seed=1), options, fallback=None)._action(turn(agent_speaking), floor)


def test_thresholds_not_argmax_decide():
    unsure = logits(SPEAK=0.4, LISTEN=0.5)
    assert decide(DecisionOptions(), unsure).action is FloorAction.LISTEN
    assert decide(DecisionOptions(take_threshold=0.3), unsure).action is FloorAction.SPEAK
    early = decide(DecisionOptions(early_take_threshold=0.3, early_take_silence_ms=150), unsure)
    assert early == TurnDecision(FloorAction.LISTEN, speak_after_silence_ms=150)

    over_agent = logits(YIELD=0.3, CONTINUE=0.6)
    assert decide(DecisionOptions(), over_agent, agent_speaking=True) == TurnDecision(FloorAction.CONTINUE)
    assert decide(DecisionOptions(yield_threshold=0.25), over_agent, True).action is FloorAction.YIELD
    armed = decide(DecisionOptions(early_yield_threshold=0.2, early_yield_speech_ms=96), over_agent, True)
    assert armed == TurnDecision(FloorAction.CONTINUE, yield_after_speech_ms=96)
    # while the agent speaks, a confident SPEAK is not a reason to do anything but go on
    assert decide(DecisionOptions(), logits(SPEAK=0.9), True).action is FloorAction.CONTINUE


def test_the_fallback_overrules_only_where_its_timer_ran_out():
    listen = TurnDecision(FloorAction.LISTEN, speak_after_silence_ms=150)
    assert _with_fallback(listen, TurnDecision(FloorAction.SPEAK)) == TurnDecision(FloorAction.SPEAK)
    assert _with_fallback(TurnDecision(FloorAction.CONTINUE), TurnDecision(FloorAction.YIELD)).action is FloorAction.YIELD
    merged = _with_fallback(listen, TurnDecision(FloorAction.LISTEN, speak_after_silence_ms=900))
    assert merged.speak_after_silence_ms == 150  # the sooner arm
    merged = _with_fallback(TurnDecision(FloorAction.LISTEN), TurnDecision(FloorAction.LISTEN, speak_after_silence_ms=900))
    assert merged.speak_after_silence_ms == 900
    said = TurnDecision(FloorAction.SPEAK, text="hi")
    assert _with_fallback(said, TurnDecision(FloorAction.LISTEN)) is said


class LoudVAD:
    """Speech = loud, per 32 ms chunk: enough for the fallback's timers."""

    sample_rate = 16000
    chunk_samples = 512

    def reset(self):
        pass

    def chunk_probs(self, audio):
        a = np.asarray(audio, np.float32)
        n = len(a) // 512
        return (np.abs(a[: n * 512].reshape(n, 512)).max(axis=1) > 0.1).astype(np.float32)

    def speech_prob(self, audio):
        return float(np.abs(audio).max() > 0.1)


def test_a_model_that_never_acts_is_rescued_by_the_fallback():
    never = DecisionOptions(take_threshold=1.01, yield_threshold=1.01, backchannel_threshold=1.01)
    fallback = HeuristicPolicy(end_of_turn_ms=1200, barge_in_ms=1000, vad_factory=LoudVAD)
    policy = ModelPolicy(make_model(seed=2), never, fallback=fallback)
    policy.open("s")
    loud = (np.sin(np.arange(3200) * 0.3) * 0.5).astype(np.float32)
    actions = [policy.step([turn(False, 200 * (k + 1), loud if k < 5 else None)])[0].action for k in range(12)]
    # 1 s of speech, then silence: LISTEN until 1.2 s of silence, then SPEAK
    assert actions[:10] == [FloorAction.LISTEN] * 10 and actions[10] is FloorAction.SPEAK
    # the user talks over the agent: six 32 ms chunks (192 ms) a tick, YIELD once the run is 1 s
    speaking = [policy.step([turn(True, 3000 + 200 * k, loud)])[0] for k in range(6)]
    assert [d.action for d in speaking] == [FloorAction.CONTINUE] * 5 + [FloorAction.YIELD]
    assert speaking[0].yield_after_speech_ms == 1000 - 192  # the engine's watch may cut sooner, between ticks


def test_tuned_thresholds_come_from_the_checkpoint_folder(tmp_path):
    save_checkpoint(make_model(seed=3), tmp_path / "ck")
    (tmp_path / "ck" / "decisions.json").write_text(json.dumps({"take_threshold": 0.3, "yield_threshold": 0.4}))
    policy = make_policy("model", checkpoint=str(tmp_path / "ck"))
    assert (policy.decisions.take_threshold, policy.decisions.yield_threshold) == (0.3, 0.4)
    assert make_policy("model", checkpoint=str(tmp_path / "ck"), take_threshold=0.7).decisions.take_threshold == 0.7
    # an argument given explicitly wins even when it equals the default
    assert make_policy("model", checkpoint=str(tmp_path / "ck"), take_threshold=0.5).decisions.take_threshold == 0.5
    (tmp_path / "ck" / "decisions.json").write_text(json.dumps({"take_thresold": 0.3}))
    with pytest.raises(ValueError, match="unknown decision options.*take_thresold"):
        make_policy("model", checkpoint=str(tmp_path / "ck"))


@pytest.mark.parametrize("option", ["early_take_silence_ms", "early_yield_speech_ms"])
@pytest.mark.parametrize("value", [0, 200, 500])
def test_an_early_arm_that_could_never_fire_is_refused(option, value):
    # the watch counts from the tick's cut and the next tick re-arms it: 200 ms or more never
    # runs out (a 300-700 ms take arm left every answer of a suite to the 1.2 s fallback)
    with pytest.raises(ValueError, match=f"{option}={value}.*micro-turn"):
        DecisionOptions(**{option: value})


class _GateStub:
    """A fallback that never acts and reports a fixed near-field verdict."""

    def __init__(self, near):
        self.near = near

    def open(self, sid):
        pass

    def close(self, sid):
        pass

    def step(self, turns):
        return [TurnDecision(FloorAction.CONTINUE if t.agent_speaking else FloorAction.LISTEN) for t in turns]

    def speech_near_field(self, sid, margin_db=None):
        return self.near


@pytest.mark.parametrize("near, expected", [(False, "CONTINUE"), (None, "YIELD"), (True, "YIELD")])
def test_near_field_gate_turns_a_yield_without_near_field_speech_into_continue(near, expected):
    # yield_threshold 0: this model yields at every micro-turn the agent speaks in
    gated = ModelPolicy(make_model(seed=1), DecisionOptions(yield_threshold=0.0, yield_near_field_db=6.0),
                        fallback=_GateStub(near))
    assert gated.step([turn(agent_speaking=True)])[0].action.value == expected
    ungated = ModelPolicy(make_model(seed=1), DecisionOptions(yield_threshold=0.0), fallback=_GateStub(False))
    assert ungated.step([turn(agent_speaking=True)])[0].action is FloorAction.YIELD


def test_open_loop_scoring_applies_the_same_gate():
    from microturn.runtime.eval.episodes import YIELD, CONTINUE, GateTrace, decide

    probs = np.zeros((3, len(FLOOR_ACTIONS)), np.float32)
    probs[:, FLOOR_ACTIONS.index("YIELD")] = 0.9
    speaking = np.array([True, True, True])
    gate = GateTrace(np.array([True, False, None], dtype=object), np.array([640, 0, 0], np.float32))
    d = DecisionOptions(yield_near_field_db=6.0)
    assert decide(probs, speaking, d, gate).tolist() == [YIELD, CONTINUE, YIELD]
    assert decide(probs, speaking, d).tolist() == [YIELD] * 3
    # and the hold's rule: a yield needs the speech still going on, long enough
    held = DecisionOptions(yield_near_field_db=6.0, hold_speech_ms=96, hold_commit_ms=500)
    assert decide(probs, speaking, held, gate).tolist() == [YIELD, CONTINUE, CONTINUE]
    short = GateTrace(gate.near, np.array([320, 0, 0], np.float32))
    assert decide(probs, speaking, held, short).tolist() == [CONTINUE] * 3


class _NoiseStub(_GateStub):
    def __init__(self, snr_db):
        super().__init__(True)
        self.snr_db = snr_db

    def speech_to_noise_db(self, sid):
        return self.snr_db


@pytest.mark.parametrize("snr_db, expected", [(10.0, "YIELD"), (24.9, "YIELD"), (25.0, "CONTINUE"),
                                              (50.0, "CONTINUE"), (None, "CONTINUE")])
def test_a_noisy_room_has_its_own_yield_threshold(snr_db, expected):
    """`noisy_yield_threshold` holds where the fallback hears the user less than
    `noisy_below_db` over the noise; elsewhere, and where it cannot tell, `yield_threshold`."""
    over_agent = logits(YIELD=0.55, CONTINUE=0.4)
    d = DecisionOptions(yield_threshold=0.65, noisy_yield_threshold=0.5, noisy_below_db=25.0)
    policy = ModelPolicy(make_model(seed=1), d, fallback=_NoiseStub(snr_db))
    assert policy._action(turn(agent_speaking=True), over_agent).action.value == expected
    quiet_only = ModelPolicy(make_model(seed=1), DecisionOptions(yield_threshold=0.65), fallback=_NoiseStub(10.0))
    assert quiet_only._action(turn(agent_speaking=True), over_agent).action is FloorAction.CONTINUE
    # with every other fallback off, the rule still gets the heuristic that measures the noise
    bare = DecisionOptions(fallback_answer_ms=0, fallback_yield_ms=0, noisy_yield_threshold=0.5)
    assert isinstance(ModelPolicy(make_model(seed=1), bare).fallback, HeuristicPolicy)
    # open loop, the same rule from the gate's trace
    from microturn.runtime.eval.episodes import CONTINUE, YIELD, GateTrace, decide as decide_open

    probs = np.tile(np.array([0.01, 0.01, 0.01, 0.4, 0.55, 0.02], np.float32), (3, 1))
    gate = GateTrace(np.array([True] * 3, dtype=object), np.zeros(3, np.float32),
                     snr_db=np.array([10.0, 40.0, np.nan], np.float32))
    assert decide_open(probs, np.ones(3, bool), d, gate).tolist() == [YIELD, CONTINUE, CONTINUE]


def test_the_voice_check_reaches_the_fallback_that_serves_the_gate(tmp_path):
    """`voice_semitones` and `voice_timbre` (in decisions.json or given) configure the heuristic
    under the model, which answers both the model's near-field gate and the 1 s yield fallback."""
    from microturn.runtime.model.policy import fallback_policy

    assert fallback_policy(DecisionOptions(voice_semitones=6.0)).options.voice_semitones == 6.0
    assert fallback_policy(DecisionOptions(voice_timbre=1.2)).options.voice_timbre == 1.2
    assert fallback_policy(DecisionOptions()).options.voice_semitones is None
    assert fallback_policy(DecisionOptions()).options.voice_timbre is None
    assert fallback_policy(DecisionOptions(voice_joint=True)).options.voice_joint
    assert not fallback_policy(DecisionOptions()).options.voice_joint
    save_checkpoint(make_model(seed=1), tmp_path / "ck")
    (tmp_path / "ck" / "decisions.json").write_text(json.dumps({"yield_near_field_db": 6.0, "voice_semitones": 5.0,
                                                                "voice_timbre": 1.1, "voice_joint": True}))
    policy = make_policy("model", checkpoint=str(tmp_path / "ck"))
    assert policy.decisions.voice_semitones == 5.0 and policy.fallback.options.voice_semitones == 5.0
    assert policy.decisions.voice_timbre == 1.1 and policy.fallback.options.voice_timbre == 1.1
    assert policy.fallback.options.voice_joint
    wide = make_policy("model", checkpoint=str(tmp_path / "ck"), voice_timbre=100.0, voice_joint=False)
    assert wide.fallback.options.voice_timbre == 100.0 and not wide.fallback.options.voice_joint


def test_hold_pauses_over_speech_and_a_yield_needs_the_speech_still_going_on():
    from microturn.runtime.model.hold import hold_or_commit

    held = DecisionOptions(hold_speech_ms=96, hold_commit_ms=500)
    cont, yld = TurnDecision(FloorAction.CONTINUE), TurnDecision(FloorAction.YIELD)
    assert hold_or_commit(cont, 160, DecisionOptions()) == cont  # off by default
    assert hold_or_commit(cont, 64, held) == cont               # too short to pause for (a click)
    assert hold_or_commit(cont, 160, held) == TurnDecision(FloorAction.CONTINUE, hold=True)
    assert hold_or_commit(cont, 0, held) == cont                # the speech stopped: play on
    # the model's YIELD: only over speech still going on, and long enough to be a turn
    assert hold_or_commit(yld, 0, held) == cont
    assert hold_or_commit(yld, 320, held) == TurnDecision(FloorAction.CONTINUE, hold=True)
    assert hold_or_commit(yld, 640, held) == yld
    assert hold_or_commit(yld, 0, held, forced=True) == yld     # the fallback's 1 s yield stands
    sure = DecisionOptions(hold_speech_ms=96, hold_commit_ms=500, hold_commit_threshold=0.9)
    assert hold_or_commit(yld, 320, sure, p_yield=0.95) == yld  # a short word the model is sure of
    assert hold_or_commit(yld, 320, sure, p_yield=0.8).hold
    # a run that echo began before the user's speech: only the speech at their level counts
    assert hold_or_commit(yld, 640, held, near_ms=320) == TurnDecision(FloorAction.CONTINUE, hold=True)
    assert hold_or_commit(yld, 640, held, near_ms=512) == yld


def test_the_model_policy_holds_through_a_short_burst_and_resumes_after_it():
    """Through the fallback's own VAD: the agent pauses while a near-field burst goes on and is
    told to play on when it stops; the model, sure of YIELD all along, is not obeyed for it."""
    always_yield = DecisionOptions(yield_threshold=0.0, hold_speech_ms=96, hold_commit_ms=500,
                                   fallback_answer_ms=0, fallback_yield_ms=1000)
    fallback = HeuristicPolicy(end_of_turn_ms=10**9, barge_in_ms=1000, run_gap_ms=250, vad_factory=LoudVAD)
    policy = ModelPolicy(make_model(seed=2), always_yield, fallback=fallback)
    policy.open("s")
    loud = (np.sin(np.arange(3200) * 0.3) * 0.5).astype(np.float32)
    quiet = np.zeros(3200, np.float32)
    # the user's speech while the agent is silent, so the gate knows their level
    for k in range(3):
        policy.step([turn(False, 200 * (k + 1), loud)])
    policy.step([turn(False, 800, quiet)])
    policy.step([turn(False, 1000, quiet)])  # their run over (gaps up to 250 ms do not end it)
    burst = [policy.step([turn(True, 1200 + 200 * k, a)])[0] for k, a in enumerate([loud, loud, quiet, quiet])]
    assert [d.action for d in burst] == [FloorAction.CONTINUE] * 4
    assert [d.hold for d in burst] == [True, True, False, False]
    # speech that goes on: held, then the model's YIELD is taken once the run is long enough
    going = [policy.step([turn(True, 2200 + 200 * k, loud)])[0] for k in range(4)]
    assert [d.action for d in going] == [FloorAction.CONTINUE, FloorAction.CONTINUE, FloorAction.YIELD,
                                         FloorAction.YIELD]
    assert going[0].hold and going[1].hold


def test_a_hold_lasts_at_most_hold_max_ms_then_the_agent_plays_on_through_the_run():
    never = DecisionOptions(yield_threshold=1.01, hold_speech_ms=96, hold_max_ms=400,
                            fallback_answer_ms=0, fallback_yield_ms=0)
    fallback = HeuristicPolicy(end_of_turn_ms=10**9, barge_in_ms=10**9, run_gap_ms=250, vad_factory=LoudVAD)
    policy = ModelPolicy(make_model(seed=2), never, fallback=fallback)
    policy.open("s")
    loud = (np.sin(np.arange(3200) * 0.3) * 0.5).astype(np.float32)
    quiet = np.zeros(3200, np.float32)
    audio = [loud] * 5 + [quiet] * 2 + [loud] * 2
    held = [policy.step([turn(True, 200 * (k + 1), a)])[0].hold for k, a in enumerate(audio)]
    # two micro-turns held, then played on to the end of that run; a new run may hold again
    assert held == [True, True, False, False, False, False, False, True, True]
