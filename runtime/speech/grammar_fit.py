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
   the classic likelihood-ratio test for out-of-grammar speech.

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
from typing import Protocol, runtime_checkable

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


def public_rule(jsgf: str) -> str:
    """The name of the grammar's first public rule (what the recogniser decodes with)."""
    m = re.search(r"public\s+<([^>]+)>", jsgf)
    if m is None:
        raise ValueError("the JSGF grammar has no public rule")
    return m.group(1)


class GrammarFit:
    """`TurnWordsCheck` for a JSGF grammar, by pocketsphinx (see the module doc). Thread-safe:
    each call takes one decoder of each kind from a pool."""

    def __init__(self, jsgf: str, min_fit_per_s: float = MIN_FIT_PER_S, options: SphinxOptions = SphinxOptions()):
        from pocketsphinx import Jsgf, LogMath

        self.min_fit_per_s = min_fit_per_s
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

    def judge(self, audio: np.ndarray) -> tuple[str, float]:
        """(the grammar's words, how much better the grammar fits than the phone loop per second)."""
        a = np.asarray(audio, dtype=np.float32).reshape(-1)
        seconds = max(len(a) / SAMPLE_RATE, 0.1)
        scores = []
        text = ""
        for pool in (self._grammar, self._phones):
            dec = pool.take()
            try:
                transcript = dec.decode(a)
                scores.append(dec.score)
                if pool is self._grammar:
                    text = transcript.text
            finally:
                pool.give(dec)
        fit = scores[0] - scores[1]
        return text, (fit / seconds if np.isfinite(fit) else float("-inf"))

    def complete(self, audio: np.ndarray) -> bool:
        text, fit = self.judge(audio)
        return fit >= self.min_fit_per_s and self.accepts(text)
