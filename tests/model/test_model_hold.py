"""Pause first, decide after (`model/hold.py`): the longest pause and the word check that turns
a held "stop" into a YIELD while a held "yeah" resumes."""

from __future__ import annotations

import dataclasses

import numpy as np

from microturn.runtime.engine.heuristic import HeuristicPolicy
from microturn.runtime.engine.policy import FloorAction, TurnDecision, TurnInput
from microturn.runtime.model.hold import WORDS_PREROLL_MS, HoldState, hold_or_commit, hold_through
from microturn.runtime.model.policy import DecisionOptions, ModelPolicy
from model_helpers import make_model
from test_model_policy_decisions import LoudVAD

WORDS = DecisionOptions(hold_speech_ms=160, hold_commit_ms=500, hold_max_ms=400, hold_words=True)
CONTINUE = TurnDecision(FloorAction.CONTINUE)


class Heard:
    """A fake word check: says `verdict` and remembers the windows it was asked about."""

    def __init__(self, verdict: bool):
        self.verdict, self.windows = verdict, []

    def __call__(self, window_ms: float) -> bool:
        self.windows.append(window_ms)
        return self.verdict


def run(ticks, d=WORDS, heard=None):
    """Each tick: (near-field run ms, silence ms) -> the decisions hold_through makes of a CONTINUE."""
    state, out = HoldState(), []
    for run_ms, silence_ms in ticks:
        out.append(hold_through(hold_or_commit(CONTINUE, run_ms, d), run_ms, d, state, heard, silence_ms))
    return out


# a short burst: held for two micro-turns, the run over at the third (silence 100 ms), silence 300 ms at the fourth
SHORT = [(192, 0), (384, 0), (0, 100), (0, 300), (0, 500)]


def test_a_held_command_stays_paused_and_yields_once_the_burst_is_over():
    heard = Heard(True)
    out = run(SHORT, heard=heard)
    assert [d.hold for d in out[:3]] == [True, True, True]  # no resuming for a moment before stopping
    assert out[3] == TurnDecision(FloorAction.YIELD)
    assert heard.windows == [192 + 400 + WORDS_PREROLL_MS, 192 + 600 + WORDS_PREROLL_MS]


def test_a_held_backchannel_resumes_as_soon_as_its_run_ends():
    heard = Heard(False)
    out = run(SHORT, heard=heard)
    assert [d.hold for d in out] == [True, True, False, False, False]
    assert all(d.action is FloorAction.CONTINUE for d in out)
    assert len(heard.windows) == 2  # at the run's end, and once the burst is over


def test_words_are_not_checked_when_off_or_for_long_speech():
    off = Heard(True)
    assert all(d.action is FloorAction.CONTINUE for d in run(SHORT, DecisionOptions(hold_speech_ms=160), off))
    assert off.windows == []
    long_talk = Heard(True)
    ticks = [(192 + 200 * k, 0) for k in range(WORDS.words_max_burst_ms // 200 + 1)] + [(0, 100), (0, 300)]
    out = run(ticks, heard=long_talk)
    assert long_talk.windows == [] and all(d.action is FloorAction.CONTINUE for d in out)
    assert [d.hold for d in out[:4]] == [True, True, False, False]  # hold_max_ms: then it plays on


def test_the_silence_after_a_burst_does_not_count_towards_its_length():
    """Three commands in a row ("no, wait, stop", about 1.1 s): by the time the microphone has
    been silent long enough to call the burst over, the ticks since the speech began add up to
    more than `words_max_burst_ms`; what was said did not, and it is heard."""
    heard = Heard(True)
    ticks = [(192 + 200 * k, 0) for k in range(5)] + [(0, 100), (0, 300)]  # speech from -192 ms to about 1.0 s
    out = run(ticks, heard=heard)
    spoken = 192 + 200 * 6 - 300
    assert spoken <= WORDS.words_max_burst_ms < 192 + 200 * 6
    assert out[-1] == TurnDecision(FloorAction.YIELD)
    assert heard.windows[-1] == 192 + 200 * 6 + WORDS_PREROLL_MS  # the window still reaches back to the start
    shorter = DecisionOptions(hold_speech_ms=160, hold_commit_ms=500, hold_max_ms=400, hold_words=True,
                              words_max_burst_ms=spoken - 100)
    assert all(d.action is FloorAction.CONTINUE for d in run(ticks, shorter, Heard(True)))


def test_a_near_field_dip_mid_sentence_is_not_the_end_of_the_burst():
    """The near-field run stops but the microphone still hears speech under the level gate: no
    check and no waiting, the agent plays on at once (waiting there kept side talk paused over
    0.5 s); a burst that then goes on past the word limit is never taken for a command."""
    heard = Heard(True)
    ticks = [(192, 0), (384, 0), (0, 0), (0, 0)] + [(0, 0)] * 4 + [(0, 300)]
    out = run(ticks, heard=heard)
    assert all(d.action is FloorAction.CONTINUE for d in out)
    assert heard.windows == []
    assert [d.hold for d in out] == [True, True] + [False] * 7


def test_a_fragment_that_sounds_like_a_command_is_waited_for_two_ticks_at_most():
    """The run ends and the microphone goes quiet, so the words are heard and sound like a
    command; then the speech comes back under the gate and goes on past the word limit: paused
    for the verdict two micro-turns at most, then it plays on, and no YIELD."""
    heard = Heard(True)
    ticks = [(192, 0), (384, 0), (0, 100), (0, 0)] + [(0, 0)] * 4 + [(0, 300)]
    out = run(ticks, heard=heard)
    assert all(d.action is FloorAction.CONTINUE for d in out)
    assert len(heard.windows) == 1  # checked once at the run's end, never again once too long
    assert [d.hold for d in out] == [True, True, True, True, False, False, False, False, False]


def test_the_model_policy_asks_its_command_check_about_the_held_burst():
    class Check:
        def __init__(self):
            self.bursts = []

        def is_command(self, audio):
            self.bursts.append(len(audio))
            return True

    check = Check()
    d = DecisionOptions(yield_threshold=1.01, hold_speech_ms=96, hold_max_ms=400, hold_words=True,
                        fallback_answer_ms=0, fallback_yield_ms=0)
    fallback = HeuristicPolicy(end_of_turn_ms=10**9, barge_in_ms=10**9, run_gap_ms=250, vad_factory=LoudVAD)
    policy = ModelPolicy(make_model(seed=2), d, fallback=fallback, command_check=check)
    policy.open("s")
    loud = (np.sin(np.arange(3200) * 0.3) * 0.5).astype(np.float32)
    quiet = np.zeros(3200, np.float32)
    out = [policy.step([TurnInput("s", 200 * (k + 1), a, agent_speaking=True)])[0]
           for k, a in enumerate([quiet, loud, loud, quiet, quiet])]
    assert [d.hold for d in out[:4]] == [False, True, True, True]
    assert out[4] == TurnDecision(FloorAction.YIELD)
    assert check.bursts and all(n % 16 == 0 and 0 < n <= 5 * 3200 for n in check.bursts)


def test_open_loop_scoring_hears_the_words_as_live():
    """`eval episodes` runs the same rule over an episode's microphone: the fallback's VAD (real
    Silero) finds the held burst and the real grammar check hears "stop" but not "yeah"."""
    from microturn.runtime.eval.episodes import YIELD, decide, near_field_per_turn
    from microturn.runtime.eval.synth import speak
    from microturn.runtime.model.config import FLOOR_ACTIONS
    from microturn.runtime.speech.commands import GrammarCommands

    check = GrammarCommands()
    probs = np.zeros((15, len(FLOOR_ACTIONS)), np.float32)
    probs[:, FLOOR_ACTIONS.index("CONTINUE")] = 1.0  # the model never yields: only the words can
    speaking = np.ones(15, bool)
    actions = {}
    for text in ("stop", "yeah"):
        mic = np.zeros(15 * 3200, np.float32)
        word = speak(text, ("en-us", 160, 50)).astype(np.float32)
        mic[9600:9600 + len(word)] = word * (0.3 / max(1e-6, np.abs(word).max()))
        gate = near_field_per_turn((mic * 32767).astype(np.int16), speaking, WORDS)
        assert gate.going_on_ms.max() >= WORDS.hold_speech_ms  # long enough to pause for
        actions[text] = decide(probs, speaking, WORDS, gate, check).tolist()
    assert YIELD in actions["stop"] and YIELD not in actions["yeah"]


def test_the_shipped_default_pauses_first_and_hears_the_words_and_zero_turns_it_off():
    from microturn.runtime.engine.policy import make_policy
    from microturn.runtime.speech.commands import GrammarCommands

    shipped = make_policy("model")
    assert shipped.decisions.holds and shipped.decisions.hold_words
    assert isinstance(shipped.command_check, GrammarCommands)
    off = make_policy("model", hold_speech_ms=0)
    assert not off.decisions.holds and off.command_check is None
    assert hold_or_commit(TurnDecision(FloorAction.YIELD), 0, off.decisions) == TurnDecision(FloorAction.YIELD)


def test_the_pause_outlasts_hold_max_while_the_model_leans_towards_yielding():
    """`hold_lean_threshold`: past `hold_max_ms` the voice stays paused while P(YIELD) is at
    least the threshold (an interruption the model has not committed to yet), and resumes
    when it drops; off (None), the pause ends at `hold_max_ms` whatever P(YIELD) says."""
    lean = DecisionOptions(hold_speech_ms=160, hold_commit_ms=500, hold_max_ms=400, hold_lean_threshold=0.4)
    ticks = [192 + 200 * k for k in range(5)]  # a run going on for five micro-turns
    p_yield = [0.3, 0.45, 0.5, 0.5, 0.2]

    def holds(d):
        state = HoldState()
        return [hold_through(hold_or_commit(CONTINUE, r, d, p_yield=p), r, d, state, p_yield=p).hold
                for r, p in zip(ticks, p_yield)]

    assert holds(lean) == [True, True, True, True, False]
    assert holds(dataclasses.replace(lean, hold_lean_threshold=None)) == [True, True, False, False, False]
