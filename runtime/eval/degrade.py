"""The acoustic degradations FD-bench v1.5 applies to non-user talkers, built with scipy.

"Talking to others" is a nearby voice addressed to someone else: a few dB quieter, its highs
shelved down, a short room echo. "Background speech" is distant: much quieter, low-passed, with
a longer reverberant tail. The gains are relative to the user: `eval synth` first brings the
other voice to the user's speech level (`synth.level_like`). Every random choice comes from the
generator passed in, so a seed reproduces the same samples.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal


def apply_gain(audio: np.ndarray, gain_db: float) -> np.ndarray:
    return (audio * (10.0 ** (gain_db / 20.0))).astype(np.float32)


def high_shelf(audio: np.ndarray, sr: int, freq_hz: float, gain_db: float) -> np.ndarray:
    """Second-order high shelf (RBJ cookbook biquad, slope 1): negative gain dulls the voice."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * freq_hz / sr
    cos_w, sqrt_a = math.cos(w0), math.sqrt(a)
    alpha = math.sin(w0) / 2.0 * math.sqrt(2.0)
    b = [a * ((a + 1) + (a - 1) * cos_w + 2 * sqrt_a * alpha),
         -2 * a * ((a - 1) + (a + 1) * cos_w),
         a * ((a + 1) + (a - 1) * cos_w - 2 * sqrt_a * alpha)]
    den = [(a + 1) - (a - 1) * cos_w + 2 * sqrt_a * alpha,
           2 * ((a - 1) - (a + 1) * cos_w),
           (a + 1) - (a - 1) * cos_w - 2 * sqrt_a * alpha]
    return signal.lfilter(np.array(b) / den[0], np.array(den) / den[0], audio).astype(np.float32)


def low_pass(audio: np.ndarray, sr: int, cutoff_hz: float, order: int = 4) -> np.ndarray:
    sos = signal.butter(order, cutoff_hz, btype="low", fs=sr, output="sos")
    return signal.sosfilt(sos, audio).astype(np.float32)


def room_impulse(rng: np.random.Generator, sr: int, rt60_s: float, n_echoes: int = 3,
                 echo_range_s: tuple[float, float] = (0.03, 0.12), echo_gain: float = 0.35) -> np.ndarray:
    """Direct path, a few discrete early echoes, and an exponentially decaying noise tail."""
    n = int(sr * rt60_s)
    ir = np.zeros(max(n, int(sr * echo_range_s[1]) + 1), dtype=np.float64)
    ir[0] = 1.0
    for _ in range(n_echoes):
        k = int(rng.uniform(*echo_range_s) * sr)
        ir[k] += echo_gain * rng.uniform(0.5, 1.0) * rng.choice([-1.0, 1.0])
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s) * 0.08   # -60 dB at rt60
    ir[:n] += tail
    return ir / np.sqrt(np.sum(ir ** 2))


def reverberate(audio: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Convolve and keep the original length plus the tail (the caller places it on the timeline)."""
    return signal.fftconvolve(audio, ir)[: len(audio) + len(ir) - 1].astype(np.float32)


def as_other_talker(audio: np.ndarray, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Someone nearby talking to someone else: -6..-10 dB, highs shelved -6 dB at 3 kHz, short room."""
    gain_db = float(rng.uniform(-10.0, -6.0))
    rt60 = float(rng.uniform(0.2, 0.35))
    out = high_shelf(audio, sr, 3000.0, -6.0)
    out = reverberate(out, room_impulse(rng, sr, rt60))
    return apply_gain(out, gain_db), {"gain_db": gain_db, "high_shelf": [3000.0, -6.0], "rt60_s": rt60}


def as_background(audio: np.ndarray, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Distant speech: -16..-20 dB, low-passed at 1.5-2.5 kHz, long reverberant tail."""
    gain_db = float(rng.uniform(-20.0, -16.0))
    cutoff = float(rng.uniform(1500.0, 2500.0))
    rt60 = float(rng.uniform(0.5, 0.8))
    out = low_pass(audio, sr, cutoff)
    out = reverberate(out, room_impulse(rng, sr, rt60, n_echoes=5, echo_range_s=(0.05, 0.2), echo_gain=0.5))
    return apply_gain(out, gain_db), {"gain_db": gain_db, "low_pass_hz": cutoff, "rt60_s": rt60}
