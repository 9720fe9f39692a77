"""One browser peer: an aiortc RTCPeerConnection wired to one engine session.

`accept_offer` is the whole join: check the offer, open a session on the engine, attach the
agent's voice, answer, and start pumping media and data-channel messages. The returned
`PeerSession` owns everything that join created and releases all of it exactly once, whoever
notices first that the peer is gone: the connection failing or closing (a closed tab sends a
DTLS close, a vanished one stops answering ICE consent checks), ICE never connecting, or the
server shutting down.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from microturn.runtime import metrics
from microturn.runtime.engine.ports import EnginePort, SessionPort
from microturn.runtime.rtc.channel import EventChannel
from microturn.runtime.rtc.sdp import SdpError, check_offer, prefer_opus_bitrate
from microturn.runtime.rtc.tracks import AgentAudioTrack, pump_inbound_audio, pump_inbound_video

log = logging.getLogger(__name__)


class PeerSession:
    """What one join holds: the peer connection, the engine session, the media tasks."""

    def __init__(self, pc: RTCPeerConnection, port: SessionPort, events: EventChannel,
                 agent_track: AgentAudioTrack, on_released: Callable[["PeerSession"], None] | None):
        self.pc = pc
        self.port = port
        self.events = events
        self.agent_track = agent_track
        self.session_id: str = port.session_id
        self.tasks: list[asyncio.Task] = []
        self.close_reason: str | None = None
        self.released = asyncio.Event()
        self._on_released = on_released
        self._closing: asyncio.Task | None = None

    def close(self, reason: str) -> Awaitable[None]:
        """Release everything (idempotent; safe to call from any callback). Await to wait for it."""
        if self._closing is None:
            self.close_reason = reason
            self._closing = asyncio.ensure_future(self._release())
        return asyncio.shield(self._closing)

    async def _release(self) -> None:
        log.info("session %s: releasing (%s)", self.session_id, self.close_reason)
        self.agent_track.stop()
        for task in self.tasks:  # media pumps and the connect watchdog (never this task itself)
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        try:  # first, while the channel may still carry its `session.ended`
            await self.port.close()
        except Exception:
            log.exception("session %s: closing the engine session failed", self.session_id)
        self.events.close()
        try:
            await self.pc.close()
        except Exception:
            log.exception("session %s: closing the peer connection failed", self.session_id)
        metrics.LIVE_SESSIONS.dec()
        self.released.set()
        if self._on_released is not None:
            self._on_released(self)


async def accept_offer(
    engine: EnginePort,
    *,
    room: str,
    identity: str,
    sdp: str,
    sdp_type: str,
    connect_timeout_s: float = 15.0,
    media_timeout_s: float | None = 10.0,
    on_released: Callable[[PeerSession], None] | None = None,
) -> tuple[RTCSessionDescription, PeerSession]:
    """Answer a browser's offer with a new session. Raises SdpError for an unusable offer."""
    check_offer(sdp, sdp_type)
    # No STUN or TURN servers: aiortc's default configuration would add a public STUN server.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    remote_tracks = []
    channels = []
    pc.on("track", remote_tracks.append)
    pc.on("datachannel", channels.append)
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=sdp_type))
    except Exception as exc:
        await pc.close()
        raise SdpError(f"the offer could not be applied: {exc}") from None

    events = EventChannel()
    try:
        port = await engine.open_session(room, identity, events.send)
    except Exception:
        await pc.close()
        raise
    agent_track = AgentAudioTrack(port)
    peer = PeerSession(pc, port, events, agent_track, on_released)
    metrics.LIVE_SESSIONS.inc()
    metrics.SESSIONS_TOTAL.inc()
    try:
        pc.addTrack(agent_track)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)  # gathers every candidate: aiortc does not trickle
    except Exception as exc:
        await peer.close("answer failed")
        raise SdpError(f"could not answer the offer: {exc}") from None

    _wire(peer, remote_tracks, channels, connect_timeout_s, media_timeout_s)
    local = pc.localDescription
    return RTCSessionDescription(sdp=prefer_opus_bitrate(local.sdp), type=local.type), peer


def _wire(peer: PeerSession, remote_tracks: list, channels: list, connect_timeout_s: float,
          media_timeout_s: float | None) -> None:
    pc, port = peer.pc, peer.port

    def start_track(track) -> None:
        if track.kind == "audio":
            pump = pump_inbound_audio(track, port, media_timeout_s=media_timeout_s,
                                      on_media_timeout=lambda: peer.close("no inbound media"))
        else:
            pump = pump_inbound_video(track, port)
        peer.tasks.append(asyncio.ensure_future(pump))

    def attach_channel(channel) -> None:
        peer.events.attach(channel)
        # The page's channel lives as long as the call: when it closes, the peer has hung up.
        channel.on("close", lambda: peer.close("data channel closed"))

        @channel.on("message")
        def on_message(raw) -> None:
            try:
                port.push_message(raw)
            except Exception as exc:  # the port promises not to raise; guard the peer anyway
                log.exception("push_message failed")
                peer.events.send({"type": "error", "media_ms": 0, "code": "internal",
                                  "message": f"message could not be handled: {type(exc).__name__}"})

    for track in remote_tracks:
        start_track(track)
    for channel in channels:
        attach_channel(channel)
    pc.on("track", start_track)
    pc.on("datachannel", attach_channel)

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState in ("failed", "closed"):
            peer.close(f"connection {pc.connectionState}")

    async def watchdog() -> None:
        await asyncio.sleep(connect_timeout_s)
        if pc.connectionState != "connected":
            peer.close("ICE did not connect in time")

    peer.tasks.append(asyncio.ensure_future(watchdog()))
