"""The agent's voice for one session: a queue of utterances, synthesised off the loop, played
20 ms at a time, and cut at once when the floor is lost.

Each utterance is synthesised sentence by sentence in an executor (the TTS yields one chunk per
sentence), resampled to the 48 kHz output rate and appended while earlier audio is already
playing. `pull` hands out exactly one 20 ms frame per call: the next samples of the head
utterance (running on into the next one, so there are no gaps between utterances), silence when
nothing is queued. The voice counts the samples played per utterance, so when it is cut the
text "heard" is estimated from them: whole sentences played, plus the words of the current
sentence in proportion to its samples played (a prefix, never a word that was cut short).
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Protocol

import numpy as np

from microturn.runtime.engine.ports import OUT_FRAME_SAMPLES, OUT_SAMPLE_RATE
from microturn.runtime.speech.base import TTS

@dataclass(eq=False)  # identity, not field equality: utterances hold numpy chunks
class Utterance:
    """One thing the agent says: a `say()`, a backchannel or an interjection."""

    speech_id: str
    text: str
    kind: str = "say"                    # "say" | "backchannel" | "interjection" | "policy"
    interjection_id: str = ""
    interruptible: bool = True           # False: a barge-in does not cut it
    chunks: deque = field(default_factory=deque)      # 48 kHz float32 arrays not yet played
    sentences: list = field(default_factory=list)     # [(text, n_samples)] synthesised so far
    synthesized: bool = False            # every sentence is in `sentences`
    failed: str = ""                     # TTS error, if any
    played: int = 0                      # samples handed out so far
    started_ms: int = -1                 # media time of the first frame played; -1 = not yet

    @property
    def total_samples(self) -> int:
        return sum(n for _, n in self.sentences)

    def played_text(self) -> str:
        """What the listener has heard so far: a prefix of `text` ending at a whole word."""
        if self.synthesized and self.played >= self.total_samples:
            return self.text
        heard: list[str] = []
        left = self.played
        for sentence, n in self.sentences:
            if left >= n:
                heard.append(sentence)
                left -= n
                continue
            words = sentence.split()
            whole = int(len(words) * left / n) if n else 0
            if whole:
                heard.append(" ".join(words[:whole]))
            break
        return " ".join(heard)


class VoiceListener(Protocol):
    """Told by the voice when an utterance starts playing and when it ends (played or cut)."""

    def speech_started(self, utt: Utterance) -> None: ...

    def speech_ended(self, utt: Utterance, interrupted: bool) -> None: ...


def split_sentences(text: str) -> list[str]:
    """Sentences as the TTS will voice them (split after . ! ? followed by space)."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


class AgentVoice:
    """Utterance queue + outgoing 48 kHz audio for one session. Used on the event loop only."""

    def __init__(self, tts: TTS, listener: VoiceListener,
                 run_blocking: Callable[[Callable[[], object]], Awaitable[object]],
                 track: Callable[[asyncio.Task], None], now_ms: Callable[[], int],
                 on_underrun: Callable[[], None] = lambda: None):
        self._tts = tts
        self._listener = listener
        self._run_blocking = run_blocking
        self._track = track
        self._now_ms = now_ms
        self._on_underrun = on_underrun
        self.queue: deque[Utterance] = deque()
        self._synth_tail: asyncio.Task | None = None
        self.underrun_frames = 0
        self.idle_since_ms = 0        # media time the voice last went quiet
        self.paused = False           # held: silence out, nothing consumed (`TurnDecision.hold`)
        self._closed = False

    # ---- state ---------------------------------------------------------------------------

    @property
    def speaking(self) -> bool:
        """Something is queued or playing."""
        return bool(self.queue)

    @property
    def current(self) -> Utterance | None:
        return self.queue[0] if self.queue else None

    def has_interjection(self) -> bool:
        return any(u.kind == "interjection" for u in self.queue)

    # ---- queueing and synthesis ----------------------------------------------------------

    def enqueue(self, utt: Utterance, *, next_up: bool = False) -> None:
        """Queue an utterance (after the one playing when `next_up`) and start synthesising it."""
        if self._closed:
            self._listener.speech_ended(utt, True)
            return
        if not self.queue:
            self.idle_since_ms = self._now_ms()
        if next_up and self.queue:
            self.queue.insert(1, utt)
        else:
            self.queue.append(utt)
        prev = self._synth_tail

        async def synth() -> None:
            if prev is not None:
                await asyncio.wait([prev])  # keep synthesis in queue order; ignore its outcome
            await self._synthesize(utt)

        self._synth_tail = task = asyncio.get_running_loop().create_task(synth())
        self._track(task)

    async def _synthesize(self, utt: Utterance) -> None:
        from microturn.runtime.speech.resample import resample

        sentences = split_sentences(utt.text) or [utt.text]
        sr = self._tts.sample_rate

        def to_out(chunks: list) -> np.ndarray | None:  # TTS rate -> 48 kHz, in the executor
            chunks = [np.asarray(c, np.float32) for c in chunks if c is not None and len(c)]
            return resample(np.concatenate(chunks), sr, OUT_SAMPLE_RATE) if chunks else None

        gen = None

        def next_sentence(last: bool) -> np.ndarray | None:
            # the TTS splits sentences its own way: map its chunks onto ours, any rest to the last
            nonlocal gen
            if gen is None:  # started in the same executor job as the first chunk: one hop less
                gen = iter(self._tts.synthesize(utt.text))
            return to_out(list(gen) if last else [next(gen, None)])

        try:
            for i, sentence in enumerate(sentences):
                if utt not in self.queue:  # cut before it was synthesised
                    return
                last = i == len(sentences) - 1
                audio = await self._run_blocking(lambda: next_sentence(last))
                if audio is None:
                    break
                utt.chunks.append(audio)
                utt.sentences.append((sentence, len(audio)))
        except Exception as exc:  # a TTS failure ends this utterance, not the session
            utt.failed = f"{type(exc).__name__}: {exc}"
        finally:
            # sentences the TTS produced no audio for are folded into the last one we have
            said = len(utt.sentences)
            if 0 < said < len(sentences):
                text, n = utt.sentences[-1]
                utt.sentences[-1] = (" ".join([text, *sentences[said:]]), n)
            utt.synthesized = True

    # ---- playback ------------------------------------------------------------------------

    def pull(self) -> np.ndarray:
        """Exactly one 20 ms frame at 48 kHz: queued speech, or silence (also while paused,
        which keeps the queue where it is)."""
        out = np.zeros(OUT_FRAME_SAMPLES, np.float32)
        if self.paused:
            return out
        filled = 0
        while filled < OUT_FRAME_SAMPLES and self.queue:
            utt = self.queue[0]
            if utt.chunks:
                if utt.started_ms < 0:
                    utt.started_ms = self._now_ms()
                    self._listener.speech_started(utt)
                chunk = utt.chunks[0]
                take = min(len(chunk), OUT_FRAME_SAMPLES - filled)
                out[filled:filled + take] = chunk[:take]
                filled += take
                utt.played += take
                if take == len(chunk):
                    utt.chunks.popleft()
                else:
                    utt.chunks[0] = chunk[take:]
            elif utt.synthesized:
                self.queue.popleft()
                self._listener.speech_ended(utt, bool(utt.failed))
                if not self.queue:
                    self.idle_since_ms = self._now_ms()
            else:
                if utt.started_ms >= 0:
                    self.underrun_frames += 1  # synthesis fell behind playback: a gap
                    self._on_underrun()
                break
        return out

    def cut(self, speech_id: str | None = None, *, barge_in: bool = False) -> list[Utterance]:
        """Stop `speech_id` (or everything, when None) now; returns the utterances cut.
        For a barge-in, utterances that are not interruptible are spared."""
        victims = [u for u in self.queue if (speech_id is None or u.speech_id == speech_id)
                   and (u.interruptible or not barge_in)]
        for utt in victims:
            self.queue.remove(utt)
            utt.chunks.clear()
        for utt in victims:
            self._listener.speech_ended(utt, True)
        if victims and not self.queue:
            self.idle_since_ms = self._now_ms()
            self.paused = False
        return victims

    def close(self) -> None:
        """Cut everything and refuse new utterances."""
        self.cut()
        self._closed = True
