"""Text to 16 kHz speech clips for the generator, through the speech package's `EspeakTTS`.

A clip is trimmed to its speech (eSpeak pads sentences with silence), so its first and last
samples are the boundaries the labels are built on. eSpeak's own randomness is seeded per clip
by the caller, so the same seed gives the same samples.
"""

from __future__ import annotations

import numpy as np

from microturn.runtime.speech.espeak import EspeakTTS
from microturn.runtime.speech.resample import resample
from microturn.runtime.train import dsp
from microturn.runtime.train.voices import Voice


class Speaker:
    """Renders text in a `Voice`. eSpeak is a per-process singleton: use one Speaker per worker."""

    def __init__(self) -> None:
        self.seconds_spoken = 0.0

    def say(self, text: str, voice: Voice, seed: int, rate_jitter: float = 0.0) -> np.ndarray:
        rate = int(round(voice.rate * (1.0 + rate_jitter)))
        tts = EspeakTTS(voice.espeak_name, rate=rate, pitch=voice.pitch, seed=seed)
        raw = tts.synthesize_all(text)
        clip = dsp.trim_silence(resample(raw, tts.sample_rate, dsp.SAMPLE_RATE))
        if len(clip) == 0:
            raise ValueError(f"eSpeak produced no audio for {text!r} in voice {voice.espeak_name}")
        self.seconds_spoken += len(clip) / dsp.SAMPLE_RATE
        return clip
