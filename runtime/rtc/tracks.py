"""Media between a peer and its session: inbound audio and video in, the agent's voice out.

Inbound: the browser's Opus arrives decoded by aiortc as 48 kHz s16 (usually stereo) frames of
20 ms. `pump_inbound_audio` resamples them to 16 kHz mono float32 and hands them to the
session; it keeps reading even when the session is slow, because a track that is not read
backs up inside aiortc. `pump_inbound_video` keeps only the newest frame, converted at most
once per micro-turn (the engine never looks at more).

Outbound: `AgentAudioTrack` is the agent's voice. aiortc calls `recv()` as fast as it returns,
so the track itself paces 20 ms frames against the wall clock, pulling each one from the
session just before it is due (silence when the agent is idle).
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from typing import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from microturn.runtime import metrics
from microturn.runtime.engine.ports import OUT_FRAME_MS, OUT_FRAME_SAMPLES, OUT_SAMPLE_RATE, SessionPort

log = logging.getLogger(__name__)

INBOUND_RATE = 16_000
VIDEO_MIN_INTERVAL_S = 0.2  # one frame per micro-turn is all the engine uses
# When the event loop stalls for longer than this, the track stops trying to catch up (which
# would send a burst of frames) and restarts its schedule from now.
MAX_BEHIND_S = 0.1


async def pump_inbound_audio(track: MediaStreamTrack, port: SessionPort, *,
                             media_timeout_s: float | None = None,
                             on_media_timeout: Callable[[], object] | None = None) -> None:
    """Read the browser's audio until the track ends; push 16 kHz mono float32 to the session.

    A browser sends audio packets continuously (silence too), so when none has arrived for
    `media_timeout_s` the peer has vanished without saying goodbye (a killed tab, a dropped
    network): `on_media_timeout` is called and the pump stops. Without this, only ICE consent
    expiry (about 30 s) would notice.
    """
    resampler = av.AudioResampler(format="s16", layout="mono", rate=INBOUND_RATE)
    while True:
        try:
            frame = await asyncio.wait_for(track.recv(), media_timeout_s)
        except MediaStreamError:
            return
        except asyncio.TimeoutError:
            log.info("no inbound audio for %.1f s: the peer is gone", media_timeout_s)
            if on_media_timeout is not None:
                on_media_timeout()
            return
        for out in resampler.resample(frame):
            samples = out.to_ndarray().reshape(-1).astype(np.float32) / 32768.0
            if samples.size:
                try:
                    port.push_audio(samples)
                except Exception:  # a session bug must not stop the track being drained
                    log.exception("push_audio failed; dropping %d samples", samples.size)


async def pump_inbound_video(track: MediaStreamTrack, port: SessionPort) -> None:
    """Read the browser's video until the track ends; hand the newest frame over per micro-turn."""
    last_push = 0.0
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        now = time.monotonic()
        if now - last_push < VIDEO_MIN_INTERVAL_S:
            continue  # decoded but not converted: conversion is the expensive part
        last_push = now
        metrics.VIDEO_FRAMES.inc()
        try:
            port.push_video(frame.to_ndarray(format="rgb24"))
        except Exception:
            log.exception("push_video failed")


def float_to_s16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


class AgentAudioTrack(MediaStreamTrack):
    """The agent's voice: 20 ms mono frames at 48 kHz, paced by the wall clock."""

    kind = "audio"

    def __init__(self, port: SessionPort):
        super().__init__()
        self._port = port
        self._time_base = fractions.Fraction(1, OUT_SAMPLE_RATE)
        self._start: float | None = None
        self._frames_sent = 0
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        frame_s = OUT_FRAME_MS / 1000
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._frames_sent * frame_s
        if due > now:
            await asyncio.sleep(due - now)
        elif now - due > frame_s:
            metrics.AUDIO_UNDERRUNS.inc()
            if now - due > MAX_BEHIND_S:
                self._start = now - self._frames_sent * frame_s
        self._frames_sent += 1
        try:
            samples = np.asarray(self._port.pull_audio(), dtype=np.float32).reshape(-1)
        except Exception:
            log.exception("pull_audio failed; sending silence")
            samples = np.zeros(OUT_FRAME_SAMPLES, dtype=np.float32)
        if samples.size != OUT_FRAME_SAMPLES:  # keep the wire format exact whatever we got
            samples = np.resize(samples, OUT_FRAME_SAMPLES) if samples.size else np.zeros(OUT_FRAME_SAMPLES, np.float32)
        frame = av.AudioFrame.from_ndarray(float_to_s16(samples).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = OUT_SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = self._time_base
        self._pts += OUT_FRAME_SAMPLES
        return frame
