"""`FloorWatch`: acts on a policy's timer between ticks, at the VAD's chunk resolution.

A policy decides once per 200 ms tick. Timers checked only at ticks run out on average ~100 ms
late, which is most of a latency budget. So a decision may *arm* the watch with what is left of
a timer (`TurnDecision.speak_after_silence_ms`, `yield_after_speech_ms`); the session feeds the
watch every 32 ms VAD chunk of input as it arrives, and the watch says when the condition holds:

- "speak": the user stayed silent for the rest of the end-of-turn timer -> take the turn now;
- "yield": the user's speech run over the agent lasted the rest of the barge-in minimum -> cut.

Any chunk that breaks the condition (speech during the silence, silence during the run) disarms
the watch: the policy looks again at the next tick, so the watch can only make a decision come
sooner, never make one the policy would not make. Positions are sample counts in the stream of
pushed input; chunks the policy has already seen (before the arming tick's cut) are ignored.

The watch also says when the user has paused (`on_pause`: `pause_ms` of silence after speech),
so the session can start the speculative decode and the turn-end word check then, not at the
next tick (listener.py, "Speculating between ticks").

`FloorWatch` is the pure state (testable chunk by chunk); `InputWatch` feeds it a session's
input as it arrives, scoring whole 32 ms chunks off the event loop.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable, Coroutine

import numpy as np

from microturn.runtime.engine.hearing import vad_chunks
from microturn.runtime.engine.policy import SAMPLE_RATE, FloorAction, TurnDecision

log = logging.getLogger(__name__)


@dataclass
class _Arm:
    kind: str          # "speak" | "yield"
    left_ms: float     # what is left of the timer
    from_pos: int      # input position (samples) the policy has seen up to


class FloorWatch:
    """Between-tick timer state for one session. Pure: no I/O, no clock."""

    HISTORY = 16  # chunks remembered, for chunks scored before the arming decision came back

    def __init__(self, pause_ms: float = 64.0) -> None:
        self._arm: _Arm | None = None
        self._recent: deque[tuple[int, bool, float]] = deque(maxlen=self.HISTORY)
        self.pause_ms = pause_ms
        self._speech_end: int | None = None   # input position the last speech chunk ended at
        self._silent_run_ms = 0.0             # silence heard since then
        self.pause_heard: int | None = None   # see `chunk`

    @property
    def armed(self) -> str | None:
        return self._arm.kind if self._arm is not None else None

    def arm(self, kind: str, left_ms: float, from_pos: int) -> str | None:
        """Arm (replacing any arm) and replay chunks already scored past `from_pos`; returns
        the kind if that already completes it (the caller then acts), else None."""
        if kind not in ("speak", "yield"):
            raise ValueError(f"unknown watch kind {kind!r}")
        self._arm = _Arm(kind, float(left_ms), int(from_pos))
        for end_pos, speech, chunk_ms in list(self._recent):
            fired = self._check(end_pos, speech, chunk_ms)
            if fired:
                return fired
        return None

    def silent_since(self, pos: int) -> int | None:
        """The input position up to which every chunk heard after `pos` was silent (`pos` itself
        when none has been scored yet), or None if one of them was speech."""
        if self._speech_end is not None and self._speech_end > pos:
            return None
        heard_to = self._recent[-1][0] if self._recent else pos
        return max(heard_to, pos)

    def disarm(self) -> None:
        self._arm = None

    def chunk(self, end_pos: int, speech: bool, chunk_ms: float) -> str | None:
        """One scored chunk ending at input position `end_pos`; returns the kind that fired.
        Afterwards `pause_heard` is where the user's speech ended if this chunk completed
        `pause_ms` of silence after it (else None)."""
        self._recent.append((end_pos, speech, chunk_ms))
        self.pause_heard = None
        if speech:
            self._speech_end, self._silent_run_ms = end_pos, 0.0
        elif self._speech_end is not None:
            before, self._silent_run_ms = self._silent_run_ms, self._silent_run_ms + chunk_ms
            if before < self.pause_ms <= self._silent_run_ms:
                self.pause_heard = self._speech_end
        return self._check(end_pos, speech, chunk_ms)

    def _check(self, end_pos: int, speech: bool, chunk_ms: float) -> str | None:
        arm = self._arm
        if arm is None or end_pos <= arm.from_pos:
            return None
        wanted = arm.kind == "yield"  # "yield" counts speech chunks, "speak" silent ones
        if speech != wanted:
            self._arm = None
            return None
        arm.left_ms -= chunk_ms
        if arm.left_ms <= 0:
            self._arm = None
            return arm.kind
        return None


class InputWatch:
    """Feeds a `FloorWatch` with one session's input as it arrives: whole VAD chunks, scored in
    the engine's step executor (the VAD is only ever used there), in order. Used on the loop.

    vad: this watch's own VAD (its state must follow the pushed stream, not the ticks').
    run_step: runs a blocking call in the step executor; track: registers background tasks (so
    virtual-time `settle` waits for them); on_fire(kind, pos): the armed condition held at
    input position `pos`; on_pause(speech_end, pos): the user has been silent `pause_ms` since
    the speech that ended at `speech_end`, as of position `pos`.
    """

    CHUNK = 512  # samples per VAD chunk (Silero's 32 ms at 16 kHz)

    def __init__(self, vad, threshold: float, run_step: Callable[[Callable[[], object]], Awaitable[object]],
                 track: Callable[[Coroutine], object], on_fire: Callable[[str, int], None],
                 on_pause: Callable[[int, int], None] | None = None, pause_ms: float = 64.0):
        self.floor = FloorWatch(pause_ms)
        self._vad, self._threshold = vad, threshold
        self._run_step, self._track, self._on_fire, self._on_pause = run_step, track, on_fire, on_pause
        self._pending: list[np.ndarray] = []
        self._pending_len = 0
        self._pos = 0            # input position of the first pending sample
        self._busy = False
        self.closed = False

    def arm_for(self, decision: TurnDecision, *, agent_speaking: bool, user_turn_open: bool, from_pos: int) -> None:
        """Arm with what `decision` asks for (or disarm), as of input position `from_pos`."""
        fired = None
        if decision.action is FloorAction.CONTINUE and decision.yield_after_speech_ms is not None and agent_speaking:
            fired = self.floor.arm("yield", decision.yield_after_speech_ms, from_pos)
        elif (decision.action is FloorAction.LISTEN and decision.speak_after_silence_ms is not None
              and user_turn_open and not agent_speaking):
            fired = self.floor.arm("speak", decision.speak_after_silence_ms, from_pos)
        else:
            self.floor.disarm()
        if fired:
            self._on_fire(fired, from_pos)

    def push(self, audio: np.ndarray) -> None:
        """Input just arrived (16 kHz mono float32)."""
        if self.closed:
            return
        self._pending.append(audio)
        self._pending_len += audio.size
        if not self._busy and self._pending_len >= self.CHUNK:
            self._busy = True
            self._track(self._pump())

    async def _pump(self) -> None:
        try:
            while self._pending_len >= self.CHUNK and not self.closed:
                buf = np.concatenate(self._pending)
                n = buf.size // self.CHUNK * self.CHUNK
                self._pending, self._pending_len = [buf[n:]], buf.size - n
                start, self._pos = self._pos, self._pos + n
                vad, threshold = self._vad, self._threshold
                try:
                    flags, _ = await self._run_step(lambda: vad_chunks(vad, buf[:n], threshold))
                except Exception:
                    log.exception("watch VAD failed; these chunks are not watched")
                    continue
                per = n // max(len(flags), 1)
                for i, speech in enumerate(flags):
                    end, chunk_ms = start + (i + 1) * per, per * 1000.0 / SAMPLE_RATE
                    fired = self.floor.chunk(end, bool(speech), chunk_ms)
                    if fired and not self.closed:
                        self._on_fire(fired, end)
                    speech_end = self.floor.pause_heard
                    if speech_end is not None and self._on_pause is not None and not self.closed:
                        self._on_pause(speech_end, end)
        finally:
            self._busy = False
