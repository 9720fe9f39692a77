"""The small Protocols behind which speech components plug in: VAD, ASR, TTS.

The engine only ever talks to these; the bundled providers are Silero VAD (onnxruntime),
pocketsphinx and eSpeak NG, and a user with a GPU or a cloud account can drop in Whisper or a
neural TTS by implementing the same few methods. Audio is float32 mono in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class VAD(Protocol):
    """Voice activity: speech probability for a chunk of 16 kHz audio. Stateful per stream."""

    sample_rate: int

    def speech_prob(self, audio: np.ndarray) -> float:
        """Probability in [0, 1] that `audio` (any length, 16 kHz) contains speech."""
        ...

    def reset(self) -> None: ...


@dataclass
class Transcript:
    text: str
    words: list[tuple[str, float, float]]  # (word, start_s, end_s) relative to utterance start, may be empty


@runtime_checkable
class ASRStream(Protocol):
    """One utterance being recognised incrementally."""

    def feed(self, audio: np.ndarray) -> str:
        """Add 16 kHz audio; returns the current partial hypothesis (may be "")."""
        ...

    def finish(self) -> Transcript:
        """End the utterance and return the final transcript. May block ~100 ms: call off-loop."""
        ...


@runtime_checkable
class ASR(Protocol):
    sample_rate: int

    def stream(self) -> ASRStream: ...

    def transcribe(self, audio: np.ndarray) -> Transcript: ...


@runtime_checkable
class TTS(Protocol):
    """Text to speech; `synthesize` yields float32 chunks at `sample_rate` as they are made."""

    sample_rate: int

    def synthesize(self, text: str, voice: str | None = None) -> Iterator[np.ndarray]: ...
