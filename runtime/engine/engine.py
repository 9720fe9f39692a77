"""`Engine`: the 200 ms micro-turn clock driving every live session with one batched policy step.

Each tick the engine cuts one micro-turn of input from every live session, then runs ONE job in
its step executor that scores each turn with the session's VAD and calls `policy.step` once for
all of them; back on the event loop, each session applies its decision (floor control and
interjection delivery). TTS and ASR calls run in a separate speech executor, so nothing slow
ever runs on the loop that drives WebRTC.

With a `RealClock`, `start()` runs the tick loop. With a `VirtualClock` nothing ticks by itself:
`await engine.advance(ms)` runs the ticks in that span and, after each, waits until hooks and
speech work have settled, so virtual-time runs are deterministic and fast.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Coroutine

from microturn import messages as m
from microturn.interjection import Interjection
from microturn.runtime.engine.clock import Clock, RealClock
from microturn.runtime.engine.hearing import Hearing, hear
from microturn.runtime.engine.live_session import LiveSession
from microturn.runtime.engine.options import EngineOptions
from microturn.runtime.engine.policy import DEFAULT_POLICY, MICRO_TURN_MS, FloorPolicy, TurnDecision, make_policy
from microturn.runtime.engine.ports import EventSink
from microturn.runtime.engine.reasoner_link import ReasonerLink
from microturn.runtime.engine.services import SpeechServices

log = logging.getLogger(__name__)


@dataclass
class EngineStats:
    """Running figures for /metrics (read them, don't write them)."""

    ticks: int = 0
    live_sessions: int = 0
    steps: int = 0                  # batched policy.step calls
    last_step_ms: float = 0.0       # wall time of the last step job (VAD + policy)
    last_tick_lateness_ms: float = 0.0
    policy_errors: int = 0
    audio_underruns: int = 0        # 20 ms frames with a gap inside an utterance (TTS behind playout)


def _warm_up(tts=None) -> None:
    """Do once, at start, what would otherwise slow the first answer of the first session down:
    import scipy's resampler and run the TTS once (its first synthesis loads voice data)."""
    import numpy as np

    from microturn.runtime.speech.resample import resample

    resample(np.zeros(441, np.float32), 22_050, 48_000)
    if tts is not None:
        try:
            for _ in tts.synthesize("ready."):
                pass
        except Exception:  # a TTS that fails here fails again, with a clear event, when used
            log.exception("TTS warm-up failed")


def _hear_safely(vad, audio, threshold: float) -> Hearing:
    try:
        return hear(vad, audio, threshold)
    except Exception:  # one session's VAD failure must not fail the whole batch
        log.exception("VAD failed; treating the micro-turn as silence")
        return Hearing(False, 0.0, MICRO_TURN_MS)


class Engine:
    """The micro-turn engine; implements `engine.ports.EnginePort`.

    options: `EngineOptions` (defaults when None).
    policy: a `FloorPolicy`, or a registered policy name (built with no options).
    speech: `SpeechServices`; None means `default_speech_services()`, built at `start()`.
    agent_factory: makes the agent for each new session (an `Agent`), or None for no agent.
    clock: `RealClock()` when None; a `VirtualClock` for tests and offline runs.
    reasoner: a `ReasonerLink`, or None (then `session.ask` fails with a clear error).
    """

    def __init__(self, options: EngineOptions | None = None, policy: FloorPolicy | str = DEFAULT_POLICY,
                 speech: SpeechServices | None = None, agent_factory: Callable[[], Any] | None = None,
                 clock: Clock | None = None, reasoner: ReasonerLink | None = None):
        self.options = options or EngineOptions()
        self.policy: FloorPolicy = make_policy(policy) if isinstance(policy, str) else policy
        self.speech = speech
        self.agent_factory = agent_factory
        self.clock: Clock = clock or RealClock()
        self.reasoner = reasoner
        self.sessions: dict[str, LiveSession] = {}
        self.stats = EngineStats()
        self._step_pool: ThreadPoolExecutor | None = None    # made in start(), released in stop()
        self._speech_pool: ThreadPoolExecutor | None = None
        self._work: set[asyncio.Future] = set()
        self._loop_task: asyncio.Task | None = None
        self._next_tick_ms = 0.0
        self._started = False

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Load speech providers if needed and, on a real clock, start ticking."""
        if self._started:
            return
        self._step_pool = ThreadPoolExecutor(self.options.step_threads, thread_name_prefix="microturn-step")
        self._speech_pool = ThreadPoolExecutor(self.options.speech_threads, thread_name_prefix="microturn-speech")
        if self.speech is None:
            from microturn.runtime.engine.services import default_speech_services

            self.speech = await asyncio.get_running_loop().run_in_executor(self._speech_pool,
                                                                            default_speech_services)
        tts = self.speech.tts
        await self.run_speech(lambda: _warm_up(tts))
        self._started = True
        self._next_tick_ms = self.clock.now_ms() + MICRO_TURN_MS
        if self.clock.realtime:
            self._loop_task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Close every session, stop ticking and release the executors."""
        for sid in list(self.sessions):
            await self.close_session(sid, "runtime_stopped")
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        pending = [t for t in self._work if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        self._started = False
        for pool in (self._step_pool, self._speech_pool):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        self._step_pool = self._speech_pool = None

    async def __aenter__(self) -> "Engine":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- sessions (EnginePort) -----------------------------------------------------------

    async def open_session(self, room: str, identity: str, send_event: EventSink) -> LiveSession:
        """A peer joined: make its session, open it in the policy, tell the agent."""
        if not self._started:
            raise RuntimeError("the engine is not started (await engine.start())")
        session_id = uuid.uuid4().hex[:16]
        agent = self.agent_factory() if self.agent_factory is not None else None
        grammar = getattr(agent, "asr_grammar", None)
        vad = await self.run_step(self.speech.vad_factory)
        watch_vad = await self.run_step(self.speech.vad_factory)
        asr = await self.run_speech(lambda: self.speech.asr_for(grammar))
        turn_words = await self.run_speech(lambda: self.speech.turn_words_for(grammar))
        await self.run_step(lambda: self.policy.open(session_id))
        session = LiveSession(self, session_id, room, identity, send_event, agent, vad, asr, watch_vad,
                              turn_words=turn_words)
        self.sessions[session_id] = session
        self.stats.live_sessions = len(self.sessions)
        session.emit("session.started", session_id=session_id)
        session.to_agent(m.SessionStarted(session_id=session_id, room=room, identity=identity))
        self._context(session_id, "session.started", {"room": room, "identity": identity}, 0)
        return session

    async def close_session(self, session_id: str, reason: str = "closed") -> None:
        """End one session and release everything it holds. Closing twice is harmless."""
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        self.stats.live_sessions = len(self.sessions)
        session.voice.close()
        session.listener.close()
        if session.watch is not None:
            session.watch.closed = True
        for p in list(session.interjections.items):
            session.interjections.remove(p)
            session._drop(p, "session_closed")
        session.emit("session.ended", reason=reason)
        session.to_agent(m.SessionEnded(reason=reason))
        session.closed = True
        if session.runner is not None:
            await session.runner.aclose()
        try:
            await self.run_step(lambda: self.policy.close(session_id))
        except Exception:
            log.exception("policy.close failed for %s", session_id)
        self._context(session_id, "session.ended", {"reason": reason}, session.media_ms)

    # ---- the tick ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self.clock.sleep_until(self._next_tick_ms)
            self.stats.last_tick_lateness_ms = self.clock.now_ms() - self._next_tick_ms
            try:
                await self.tick()
            except Exception:
                log.exception("engine tick failed")
            self._next_tick_ms += MICRO_TURN_MS
            if self.clock.now_ms() - self._next_tick_ms > 1000:  # fell far behind: skip, don't burst
                self._next_tick_ms = self.clock.now_ms()

    async def tick(self) -> None:
        """One micro-turn for every live session: cut input, one batched step, apply decisions."""
        self.stats.ticks += 1
        live = [s for s in self.sessions.values() if not s.closed]
        self.stats.live_sessions = len(live)
        if not live:
            return
        turns = [s.cut_turn() for s in live]
        vads = [s.vad for s in live]
        threshold = self.options.vad_threshold

        def step() -> tuple[list, list[TurnDecision], float]:
            t0 = time.perf_counter()
            hearings = [_hear_safely(v, t.audio, threshold) for v, t in zip(vads, turns)]
            try:
                decisions = list(self.policy.step(turns))
                if len(decisions) != len(turns) or not all(isinstance(d, TurnDecision) for d in decisions):
                    raise TypeError(f"policy.step returned {len(decisions)} decisions for {len(turns)} turns")
            except Exception:
                log.exception("policy step failed; every session listens this micro-turn")
                self.stats.policy_errors += 1
                decisions = [TurnDecision() for _ in turns]
            return hearings, decisions, (time.perf_counter() - t0) * 1000.0

        hearings, decisions, step_ms = await self.run_step(step)
        self.stats.steps += 1
        self.stats.last_step_ms = step_ms
        picks = bool(getattr(self.policy, "picks_interjections", False))
        for session, turn, hearing, decision in zip(live, turns, hearings, decisions):
            if session.closed:
                continue
            try:
                session.apply(turn, hearing, decision, picks)
            except Exception:  # one session's failure must not stall the others
                log.exception("session %s: applying the decision failed", session.session_id)

    # ---- virtual time --------------------------------------------------------------------

    async def advance(self, ms: float) -> None:
        """Virtual clock only: run every tick due in the next `ms`, settling after each."""
        if self.clock.realtime:
            raise RuntimeError("advance() drives a VirtualClock; this engine runs on real time")
        if not self._started:
            raise RuntimeError("the engine is not started (await engine.start())")
        end = self.clock.now_ms() + ms
        await self.settle()
        while self._next_tick_ms <= end:
            self.clock.set(self._next_tick_ms)  # type: ignore[attr-defined]
            await self.tick()
            await self.settle()
            self._next_tick_ms += MICRO_TURN_MS
        self.clock.set(end)  # type: ignore[attr-defined]

    async def settle(self) -> None:
        """Wait until speech work and hooks are done (hooks waiting for playout don't count)."""
        deadline = time.monotonic() + self.options.settle_timeout_s
        while True:
            for _ in range(3):
                await asyncio.sleep(0)
            work = [t for t in self._work if not t.done()]
            hooks_busy = any(s.runner is not None and s.runner.busy for s in self.sessions.values())
            if not work and not hooks_busy:
                return
            if time.monotonic() > deadline:
                log.warning("settle: gave up waiting (%d speech jobs, hooks busy=%s)", len(work), hooks_busy)
                return
            if work:
                await asyncio.wait(work, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
            else:
                await asyncio.sleep(0.001)

    # ---- executors and background work ---------------------------------------------------

    def run_step(self, fn: Callable[[], Any]) -> "asyncio.Future[Any]":
        return asyncio.get_running_loop().run_in_executor(self._step_pool, fn)

    def run_speech(self, fn: Callable[[], Any]) -> "asyncio.Future[Any]":
        return asyncio.get_running_loop().run_in_executor(self._speech_pool, fn)

    def count_underrun(self) -> None:
        self.stats.audio_underruns += 1

    def track(self, task: asyncio.Future) -> None:
        """Remember background work so `settle` and `stop` can wait for it."""
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    def track_task(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self.track(task)
        return task

    # ---- the reasoner seam ---------------------------------------------------------------

    def offer_interjection(self, interjection: Interjection) -> bool:
        """An interjection arrived (from the reasoner or a background tool). Call on the loop.

        Returns False (and reports it dropped) when its session is unknown or already closed.
        """
        session = self.sessions.get(interjection.session_id)
        if session is None:
            self.report_outcome(interjection.id, False, "unknown_session")
            return False
        session.offer(interjection)
        return True

    def ask(self, session: LiveSession, msg: m.Ask) -> None:
        """Forward a `session.ask` to the reasoner, or fail it at once when there is none."""
        if self.reasoner is None:
            session.ask_failed(msg.request_id, "no background reasoner is connected to this runtime")
            return
        session._asks[msg.request_id] = msg.media_ms
        context = {**msg.context, "request_id": msg.request_id}

        async def send() -> None:
            try:
                await self.reasoner.request(session.session_id, msg.question, context, msg.media_ms)
            except Exception as exc:
                session.ask_failed(msg.request_id, f"the reasoner request failed: {type(exc).__name__}: {exc}")

        self.track_task(send())

    def reasoner_failed(self, session_id: str, request_id: str, error: str) -> None:
        """The reasoner link gave up on a request: fail the asking session's `ask` future."""
        session = self.sessions.get(session_id)
        if session is not None:
            session.ask_failed(request_id, error)

    def report_outcome(self, interjection_id: str, delivered: bool, reason: str) -> None:
        if self.reasoner is not None:
            try:
                self.reasoner.outcome(interjection_id, delivered, reason)
            except Exception:
                log.exception("reasoner outcome failed")

    def _context(self, session_id: str, kind: str, payload: dict[str, Any], media_ms: int) -> None:
        if self.reasoner is not None:
            try:
                self.reasoner.context(session_id, kind, payload, media_ms)
            except Exception:
                log.exception("reasoner context failed")
