"""`microturn dev --record DIR`: keep each live session as an eval item.

A `Recorder` hands the engine one `SessionRecorder` per session. The engine feeds it the user's
16 kHz audio as it arrives, the agent's audio as it is played (48 kHz frames), and every event
it sends; on close the session is written in the eval layout:

    DIR/live/<UTC time>_<session id>/
        input.wav      the user's audio, 16 kHz mono
        output.wav     the agent's audio, 16 kHz, padded/trimmed to exactly the input's length
        events.jsonl   every data-channel event, with media_ms
        truth.json     {"task": "live/session", ...}: marks the folder as a recorded session

`eval run --data DIR` replays it through any policy and `eval score --data DIR` scores it. All
methods are cheap (appends to lists) and safe to call from the event loop; writing happens in
`close()`, which the engine should call off the loop (it writes a few MB at most).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

IN_SR = 16_000
OUT_SR = 48_000
MAX_SECONDS = 3600      # a forgotten session stops growing after an hour (memory bound)


class SessionRecorder:
    def __init__(self, folder: Path, session_id: str, room: str = "", identity: str = ""):
        self.folder = folder
        self.session_id = session_id
        self.meta = {"session_id": session_id, "room": room, "identity": identity,
                     "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        self._user: list[np.ndarray] = []
        self._agent: list[np.ndarray] = []
        self._events: list[dict[str, Any]] = []
        self._n_user = self._n_agent = 0
        self._lock = threading.Lock()          # guards the buffers
        self._write_lock = threading.Lock()    # a second close() waits until the files exist
        self.closed = False

    def user_audio(self, samples: np.ndarray) -> None:
        """Inbound microphone audio, float32 mono 16 kHz, in arrival order."""
        with self._lock:
            if not self.closed and self._n_user < MAX_SECONDS * IN_SR:
                a = np.asarray(samples, np.float32).copy()
                self._user.append(a)
                self._n_user += len(a)

    def agent_audio(self, frame: np.ndarray, sample_rate: int = OUT_SR) -> None:
        """Outbound agent audio as played (silence included), float32 mono."""
        with self._lock:
            if not self.closed and self._n_agent < MAX_SECONDS * sample_rate:
                a = np.asarray(frame, np.float32).copy()
                self._agent.append(a)
                self._n_agent += len(a)
                self._agent_sr = sample_rate

    def event(self, event: dict[str, Any]) -> None:
        with self._lock:
            if not self.closed:
                self._events.append(dict(event))

    def close(self) -> Path:
        """Write the item folder; returns it. Idempotent; a concurrent second call waits for it."""
        with self._write_lock:
            with self._lock:
                if self.closed:
                    return self.folder
                self.closed = True
                user = np.concatenate(self._user) if self._user else np.zeros(0, np.float32)
                agent = np.concatenate(self._agent) if self._agent else np.zeros(0, np.float32)
                events = list(self._events)
            return self._write(user, agent, events)

    def _write(self, user: np.ndarray, agent: np.ndarray, events: list[dict]) -> Path:
        from microturn.runtime.speech.resample import resample
        from microturn.runtime.speech.wav import write_wav

        agent = resample(agent, getattr(self, "_agent_sr", OUT_SR), IN_SR) if len(agent) else agent
        agent = agent[: len(user)] if len(agent) >= len(user) else np.concatenate(
            [agent, np.zeros(len(user) - len(agent), np.float32)])
        self.folder.mkdir(parents=True, exist_ok=True)
        write_wav(self.folder / "input.wav", user, IN_SR)
        write_wav(self.folder / "output.wav", agent, IN_SR)
        (self.folder / "events.jsonl").write_text("".join(json.dumps(e, default=str) + "\n" for e in events))
        truth = {"task": "live/session", "duration_s": round(len(user) / IN_SR, 3), **self.meta}
        (self.folder / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
        return self.folder


class Recorder:
    """Makes one `SessionRecorder` per live session under `root/live/`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def open(self, session_id: str, room: str = "", identity: str = "") -> SessionRecorder:
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", session_id)[:64] or "session"
        return SessionRecorder(self.root / "live" / f"{stamp}_{safe}", session_id, room, identity)


class _RecordingSession:
    """A `SessionPort` that tees what passes through it into a `SessionRecorder`."""

    def __init__(self, inner, rec: SessionRecorder):
        self._inner = inner
        self._rec = rec

    def __getattr__(self, name: str):          # session_id, push_video, push_message, ...
        return getattr(self._inner, name)

    def push_audio(self, samples: np.ndarray) -> None:
        self._rec.user_audio(samples)
        self._inner.push_audio(samples)

    def pull_audio(self) -> np.ndarray:
        frame = self._inner.pull_audio()
        self._rec.agent_audio(frame, OUT_SR)
        return frame

    async def close(self) -> None:
        await self._inner.close()
        await _close_off_loop(self._rec)


async def _close_off_loop(rec: SessionRecorder) -> None:
    import asyncio

    await asyncio.get_running_loop().run_in_executor(None, rec.close)


class RecordingEngine:
    """Wraps any `EnginePort` so every session it opens is recorded; everything else delegates.

    This needs no hook inside the engine: the WebRTC layer talks to sessions only through the
    `SessionPort` methods, so teeing those (and the event sink) sees exactly what the peer sent
    and heard. A session that the engine ends itself (`session.ended` event) is written too.
    """

    def __init__(self, engine, recorder: Recorder):
        self._engine = engine
        self.recorder = recorder

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    async def open_session(self, room: str, identity: str, send_event):
        import asyncio

        holder: dict[str, SessionRecorder] = {}
        pending: list[dict] = []

        def tee(event: dict) -> None:
            rec = holder.get("rec")
            if rec is None:
                pending.append(event)        # events sent while the session is being opened
            else:
                rec.event(event)
                if event.get("type") == "session.ended":
                    try:
                        asyncio.get_running_loop().run_in_executor(None, rec.close)
                    except RuntimeError:     # emitted off the loop: write here
                        rec.close()
            send_event(event)

        inner = await self._engine.open_session(room, identity, tee)
        rec = self.recorder.open(inner.session_id, room, identity)
        for e in pending:
            rec.event(e)
        holder["rec"] = rec
        return _RecordingSession(inner, rec)
