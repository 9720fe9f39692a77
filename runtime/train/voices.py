"""The eSpeak NG voices the generator speaks with, and which of them are held out.

A voice is an English accent (eSpeak language) plus a voice variant (formants, pitch range,
breathiness), e.g. `en-gb-scotland+f3`; each use also draws a speaking rate and pitch. Variants
are held out by a fixed rule (every fifth in this list), so an evaluation set is spoken by
variants the model never heard in training, in every accent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACCENTS = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc")
# Human-sounding variants that ship in espeak-ng-data/voices/!v (robots, whispers and croaks left out).
VARIANTS = ("f1", "m1", "f2", "m2", "f3", "m3", "f4", "m4", "f5", "m5", "m6", "m7", "m8",
            "Alex", "Alicia", "Andrea", "Andy", "Annie", "Denis", "Diogo", "Gene", "Henrique",
            "Hugo", "Jacky", "Lee", "Marco", "Mario", "Michael", "Mike", "Nguyen", "Reed",
            "adam", "anika", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "ed",
            "edward", "grandma", "grandpa", "gustave", "ian", "iven", "john", "linda", "max",
            "michel", "miguel", "norbert", "pablo", "paul", "pedro", "quincy", "rob", "robert",
            "sandro", "shelby", "steph", "travis", "victor", "zac", "klatt", "klatt2", "klatt3")
HELD_OUT_EVERY = 5

RATE_RANGE = (135, 215)   # words per minute (eSpeak's default is 175)
PITCH_RANGE = (25, 75)    # 0-100 (default 50)


def variants(split: str) -> tuple[str, ...]:
    """Variants usable in `split`: "train" (4 of 5) or "eval" (the held-out fifth)."""
    if split == "train":
        return tuple(v for i, v in enumerate(VARIANTS) if i % HELD_OUT_EVERY != HELD_OUT_EVERY - 1)
    if split == "eval":
        return tuple(v for i, v in enumerate(VARIANTS) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1)
    raise ValueError(f"unknown split {split!r} (expected 'train' or 'eval')")


@dataclass(frozen=True)
class Voice:
    accent: str
    variant: str
    rate: int
    pitch: int

    @property
    def espeak_name(self) -> str:
        return f"{self.accent}+{self.variant}"

    @property
    def id(self) -> str:
        """Identity for the split: accent and variant (rate and pitch vary within a voice)."""
        return self.espeak_name


def draw_voice(rng: np.random.Generator, split: str, exclude: tuple[str, ...] = ()) -> Voice:
    """A random voice of `split`, whose variant differs from those in `exclude` when possible."""
    pool = [v for v in variants(split) if v not in exclude] or list(variants(split))
    variant = pool[int(rng.integers(len(pool)))]
    accent = ACCENTS[int(rng.integers(len(ACCENTS)))]
    rate = int(rng.integers(RATE_RANGE[0], RATE_RANGE[1] + 1))
    pitch = int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1))
    return Voice(accent, variant, rate, pitch)
