"""`EngineOptions`: every engine knob in one typed place, each with its documented default."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EngineOptions:
    """Engine settings. Times are milliseconds of media time unless said otherwise.

    vad_threshold: a VAD chunk at or above this probability counts as speech (engine ear).
    user_pause_ms: silence after which the user counts as "not speaking" (user.speech.stopped,
        and the pause a ``next_pause`` interjection waits for: one micro-turn).
    utterance_close_ms: silence after which an open ASR utterance is finalised even if the
        policy has not taken the turn (keeps utterances tight for the recogniser).
    idle_ms: how long neither side must have spoken before a ``when_idle`` interjection.
    review_timeout_ms: how long an interjection waits for the agent's `on_interjection`
        verdict before it is treated as approved unchanged.
    max_backlog_ms: inbound audio left over after a micro-turn is cut is kept up to this much;
        older audio is dropped (after a network burst, say), so the input never lags the clock
        by more than this and turn-taking stays prompt.
    max_say_chars: longer `say()` texts are cut to this length (a runaway agent must not
        monopolise the TTS).
    video_change_threshold: mean absolute pixel difference (0-255) that counts as a visual
        change worth an `on_visual_change`.
    asr_partials: stream each utterance to the recogniser for live partial transcripts (the
        default); when False an utterance is decoded in one batch pass when it ends. With
        pocketsphinx the final words are the same either way (with a grammar they come from a
        batch pass in `finish()`, ~50-80 ms), and with the general LM streaming ends a turn
        sooner: `finish()` ~60-120 ms against ~0.5-0.9 s for a batch decode on 2 cores.
    record_decisions: keep every micro-turn's decision per session (offline runs use it).
    step_threads: threads for the batched policy step (1 keeps policy state single-threaded).
    speech_threads: threads for TTS and ASR calls.
    settle_timeout_s: with a virtual clock, the most wall time to wait per tick for hooks and
        speech work to finish (so a hook that sleeps on wall time cannot hang a test).
    early_floor: act on a policy's armed timers between ticks (end of turn, barge-in; see
        engine/watch.py), at the VAD's 32 ms resolution instead of the 200 ms tick. None (the
        default) means on with a real clock and off with a virtual one, except in
        `run_offline` (eval), which drives the virtual clock 20 ms frame by frame like a live
        peer and so turns it on too (pass False there to act only at ticks). Other virtual-clock
        drivers that push a whole micro-turn at once gain nothing from it: the tick then makes
        the same decision and stamps it when it takes effect.
    """

    vad_threshold: float = 0.5
    user_pause_ms: int = 200
    utterance_close_ms: int = 800
    idle_ms: int = 1000
    review_timeout_ms: int = 1000
    max_backlog_ms: int = 200
    max_say_chars: int = 2000
    video_change_threshold: float = 8.0
    asr_partials: bool = True
    record_decisions: bool = False
    step_threads: int = 1
    speech_threads: int = 2
    settle_timeout_s: float = 10.0
    early_floor: bool | None = None
