"""The room a suite is heard in: `eval synth --snr-db/--noise/--rt60`.

A plain suite is clean speech on a -70 dBFS dither floor, as FD-bench's own items are close to
clean. The issue's main risk is everything else a microphone hears, so a suite can be written
again with the same seed and a worse room: every talker in one reverberant room (the user's,
drawn as in training: `train.dsp.room_impulse`, direct path at sample 0 so no boundary in
`truth.json` moves) and a steady noise at a set level under the user's speech.

The level: the user's speech is the RMS of the user's own utterances in the item (their parts,
trimmed to the speech); an item with no user speech (a prompt in silence) uses
`NO_SPEECH_LEVEL_DBFS`, about what eSpeak's voices give. The same room and noise go into
`clean_input.wav` (v1.5 items' input without the overlap), so the clean run hears the same room.

Random choices come from their own generator (`rng_for`), so a clean suite and a noisy one made
with the same seed hold the same texts, voices and timings, byte for byte before the room.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from microturn.runtime.train import dsp

NOISE_COLORS = ("white", "pink", "brown", "hum")
NO_SPEECH_LEVEL_DBFS = -20.0   # the held-out voices measure -29..-18 dBFS RMS in a suite, median -20
DIRECT_TO_REVERB_DB = 6.0      # a laptop microphone at arm's length in a furnished room


@dataclass(frozen=True)
class Room:
    """How a suite is degraded; all None = the clean suite (no change at all)."""

    snr_db: float | None = None   # user speech RMS over noise RMS, dB
    noise: str = "pink"           # colour of the noise (NOISE_COLORS)
    rt60_s: float | None = None   # reverberation time of the shared room, seconds

    def __post_init__(self) -> None:
        if self.noise not in NOISE_COLORS:
            raise ValueError(f"unknown noise {self.noise!r}; known: {', '.join(NOISE_COLORS)}")
        if self.rt60_s is not None and not 0.05 <= self.rt60_s <= 2.0:
            raise ValueError(f"rt60 {self.rt60_s} s is outside 0.05-2.0 s")
        if self.snr_db is not None and not -10.0 <= self.snr_db <= 80.0:
            raise ValueError(f"SNR {self.snr_db} dB is outside -10..80 dB")

    @property
    def clean(self) -> bool:
        return self.snr_db is None and self.rt60_s is None

    def to_dict(self) -> dict:
        """What was set (the noise's colour only with a noise): {} for the clean suite."""
        out = asdict(self)
        if self.snr_db is None:
            del out["snr_db"], out["noise"]
        if self.rt60_s is None:
            del out["rt60_s"]
        return out


def rng_for(seed: int, task_index: int, item_index: int) -> np.random.Generator:
    """The room's own generator: separate from the item's, so the items' words stay the same."""
    return np.random.default_rng([seed, task_index, item_index, 0x200])


def user_level_dbfs(user_parts: list[np.ndarray]) -> float:
    """The RMS level of the user's speech in the item, or NO_SPEECH_LEVEL_DBFS when they say nothing."""
    speech = np.concatenate(user_parts) if user_parts else np.zeros(0, np.float32)
    level = dsp.rms(speech)
    return 20.0 * np.log10(level) if level > 1e-9 else NO_SPEECH_LEVEL_DBFS


def hear(room: Room, mixes: list[np.ndarray], level_dbfs: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Each of `mixes` (same length: input.wav and clean_input.wav) through the same room and noise."""
    if room.clean or not mixes:
        return mixes
    n = len(mixes[0])
    ir = dsp.room_impulse(rng, room.rt60_s, DIRECT_TO_REVERB_DB) if room.rt60_s is not None else None
    noise = (dsp.colored_noise(rng, n, room.noise) * dsp.db_to_gain(level_dbfs - room.snr_db)
             if room.snr_db is not None else np.zeros(n, np.float32))
    out = []
    for mix in mixes:
        wet = dsp.convolve(mix, ir) if ir is not None else mix
        out.append(np.clip(wet + noise, -1.0, 1.0).astype(np.float32))
    return out
