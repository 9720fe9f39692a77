"""Is it the user's voice? A timbre check for the talkers the pitch check cannot tell apart.

`speaker_pitch.py` holds off another talker at the user's level when their pitch is far from the
user's; half the side talkers of the generator's held-out episodes are within its tolerance. Voices
also differ in the shape of their spectrum (vocal tract length, formants, breathiness), which a
few mel cepstral coefficients summarise. Per voiced 40 ms frame: a Hann window, a 1024-point
power spectrum, the model's 40-band mel filterbank, log, and a DCT; coefficients 1-12 are kept
(coefficient 0 is the level, which the near-field gate already judges).

`UserTimbre` keeps the mean and spread of the user's last frames while the agent is silent;
`RunTimbre` the frames of a run of speech over the agent (only those near the user's level, as for
the pitch). Their distance is the root mean square, over the 12 coefficients, of the difference of
the means in units of the user's own spread. Half a second of the user's speech is mostly within
1.2 of their long-term mean; a side talker of the same pitch range often is not (the spread of a
short run's mean comes from what is being said, hence a generous tolerance: docs/training.md,
"Timbre check"). Too few frames on either side is never a verdict.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache

import numpy as np

COEFFS = 12              # cepstral coefficients 1..12
USER_FRAMES = 250        # the user's timbre: their last 250 voiced frames (10 s), as for the pitch
MIN_USER_FRAMES = 25     # 1 s of the user's voiced speech before any verdict
MIN_RUN_FRAMES = 5       # a run needs 200 ms of voiced frames to be judged
N_MELS = 40


@lru_cache(maxsize=1)
def _analysis() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window, mel filterbank [bins, mels] and DCT-II matrix [mels, COEFFS] (orthonormal, rows 1..12)."""
    from microturn.runtime.engine.speaker_pitch import FRAME
    from microturn.runtime.model.features import mel_filterbank

    window = np.hanning(FRAME).astype(np.float32)
    bank = mel_filterbank(N_MELS).numpy().astype(np.float32)
    m = np.arange(N_MELS)
    dct = np.sqrt(2.0 / N_MELS) * np.cos(np.pi * (m[:, None] + 0.5) * np.arange(1, COEFFS + 1)[None, :] / N_MELS)
    return window, bank, dct.astype(np.float32)


def timbre(frames: np.ndarray) -> np.ndarray:
    """[n, COEFFS] mel cepstra of voiced frames ([n, 640] samples at 16 kHz)."""
    from microturn.runtime.model.features import N_FFT

    window, bank, dct = _analysis()
    if len(frames) == 0:
        return np.zeros((0, COEFFS), np.float32)
    power = np.abs(np.fft.rfft(frames * window, N_FFT, axis=1)) ** 2
    return np.log(power.astype(np.float32) @ bank + 1e-10) @ dct


class UserTimbre:
    """The user's recent voiced frames (fed only while the agent is silent): mean and spread."""

    def __init__(self) -> None:
        self._frames: deque[np.ndarray] = deque(maxlen=USER_FRAMES)
        self._profile: tuple[np.ndarray, np.ndarray] | None = None  # cached until the user is heard again

    def hear(self, cepstra: np.ndarray) -> None:
        if len(cepstra):
            self._frames.extend(cepstra)
            self._profile = None

    def profile(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Mean and spread (std + a floor) of the user's frames; None before `MIN_USER_FRAMES`.
        Asked every tick while the agent speaks, when the user is not heard: hence the cache."""
        if len(self._frames) < MIN_USER_FRAMES:
            return None
        if self._profile is None:
            x = np.stack(self._frames)
            self._profile = x.mean(axis=0), x.std(axis=0) + 1e-3
        return self._profile


class RunTimbre:
    """The voiced frames of one run of speech over the agent."""

    def __init__(self) -> None:
        self._sum = np.zeros(COEFFS, np.float64)
        self._n = 0

    def hear(self, cepstra: np.ndarray) -> None:
        self._sum += cepstra.sum(axis=0)
        self._n += len(cepstra)

    def clear(self) -> None:
        self._sum[:] = 0.0
        self._n = 0

    def distance(self, user: UserTimbre) -> float | None:
        """RMS over the coefficients of (run mean - user mean) / user spread; None: too little to say."""
        profile = user.profile()
        if profile is None or self._n < MIN_RUN_FRAMES:
            return None
        mean, spread = profile
        return float(np.sqrt(np.mean(((self._sum / self._n - mean) / spread) ** 2)))
