"""The engine's ear for one session: voice activity per micro-turn and speech recognition.

Whatever floor policy runs, the engine keeps its own VAD and recogniser, because transcripts
and hooks are engine services. Per micro-turn it scores the audio with the VAD (in the step
executor, see `hear`), opens an utterance at the first speech (with one micro-turn of audio
before it, so the first syllable is not lost), feeds the recogniser while the utterance lasts
and finalises it after a long silence, or at once when the policy takes the turn.

With `partials` the utterance is streamed to the recogniser as it arrives (live
``transcript.delta`` events); without, it is buffered and decoded in one pass when it ends
(no partials, and no dependence on a recogniser's streaming mode).

Recogniser calls can block (finalising takes ~100 ms), so every call runs in an executor, one
after another per session (a chain of tasks keeps their order).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable

import numpy as np

from microturn.runtime.engine.policy import MICRO_TURN_MS
from microturn.runtime.speech.base import ASR, VAD


@dataclass(frozen=True)
class Hearing:
    """What the engine's VAD made of one micro-turn."""

    speech: bool               # the micro-turn holds speech
    prob: float                # the highest chunk probability in it
    trailing_silence_ms: int   # silence at its end (MICRO_TURN_MS when there was no speech)


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


class UserListener:
    """Utterance segmentation and recognition for one session. Used on the event loop only."""

    def __init__(self, asr: ASR, *, pause_ms: int, close_ms: int, partials: bool,
                 run_blocking: Callable[[Callable[[], object]], Awaitable[object]],
                 track: Callable[[asyncio.Task], None],
                 on_speech_started: Callable[[int], None], on_speech_stopped: Callable[[int], None],
                 on_partial: Callable[[str], None], on_final: Callable[[str, int, int], None]):
        self._asr = asr
        self.partials = partials          # stream to the recogniser (partials) or decode at the end
        self._buffer: list[np.ndarray] = []
        self.pause_ms = pause_ms
        self.close_ms = close_ms
        self._run_blocking = run_blocking
        self._track = track
        self._on_speech_started = on_speech_started
        self._on_speech_stopped = on_speech_stopped
        self._on_partial = on_partial
        self._on_final = on_final
        self.speaking = False            # speech within the last `pause_ms`
        self.silent_ms = 10 ** 9         # since the last speech ("forever" at the start)
        self.in_utterance = False
        self._utt_start_ms = 0
        self._last_speech_ms = 0
        self._preroll: np.ndarray | None = None
        self._stream = None
        self._tail: asyncio.Task | None = None
        self._finals: list[tuple[str, int, int]] = []
        self._turn_start_ms: int | None = None
        self._partial = ""

    # ---- per micro-turn ------------------------------------------------------------------

    def update(self, audio: np.ndarray, hearing: Hearing, media_ms: int) -> None:
        """Take one micro-turn (ending at `media_ms`) and what the VAD heard in it."""
        turn_start = media_ms - MICRO_TURN_MS
        if hearing.speech:
            self.silent_ms = hearing.trailing_silence_ms
            self._last_speech_ms = media_ms - hearing.trailing_silence_ms
            if not self.speaking:
                self.speaking = True
                self._on_speech_started(turn_start)
            if not self.in_utterance:
                self.in_utterance = True
                self._utt_start_ms = turn_start
                if self._turn_start_ms is None:
                    self._turn_start_ms = turn_start
                self._chain(self._open_stream)
                if self._preroll is not None:
                    self._feed(self._preroll)
            self._feed(audio)
        else:
            self.silent_ms += MICRO_TURN_MS
            if self.in_utterance:
                self._feed(audio)
                if self.silent_ms >= self.close_ms:
                    self._finish()
        if self.speaking and self.silent_ms >= self.pause_ms:
            self.speaking = False
            self._on_speech_stopped(self._last_speech_ms)
        self._preroll = audio

    def end_turn(self) -> "asyncio.Task[tuple[str, int, int]]":
        """The policy took the turn: finalise what is open; the task gives (text, start, end)."""
        if self.in_utterance:
            self._finish()
        start = self._turn_start_ms if self._turn_start_ms is not None else self._last_speech_ms
        end = self._last_speech_ms
        self._turn_start_ms = None
        prev = self._tail

        async def collect() -> tuple[str, int, int]:
            if prev is not None:
                await asyncio.wait([prev])
            texts = [t for t, _, _ in self._finals if t]
            self._finals.clear()
            return " ".join(texts), start, end

        task = asyncio.get_running_loop().create_task(collect())
        self._tail = task
        self._track(task)
        return task

    # ---- recogniser calls, in order, off the loop ----------------------------------------

    def _chain(self, blocking: Callable[[], object], then: Callable[[object], None] | None = None) -> None:
        prev = self._tail

        async def run() -> None:
            if prev is not None:
                await asyncio.wait([prev])
            try:
                result = await self._run_blocking(blocking)
            except Exception as exc:  # a recogniser failure loses this utterance only
                import logging

                logging.getLogger(__name__).warning("ASR call failed: %s", exc)
                return
            if then is not None:
                then(result)

        self._tail = task = asyncio.get_running_loop().create_task(run())
        self._track(task)

    def _open_stream(self) -> None:
        if self.partials:
            self._stream = self._asr.stream()

    def _feed(self, audio: np.ndarray) -> None:
        if not self.partials:
            self._buffer.append(audio)
            return

        def feed() -> str:
            return self._stream.feed(audio) if self._stream is not None else ""

        def partial(text: object) -> None:
            if isinstance(text, str) and text and text != self._partial:
                self._partial = text
                self._on_partial(text)

        self._chain(feed, partial)

    def _finish(self) -> None:
        self.in_utterance = False
        start, end = self._utt_start_ms, self._last_speech_ms

        buffered, self._buffer = self._buffer, []

        def finish():
            if not self.partials:
                return self._asr.transcribe(np.concatenate(buffered)) if buffered else None
            stream, self._stream = self._stream, None
            return stream.finish() if stream is not None else None

        def final(transcript: object) -> None:
            self._partial = ""
            text = getattr(transcript, "text", "") or ""
            text = " ".join(text.split())
            self._finals.append((text, start, end))
            if text:
                self._on_final(text, start, end)

        self._chain(finish, final)

    def close(self) -> None:
        """The session ended: abandon an open utterance (its decoder goes back to the ASR)."""
        if not self.in_utterance:
            return
        self.in_utterance = False
        self._buffer = []

        def cancel() -> None:
            stream, self._stream = self._stream, None
            if stream is not None and hasattr(stream, "cancel"):
                stream.cancel()

        self._chain(cancel)

    @property
    def busy(self) -> asyncio.Task | None:
        """The last recogniser call still pending, if any (for settling virtual time)."""
        return self._tail if self._tail is not None and not self._tail.done() else None
