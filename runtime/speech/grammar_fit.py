"""Are the user's words so far a whole request? The turn-end word check for grammar apps.

The interaction model hears *how* a user stops, not *what* they said, and "what is seven times"
sounds as finished as "what is seven times eight" (docs/training.md, "Words at the turn end").
An app with a JSGF grammar (`Agent.asr_grammar`) says exactly what its requests are, so when the
user pauses the engine can ask: are the words so far a whole sentence of the grammar? Two tests,
both needed:

1. The utterance decoded with the grammar is a whole sentence of it (`FsgModel.accept`): "what
   is seven times" is only a prefix, so the user is mid-request.
2. The grammar explains the audio about as well as a free phone loop does. A grammar forces
   every sound into its sentences: "so I was wondering" comes out as "one plus eleven", a whole
   sentence. So the same audio is also decoded with pocketsphinx's allphone search (any phone
   sequence), and the grammar's path score less the phone loop's, per second of audio, must be
   at least `min_fit_per_s`. Speech outside the grammar fits it worse than the free loop; speech
   inside fits it about as well or better (the grammar's word models beat loose phones). This is
   the classic likelihood-ratio test for out-of-grammar speech. Its margin shrinks in noise and
   reverberation (both searches spend the noise frames alike), so where the utterance's own
   level range says it was heard through either (`level_range_db` below `noisy_below_db`) the
   bound is the stricter `noisy_min_fit_per_s` (docs/eval.md, "Heard in a worse room").
3. The grammar's words cover the user's last stretch of speech (the speech after their last
   pause of `GAP_S` or more): at least `min_tail_covered` of its loud 10 ms frames lie inside
   the decoded words. The decoder's silence and noise models (fillers) soak up whatever the
   grammar cannot say, and over several seconds of speech that is cheaper than the phone loop's
   path: a monologue of general sentences fits the grammar *better* per second the longer it
   runs (+0.1..+0.3 after 5-11 s, "when I was at school ... made it fun" -> "eleven multiplied
   by eleven" with the words on its first second), so test 2 alone let the engine answer
   monologues (docs/training.md, "Words that cover the last speech"). A finished request ends in
   its own words; in those monologues the tail was 0-15% covered, in the suites' finished
   questions 95-100%.

Measured on the eval suites' mid-turn pauses and finished questions (`python
scripts/turn_words.py SUITE ...`, docs/training.md "Words at the turn end" has the figures).
Each check costs two decodes of the utterance; the phone loop is the slow one (a 2.4 s question
on one core of the 2-core machine: 145 ms for both, 36 ms of it the grammar's, with the other
core idle; about 220 ms while it ran an evaluation). pocketsphinx holds the GIL while it decodes,
so running the two in threads gains nothing (measured: 208 ms either way for two decodes).

Bring your own (a text classifier over a general recogniser's words, an LLM) by implementing
`TurnWordsCheck.complete`.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from microturn.runtime.speech.sphinx import SAMPLE_RATE, SphinxOptions, _Decoder, _Pool


@runtime_checkable
class TurnWordsCheck(Protocol):
    """Decides whether an utterance (16 kHz mono float32, from just before the user's speech to
    just after it stopped) is a whole request, so that the user's turn can end here."""

    def complete(self, audio: np.ndarray) -> bool: ...


# Chosen on the tuning and validation suites (runs of 2026-11-27, docs/training.md): the mid-turn
# pauses' words fit the arithmetic grammar 0.1-0.2 worse per second than the phone loop, finished
# questions fit it up to 0.25 better; below -0.04 almost no pause's words pass.
MIN_FIT_PER_S = -0.04
# Test 3, chosen on the tuning and validation suites (2026-11-27, docs/training.md "Words that cover
# the last speech"): finished questions 0.95-1.00, monologues' first sentences forced into the
# grammar 0.4-0.8, later ones 0-0.15.
MIN_TAIL_COVERED = 0.8
# Test 2 through noise and reverberation, chosen on the tuning suites heard at 10 and 20 dB SNR
# and in a 0.6 s room (`eval synth --snr-db/--rt60`, 2026-11-28, docs/eval.md "Heard in a worse
# room"): mid-turn pauses fit up to +0.02 there, finished questions mostly above -0.01. From the
# first speech on, a clean clip's loud frames stand 27-57 dB (median 51-54) over its quietest
# tenth; 15-18 dB at 10 dB SNR, 22-27 at 20 dB, 16-29 (median 22) in the reverberant room, whose
# tails fill the gaps between words.
NOISY_MIN_FIT_PER_S = -0.01
NOISY_BELOW_DB = 30.0
GAP_S = 0.3      # a pause at least this long starts the "last stretch" of speech
FRAME_S = 0.01   # pocketsphinx's frame: speech is found per 10 ms like its word times


class Judgement(NamedTuple):
    """What the check found in one utterance."""

    text: str            # the grammar's words (a sentence, a prefix, or "")
    fit_per_s: float     # grammar path score less the phone loop's, per second of audio
    tail_covered: float  # share of the last stretch of speech inside those words (0..1)
    level_range_db: float  # loud frames over the quietest tenth after the first speech, dB


def frame_levels(audio: np.ndarray) -> np.ndarray:
    """RMS of each whole 10 ms frame."""
    size = int(FRAME_S * SAMPLE_RATE)
    n = len(audio) // size
    return np.sqrt(np.mean(np.square(audio[: n * size].reshape(n, size), dtype=np.float64), axis=1))


def level_range_db(audio: np.ndarray) -> float:
    """How far the clip's loud frames (90th percentile) stand over its quietest tenth, in dB,
    from its first speech (a frame within 20 dB of the loud ones) on: about the SNR, and low in
    a reverberant room too, since the room's tail fills the gaps between words. (Counted from the
    start, the silence before the speech would hide the reverberation.)"""
    rms = frame_levels(audio)
    if len(rms) == 0:
        return 0.0
    loud = np.nonzero(rms > np.percentile(rms, 90) * 0.1)[0]
    rms = rms[loud[0]:] if len(loud) else rms
    return float(20 * np.log10(max(np.percentile(rms, 90), 1e-9) / max(np.percentile(rms, 10), 1e-9)))


def speech_frames(audio: np.ndarray) -> np.ndarray:
    """Which 10 ms frames are speech, by energy: 6 dB over the clip's quietest tenth (its noise
    floor) and no more than 30 dB under its loud frames. Good enough here: the clip is one
    speaker's utterance, cut by a VAD, with a little silence before and after."""
    rms = frame_levels(audio)
    if len(rms) == 0:
        return np.zeros(0, bool)
    floor, loud = np.percentile(rms, 10), np.percentile(rms, 90)
    return rms > max(2 * floor, loud * 10 ** (-30 / 20), 1e-4)


def tail_covered(audio: np.ndarray, words: list[tuple[str, float, float]]) -> float:
    """The share of the last stretch of speech in `audio` (after the last pause of GAP_S or more)
    that lies inside `words` (word, start_s, end_s); 0.0 when there is no speech."""
    speech = speech_frames(audio)
    frames = np.nonzero(speech)[0]
    if len(frames) == 0:
        return 0.0
    gaps = np.nonzero(np.diff(frames) > GAP_S / FRAME_S)[0]
    tail = frames[gaps[-1] + 1:] if len(gaps) else frames
    inside = np.zeros(len(speech), bool)
    for _, start, end in words:
        inside[int(round(start / FRAME_S)): int(round(end / FRAME_S))] = True
    return float(np.mean(inside[tail]))


def public_rule(jsgf: str) -> str:
    """The name of the grammar's first public rule (what the recogniser decodes with)."""
    m = re.search(r"public\s+<([^>]+)>", jsgf)
    if m is None:
        raise ValueError("the JSGF grammar has no public rule")
    return m.group(1)


class GrammarFit:
    """`TurnWordsCheck` for a JSGF grammar, by pocketsphinx (see the module doc). Thread-safe:
    each call takes one decoder of each kind from a pool."""

    def __init__(self, jsgf: str, min_fit_per_s: float = MIN_FIT_PER_S,
                 min_tail_covered: float = MIN_TAIL_COVERED, options: SphinxOptions = SphinxOptions(),
                 noisy_min_fit_per_s: float = NOISY_MIN_FIT_PER_S, noisy_below_db: float = NOISY_BELOW_DB):
        from pocketsphinx import Jsgf, LogMath

        self.min_fit_per_s = min_fit_per_s
        self.noisy_min_fit_per_s = noisy_min_fit_per_s
        self.noisy_below_db = noisy_below_db
        self.min_tail_covered = min_tail_covered
        self.options = options
        # FsgModel.accept tells a whole sentence from a prefix; pocketsphinx parses JSGF from a file
        fd, path = tempfile.mkstemp(suffix=".gram")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(jsgf)
            parsed = Jsgf(path)
            rule = parsed.get_rule(f"{parsed.get_name()}.{public_rule(jsgf)}")
            if rule is None:
                raise ValueError("the JSGF grammar's public rule could not be read")
            self._fsg = parsed.build_fsg(rule, LogMath(), 7.5)
        except RuntimeError as exc:
            raise ValueError(f"invalid JSGF grammar: {exc}") from exc
        finally:
            os.unlink(path)
        self._grammar = _Pool(lambda: _Decoder(jsgf, options))
        self._phones = _Pool(lambda: _Decoder(None, options, phone_loop=True))
        self._grammar.give(_Decoder(jsgf, options))  # build and warm one of each now: errors surface here
        self._phones.give(_Decoder(None, options, phone_loop=True))

    def accepts(self, text: str) -> bool:
        """Is `text` a whole sentence of the grammar?"""
        words = " ".join(text.lower().split())
        return bool(words) and bool(self._fsg.accept(words))

    def judge(self, audio: np.ndarray) -> Judgement:
        """The grammar's words, how much better the grammar fits than the phone loop per second,
        and how much of the last stretch of speech its words cover."""
        a = np.asarray(audio, dtype=np.float32).reshape(-1)
        seconds = max(len(a) / SAMPLE_RATE, 0.1)
        scores = []
        heard = None
        for pool in (self._grammar, self._phones):
            dec = pool.take()
            try:
                transcript = dec.decode(a)
                scores.append(dec.score)
                if pool is self._grammar:
                    heard = transcript
            finally:
                pool.give(dec)
        fit = scores[0] - scores[1]
        return Judgement(heard.text, fit / seconds if np.isfinite(fit) else float("-inf"),
                         tail_covered(a, heard.words), level_range_db(a))

    def complete(self, audio: np.ndarray) -> bool:
        return self.passes(self.judge(audio))

    def passes(self, judged: Judgement) -> bool:
        """All three tests (module doc) on a judgement."""
        return (judged.fit_per_s >= self.min_fit_for(judged) and judged.tail_covered >= self.min_tail_covered
                and self.accepts(judged.text))

    def min_fit_for(self, judged: Judgement) -> float:
        """Test 2's bound: the stricter one for an utterance heard through noise."""
        return self.noisy_min_fit_per_s if judged.level_range_db < self.noisy_below_db else self.min_fit_per_s
