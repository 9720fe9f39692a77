"""The generator's Opus round trip: same length, same timeline, audibly the same speech."""

from __future__ import annotations

import numpy as np

from microturn.runtime.train import mix
from microturn.runtime.train.codec import opus_round_trip
from microturn.runtime.train.mix import Acoustics, Clip


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """Bursts of harmonic tones (voiced syllables) with gaps: a signal with edges to align."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    x = np.zeros_like(t)
    for start in np.arange(0.2, seconds - 0.4, 0.45):
        f0 = rng.uniform(100, 220)
        on = (t >= start) & (t < start + 0.25)
        x[on] += sum(np.sin(2 * np.pi * f0 * h * t[on]) / h for h in range(1, 8))
    return (0.1 * x).astype(np.float32)


def test_round_trip_keeps_length_and_alignment():
    x = _speechlike(3.0)
    for kbps in (12, 32, 64):
        y = opus_round_trip(x, kbps * 1000)
        assert y.dtype == np.float32 and len(y) == len(x)
        lags = range(-40, 41)
        best = max(lags, key=lambda k: float(np.dot(x, np.roll(y, k))))
        assert abs(best) <= 2, f"{kbps} kbit/s: decoded audio is {best} samples off the timeline"
        assert np.corrcoef(x, y)[0, 1] > 0.8
        # it is a lossy codec, not a copy
        assert not np.allclose(x, y, atol=1e-3)


def test_empty_and_short_inputs():
    assert len(opus_round_trip(np.zeros(0, np.float32), 16000)) == 0
    assert len(opus_round_trip(np.full(5, 0.1, np.float32), 16000)) == 5


def test_mix_applies_the_codec_only_when_drawn():
    clip = Clip(100, _speechlike(1.5), "user")
    base = dict(user_dbfs=-24.0, user_rt60=0.2, user_drr_db=10.0, echo_db=None, far_rt60=0.5,
                far_cutoff_hz=3000.0, noise_color="white", snr_db=40.0, babble_db=None, output_gain_db=0.0)
    plain = mix.mix(2000, [clip], Acoustics(**base), np.random.default_rng(0))
    coded = mix.mix(2000, [clip], Acoustics(**base, opus_kbps=16.0), np.random.default_rng(0))
    again = mix.mix(2000, [clip], Acoustics(**base, opus_kbps=16.0), np.random.default_rng(0))
    assert np.array_equal(coded, again), "deterministic"
    assert not np.allclose(plain, coded, atol=1e-4)
    assert np.corrcoef(plain, coded)[0, 1] > 0.8
    shares = [Acoustics.draw(np.random.default_rng(s)).opus_kbps is not None for s in range(400)]
    assert abs(np.mean(shares) - mix.OPUS_SHARE) < 0.08
