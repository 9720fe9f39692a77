"""Mix the clips of one episode into what the agent's microphone hears.

Clips go onto *buses* by who produced them; each bus passes through its own acoustic path:
- `user`: the user, near the mic, in a room (mild reverb);
- `agent`: the agent's own voice, coming back as echo-canceller residue (`dsp.echo_path`), at
  `echo_db` relative to the user, or absent (headphones);
- `side_near`: other people in the room, full-band, at their own level (-6..+3 dB re the user);
- `side_far`: other people further away: low-passed and reverberant, quieter;
- `tv`: a television: band-limited loudspeaker, reverberant;
- `background`: a distant babble bed, low-passed and reverberant, under everything.
Then stationary noise at `snr_db` below the user, and one overall gain with a peak limiter;
in some episodes, last, an Opus round trip at a WebRTC voice bitrate (`codec.py`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from microturn.runtime.train import dsp
from microturn.runtime.train.codec import opus_round_trip

BUSES = ("user", "agent", "side_near", "side_far", "tv", "background")
OPUS_SHARE = 0.35  # episodes that go through an Opus round trip (the rest stay PCM, as in `eval`)
OPUS_MAX_KBPS = 32.0  # their bitrate is drawn from 12 kbit/s up to this


@dataclass
class Clip:
    start_ms: int
    audio: np.ndarray  # float32 16 kHz, already trimmed to the speech
    bus: str
    level_db: float = 0.0  # RMS relative to the user's level


@dataclass(frozen=True)
class AcousticRanges:
    """The ranges `Acoustics.draw` takes the user's noise and room from (`train data --snr-db`,
    `--user-rt60`). The defaults are the shipped checkpoint's recipe. Each range is one uniform
    draw whatever its bounds, but the room's impulse response takes as many random samples as
    it is long, so with the same seed only a shard's first episode keeps its words and timings;
    the rest are new draws from the same scene mix."""

    snr_db: tuple[float, float] = (12.0, 60.0)      # user level over the steady noise, dB
    user_rt60_s: tuple[float, float] = (0.1, 0.6)   # reverberation time of the user's room, s

    def __post_init__(self) -> None:
        for name, (lo, hi), floor in (("snr_db", self.snr_db, -20.0), ("user_rt60_s", self.user_rt60_s, 0.01)):
            if not floor <= lo <= hi:
                raise ValueError(f"{name} must be LO,HI with {floor} <= LO <= HI, got {lo},{hi}")
        if self.user_rt60_s[1] > 3.0:
            raise ValueError(f"user_rt60_s above 3 s is not a room people talk to an agent in: {self.user_rt60_s}")


@dataclass
class Acoustics:
    """One episode's room and channel, drawn at random (see `draw`)."""

    user_dbfs: float          # RMS level of the user's speech
    user_rt60: float          # the user's room
    user_drr_db: float        # direct-to-reverberant ratio of the user's speech
    echo_db: float | None     # agent echo residue re the user; None = no echo (headphones)
    far_rt60: float           # rooms of far talkers, TV and background
    far_cutoff_hz: float      # low-pass of far talkers and background
    noise_color: str | None   # "white" | "pink" | "brown" | "hum" | None
    snr_db: float             # user level over noise level
    babble_db: float | None   # background babble bed re the user; None = none
    output_gain_db: float     # overall input gain
    opus_kbps: float | None = None  # Opus round trip at this bitrate; None = PCM as mixed

    @classmethod
    def draw(cls, rng: np.random.Generator, ranges: AcousticRanges = AcousticRanges()) -> "Acoustics":
        return cls(
            user_dbfs=float(rng.uniform(-30, -18)),
            user_rt60=float(rng.uniform(*ranges.user_rt60_s)),
            user_drr_db=float(rng.uniform(4, 20)),
            echo_db=None if rng.random() < 0.15 else float(rng.uniform(-35, -10)),
            far_rt60=float(rng.uniform(0.35, 1.0)),
            far_cutoff_hz=float(rng.uniform(1500, 4000)),
            # always some floor: a real microphone never gives digital zero, and a model that has
            # heard pure zeros in training takes a -70 dBFS dither floor for something else
            noise_color=str(rng.choice(["white", "white", "pink", "brown", "hum"])),
            snr_db=float(rng.uniform(*ranges.snr_db)),
            babble_db=float(rng.uniform(-30, -15)) if rng.random() < 0.25 else None,
            output_gain_db=float(rng.uniform(-6, 4)),
            # the live path's codec, in a share of episodes: the model hears both. Chromium's
            # microphone ran at about 60 kbit/s in `bench latency`; 12-64 was tried (with early
            # overlaps, runs R5-R8 of docs/training.md) and did not help, so v2's 12-32 stays
            opus_kbps=float(rng.uniform(12, OPUS_MAX_KBPS)) if rng.random() < OPUS_SHARE else None,
        )

    def to_dict(self) -> dict:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _bus(clips: list[Clip], bus: str, n: int, user_dbfs: float) -> np.ndarray:
    out = np.zeros(n, np.float32)
    for c in clips:
        if c.bus != bus or len(c.audio) == 0:
            continue
        s = c.start_ms * dsp.SAMPLE_RATE // 1000
        if s >= n:
            continue
        a = dsp.scale_to_rms(c.audio, user_dbfs + c.level_db)[: n - s]
        out[s: s + len(a)] += a
    return out


def mix(duration_ms: int, clips: list[Clip], ac: Acoustics, rng: np.random.Generator) -> np.ndarray:
    """The microphone signal (float32, 16 kHz, duration_ms long)."""
    n = duration_ms * dsp.SAMPLE_RATE // 1000
    unknown = {c.bus for c in clips} - set(BUSES)
    if unknown:
        raise ValueError(f"unknown buses {sorted(unknown)}")
    near_room = dsp.room_impulse(rng, ac.user_rt60, ac.user_drr_db)
    far_room = dsp.room_impulse(rng, ac.far_rt60, float(rng.uniform(-6, 4)))
    out = dsp.convolve(_bus(clips, "user", n, ac.user_dbfs), near_room)
    if ac.echo_db is not None:
        agent = _bus(clips, "agent", n, ac.user_dbfs)
        out += dsp.echo_path(agent, rng) * dsp.db_to_gain(ac.echo_db)
    out += dsp.convolve(_bus(clips, "side_near", n, ac.user_dbfs), near_room)
    far = _bus(clips, "side_far", n, ac.user_dbfs) + _bus(clips, "background", n, ac.user_dbfs)
    if far.any():
        out += dsp.convolve(dsp.lowpass(far, ac.far_cutoff_hz), far_room)
    tv = _bus(clips, "tv", n, ac.user_dbfs)
    if tv.any():
        out += dsp.convolve(dsp.bandpass(tv, float(rng.uniform(150, 400)), float(rng.uniform(3500, 7000))), far_room)
    if ac.noise_color is not None:
        out += dsp.colored_noise(rng, n, ac.noise_color) * dsp.db_to_gain(ac.user_dbfs - ac.snr_db)
    out *= dsp.db_to_gain(ac.output_gain_db)
    peak = float(np.max(np.abs(out))) if n else 0.0
    if peak > 0.98:  # a limiter, not clipping: keep the waveform, lower the whole episode
        out *= 0.98 / peak
    if ac.opus_kbps is not None:
        out = opus_round_trip(out, int(ac.opus_kbps * 1000))
    return out.astype(np.float32)
