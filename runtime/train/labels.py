"""Per-micro-turn floor-action labels, read off a constructed `Timeline`.

Micro-turn k covers media time [200k, 200k + 200) ms. Its label is what the agent should decide
at the *end* of micro-turn k (t = 200(k + 1)), having heard everything up to t, for the next
micro-turn. The rules, in order of precedence:

While the agent speaks a turn during micro-turn k:
1. YIELD if a user turn began inside this agent turn (an interruption) at t_i and
   t >= t_i + `yield_delay_ms`. The generator cuts the agent's audio at (or a little after) the
   first such decision, so the model learns to stop, and to keep asking to stop if it is late.
2. CONTINUE if anyone else's speech overlaps micro-turn k: a user backchannel, the first
   `yield_delay_ms` of an interruption (a "yeah, but..." is a backchannel until its "but"),
   side talk, TV, background voices.
3. SPEAK otherwise (keep talking).
While the agent does not speak a turn:
4. If the user is inside a turn (speaking, or in a mid-turn pause): BACKCHANNEL at the one
   decision that opens a backchannel slot (the first decision `backchannel_delay_ms` into a
   monologue pause that still leaves a micro-turn of pause after it), LISTEN otherwise.
5. SPEAK if the user's last turn ended at t_e, t >= t_e + `speak_delay_ms`, and no agent turn
   has started since t_e (the answer is due).
6. `prompt_action` (SPEAK by default) if a visual event or a timer happened before t and no
   agent turn has started since (the prompt is due and it meets silence).
7. LISTEN otherwise: silence, or other people talking among themselves.

Agent backchannels (its own "mm-hm") do not hold the floor: rule 4 applies while they play.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from microturn.runtime.engine.policy import FloorAction
from microturn.runtime.train.timeline import MICRO_TURN_MS, Timeline, first_decision_at_or_after

ACTIONS: tuple[FloorAction, ...] = tuple(FloorAction)  # label index -> action
ACTION_INDEX: dict[FloorAction, int] = {a: i for i, a in enumerate(ACTIONS)}

AGENT_SILENT, AGENT_TURN, AGENT_BACKCHANNEL = 0, 1, 2


@dataclass(frozen=True)
class LabelOptions:
    """Timing of the constructed labels (milliseconds)."""

    speak_delay_ms: int = 200         # take the turn this long after a true turn end
    yield_delay_ms: int = 300         # yield this long after an interruption starts
    backchannel_delay_ms: int = 200   # backchannel this far into a monologue pause
    prompt_action: FloorAction = FloorAction.SPEAK  # answer to a visual change / due timer
    # Share of answers the generator starts 3-12 micro-turns late; the silence before them is
    # SPEAK all along. Live, nothing answers until the policy takes the turn, so a model that
    # only ever saw prompt answers learns "still silent = a pause" and its P(SPEAK) falls after
    # the first decision (docs/training.md). Not a label rule, but it sets what labels say.
    late_answer_share: float = 0.12

    def __post_init__(self) -> None:
        if not 0.0 <= self.late_answer_share <= 1.0:
            raise ValueError(f"late_answer_share must be within 0..1, got {self.late_answer_share}")


@dataclass
class MicroTurnLabels:
    actions: np.ndarray        # int8 [n]: index into ACTIONS
    agent_state: np.ndarray    # uint8 [n]: AGENT_SILENT / AGENT_TURN / AGENT_BACKCHANNEL
    video_changed: np.ndarray  # bool [n]: a visual event happened during micro-turn k
    timer_due: np.ndarray      # bool [n]: a timer fell due during micro-turn k

    @property
    def agent_speaking(self) -> np.ndarray:
        return self.agent_state != AGENT_SILENT

    def names(self) -> list[str]:
        return [ACTIONS[i].value for i in self.actions]


def backchannel_slots(timeline: Timeline, options: LabelOptions) -> set[int]:
    """Micro-turn indices whose decision is a BACKCHANNEL (see rule 4)."""
    slots = set()
    for turn in timeline.user_turns:
        pauses = turn.pauses()
        for i in turn.backchannel_pauses:
            p0, p1 = pauses[i]
            t = first_decision_at_or_after(p0 + options.backchannel_delay_ms)
            if t + MICRO_TURN_MS <= p1:
                slots.add(t // MICRO_TURN_MS - 1)
    return slots


def label_timeline(timeline: Timeline, options: LabelOptions = LabelOptions()) -> MicroTurnLabels:
    n = timeline.n_turns
    actions = np.full(n, ACTION_INDEX[FloorAction.LISTEN], np.int8)
    agent_state = np.zeros(n, np.uint8)
    video = np.zeros(n, bool)
    timer = np.zeros(n, bool)
    for e in timeline.visual_events:
        if 0 <= e // MICRO_TURN_MS < n:
            video[e // MICRO_TURN_MS] = True
    for e in timeline.timers:
        if 0 <= e // MICRO_TURN_MS < n:
            timer[e // MICRO_TURN_MS] = True

    agent_turns = timeline.agent_turns()
    agent_starts = [a.start for a in agent_turns]
    slots = backchannel_slots(timeline, options)
    prompts = sorted(timeline.visual_events + timeline.timers)
    others = list(timeline.user_backchannels) + list(timeline.others)

    def answered_since(t0: int, t: int) -> bool:
        # An agent turn starting exactly at t is the *result* of this decision, not an answer
        # that already happened: the decision at t must still be SPEAK.
        return any(t0 <= s < t for s in agent_starts)

    for k in range(n):
        lo, hi = k * MICRO_TURN_MS, (k + 1) * MICRO_TURN_MS
        t = hi
        current = [a for a in agent_turns if a.overlaps(lo, hi)]
        if current:
            agent_state[k] = AGENT_TURN
        elif any(a.overlaps(lo, hi) for a in timeline.agent):
            agent_state[k] = AGENT_BACKCHANNEL

        if current:
            interrupted = any(a.start <= u.start < a.end and t >= u.start + options.yield_delay_ms
                              for a in current for u in timeline.user_turns)
            overlapped = any(s.overlaps(lo, hi) for s in others) or any(
                start < hi and lo < end for u in timeline.user_turns for start, end in u.spans)
            if interrupted:
                action = FloorAction.YIELD
            elif overlapped:
                action = FloorAction.CONTINUE
            else:
                action = FloorAction.SPEAK
        elif any(u.start < t < u.end for u in timeline.user_turns):
            action = FloorAction.BACKCHANNEL if k in slots else FloorAction.LISTEN
        else:
            ended = [u.end for u in timeline.user_turns if u.end <= t]
            last_end = max(ended) if ended else None
            if (last_end is not None and t >= last_end + options.speak_delay_ms
                    and not answered_since(last_end, t)):
                action = FloorAction.SPEAK
            elif any(e < t and not answered_since(e, t) for e in prompts):
                action = options.prompt_action
            else:
                action = FloorAction.LISTEN
        actions[k] = ACTION_INDEX[action]
    return MicroTurnLabels(actions, agent_state, video, timer)
