"""Pause first, decide after: the hold rules, for one session and micro-turn while the agent speaks.

`DecisionOptions.hold_speech_ms` turns on a second way to meet speech over the agent: pause its
voice at once (`TurnDecision.hold`) and decide later whether the speech was an interruption.
Two steps, both shared by the live `ModelPolicy` and the open-loop `eval episodes`, so the
evaluation measures the rule that runs:

1. `hold_or_commit`: from how long the near-field speech over the agent has gone on, hold
   (pause) or commit the model's YIELD, or neither.
2. `hold_through`: across micro-turns, the longest pause (`hold_max_ms`) and what happens when
   the burst is over without a YIELD: the agent resumes (or has already, after `hold_max_ms`),
   unless `hold_words` and the burst's words (`speech/commands.py`) were a command such as
   "stop", which the model's YIELD, waiting for the speech to go on, would not have taken.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from microturn.runtime.engine.policy import MICRO_TURN_MS, SAMPLES_PER_TURN, FloorAction, TurnDecision

# The word check hears the burst from this long before the speech run began: the VAD counts a
# run from its first speech chunk, a few tens of ms after the word's onset, and the recogniser
# wants some non-speech in front of the first phone.
WORDS_PREROLL_MS = 300


def window_samples(window_ms: float) -> int:
    """How many microphone samples the word check's `window_ms` covers."""
    return int(window_ms * SAMPLES_PER_TURN / MICRO_TURN_MS)


def hold_or_commit(decided: TurnDecision, run_ms: float, d, forced: bool = False,
                   p_yield: float = 0.0, near_ms: float | None = None) -> TurnDecision:
    """`run_ms` is how long the near-field speech over the agent has gone on (0: it is not going
    on at the tick); `near_ms` how much of it is the user's, counted from where it last reached
    their level (`HeuristicPolicy.near_speech_ms`; None: all of it). The model's YIELD stands only while the speech goes on and `near_ms` has
    reached `hold_commit_ms` (`forced`: the fallback's, always): a run that the agent's echo
    began 200 ms before a "yeah" is not 200 ms more of the user. A CONTINUE over speech going
    on long enough holds (pauses the voice). `d`: the policy's `DecisionOptions`."""
    if not d.holds:
        return decided
    near_ms = run_ms if near_ms is None else near_ms
    if decided.action is FloorAction.YIELD and not forced and (run_ms <= 0 or near_ms < d.hold_commit_ms):
        if run_ms > 0 and p_yield >= d.hold_commit_threshold:
            return decided
        decided = TurnDecision(FloorAction.CONTINUE)
    if decided.action is FloorAction.CONTINUE and run_ms >= d.hold_speech_ms:
        return dataclasses.replace(decided, hold=True)
    return decided


@dataclass
class HoldState:
    """One session's hold across micro-turns (reset whenever the agent is not speaking)."""

    held_ms: int = 0               # how long the current near-field run has held the agent (counts on past hold_max_ms)
    burst_ms: float | None = None  # how long the burst that paused the agent has gone on; None: no such burst
    paused: bool = False           # the last decision paused the voice
    sounds_like_command: bool = False  # the words at the end of the near-field run were a command
    waited_ms: int = 0                 # since then, paused for the burst's verdict


def hold_through(decided: TurnDecision, run_ms: float, d, state: HoldState,
                 is_command: Callable[[float], bool] | None = None, silence_ms: float | None = None,
                 p_yield: float = 0.0) -> TurnDecision:
    """After `hold_or_commit`: a pause lasts at most `d.hold_max_ms` (longer while the model's
    `p_yield` is at least `d.hold_lean_threshold`), then the agent plays on through the rest of
    the run. Updates `state`.

    With `d.hold_words`, the words of a burst that paused the agent and whose speech lasted at
    most `d.words_max_burst_ms` are checked: `is_command(window_ms)` about the last `window_ms` of the
    microphone (the burst and `WORDS_PREROLL_MS` before it). When is the burst over? The
    near-field run ends (`run_ms` 0) at the first gap of `d.hold_gap_ms`, but side talk dips
    under the level gate, and pauses, mid-sentence, and a fragment of it can sound like "one
    moment". So the burst is over only once the microphone has been silent (`silence_ms`, any
    level; None: trust `run_ms`) longer than `d.fallback_yield_gap_ms`, the gaps a sentence
    has; a command then is a YIELD. Meanwhile, when the near-field run ends and the microphone
    is silent too (speech still heard under the gate means the burst goes on: no waiting), the
    words heard so far decide whether to stay paused: a "yeah" resumes at once (a pause over 0.5 s
    reads as a real pause), a "stop" stays paused until the verdict, so the agent never
    resumes for a moment before it stops."""
    if decided.action is FloorAction.YIELD:
        state.held_ms, state.burst_ms, state.paused, state.sounds_like_command = 0, None, False, False
        return decided
    if state.burst_ms is not None:
        state.burst_ms += MICRO_TURN_MS
    if run_ms <= 0:
        state.held_ms = 0
    else:
        state.sounds_like_command = False
    if decided.hold:
        if state.burst_ms is None:  # a new burst: so far it is the run
            state.burst_ms = run_ms
        state.held_ms += MICRO_TURN_MS
        leaning = d.hold_lean_threshold is not None and p_yield >= d.hold_lean_threshold
        if d.hold_max_ms is not None and state.held_ms > d.hold_max_ms and not leaning:
            decided = dataclasses.replace(decided, hold=False)
    over = run_ms <= 0 and (silence_ms is None or silence_ms > d.fallback_yield_gap_ms)
    # the burst's speech ends where the microphone's silence began: the ticks since then count
    # towards the window heard, not towards the length of what was said
    spoken_ms = None if state.burst_ms is None else state.burst_ms - min(silence_ms or 0.0, state.burst_ms)
    words = (d.hold_words and is_command is not None and spoken_ms is not None
             and spoken_ms <= d.words_max_burst_ms)
    if state.burst_ms is not None and over:
        window = state.burst_ms + WORDS_PREROLL_MS
        state.burst_ms, state.sounds_like_command = None, False
        if words and is_command(window):
            state.paused = False
            return TurnDecision(FloorAction.YIELD)
    elif words and run_ms <= 0:  # the near-field run has ended, the burst is not over yet
        if state.paused and not state.sounds_like_command:  # the run just ended while paused
            # speech still heard under the level gate: the burst goes on, nothing to wait for
            still_talking = silence_ms is not None and silence_ms <= 0
            state.sounds_like_command = not still_talking and is_command(state.burst_ms + WORDS_PREROLL_MS)
            state.waited_ms = 0
        elif state.sounds_like_command:
            state.waited_ms += MICRO_TURN_MS
        # stay paused for the verdict, which silence brings within two micro-turns; still
        # no verdict means speech goes on under the gate: not a short command after all
        if state.sounds_like_command and state.waited_ms < 2 * MICRO_TURN_MS:
            decided = dataclasses.replace(decided, hold=True)
    state.paused = decided.hold
    return decided
