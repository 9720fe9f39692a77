"""The `heuristic` floor policy: voice activity plus timers, until the interaction model is trained.

Per session and micro-turn it scores the audio with its own VAD (Silero by default) and decides:

- the agent is silent, the user spoke and has now been silent for `end_of_turn_ms`: SPEAK
  (the engine reads that as "the user's turn ended" and fires `on_user_turn`);
- the agent is speaking and the user talks over it for `barge_in_turns` micro-turns in a row:
  YIELD (a click or a cough is one short burst and never lasts that long);
- otherwise LISTEN (agent silent) or CONTINUE (agent speaking).

It never backchannels and never picks interjection moments itself (the engine's delivery rules
do). Silence is measured at the VAD's chunk resolution (32 ms for Silero), not per micro-turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from microturn.runtime.engine.listener import vad_turn
from microturn.runtime.engine.policy import (MICRO_TURN_MS, FloorAction, TurnDecision, TurnInput,
                                             register_policy)
from microturn.runtime.speech.base import VAD


@dataclass
class HeuristicOptions:
    """Knobs of the heuristic policy.

    threshold: a VAD chunk at or above this probability is speech.
    end_of_turn_ms: silence after user speech that ends the user's turn. Decisions fall on the
        200 ms tick, so the turn is taken on average ~100 ms after the timer runs out: 300 ms
        here behaves like the 400 ms hangover a prototype used with a finer clock.
    barge_in_turns: consecutive micro-turns of user speech over the agent before it yields
        (2 = at least ~200-400 ms of speech: longer than a click or a cough).
    min_speech_ms: speech in a micro-turn shorter than this is ignored (a click).
    """

    threshold: float = 0.5
    end_of_turn_ms: int = 300
    barge_in_turns: int = 2
    min_speech_ms: int = 60


@dataclass
class _State:
    vad: VAD
    heard_user: bool = False     # user speech since the agent last took the turn
    silence_ms: int = 0          # silence since the user last spoke
    overlap_turns: int = 0       # consecutive micro-turns of user speech over the agent


@register_policy("heuristic")
class HeuristicPolicy:
    """VAD + silence timer + sustained-overlap barge-in. See the module docstring."""

    picks_interjections = False

    def __init__(self, options: HeuristicOptions | None = None, vad_factory: Callable[[], VAD] | None = None,
                 **overrides):
        self.options = options or HeuristicOptions(**overrides)
        if vad_factory is None:
            from microturn.runtime.speech.silero import SileroVAD

            vad_factory = SileroVAD
        self._vad_factory = vad_factory
        self._sessions: dict[str, _State] = {}

    def open(self, session_id: str) -> None:
        self._sessions[session_id] = _State(self._vad_factory())

    def close(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def step(self, turns: Sequence[TurnInput]) -> list[TurnDecision]:
        return [self._decide(t) for t in turns]

    def _decide(self, turn: TurnInput) -> TurnDecision:
        st = self._sessions.get(turn.session_id)
        if st is None:  # not opened: open lazily rather than fail the whole batch
            st = self._sessions[turn.session_id] = _State(self._vad_factory())
        o = self.options
        speech_ms, trailing_ms, _ = vad_turn(st.vad, turn.audio, o.threshold)
        speaking = speech_ms >= o.min_speech_ms
        if speaking:
            st.silence_ms = trailing_ms
        else:
            st.silence_ms += MICRO_TURN_MS
        if turn.agent_speaking:
            st.overlap_turns = st.overlap_turns + 1 if speaking else 0
            if st.overlap_turns >= o.barge_in_turns:
                st.overlap_turns = 0
                st.heard_user = True  # the user holds the floor now; their turn continues
                return TurnDecision(FloorAction.YIELD)
            return TurnDecision(FloorAction.CONTINUE)
        st.overlap_turns = 0
        if speaking:
            st.heard_user = True
            return TurnDecision(FloorAction.LISTEN)
        if st.heard_user and st.silence_ms >= o.end_of_turn_ms:
            st.heard_user = False
            return TurnDecision(FloorAction.SPEAK)
        return TurnDecision(FloorAction.LISTEN)
