"""Prosody for the audio tokens: a quantised pitch and periodicity per 40 ms frame.

Why: whether a silence ends a turn is told as much by the melody of the last words as by the
words (a question's rise, a list's level "and...", a statement's fall), and a 40-bin dMel frame
resolves the harmonics that carry the pitch only coarsely. `eval episodes` measured the
dMel-only `tiny-mel40` ranking turn ends above mid-turn pauses with an AUC of 0.64-0.66 on
held-out and even on its own training episodes (`docs/training.md`): underfit, not only a
generalisation gap. So configs with `pitch_bins = 2` append two more "bins" to every frame,
quantised like the dMel levels and embedded the same way (one learned vector per bin level):

- pitch: 0 when the frame is not voiced, else 1..levels-1 over log2 F0 from 60 to 400 Hz
  (15 levels over 2.7 octaves: about 2.2 semitones a level, finer than a question's rise);
- periodicity: the normalised autocorrelation at the chosen lag, in `levels` steps.

The estimate is the plain autocorrelation method (the shortest lag within 60-400 Hz
whose normalised autocorrelation comes within 10% of the highest), computed with one FFT per frame; nothing is learned and
nothing is downloaded, and a frame's levels depend on its own 640 samples only, as the dMel
levels do, so the streaming step and training see identical tokens.
"""

from __future__ import annotations

import math

import torch

F0_MIN, F0_MAX = 60.0, 400.0
N_FFT = 1024           # circular wrap only touches lags > N_FFT - frame (384), past the 266 searched
VOICED = 0.45          # normalised autocorrelation a frame needs to count as voiced
OCTAVE_SLACK = 0.9     # see pitch_levels
SILENT_POWER = 1e-7    # mean square below this (about -70 dBFS) is never voiced


def pitch_levels(frames: torch.Tensor, levels: int, sample_rate: int = 16_000) -> torch.Tensor:
    """float [..., frame] -> int64 [..., 2]: (pitch level, periodicity level) per frame."""
    f0, best, voiced = frame_f0(frames, sample_rate)
    span = math.log2(F0_MAX) - math.log2(F0_MIN)
    step = ((torch.log2(f0) - math.log2(F0_MIN)) / span * (levels - 1)).floor().clamp(0, levels - 2)
    pitch = torch.where(voiced, step.long() + 1, torch.zeros_like(step, dtype=torch.long))
    period = (best.clamp(0, 1) * levels).floor().clamp(0, levels - 1).long()
    return torch.stack([pitch, period], dim=-1)


def frame_f0(frames: torch.Tensor, sample_rate: int = 16_000, voiced_at: float = VOICED):
    """float [..., frame] -> (F0 in Hz, normalised autocorrelation at its lag, voiced) per frame.
    Voiced: the autocorrelation reaches `voiced_at` and the frame is not silent."""
    x = frames.float() - frames.float().mean(dim=-1, keepdim=True)
    n = x.shape[-1]
    spec = torch.fft.rfft(x, n=N_FFT)
    r = torch.fft.irfft(spec.real.pow(2) + spec.imag.pow(2), n=N_FFT)[..., :n]
    # Unbiased normalisation: a lag-L product sums n - L terms.
    lag = torch.arange(n, dtype=x.dtype)
    r = r / (n - lag).clamp_min(1) * n
    lo, hi = int(sample_rate / F0_MAX), int(sample_rate / F0_MIN)
    power = r[..., :1]
    norm = r[..., lo: hi + 1] / power.clamp_min(1e-12)
    best = norm.max(dim=-1).values
    # The shortest lag close to the best: a periodic frame correlates as well at two periods as
    # at one, and taking the longer would halve the pitch (an octave error).
    idx = (norm >= OCTAVE_SLACK * best[..., None]).to(torch.int8).argmax(dim=-1)
    f0 = sample_rate / (idx + lo).to(x.dtype)
    voiced = (best >= voiced_at) & (power[..., 0] / n >= SILENT_POWER)
    return f0, best, voiced
