"""Sample-rate conversion for whole buffers: `resample(audio, sr_in, sr_out)`.

We use scipy's `resample_poly` (polyphase FIR, Kaiser window) rather than `av.AudioResampler`
because this function serves offline work where timing must be exact: stimuli whose boundaries
are known to the sample, eSpeak's 22,050 Hz output going to 16 kHz, WAV files at any rate. The
polyphase filter is zero-phase (no delay: a word that starts at 1.000 s still starts there), the
output length is exactly ceil(n * sr_out / sr_in), and it is stateless and deterministic.
`av.AudioResampler` is the right tool for the live 48 kHz Opus stream in `rtc/` (it keeps filter
state across 20 ms frames), but it delays and re-blocks the signal, which would shift boundaries.
"""

from __future__ import annotations

from math import gcd

import numpy as np


def resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample 1-D float audio from `sr_in` to `sr_out` Hz; returns float32."""
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim != 1:
        raise ValueError(f"resample expects 1-D mono audio, got shape {a.shape}")
    if int(sr_in) != sr_in or int(sr_out) != sr_out or sr_in <= 0 or sr_out <= 0:
        raise ValueError(f"sample rates must be positive integers, got {sr_in} -> {sr_out}")
    sr_in, sr_out = int(sr_in), int(sr_out)
    if sr_in == sr_out or len(a) == 0:
        return a.copy() if sr_in == sr_out else np.zeros(0, np.float32)
    from scipy.signal import resample_poly

    g = gcd(sr_in, sr_out)
    return resample_poly(a, sr_out // g, sr_in // g).astype(np.float32)
