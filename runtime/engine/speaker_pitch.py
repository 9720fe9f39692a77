"""Is it the user's voice? A pitch check that tells another talker from the user at the same level.

The near-field gate (`HeuristicOptions.near_field_db`) tells a voice quieter than the user's from
the user, but not a colleague or a second person at the table who is as loud: on the generator's
held-out episodes 21 of the model's 46 false yields were such full-band side talk. Voices differ
in pitch: there, the median F0 of a side talker was more than 6 semitones from the user's in 38%
of the spans, while the first 400 ms of the user's own interruptions stayed within 4 semitones
in 98% and within 6 in all of them (`docs/training.md`, "Voice check").

`UserPitch` learns the user's median F0 from their voiced frames while the agent is silent;
`RunPitch` collects the voiced frames of a run of speech over the agent. A run is judged
"another voice" only when both have enough voiced frames and their medians are more than the
tolerance apart; no pitch (whispers, creak, too little speech yet) is never a verdict. The
estimator is `model/pitch.py`'s (autocorrelation over 40 ms frames), with a stricter voicing
threshold, so noise and echo residue seldom count as voiced.
"""

from __future__ import annotations

from collections import deque

import numpy as np

FRAME = 640             # 40 ms at 16 kHz, as the model's pitch bins
VOICED_AT = 0.6         # normalised autocorrelation a frame needs here (the model's bins use 0.45)
MIN_LOUD = 1e-5         # mean square under this (about -50 dBFS) is not a voiced frame of speech
USER_FRAMES = 250       # the user's pitch is the median of their last 250 voiced frames (10 s)
MIN_USER_FRAMES = 10    # before that many, the user's pitch is unknown
MIN_RUN_FRAMES = 3      # a run needs this many voiced frames (120 ms) to be judged


def voiced_frames(audio: np.ndarray, min_power: float = MIN_LOUD) -> tuple[np.ndarray, np.ndarray]:
    """The voiced 40 ms frames of `audio` (16 kHz float) at least `min_power` loud (mean square),
    and their F0 (Hz): ([n, FRAME] samples, [n] Hz). Over the agent, only frames near the user's
    level count, so the residue of the agent's own voice after echo cancellation does not lend
    the run its pitch (or, in `speaker_timbre.py`, its timbre)."""
    import torch

    from microturn.runtime.model.pitch import frame_f0

    a = np.asarray(audio, np.float32)
    n = len(a) // FRAME
    if n == 0:
        return np.zeros((0, FRAME), np.float32), np.zeros(0, np.float32)
    frames = a[: n * FRAME].reshape(n, FRAME)
    f0, _, voiced = frame_f0(torch.from_numpy(frames), voiced_at=VOICED_AT)
    loud = (frames.astype(np.float64) ** 2).mean(axis=1) >= max(min_power, MIN_LOUD)
    keep = voiced.numpy() & loud
    return frames[keep], f0.numpy()[keep]


def semitones(hz: float) -> float:
    return 12.0 * float(np.log2(hz / 100.0))


class UserPitch:
    """The user's median F0 over their recent voiced frames (fed only while the agent is silent)."""

    def __init__(self) -> None:
        self._f0: deque[float] = deque(maxlen=USER_FRAMES)

    def hear(self, f0: np.ndarray) -> None:
        self._f0.extend(float(x) for x in f0)

    @property
    def median_st(self) -> float | None:
        return semitones(float(np.median(self._f0))) if len(self._f0) >= MIN_USER_FRAMES else None


class RunPitch:
    """The voiced frames of one run of speech over the agent."""

    def __init__(self) -> None:
        self._f0: list[float] = []

    def hear(self, f0: np.ndarray) -> None:
        self._f0.extend(float(x) for x in f0)

    def clear(self) -> None:
        self._f0.clear()

    def distance(self, user: UserPitch) -> float | None:
        """Semitones between the run's median F0 and the user's; None: too little to say."""
        mine = user.median_st
        if mine is None or len(self._f0) < MIN_RUN_FRAMES:
            return None
        return abs(semitones(float(np.median(self._f0))) - mine)
