"""The contract between the WebRTC layer (rtc/) and the engine: what a peer pushes in and pulls out.

rtc/ never reaches into engine internals: it gets a `SessionPort` when a peer joins and talks
to it only through these methods. Everything here is called on the event loop and must return
quickly; the engine moves blocking work (ASR, TTS, model steps) to executors.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import numpy as np

OUT_SAMPLE_RATE = 48_000   # what the outgoing track plays
OUT_FRAME_MS = 20
OUT_FRAME_SAMPLES = OUT_SAMPLE_RATE * OUT_FRAME_MS // 1000  # 960

EventSink = Callable[[dict[str, Any]], None]  # sends one event dict on the data channel


class SessionPort(Protocol):
    session_id: str

    def push_audio(self, samples: np.ndarray) -> None:
        """Append inbound microphone audio: float32 mono 16 kHz, any length, in arrival order."""

    def push_video(self, frame: np.ndarray) -> None:
        """Replace the latest video frame (H, W, 3) uint8 RGB."""

    def push_message(self, raw: str | bytes) -> None:
        """One raw data-channel message; invalid ones produce an `error` event, never an exception."""

    def pull_audio(self) -> np.ndarray:
        """The next 20 ms of agent audio: float32 mono, OUT_FRAME_SAMPLES at 48 kHz (silence when idle)."""

    async def close(self) -> None:
        """The peer left: stop everything for this session and release its resources."""


class EnginePort(Protocol):
    async def open_session(self, room: str, identity: str, send_event: EventSink) -> SessionPort: ...
