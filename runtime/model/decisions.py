"""`DecisionOptions`: how the interaction model's floor probabilities become actions, and the
hard fallbacks under it (thresholds, early arms, near-field gate, voice check, the hold), with
their documented defaults; a checkpoint folder's `decisions.json` overrides them."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from microturn.runtime.engine.policy import MICRO_TURN_MS


@dataclass
class DecisionOptions:
    """How the floor head's probabilities become an action, and the hard fallbacks.

    take_threshold: agent silent: SPEAK once P(SPEAK) reaches this (INTERJECT likewise, with an
        interjection pending). Lower answers sooner and takes more mid-turn pauses.
    yield_threshold: agent speaking: YIELD once P(YIELD) reaches this. Lower stops sooner for
        real interruptions and more often for backchannels and side talk.
    noisy_yield_threshold / noisy_below_db: where the user's level stands less than
        `noisy_below_db` over the noise floor (both learnt while the agent is silent, by the
        fallback's VAD and level meter: `HeuristicPolicy.speech_to_noise_db`), YIELD once P(YIELD) reaches `noisy_yield_threshold` instead. Noise makes
        the model less sure of a real interruption (P(YIELD) over one peaked at 0.48-0.59 at
        10 dB, docs/eval.md), while in a quiet room a lower threshold yields to more echo and
        side talk: one threshold cannot serve both. None (default): `yield_threshold` everywhere.
    backchannel_threshold: user speaking or pausing: BACKCHANNEL once P(BACKCHANNEL) reaches this.
    backchannel_word: what the agent says for a BACKCHANNEL when the text head writes nothing.
        The byte head of `tiny-floor-v3` never does at its BACKCHANNEL decisions (its first byte
        there is NONE with P 0.7-0.9), so until 2026-11-28 the default model's backchannels were
        silent: decided, counted open loop, never voiced. "" keeps them silent.
    early_take_threshold / early_take_silence_ms: below `take_threshold` but at or above this,
        arm the engine's between-tick watch to take the turn if the user stays silent
        `early_take_silence_ms` more: the model says "probably done" and the watch confirms
        it at VAD resolution instead of waiting 200 ms for the next tick (1.0: off). The
        silence counts from the tick's cut and every tick re-arms (or disarms) the watch, so
        only values under one micro-turn can fire: a longer one never does (measured: 300-700 ms
        left every answer to the fallback). A longer, model-gated silence timer was tried as its
        own rule and took the short pauses (docs/training.md, "Decision rules tried").
    early_yield_threshold / early_yield_speech_ms: likewise for yielding, if the user's speech
        over the agent goes on `early_yield_speech_ms` more (1.0: off).
    yield_near_field_db: the model's own YIELD also needs near-field speech in that micro-turn:
        speech the fallback's VAD hears, within this many dB of the user's level (learnt while
        the agent is silent; the louder of the micro-turn's level and its speech run's). With
        no speech there is nobody to yield to; quieter speech is someone else: CONTINUE. Where
        no user level is learnt yet, speech is enough. None (default): off; a large margin
        (100) keeps only the "no speech, no yield" half.
    voice_semitones: a pitch check on top of the near-field levels (`engine/speaker_pitch.py`),
        for the model's gate and the fallback alike: speech whose median F0 is more than this
        many semitones from the user's is another voice, not near-field, until its run has
        lasted twice `fallback_yield_ms`. None (default): off.
    voice_timbre: a timbre check beside the pitch check (`engine/speaker_timbre.py`), for the
        model's gate and the fallback alike: speech whose mean mel cepstrum is more than this far
        from the user's (RMS over 12 coefficients, in units of the user's own spread) is another
        voice, with the same grace. None (default): off; a large value (100) turns off the one
        in a checkpoint's `decisions.json` (the shipped one sets 1.2).
    voice_joint: judge the pitch and timbre checks together (`HeuristicOptions.voice_joint`):
        another voice when the two distances, each in units of its tolerance, have a root sum
        of squares over 1. False (default): either one alone over its tolerance.
    hold_speech_ms: pause rather than cut (`TurnDecision.hold`): while the agent speaks, a
        near-field speech run (the fallback's VAD and gate, as for `yield_near_field_db`) that
        has lasted this long and is still going on at the tick pauses the agent's voice; the
        model's YIELD is then taken only while the run goes on, and when the run stops without
        one the agent resumes from where it paused. The pause is the fast stop a real
        interruption needs; the model's YIELD, later, decides whether it was one, so a "yeah"
        that is over by then is ridden through. None or 0: off (the default without a
        checkpoint's `decisions.json`; the shipped one sets 160, so `--policy-option
        hold_speech_ms=0` turns it off there).
    hold_gap_ms: the run counts as going on if its last speech chunk is at most this old.
    hold_max_ms: with `hold_speech_ms`, the longest pause: speech the model has not taken for
        a turn after that long is someone else, and the agent plays on through the rest of the
        run (the 1 s fallback still yields to near-field speech). None: no limit.
    hold_lean_threshold: with `hold_max_ms`, the pause outlasts it while the model's P(YIELD)
        is at least this (it leans towards an interruption but has not committed), so a later
        YIELD does not come after the voice has resumed. None (default): off.
    hold_commit_ms: with `hold_speech_ms`, the model's YIELD also needs the run to have lasted
        this long, counted from its first chunk at the user's level (since 2026-11-27: a run
        the agent's echo residue began before a "yeah" had let the "yeah" through at 300 ms):
        a backchannel is over in about half a second, a turn goes on. The voice is
        already paused, so waiting costs no stop latency, only the moment the user's turn
        starts; but a one-word command shorter than this ("stop") is ridden through like a
        "yeah" unless the model's P(YIELD) reaches `hold_commit_threshold` (default 1.01: never)
        or `hold_words` hears it.
    hold_words: with `hold_speech_ms`, ask the policy's `CommandCheck` (`speech/commands.py`; by
        default pocketsphinx with a grammar of backchannel and command phrases) about a short
        held burst once it is over: a command ("stop", "wait", "hold on") yields instead of
        resuming (rules and timing: `model/hold.py: hold_through`). False (default): off.
    words_max_burst_ms: with `hold_words`, only a burst whose speech lasted at most this long
        is checked (from its first speech chunk to its last, at any level: the silence that
        tells the burst is over does not count). The grammar fits its phrases to whatever it
        hears, so the longer the speech, the more side talk is "heard" as commands. Commands
        last 0.3-0.9 s one at a time and 1.13 s three in a row ("no, wait, stop", eSpeak;
        1.13-1.16 s as the live VAD measures it), side talk 0.9-2.4 s. 1300 (default) leaves
        that barge-in a margin; on the 2-hour open-loop episodes it costs the same as 1200
        (21 false yields in 571 agent turns; 900: 19, 1500: 23).
    turn_words: take the turn as soon as the engine's turn-end word check (an app grammar's:
        `speech/grammar_fit.py`) finds the user's words so far a whole request and they are
        silent, whatever P(SPEAK) says: at the tick if the verdict is in, else between ticks
        when it comes (`TurnDecision.speak_if_words_complete`, also asked for while the user
        speaks at the tick: the engine starts the check as soon as they pause, between ticks
        too). Only sessions whose agent has a
        grammar get verdicts; others are decided as before. False (default): off.
    turn_words_wait: with `turn_words`, a verdict of "not a whole request" (a prefix such as
        "what is seven times", or speech the grammar does not fit) also stops the model from
        taking the turn; the answer fallback (`fallback_answer_ms`) still comes. So does no verdict
        yet, where the check has not judged the pause or the user is still heard at the tick (the
        model's SPEAK then waits for a verdict and the turn is taken when it says "whole"): with
        a grammar the turn end is the check's and the fallback's. False (default).
        Noise makes the check call fewer questions whole (white noise 10 dB under the speech:
        33 of 60 instead of 56, docs/training.md), and those then wait for the fallback.
    fallback_answer_ms: answer after this much silence after user speech whatever the model
        says (0: off). About 1.2 s: longer than the pauses people make mid-turn.
    fallback_yield_ms: yield after this long a run of speech over the agent (0: off), if the
        run is near-field: within `fallback_near_field_db` of the user's own level (inf: any).
        Gaps of up to `fallback_yield_gap_ms` inside the run do not end it (a spoken sentence
        has stop closures and breaths where the VAD dips; see `HeuristicOptions.run_gap_ms`).
    interjection_flags: show the model that an interjection is waiting (the TURN token's last
        two flags). False (default): the training data has no pending interjections yet, so to
        the shipped checkpoint the flags are inputs it never saw, and one waiting while the user
        spoke drew a SPEAK that ended their turn mid-sentence (the harness's prompt items, 2026-11-27).
        The delivery rules voice interjections either way. True only for a checkpoint trained with them.
    user_text: feed text the user typed (`user.text` on the data channel) into the model's
        USER_TEXT slots. False (default): the training data has no user text yet, and to the
        shipped checkpoint one typed sentence was an input it never saw that changed its later
        decisions in 11 of 12 held-out items (most turn ends no longer taken: measured
        2026-11-27). The app's `on_user_text` hook gets the text either way. True only for a
        checkpoint trained with it.
    """

    take_threshold: float = 0.5
    yield_threshold: float = 0.5
    noisy_yield_threshold: float | None = None
    noisy_below_db: float = 25.0
    backchannel_threshold: float = 0.5
    early_take_threshold: float = 1.0
    early_take_silence_ms: int = 160
    early_yield_threshold: float = 1.0
    early_yield_speech_ms: int = 128
    yield_near_field_db: float | None = None
    fallback_answer_ms: int = 1200
    fallback_yield_ms: int = 1000
    fallback_near_field_db: float = 6.0
    voice_semitones: float | None = None
    voice_timbre: float | None = None
    voice_joint: bool = False
    fallback_yield_gap_ms: int = 250
    hold_speech_ms: int | None = None
    hold_gap_ms: int = 96
    hold_max_ms: int | None = None
    hold_commit_ms: int = 0
    hold_commit_threshold: float = 1.01
    hold_lean_threshold: float | None = None
    hold_words: bool = False
    words_max_burst_ms: int = 1300
    turn_words: bool = False
    turn_words_wait: bool = False
    interjection_flags: bool = False
    user_text: bool = False
    backchannel_word: str = "mm-hm"

    def __post_init__(self) -> None:
        for name in ("early_take_silence_ms", "early_yield_speech_ms"):
            value = getattr(self, name)
            if not 0 < value < MICRO_TURN_MS:
                raise ValueError(f"{name}={value}: the early arm counts from a tick and the next tick "
                                 f"re-arms it, so it must lie between 0 and one micro-turn ({MICRO_TURN_MS} ms)")

    @property
    def holds(self) -> bool:
        """Pause first, decide after (`hold_speech_ms` set and not 0)?"""
        return bool(self.hold_speech_ms)

    @property
    def hold_margin_db(self) -> float:
        """The near-field margin a hold judges speech by: the model's yield gate's, else the fallback's."""
        return self.yield_near_field_db if self.yield_near_field_db is not None else self.fallback_near_field_db

    @classmethod
    def names(cls) -> set[str]:
        """Every option's name (what `--policy-option` and `decisions.json` may set)."""
        return {f.name for f in dataclasses.fields(cls)}


def decision_options(checkpoint: str | None, given: dict) -> DecisionOptions:
    """Defaults < the checkpoint's `decisions.json` < the arguments given."""
    values = dataclasses.asdict(DecisionOptions())
    if checkpoint:
        folder = Path(checkpoint) if Path(checkpoint).is_dir() else Path(checkpoint).parent
        tuned = folder / "decisions.json"
        if tuned.is_file():
            saved = json.loads(tuned.read_text())
            unknown = set(saved) - set(values)
            if unknown:
                raise ValueError(f"{tuned}: unknown decision options {sorted(unknown)}; known: {sorted(values)}")
            values.update(saved)
    values.update(given)
    return DecisionOptions(**values)
