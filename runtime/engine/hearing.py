"""What the engine's ear hears: voice activity per micro-turn, at the VAD's chunk resolution.

The engine scores every micro-turn with its own VAD (`hear`, in the step executor) for the
listener (listener.py), and the between-tick watch (watch.py) and the heuristic policy score the
input chunk by chunk (`vad_chunks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from microturn.runtime.engine.policy import MICRO_TURN_MS, SAMPLE_RATE
from microturn.runtime.speech.base import VAD

VAD_CHUNK_SAMPLES = 512  # Silero's chunk (32 ms); a VAD may say otherwise with `chunk_samples`


@dataclass(frozen=True)
class Hearing:
    """What the engine's VAD made of one micro-turn."""

    speech: bool               # the micro-turn holds speech
    prob: float                # the highest chunk probability in it
    trailing_silence_ms: int   # silence at its end (MICRO_TURN_MS when there was no speech)


def vad_chunks(vad: VAD, audio: np.ndarray, threshold: float) -> tuple[np.ndarray, float]:
    """Score audio at the VAD's chunk resolution: (speech flag per chunk, ms per chunk).
    Blocking: call it off the loop. A VAD without `chunk_probs` gives one chunk for the call."""
    chunk_probs = getattr(vad, "chunk_probs", None)
    if chunk_probs is None:
        return np.array([vad.speech_prob(audio) >= threshold]), len(audio) * 1000.0 / SAMPLE_RATE
    probs = np.asarray(chunk_probs(audio), dtype=np.float32)
    chunk_ms = 1000.0 * getattr(vad, "chunk_samples", VAD_CHUNK_SAMPLES) / SAMPLE_RATE
    return probs >= threshold, chunk_ms


def vad_turn(vad: VAD, audio: np.ndarray, threshold: float) -> tuple[int, int, float]:
    """Score one micro-turn at the VAD's chunk resolution (32 ms for Silero): returns
    (speech ms, trailing silence ms, highest probability). Blocking: call it off the loop.
    A VAD without `chunk_probs` is scored as one chunk."""
    chunk_probs = getattr(vad, "chunk_probs", None)
    probs = np.asarray(chunk_probs(audio) if chunk_probs else [vad.speech_prob(audio)], dtype=np.float32)
    if probs.size == 0:
        return 0, MICRO_TURN_MS, 0.0
    above = probs >= threshold
    if not above.any():
        return 0, MICRO_TURN_MS, float(probs.max())
    per_chunk = MICRO_TURN_MS / len(probs)
    trailing = len(above) - 1 - int(np.flatnonzero(above)[-1])
    return int(above.sum() * per_chunk), int(trailing * per_chunk), float(probs.max())


def hear(vad: VAD, audio: np.ndarray, threshold: float) -> Hearing:
    """What the engine's ear makes of one micro-turn (blocking: call it off the event loop)."""
    speech_ms, trailing_ms, prob = vad_turn(vad, audio, threshold)
    return Hearing(speech_ms > 0, prob, trailing_ms)
