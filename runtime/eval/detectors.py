"""Where scoring gets its timings: Silero VAD segments and pocketsphinx word timings.

FD-bench's public code takes word timings from its own ASR; we use pocketsphinx (general
English LM, `PocketsphinxASR.words`: the clip cut at pauses by Silero VAD, each piece decoded
alone, fillers dropped). Absolute take-over rates can therefore differ from theirs on the same
audio: the notes record one system whose pause score moved 0.856 -> 0.111 with another ASR.
Speech segments come from Silero VAD, as in FD-bench.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from microturn.runtime.eval.metrics import Segment, Word

SR = 16_000


class Detector(Protocol):
    def segments(self, audio: np.ndarray) -> list[Segment]: ...

    def words(self, audio: np.ndarray) -> list[Word]: ...


@dataclass
class SpeechDetector:
    """Silero VAD + pocketsphinx (general LM), built lazily: each worker process makes its own."""

    _asr: object = field(default=None, repr=False)

    def segments(self, audio: np.ndarray) -> list[Segment]:
        from microturn.runtime.speech.silero import speech_segments

        return [tuple(s) for s in speech_segments(np.asarray(audio, np.float32), SR)]

    def words(self, audio: np.ndarray) -> list[Word]:
        if self._asr is None:
            from microturn.runtime.speech.sphinx import PocketsphinxASR

            self._asr = PocketsphinxASR()
        words = self._asr.words(np.asarray(audio, np.float32), SR)
        return sorted(((w.lower(), s, e) for w, s, e in words), key=lambda w: w[1])
