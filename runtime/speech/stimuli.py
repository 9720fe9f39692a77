"""Test and bench audio built from text, with every boundary known by construction.

`render_speech([(0.5, "what is seven times eight"), (4.0, "thanks")])` speaks each text with
eSpeak NG, trims eSpeak's own leading and trailing silence, places the speech so that it starts
exactly at the given time, mixes everything into one 16 kHz clip over a faint noise floor, and
returns the clip with the true start and end of every segment's speech. Tests, `microturn bench`
and the FD-bench-style stimulus synthesizer all build on it; WAV I/O lives in `wav.py` and is
re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from microturn.runtime.speech.espeak import EspeakTTS
from microturn.runtime.speech.resample import resample
from microturn.runtime.speech.wav import read_wav, write_wav

__all__ = ["Utterance", "SpokenSegment", "render_speech", "speak", "trim_silence", "read_wav", "write_wav"]

# Samples quieter than this (|x|, full scale 1.0) at either end count as silence: about -54 dBFS,
# well under eSpeak's quietest consonants and over resampling ripple.
SILENCE_LEVEL = 0.002


@dataclass(frozen=True)
class Utterance:
    """One text to place in a clip. None fields fall back to `render_speech`'s arguments;
    `gain_db` scales this utterance (e.g. a quieter background talker)."""

    start_s: float
    text: str
    voice: str | None = None
    rate: int | None = None
    pitch: int | None = None
    gain_db: float = 0.0


@dataclass(frozen=True)
class SpokenSegment:
    """Where an utterance's speech really is in the rendered clip (seconds from clip start)."""

    text: str
    start_s: float
    end_s: float
    voice: str


def trim_silence(audio: np.ndarray, level: float = SILENCE_LEVEL) -> tuple[np.ndarray, int]:
    """Cut leading and trailing samples quieter than `level`; returns (trimmed, samples cut in
    front). All-silent audio trims to empty."""
    loud = np.nonzero(np.abs(audio) > level)[0]
    if len(loud) == 0:
        return audio[:0], 0
    return audio[loud[0] : loud[-1] + 1], int(loud[0])


_tts_cache: dict[tuple[str, int, int], EspeakTTS] = {}


def speak(text: str, sample_rate: int = 16000, voice: str = "en-us", rate: int = 175, pitch: int = 50) -> np.ndarray:
    """`text` as float32 speech at `sample_rate`, trimmed of leading/trailing silence."""
    key = (voice, int(rate), int(pitch))
    if key not in _tts_cache:
        _tts_cache[key] = EspeakTTS(voice, rate, pitch)
    tts = _tts_cache[key]
    audio = resample(tts.synthesize_all(text), tts.sample_rate, sample_rate)
    return trim_silence(audio)[0]


def render_speech(
    segments: list[tuple[float, str]] | list[Utterance],
    sample_rate: int = 16000,
    voice: str = "en-us",
    rate: int = 175,
    pitch: int = 50,
    noise_db: float | None = -60.0,
    duration_s: float | None = None,
    tail_s: float = 0.5,
    seed: int = 0,
) -> tuple[np.ndarray, int, list[SpokenSegment]]:
    """Render `(start_s, text)` pairs (or `Utterance`s) into one mono float32 clip.

    Each utterance's trimmed speech starts at its `start_s` (rounded to a sample). Utterances
    may overlap (they are summed; the mix is clipped to [-1, 1]). The clip lasts `duration_s`,
    or until `tail_s` after the last speech ends. `noise_db` is the RMS of a white Gaussian
    noise floor in dBFS (None: exact silence, which breaks pocketsphinx); `seed` fixes it.
    Returns (audio, sample_rate, boundaries), boundaries in the order given.
    Texts that produce no sound (empty, only punctuation) get a zero-length segment.
    """
    utterances = [s if isinstance(s, Utterance) else Utterance(float(s[0]), str(s[1])) for s in segments]
    placed: list[tuple[int, np.ndarray, SpokenSegment]] = []
    for u in utterances:
        if u.start_s < 0:
            raise ValueError(f"utterance {u.text!r} starts before the clip ({u.start_s} s)")
        v = u.voice or voice
        speech = speak(u.text, sample_rate, v, u.rate or rate, u.pitch or pitch) * 10 ** (u.gain_db / 20)
        start = int(round(u.start_s * sample_rate))
        seg = SpokenSegment(u.text, start / sample_rate, (start + len(speech)) / sample_rate, v)
        placed.append((start, speech, seg))
    speech_end = max((start + len(a) for start, a, _ in placed), default=0)
    if duration_s is None:
        n = speech_end + int(round(tail_s * sample_rate))
    else:
        n = int(round(duration_s * sample_rate))
        if n < speech_end:
            raise ValueError(f"duration_s={duration_s} cuts off speech ending at {speech_end / sample_rate:.3f} s")
    mix = np.zeros(n, np.float32)
    for start, speech, _ in placed:
        mix[start : start + len(speech)] += speech
    if noise_db is not None:
        rng = np.random.default_rng(seed)
        mix += rng.normal(0.0, 10 ** (noise_db / 20), n).astype(np.float32)
    np.clip(mix, -1.0, 1.0, out=mix)
    return mix, sample_rate, [seg for _, _, seg in placed]
