"""`run_offline`: drive the live engine frame-synchronously over a recorded input, for evaluation.

It builds a normal `Engine` on a `VirtualClock`, opens one session and plays the input the way
a WebRTC peer does: every 20 ms it takes one 20 ms frame of agent audio (exactly as the WebRTC
track pulls it), pushes the next 20 ms of input and advances the clock by 20 ms, so the 200 ms
ticks fall where they fall live (turn k's input is cut at the tick at 200(k+1) ms). The session's
between-tick watch (engine/watch.py) is on by default here too, so the policy's end-of-turn and
barge-in timers act at the VAD's 32 ms chunk resolution, as they do live; an action between
ticks is heard from the next 20 ms frame. So the policy, the TTS, the floor controller, the
watch and interjection delivery are the very code live sessions use. The output is resampled
to 16 kHz and has exactly the input's length.

Besides the audio, a run may show pictures (`video`: frames pushed when the media clock reaches
their time, as a camera or whiteboard track delivers them) and set timers (`timers`: armed when
the session opens, exactly as if the agent had called `session.set_timer`), so the harness can
time the visual and timer prompts the app voices (eval/prompts.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from microturn.runtime.engine.clock import VirtualClock
from microturn.runtime.engine.options import EngineOptions
from microturn.runtime.engine.policy import SAMPLE_RATE, SAMPLES_PER_TURN, FloorPolicy, TurnDecision
from microturn.runtime.engine.ports import OUT_FRAME_MS, OUT_SAMPLE_RATE
from microturn.runtime.engine.services import SpeechServices

FRAME_MS = OUT_FRAME_MS                              # 20: the live peer's frame size
IN_FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000    # 320 input samples per frame


@dataclass
class OfflineResult:
    """What the agent did over one input.

    output_audio: the agent's audio, float32 mono 16 kHz, as long as the input.
    events: every data-channel event the session sent, in order, each with ``media_ms``.
    decisions: the policy's decision for each micro-turn (one per 200 ms of input).
    """

    output_audio: np.ndarray
    events: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[TurnDecision] = field(default_factory=list)
    sample_rate: int = SAMPLE_RATE

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        """The events of one type, in order."""
        return [e for e in self.events if e.get("type") == event_type]

    def agent_transcript(self) -> str:
        """Everything the agent was heard saying, joined."""
        return " ".join(e["text"] for e in self.of_type("transcript.final") if e.get("role") == "agent")


def run_offline(input_audio_16k: np.ndarray, *, policy: FloorPolicy | str, agent: Any = None,
                speech: SpeechServices | None = None, options: EngineOptions | None = None,
                reasoner: Any = None, room: str = "offline", identity: str = "offline",
                video: Sequence[tuple[int, np.ndarray]] = (), timers: Sequence[tuple[str, int]] = ()) -> OfflineResult:
    """Run one input through the engine and return the agent's audio, events and decisions.

    policy: a `FloorPolicy` or a registered name. agent: an `Agent` class or instance (or None).
    speech: `SpeechServices` (the real providers when None). options: `EngineOptions`; their
    ``early_floor`` None (the default) means ON here, as in a live session; pass
    ``EngineOptions(early_floor=False)`` to act only at ticks. video: (media_ms, HxWx3 uint8
    frame) pairs, each pushed once the input reaches its time. timers: (name, at_ms) pairs, set
    when the session opens as the agent's `session.set_timer` would. Safe to call from inside a
    running event loop (it then runs on a worker thread); `run_offline_async` is the coroutine.
    """
    coro = run_offline_async(input_audio_16k, policy=policy, agent=agent, speech=speech, options=options,
                             reasoner=reasoner, room=room, identity=identity, video=video, timers=timers)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def run_offline_async(input_audio_16k: np.ndarray, *, policy: FloorPolicy | str, agent: Any = None,
                            speech: SpeechServices | None = None, options: EngineOptions | None = None,
                            reasoner: Any = None, room: str = "offline", identity: str = "offline",
                            video: Sequence[tuple[int, np.ndarray]] = (),
                            timers: Sequence[tuple[str, int]] = ()) -> OfflineResult:
    """The coroutine behind `run_offline`."""
    from microturn.runtime.apps import agent_factory
    from microturn.runtime.engine.engine import Engine
    from microturn.runtime.speech.resample import resample

    audio = np.asarray(input_audio_16k, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(audio)):
        raise ValueError("input audio contains NaN or infinity")
    n = len(audio)
    turns = -(-n // SAMPLES_PER_TURN)
    padded = np.zeros(turns * SAMPLES_PER_TURN, np.float32)
    padded[:n] = audio
    opts = options or EngineOptions()
    # early_floor None means "as live": on, although this clock is virtual (we push 20 ms frames)
    opts = dataclasses.replace(opts, record_decisions=True,
                               early_floor=True if opts.early_floor is None else opts.early_floor)
    frames = sorted(video, key=lambda f: f[0])
    engine = Engine(opts, policy, speech, agent_factory(agent) if agent is not None else None, VirtualClock(),
                    reasoner)
    events: list[dict[str, Any]] = []
    out: list[np.ndarray] = []
    await engine.start()
    try:
        session = await engine.open_session(room, identity, events.append)
        for name, at_ms in timers:
            session.on_agent_message({"kind": "set_timer", "name": name, "at_ms": int(at_ms)})
        await engine.settle()
        clock = engine.clock
        for start in range(0, len(padded), IN_FRAME_SAMPLES):
            while frames and frames[0][0] <= start * 1000 // SAMPLE_RATE:
                session.push_video(frames.pop(0)[1])
            # the frame that plays during these 20 ms, then the input heard in them, which has
            # fully arrived only at their end: move the clock there first (never past a tick,
            # which lies on the 20 ms grid), then `advance(0)` lets the watch act on the input
            # (settling hooks and speech) and runs the tick when it is due now, as live
            out.append(session.pull_audio())
            session.push_audio(padded[start:start + IN_FRAME_SAMPLES])
            clock.set(clock.now_ms() + FRAME_MS)
            await engine.advance(0)
        decisions = list(session.decisions)
        await engine.close_session(session.session_id, "input_ended")
    finally:
        await engine.stop()
    out48 = np.concatenate(out) if out else np.zeros(0, np.float32)
    out16 = resample(out48, OUT_SAMPLE_RATE, SAMPLE_RATE)[:n]
    if len(out16) < n:
        out16 = np.concatenate([out16, np.zeros(n - len(out16), np.float32)])
    return OfflineResult(out16.astype(np.float32), events, decisions)
