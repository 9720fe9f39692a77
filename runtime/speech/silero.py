"""Silero VAD run with onnxruntime, plus a helper that turns a clip into speech segments.

The ONNX model ships inside the `silero-vad` wheel (`silero_vad/data/silero_vad.onnx`); we load
it through importlib.resources and never import torch. The model is recurrent: every call takes
one 512-sample chunk of 16 kHz audio (32 ms) prefixed with the last 64 samples of the previous
chunk (its "context"), plus a (2, 1, 128) state tensor, and returns a speech probability and the
next state. `SileroVAD` keeps that state and context per stream, and buffers the remainder when
a caller hands it audio that is not a multiple of 512 samples (the engine hands it 3200-sample
micro-turns = 6.25 chunks).

One `onnxruntime.InferenceSession` is shared by every `SileroVAD` in the process: the session is
read-only and `run` is thread-safe, while all per-stream state lives in the `SileroVAD` object.
The session runs with one intra-op thread, sequentially: a single 32 ms chunk costs ~0.07 ms,
and extra threads only fight the rest of the runtime for the cores.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
CHUNK = 512  # samples per model call at 16 kHz (32 ms); the model accepts no other size
CONTEXT = 64  # samples of the previous chunk the model sees in front of each new one
CHUNK_S = CHUNK / SAMPLE_RATE


@functools.lru_cache(maxsize=1)
def _session():
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3  # the shipped graph has unused initializers; ORT warns on each load
    model = importlib.resources.files("silero_vad.data") / "silero_vad.onnx"
    with importlib.resources.as_file(model) as path:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def _as_mono_float32(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio)
    if a.ndim != 1:
        raise ValueError(f"VAD expects 1-D mono audio, got shape {a.shape}")
    a = a.astype(np.float32, copy=False)
    if not np.all(np.isfinite(a)):
        raise ValueError("VAD audio contains NaN or infinity")
    return a


class SileroVAD:
    """Streaming voice-activity detector for one audio stream (16 kHz mono float32).

    `speech_prob(audio)` returns the **maximum** probability over the 32 ms chunks that this
    call completed, so a 200 ms micro-turn containing one short burst of speech reads as speech.
    If the call completed no chunk (fewer than 512 samples buffered so far), it returns the last
    probability seen (0.0 on a fresh stream). `chunk_probs(audio)` returns every chunk's
    probability instead. Not thread-safe: one instance per stream, used by one thread at a time.
    """

    sample_rate: int = SAMPLE_RATE

    def __init__(self) -> None:
        self._session = _session()
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Forget everything heard so far (start of a new stream)."""
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._last_prob = 0.0

    def chunk_probs(self, audio: np.ndarray) -> np.ndarray:
        """Feed `audio`; return the probability of every 512-sample chunk completed by it."""
        a = np.concatenate([self._pending, _as_mono_float32(audio)])
        n_chunks = len(a) // CHUNK
        probs = np.empty(n_chunks, dtype=np.float32)
        for i in range(n_chunks):
            chunk = a[i * CHUNK : (i + 1) * CHUNK]
            x = np.concatenate([self._context, chunk])[None, :]
            out, self._state = self._session.run(
                None, {"input": x, "state": self._state, "sr": self._sr}
            )
            probs[i] = out[0, 0]
            self._context = chunk[-CONTEXT:]
        self._pending = a[n_chunks * CHUNK :].copy()
        if n_chunks:
            self._last_prob = float(probs[-1])
        return probs

    def speech_prob(self, audio: np.ndarray) -> float:
        """Max speech probability over the chunks this call completed (see the class doc)."""
        probs = self.chunk_probs(audio)
        return float(probs.max()) if len(probs) else self._last_prob


@dataclass(frozen=True)
class SegmentOptions:
    """How `speech_segments` turns per-chunk probabilities into segments.

    threshold: a chunk at or above it starts (or continues) speech.
    release_threshold: inside speech, only chunks below it count as silence (hysteresis, so
        a segment does not flicker on a soft syllable).
    min_silence_s: silences shorter than this inside speech are bridged (segments merged).
    min_speech_s: segments shorter than this after merging are dropped (clicks, coughs).
    pad_s: widen each segment by this much on both sides (clamped to the clip), since the model's
        32 ms chunks quantise edges; merging is re-applied if padding makes segments touch.
    """

    threshold: float = 0.5
    release_threshold: float = 0.35
    min_silence_s: float = 0.2
    min_speech_s: float = 0.1
    pad_s: float = 0.0


def speech_segments(
    audio: np.ndarray, sample_rate: int = SAMPLE_RATE, options: SegmentOptions = SegmentOptions()
) -> list[tuple[float, float]]:
    """Speech segments `(start_s, end_s)` in a whole clip, in order and non-overlapping.

    Audio at another rate is resampled to 16 kHz first (Silero's native rate here). A chunk's
    segment time is its own span: chunk i covers [i, i+1) * 32 ms. Runs a fresh detector, so it
    never disturbs a live stream.
    """
    a = _as_mono_float32(audio)
    if sample_rate != SAMPLE_RATE:
        from microturn.runtime.speech.resample import resample

        a = resample(a, sample_rate, SAMPLE_RATE)
    duration = len(a) / SAMPLE_RATE
    tail = (-len(a)) % CHUNK  # score the last partial chunk too, padded with silence
    probs = SileroVAD().chunk_probs(np.concatenate([a, np.zeros(tail, np.float32)]))
    raw: list[list[float]] = []
    speaking = False
    for i, p in enumerate(probs):
        if not speaking and p >= options.threshold:
            speaking = True
            raw.append([i * CHUNK_S, (i + 1) * CHUNK_S])
        elif speaking and p >= options.release_threshold:
            raw[-1][1] = (i + 1) * CHUNK_S
        elif speaking:
            speaking = False
    merged = _merge(raw, options.min_silence_s)
    kept = [s for s in merged if s[1] - s[0] >= options.min_speech_s]
    if options.pad_s > 0:
        kept = [[max(0.0, s - options.pad_s), min(duration, e + options.pad_s)] for s, e in kept]
        kept = _merge(kept, 0.0)
    return [(round(s, 4), round(min(e, duration), 4)) for s, e in kept]


def _merge(segments: list[list[float]], max_gap_s: float) -> list[list[float]]:
    out: list[list[float]] = []
    for start, end in segments:
        if out and start - out[-1][1] <= max_gap_s:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return out
