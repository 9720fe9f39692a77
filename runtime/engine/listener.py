"""The engine's ear for one session: voice activity per micro-turn and speech recognition.

Whatever floor policy runs, the engine keeps its own VAD and recogniser, because transcripts
and hooks are engine services. Per micro-turn it scores the audio with the VAD (in the step
executor, see `hear`), opens an utterance at the first speech (with one micro-turn of audio
before it, so the first syllable is not lost), feeds the recogniser while the utterance lasts
and finalises it after a long silence, or at once when the policy takes the turn.

With `partials` the utterance is streamed to the recogniser as it arrives (live
``transcript.delta`` events); without, it is buffered and decoded in one pass when it ends
(no partials, and no dependence on a recogniser's streaming mode).

Speculative finalising. Finalising costs ~100 ms, and waiting for it after the policy takes the
turn would add all of it to the answer's latency. So as soon as the user has paused for
`SPECULATE_AFTER_MS`, the utterance is finalised *speculatively* (the stream is finished, or
the buffer decoded in one pass): the end-of-turn hangover then hides the decode. If the turn is
taken with no speech since, that result is the final one. If the user speaks again, it is
dropped, and in streaming mode a new stream is opened and fed the whole utterance so far, so
the recogniser still decodes the utterance as one piece of audio. Re-feeding costs recogniser
time that grows with the utterance, so utterances longer than `SPECULATE_MAX_MS` are not
finalised speculatively (a long turn pays the ~100 ms once, at its end).

The turn-end word check. With a `TurnWordsCheck` (an app grammar's: `speech/grammar_fit.py`),
every speculative decode also asks it whether the utterance so far is a whole request; the
verdict goes to the floor policy (`TurnInput.words_complete`, valid while the user stays silent)
and, as soon as it is in, to the session (`on_words`), which can take the turn between ticks.

Speculating between ticks. The listener hears the input a micro-turn at a time, so a pause that
starts just after a tick is first seen ~200 ms later, and its decode and word check start only
then. The session's between-tick watch hears the input in 32 ms chunks; when it hears the pause
(64 ms of silence after speech) it hands the listener the input since the last tick
(`speculate_ahead`), which checks the utterance up to there at once and decodes it after (a
take waits only for the verdict). At the next
tick, if no speech came after what it covered, that result becomes the tick's speculation (no
second decode); if its verdict comes before the tick, the session may take the turn on it
(`commit_ahead`): the utterance then ends where the watch heard the speech end, and the next
tick's audio up to there, already part of it, opens no new utterance.

Recogniser calls can block (finalising takes ~100 ms), so every call runs in an executor, one
after another per session (a chain of tasks keeps their order).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

import numpy as np

from microturn.runtime import metrics
from microturn.runtime.engine.hearing import Hearing
from microturn.runtime.engine.policy import MICRO_TURN_MS, SAMPLE_RATE
from microturn.runtime.speech.base import ASR
from microturn.runtime.speech.grammar_fit import TurnWordsCheck

log = logging.getLogger(__name__)

SPECULATE_AFTER_MS = 64     # pause (2 Silero chunks) after which the utterance is finalised speculatively
SPECULATE_MAX_MS = 10_000   # longer utterances are not (see the module doc)


@dataclass
class Ahead:
    """A speculation started between ticks, on the utterance plus the input since the last tick."""

    extra: np.ndarray         # the input after the last tick's audio, up to the pause
    end_ms: int               # media time the decoded audio reaches
    speech_end_ms: int        # media time the watch heard the speech end
    token: int                # the caller's mark (an input position), handed back with the verdict
    judged: bool = False      # the word check is done: `verdict` (None: it failed)
    verdict: bool | None = None
    decoded: bool = False     # the recogniser is done: `transcript`
    transcript: object = None
    key: int | None = None    # once a tick or a take owns it: the last speech ms it stands for


class UserListener:
    """Utterance segmentation and recognition for one session. Used on the event loop only."""

    def __init__(self, asr: ASR, *, pause_ms: int, close_ms: int, partials: bool,
                 run_blocking: Callable[[Callable[[], object]], Awaitable[object]],
                 track: Callable[[asyncio.Task], None],
                 on_speech_started: Callable[[int], None], on_speech_stopped: Callable[[int], None],
                 on_partial: Callable[[str], None], on_final: Callable[[str, int, int], None],
                 turn_words: TurnWordsCheck | None = None, on_words: Callable[[bool], None] | None = None,
                 on_words_ahead: Callable[[bool, Ahead], None] | None = None):
        self._asr = asr
        self._turn_words = turn_words     # the turn-end word check, run with every speculative decode
        self._on_words = on_words
        self._on_words_ahead = on_words_ahead   # a between-tick speculation's verdict, before any tick took it
        self._ahead: Ahead | None = None         # the between-tick speculation no tick has taken over yet
        self._consumed_ms = -1                   # speech up to here belongs to a turn taken between ticks
        self._media_ms = 0                       # the end of the last micro-turn taken (media time)
        self._words: tuple[int, bool] | None = None   # (last speech ms it covers, whole request?)
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
        self._spec: tuple[int, object] | None = None   # (last speech ms it covers, transcript)
        self._spec_for: int | None = None              # last speech ms a speculation was started for
        self._stream_live = False                      # streaming: a stream is open (loop's view)

    # ---- per micro-turn ------------------------------------------------------------------

    def update(self, audio: np.ndarray, hearing: Hearing, media_ms: int) -> bool:
        """Take one micro-turn (ending at `media_ms`) and what the VAD heard in it; returns
        whether it heard new speech (not the end of an utterance a between-tick take closed)."""
        turn_start = media_ms - MICRO_TURN_MS
        self._media_ms = media_ms
        new_speech = hearing.speech and media_ms - hearing.trailing_silence_ms > self._consumed_ms
        if hearing.speech and not new_speech:
            self.silent_ms = media_ms - self._last_speech_ms   # the committed utterance's end
        elif new_speech:
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
                self._buffer = []
                self._open_stream()
                if self._preroll is not None:
                    self._feed(self._preroll)
            elif self.partials and not self._stream_live:
                self._reopen_stream()  # speech after a speculative finish: the utterance goes on
            self._feed(audio)
            self._speculate()
        else:
            self.silent_ms += MICRO_TURN_MS
            if self.in_utterance:
                self._feed(audio)
                if self.silent_ms >= self.close_ms:
                    self._finish()
                else:
                    self._speculate()
        if self._ahead is not None:
            self._take_ahead()
        if self.speaking and self.silent_ms >= self.pause_ms:
            self.speaking = False
            self._on_speech_stopped(self._last_speech_ms)
        self._preroll = audio
        return new_speech

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
                log.warning("ASR call failed: %s", exc)
                return
            if then is not None:
                then(result)

        self._tail = task = asyncio.get_running_loop().create_task(run())
        self._track(task)

    def _open_stream(self) -> None:
        if not self.partials:
            return
        self._stream_live = True

        def open_stream() -> None:
            self._stream = self._asr.stream()

        self._chain(open_stream)

    def _reopen_stream(self) -> None:
        """A new stream for the utterance so far (its earlier one was finished speculatively)."""
        so_far = np.concatenate(self._buffer) if self._buffer else None
        self._open_stream()
        if so_far is not None:
            self._chain(lambda: self._stream.feed(so_far) if self._stream is not None else "")

    def _feed(self, audio: np.ndarray) -> None:
        self._buffer.append(audio)  # the whole utterance: speculation and re-opening need it
        if not self.partials or not self._stream_live:
            return

        def feed() -> str:
            return self._stream.feed(audio) if self._stream is not None else ""

        def partial(text: object) -> None:
            if isinstance(text, str) and text and text != self._partial:
                self._partial = text
                self._on_partial(text)

        self._chain(feed, partial)

    def _speculate(self) -> None:
        """The user paused: finalise the utterance now, in case the turn ends here."""
        if (not self.in_utterance or not self._buffer or self.silent_ms < SPECULATE_AFTER_MS
                or self._spec_for == self._last_speech_ms
                or sum(len(a) for a in self._buffer) > SPECULATE_MAX_MS * SAMPLE_RATE // 1000):
            return
        if self._take_ahead():
            return
        key = self._spec_for = self._last_speech_ms
        buffered = list(self._buffer)
        streaming = self.partials and self._stream_live
        self._stream_live = False

        check = self._turn_words

        def decode():
            if streaming:
                stream, self._stream = self._stream, None
                transcript = stream.finish() if stream is not None else None
            else:
                transcript = self._asr.transcribe(np.concatenate(buffered))
            return transcript, self._judge(check, buffered)

        self._chain(decode, lambda result: self._keep(key, result))

    def _keep(self, key: int, result: object) -> None:
        """A speculation for the utterance up to speech ms `key` is in: keep it for the turn's end."""
        transcript, complete = result
        self._spec = (key, transcript)
        self._words_for(key, complete)

    # ---- speculating between ticks (see the module doc) ---------------------------------------

    @property
    def has_word_check(self) -> bool:
        return self._turn_words is not None

    def speculate_ahead(self, extra: np.ndarray, speech_end: int, token: int) -> Ahead | None:
        """The watch heard the user pause; `extra` is the input since the last tick's audio, up to
        that moment, and `speech_end` where in it (samples; negative: before it) their speech
        ended. Check and decode the utterance up to there now. Returns the speculation, or None
        when there is none to make."""
        extra = np.asarray(extra, dtype=np.float32).reshape(-1)
        end_ms = self._media_ms + extra.size * 1000 // SAMPLE_RATE
        speech_end_ms = self._media_ms + speech_end * 1000 // SAMPLE_RATE
        covered = self._spec_for == self._last_speech_ms   # the tick's own speculation has all the speech
        if (not self.in_utterance or not self._buffer or (covered and speech_end_ms <= self._last_speech_ms)
                or sum(len(a) for a in self._buffer) + extra.size > SPECULATE_MAX_MS * SAMPLE_RATE // 1000):
            return None   # nothing new since the tick (its own speculation covers it), or too long
        ahead = self._ahead = Ahead(extra, end_ms, min(max(speech_end_ms, self._last_speech_ms), end_ms), token)
        audio = self._buffer + [extra]
        check = self._turn_words
        streaming = self.partials and self._stream_live
        if streaming:
            self._stream_live = False   # finished below; speech after the pause reopens one

        def judged(verdict: object) -> None:
            ahead.judged, ahead.verdict = True, verdict
            if ahead.key is not None:            # a tick took it over meanwhile
                self._words_for(ahead.key, verdict)
                if verdict is False and self._spec_for == ahead.key:
                    self._spec_for = None        # judged again on the next tick's cut
            elif self._ahead is ahead and verdict is not None and self._on_words_ahead is not None:
                self._on_words_ahead(verdict, ahead)

        def words() -> object:
            if streaming:   # the stream has the utterance up to the last tick: add the rest
                stream, self._stream = self._stream, None
                if stream is None:
                    return None
                stream.feed(extra)
                return stream.finish()
            return self._asr.transcribe(np.concatenate(audio))

        def decoded(transcript: object) -> None:
            ahead.decoded, ahead.transcript = True, transcript
            if ahead.key is not None:
                self._spec = (ahead.key, transcript)

        # the verdict first: it is what a take waits for (a 2.5 s question: the check ~130 ms, a
        # one-pass decode ~170 ms on this machine); the words are needed only when the turn ends,
        # and `_finish` is chained after them
        self._chain(lambda: self._judge(check, audio), judged)
        self._chain(words, decoded)
        return ahead

    def _words_for(self, key: int, verdict: object) -> None:
        """A verdict on the utterance up to speech ms `key`: keep it and tell the session."""
        if verdict is None:
            return
        self._words = (key, bool(verdict))
        if self._on_words is not None and self._last_speech_ms == key:
            self._on_words(bool(verdict))

    def _take_ahead(self) -> bool:
        """At a tick: a between-tick speculation that covers all the speech so far becomes this
        tick's (True); one with speech after it is dropped. "Not a whole request" is not taken
        as final: the check is judged again on the tick's own cut, which holds more of the
        silence after the words (the grammar's verdict flips on a few utterances with the cut:
        2 of 60 pauses, 0 of 60 questions of four suites between 170 ms after the words and the
        tick's cut, measured 2026-11-27; one flipped question waited for the 1.2 s fallback)."""
        ahead = self._ahead
        if ahead is None:
            return False
        self._ahead = None
        if not self.in_utterance or self._last_speech_ms > ahead.end_ms:
            return False
        if ahead.judged and ahead.verdict is False:
            return False   # judged again on the tick's cut (see `speculate_ahead`'s `judged`)
        self._own(ahead, tell=True)
        return True

    def _own(self, ahead: Ahead, tell: bool) -> None:
        """`ahead` now stands for the utterance up to `_last_speech_ms`: its words and verdict,
        and what is still to come of them, are that utterance's (`tell`: the verdict goes to the
        session as a tick's would)."""
        ahead.key = self._spec_for = self._last_speech_ms
        if ahead.decoded:   # else `decoded` sets it when it comes (before any `_finish`, chained after)
            self._spec = (ahead.key, ahead.transcript)
        if ahead.judged and ahead.verdict is not None:
            if tell:
                self._words_for(ahead.key, ahead.verdict)
            else:
                self._words = (ahead.key, bool(ahead.verdict))

    def commit_ahead(self, ahead: Ahead) -> bool:
        """The session takes the turn on `ahead`'s verdict before any tick took it over: the
        utterance ends where the watch heard the speech end, with its words once decoded (False:
        it is stale, nothing changed)."""
        if ahead is not self._ahead or not ahead.judged or not self.in_utterance:
            return False
        self._ahead = None
        self._buffer.append(ahead.extra)
        self._last_speech_ms = max(self._last_speech_ms, ahead.speech_end_ms)
        self._consumed_ms = ahead.end_ms
        self._own(ahead, tell=False)   # the session is taking the turn on this verdict already
        return True

    @staticmethod
    def _judge(check: TurnWordsCheck | None, buffered: list[np.ndarray]) -> bool | None:
        """The turn-end word check on the utterance so far (None: no check, or it failed)."""
        if check is None:
            return None
        started = time.perf_counter()
        try:
            whole = bool(check.complete(np.concatenate(buffered)))
        except Exception as exc:  # a failing check costs its verdict, not the transcript
            log.warning("turn-end word check failed: %s", exc)
            metrics.TURN_WORDS.labels(verdict="failed").inc()
            return None
        metrics.TURN_WORDS_SECONDS.observe(time.perf_counter() - started)
        metrics.TURN_WORDS.labels(verdict="whole" if whole else "not_whole").inc()
        return whole

    @property
    def words_complete(self) -> bool | None:
        """The word check's verdict on the utterance as it was when the user last stopped
        speaking; None while they speak again, before the check returns, or without one."""
        if self._words is None or not self.in_utterance or self._words[0] != self._last_speech_ms:
            return None
        return self._words[1]

    def _finish(self) -> None:
        self.in_utterance = False
        self._ahead = None
        start, end = self._utt_start_ms, self._last_speech_ms

        buffered, self._buffer = self._buffer, []
        self._spec_for = None
        self._stream_live = False

        def finish():
            spec, self._spec = self._spec, None
            stream, self._stream = self._stream, None
            if spec is not None and spec[0] == end:  # no speech since it was finalised
                if stream is not None:  # not finished by the speculation: give its decoder back
                    _cancel(stream)
                return spec[1]
            if stream is not None:
                return stream.finish()
            return self._asr.transcribe(np.concatenate(buffered)) if buffered else None

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
        self._ahead = None
        self._buffer = []
        self._stream_live = False

        def cancel() -> None:
            stream, self._stream = self._stream, None
            if stream is not None:
                _cancel(stream)

        self._chain(cancel)

    @property
    def busy(self) -> asyncio.Task | None:
        """The last recogniser call still pending, if any (for settling virtual time)."""
        return self._tail if self._tail is not None and not self._tail.done() else None


def _cancel(stream: object) -> None:
    """Give an unfinished recogniser stream back (streams without `cancel` are just dropped)."""
    cancel = getattr(stream, "cancel", None)
    if cancel is not None:
        cancel()
