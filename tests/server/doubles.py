"""A small in-test engine behind `EnginePort`, so the server and rtc/ can be tested alone.

It behaves like the engine where rtc/ can see it: it validates inbound messages with the real
event catalogue (error events for bad ones), answers `client.ping`, echoes `user.text` as a
transcript line and "speaks" a tone in answer, and records every sample and close it gets.
"""

from __future__ import annotations

import itertools
from collections import deque

import numpy as np

from microturn.runtime.engine.ports import OUT_FRAME_SAMPLES, OUT_SAMPLE_RATE
from microturn.runtime.events import EventError, make_event, parse_inbound

ANSWER_TONE_HZ = 660.0


class ScriptedSession:
    def __init__(self, session_id: str, room: str, identity: str, send_event):
        self.session_id = session_id
        self.room = room
        self.identity = identity
        self.send = send_event
        self.audio_in: list[np.ndarray] = []
        self.video_frames = 0
        self.messages: list[dict] = []
        self.outgoing: deque[np.ndarray] = deque()
        self.pulled = 0
        self.closed = False
        self.send(make_event("session.started", 0, session_id=session_id))

    @property
    def samples_in(self) -> int:
        return sum(a.size for a in self.audio_in)

    def push_audio(self, samples: np.ndarray) -> None:
        assert samples.dtype == np.float32 and samples.ndim == 1
        self.audio_in.append(samples)

    def push_video(self, frame: np.ndarray) -> None:
        self.video_frames += 1

    def push_message(self, raw) -> None:
        try:
            msg = parse_inbound(raw)
        except EventError as exc:
            self.send(make_event("error", 0, code=exc.code, message=str(exc)))
            return
        self.messages.append(msg)
        if msg["type"] == "client.ping":
            self.send(make_event("client.pong", 0))
        elif msg["type"] == "user.text":
            self.send(make_event("transcript.final", 0, role="user", text=msg["text"], start_ms=0, end_ms=0))
            self.say_tone(seconds=2.0)

    def say_tone(self, seconds: float) -> None:
        n_frames = int(seconds * 1000 / 20)
        t = np.arange(n_frames * OUT_FRAME_SAMPLES) / OUT_SAMPLE_RATE
        tone = (0.3 * np.sin(2 * np.pi * ANSWER_TONE_HZ * t)).astype(np.float32)
        self.outgoing.extend(tone.reshape(n_frames, OUT_FRAME_SAMPLES))

    def pull_audio(self) -> np.ndarray:
        self.pulled += 1
        if self.outgoing:
            return self.outgoing.popleft()
        return np.zeros(OUT_FRAME_SAMPLES, dtype=np.float32)

    async def close(self) -> None:
        self.closed = True
        self.outgoing.clear()


class ScriptedEngine:
    def __init__(self):
        self.sessions: list[ScriptedSession] = []
        self._ids = itertools.count(1)
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def open_session(self, room: str, identity: str, send_event) -> ScriptedSession:
        session = ScriptedSession(f"s{next(self._ids)}", room, identity, send_event)
        self.sessions.append(session)
        return session
