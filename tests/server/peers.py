"""Test-side helpers: a real uvicorn server on a free loopback port, and an aiortc client peer."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import socket

import av
import httpx
import numpy as np
import uvicorn
from aiortc import RTCPeerConnection, RTCSessionDescription, RTCConfiguration
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(app):
    """Run `app` with uvicorn on 127.0.0.1:<free port> inside this event loop."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.ensure_future(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


class ToneTrack(MediaStreamTrack):
    """A microphone stand-in: a steady sine at 48 kHz in 20 ms frames, paced like a real one."""

    kind = "audio"

    def __init__(self, hz: float = 440.0, amplitude: float = 0.3):
        super().__init__()
        self.hz, self.amplitude, self.pts = hz, amplitude, 0
        self.start = None

    async def recv(self):
        loop = asyncio.get_running_loop()
        if self.start is None:
            self.start = loop.time()
        due = self.start + self.pts / 48000
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        t = (self.pts + np.arange(960)) / 48000
        pcm = (self.amplitude * 32767 * np.sin(2 * np.pi * self.hz * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, self.pts, fractions.Fraction(1, 48000)
        self.pts += 960
        return frame


class ClipTrack(ToneTrack):
    """A microphone that says `clip` (float32 mono at 48 kHz) once, then sends quiet noise."""

    def __init__(self, clip: np.ndarray):
        super().__init__(amplitude=0.0)
        self.clip = clip
        self.rng = np.random.default_rng(0)

    async def recv(self):
        frame = await super().recv()
        start = frame.pts
        piece = self.clip[start:start + 960]
        pcm = np.zeros(960, np.float32) + self.rng.normal(0, 0.0005, 960).astype(np.float32)
        pcm[:piece.size] += piece
        out = av.AudioFrame.from_ndarray((np.clip(pcm, -1, 1) * 32767).astype(np.int16).reshape(1, -1),
                                         format="s16", layout="mono")
        out.sample_rate, out.pts, out.time_base = 48000, frame.pts, frame.time_base
        return out


class ClientPeer:
    """An aiortc peer that joins like the page does: audio out, data channel, agent audio in."""

    def __init__(self, send_audio: bool = True, mic: MediaStreamTrack | None = None):
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic = mic or (ToneTrack() if send_audio else None)
        if self.mic:
            self.pc.addTrack(self.mic)
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        self.channel = self.pc.createDataChannel("events")
        self.events: list[dict] = []
        self.event_arrived = asyncio.Event()
        self.received: list[np.ndarray] = []  # agent audio, mono float32 48 kHz per frame
        self.channel_open = asyncio.Event()
        self.channel.on("open", self.channel_open.set)
        self.channel.on("message", self._on_message)
        self.pc.on("track", self._on_track)
        self._tasks: list[asyncio.Task] = []
        self.session_id = None

    def _on_message(self, raw) -> None:
        self.events.append(json.loads(raw))
        self.event_arrived.set()

    def _on_track(self, track) -> None:
        async def drain():
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                pcm = frame.to_ndarray().reshape(-1).astype(np.float32) / 32768.0
                channels = len(frame.layout.channels)
                self.received.append(pcm.reshape(-1, channels).mean(axis=1))

        self._tasks.append(asyncio.ensure_future(drain()))

    async def offer(self) -> dict:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"sdp": self.pc.localDescription.sdp, "type": self.pc.localDescription.type}

    async def join(self, base_url: str, room: str, token: str) -> httpx.Response:
        body = {**await self.offer(), "token": token}
        async with httpx.AsyncClient() as http:
            resp = await http.post(f"{base_url}/v1/rooms/{room}/join", json=body, timeout=20)
        if resp.status_code == 200:
            answer = resp.json()
            self.session_id = answer["session_id"]
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
        return resp

    async def wait_event(self, predicate, timeout: float = 10.0) -> dict:
        async def scan():
            seen = 0
            while True:
                for ev in self.events[seen:]:
                    if predicate(ev):
                        return ev
                seen = len(self.events)
                self.event_arrived.clear()
                await self.event_arrived.wait()

        return await asyncio.wait_for(scan(), timeout)

    def send(self, raw) -> None:
        self.channel.send(raw)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await self.pc.close()
