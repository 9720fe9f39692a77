"""Baseline floor policies: the simple rules every learned policy has to beat.

All of them hear the user through a voice-activity detector (Silero VAD by default) and know
only two things per micro-turn: did the user speak in it, and is the agent talking.

- `silence-timeout-{200,500,800}`: take the turn once the user has been silent that many ms
  after speaking; stop talking the moment the user speaks (yield on any speech). The classic
  voice-assistant endpointing rule: short timeouts take the floor during pauses, long ones are
  slow, and every "mm-hm" cuts the agent off.
- `always-yield`: the extreme of the above: take the turn at the first silent micro-turn, yield
  on any speech.
- `floor-holder`: take the turn after 800 ms of silence and never give it back while talking.
  It fails every interruption by construction; the eval harness must show that.

Silence is counted in whole micro-turns, so a timeout of T ms fires at the end of the first
micro-turn where ceil(T / 200) silent micro-turns have passed since the user last spoke.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from microturn.runtime.engine.policy import (
    MICRO_TURN_MS,
    FloorAction,
    TurnDecision,
    TurnInput,
    register_policy,
)

SPEECH_THRESHOLD = 0.5      # Silero probability above which a micro-turn holds user speech


def _default_vad_factory():
    from microturn.runtime.speech.silero import SileroVAD

    return SileroVAD()


@dataclass
class _SessionState:
    vad: object
    silence_ms: int = 0           # user silence since the user last spoke
    heard_user: bool = False      # user speech since the agent last took the turn


@dataclass
class TimeoutPolicy:
    """Take the turn after `timeout_ms` of user silence; on user speech while talking, yield or not."""

    timeout_ms: int = 500
    yield_on_speech: bool = True
    vad_factory: Callable[[], object] = field(default=_default_vad_factory)
    threshold: float = SPEECH_THRESHOLD
    _sessions: dict[str, _SessionState] = field(default_factory=dict, repr=False)

    def open(self, session_id: str) -> None:
        self._sessions[session_id] = _SessionState(vad=self.vad_factory())

    def close(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def step(self, turns: Sequence[TurnInput]) -> list[TurnDecision]:
        return [self._step_one(t) for t in turns]

    def _step_one(self, turn: TurnInput) -> TurnDecision:
        st = self._sessions.get(turn.session_id)
        if st is None:  # a session the engine forgot to open: open it rather than fail the batch
            self.open(turn.session_id)
            st = self._sessions[turn.session_id]
        user_speech = st.vad.speech_prob(turn.audio) >= self.threshold
        if user_speech:
            st.silence_ms = 0
            st.heard_user = True
        else:
            st.silence_ms += MICRO_TURN_MS

        if turn.agent_speaking:
            if user_speech:
                return TurnDecision(FloorAction.YIELD if self.yield_on_speech else FloorAction.CONTINUE)
            return TurnDecision(FloorAction.CONTINUE)
        if st.heard_user and not user_speech and st.silence_ms >= self.timeout_ms:
            st.heard_user = False   # one SPEAK per user turn: the engine reads it as "turn ended"
            return TurnDecision(FloorAction.SPEAK)
        return TurnDecision(FloorAction.LISTEN)


def _timeout(ms: int):
    def factory(**options) -> TimeoutPolicy:
        return TimeoutPolicy(timeout_ms=ms, yield_on_speech=True, **options)

    factory.__doc__ = f"speak after {ms} ms of user silence; yield when the user speaks"
    return factory


for _ms in (200, 500, 800):
    register_policy(f"silence-timeout-{_ms}")(_timeout(_ms))


@register_policy("always-yield")
def always_yield(**options) -> TimeoutPolicy:
    """Speak at the first silent micro-turn after user speech; yield on any user speech."""
    return TimeoutPolicy(timeout_ms=MICRO_TURN_MS, yield_on_speech=True, **options)


@register_policy("floor-holder")
def floor_holder(**options) -> TimeoutPolicy:
    """Speak after 800 ms of silence; once talking, never yield."""
    return TimeoutPolicy(timeout_ms=800, yield_on_speech=False, **options)
