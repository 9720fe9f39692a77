"""An Opus round trip for the generator: the microphone signal as a WebRTC peer receives it.

Live, the user's audio reaches the model through the browser's Opus encoder (voice mode, 10-40
kbit/s) and the server's decoder: band-limited, smeared around transients, with low-level
detail gone. A model trained only on clean PCM meets a signal it has never heard; some
episodes therefore go through the same codec (libopus inside PyAV's FFmpeg, the library that
decodes the live stream in `aiortc`).

The round trip keeps the timeline: libopus delays its output by its pre-skip (6.5 ms), which
is cut off again, so every label boundary stays where the generator put it.
"""

from __future__ import annotations

import numpy as np

from microturn.runtime.speech.resample import resample

SAMPLE_RATE = 16_000
DECODED_RATE = 48_000           # FFmpeg's libopus decoder always gives 48 kHz
PRE_SKIP_SAMPLES = 103          # the encoder's look-ahead (312 samples at 48 kHz) less the
                                # resampler's own sample, measured on speech (tests/train)
FRAME_SAMPLES = 320             # 20 ms frames, as WebRTC sends them


def opus_round_trip(x: np.ndarray, bitrate: int, complexity: int = 3) -> np.ndarray:
    """Encode float32 16 kHz mono `x` with Opus at `bitrate` bit/s and decode it again; same
    length, same alignment. `complexity` 0-10 trades encoder effort (browsers use about 9 on
    desktops and less on phones; 3 keeps data generation fast and sounds much the same)."""
    import av

    if len(x) == 0:
        return np.zeros(0, np.float32)
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format, enc.bit_rate = SAMPLE_RATE, "mono", "s16", int(bitrate)
    enc.options = {"compression_level": str(int(complexity)), "application": "voip"}
    enc.open()
    dec = av.CodecContext.create("libopus", "r")
    dec.sample_rate, dec.layout = DECODED_RATE, "mono"
    dec.open()
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767).astype(np.int16)
    tail = (-len(pcm)) % FRAME_SAMPLES + 2 * FRAME_SAMPLES  # flush the look-ahead out
    pcm = np.concatenate([pcm, np.zeros(tail, np.int16)])
    decoded: list[np.ndarray] = []

    def drain(packets) -> None:
        for packet in packets:
            for frame in dec.decode(packet):
                decoded.append(frame.to_ndarray().reshape(-1))

    for pts, i in enumerate(range(0, len(pcm), FRAME_SAMPLES)):
        frame = av.AudioFrame.from_ndarray(pcm[None, i: i + FRAME_SAMPLES], format="s16", layout="mono")
        frame.sample_rate, frame.pts = SAMPLE_RATE, pts * FRAME_SAMPLES
        drain(enc.encode(frame))
    drain(enc.encode(None))
    y = np.concatenate(decoded).astype(np.float32) / 32768.0  # the decoder gives s16
    y = resample(y, DECODED_RATE, SAMPLE_RATE)
    y = y[PRE_SKIP_SAMPLES: PRE_SKIP_SAMPLES + len(x)]
    if len(y) < len(x):
        y = np.concatenate([y, np.zeros(len(x) - len(y), np.float32)])
    return y.astype(np.float32)
