"""Signal processing for synthetic conversations: levels, filters, rooms, noise, echo.

Everything is float32 mono at 16 kHz and deterministic given the numpy Generator passed in.
Impulse responses keep their direct path at sample 0, so convolving never shifts a boundary
that the labels depend on.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

SAMPLE_RATE = 16_000


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def scale_to_rms(x: np.ndarray, target_dbfs: float) -> np.ndarray:
    """Scale `x` so its RMS is `target_dbfs` (silence stays silence)."""
    r = rms(x)
    return x if r < 1e-9 else (x * (db_to_gain(target_dbfs) / r)).astype(np.float32)


def trim_silence(x: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    """Cut leading and trailing near-silence (eSpeak pads sentences), so a clip's first and last
    samples are the speech boundaries the labels use."""
    idx = np.flatnonzero(np.abs(x) > threshold)
    return x[idx[0]: idx[-1] + 1] if len(idx) else x[:0]


def lowpass(x: np.ndarray, cutoff_hz: float, order: int = 4) -> np.ndarray:
    sos = signal.butter(order, cutoff_hz, btype="lowpass", fs=SAMPLE_RATE, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def bandpass(x: np.ndarray, lo_hz: float, hi_hz: float, order: int = 3) -> np.ndarray:
    sos = signal.butter(order, [lo_hz, hi_hz], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def room_impulse(rng: np.random.Generator, rt60_s: float, direct_to_reverb_db: float) -> np.ndarray:
    """A synthetic room: a unit direct path, a few early reflections, then an exponentially
    decaying noise tail whose energy sits `direct_to_reverb_db` below the direct path."""
    n = max(int(rt60_s * SAMPLE_RATE), 64)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)  # -60 dB at rt60
    tail[: int(0.002 * SAMPLE_RATE)] = 0.0  # the tail starts after the direct sound
    tail *= db_to_gain(-direct_to_reverb_db) / max(np.sqrt(np.sum(tail ** 2)), 1e-9)
    for _ in range(int(rng.integers(2, 6))):  # early reflections off nearby surfaces
        d = int(rng.uniform(0.003, 0.03) * SAMPLE_RATE)
        if d < n:
            tail[d] += rng.uniform(0.1, 0.5) * rng.choice([-1.0, 1.0])
    ir = tail.astype(np.float32)
    ir[0] = 1.0
    return ir


def convolve(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Convolve and keep the input's length (the direct path stays aligned)."""
    if len(x) == 0:
        return x
    return signal.oaconvolve(x, ir)[: len(x)].astype(np.float32)


def colored_noise(rng: np.random.Generator, n: int, color: str) -> np.ndarray:
    """Unit-RMS noise: "white", "pink" (1/f), "brown" (1/f^2) or "hum" (mains + harmonics)."""
    if n == 0:
        return np.zeros(0, np.float32)
    if color == "hum":
        f0 = 50.0 if rng.random() < 0.5 else 60.0
        t = np.arange(n) / SAMPLE_RATE
        x = sum(rng.uniform(0.2, 1.0) / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3))
                for h in (1, 2, 3, 5))
        x = x + 0.05 * rng.standard_normal(n)
    else:
        white = rng.standard_normal(n)
        if color == "white":
            x = white
        else:
            spec = np.fft.rfft(white)
            f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
            f[0] = f[1] if n > 1 else 1.0
            power = {"pink": 0.5, "brown": 1.0}[color]
            x = np.fft.irfft(spec / f ** power, n)
    x = np.asarray(x, dtype=np.float64)
    return (x / max(rms(x), 1e-12)).astype(np.float32)


def echo_path(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What an echo canceller leaves of the agent's own voice: a short loudspeaker-to-mic path,
    band-limited like a small speaker, slightly distorted. Level is set by the caller."""
    ir = room_impulse(rng, rt60_s=float(rng.uniform(0.05, 0.3)), direct_to_reverb_db=float(rng.uniform(0, 10)))
    delay = int(rng.uniform(0.0, 0.004) * SAMPLE_RATE)  # acoustic path of a few centimetres
    y = convolve(np.concatenate([np.zeros(delay, np.float32), x])[: len(x)], ir)
    y = bandpass(y, float(rng.uniform(150, 400)), float(rng.uniform(3000, 7000)))
    drive = float(rng.uniform(1.0, 3.0))  # loudspeaker non-linearity that AEC cannot cancel
    return (np.tanh(drive * y) / drive).astype(np.float32)
