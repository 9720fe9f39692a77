"""The turn-end word check (`speech/grammar_fit.py`): pocketsphinx with the app's grammar against
a free phone loop, on real eSpeak speech (a voice the eval suites use), cut as the engine cuts an
utterance when the user pauses: a little silence before, about 150 ms after."""

from __future__ import annotations

import numpy as np
import pytest

from examples.arithmetic import GRAMMAR
from microturn.runtime.eval.synth import speak
from microturn.runtime.speech.grammar_fit import (GAP_S, NOISY_BELOW_DB, GrammarFit, TurnWordsCheck, level_range_db,
                                                  public_rule, tail_covered)

VOICE = ("en-us", 160, 50)


@pytest.fixture(scope="module")
def check() -> GrammarFit:
    return GrammarFit(GRAMMAR)


def said(text: str) -> np.ndarray:
    return np.concatenate([np.zeros(3200, np.float32), speak(text, VOICE).astype(np.float32),
                           np.zeros(2400, np.float32)])


@pytest.mark.parametrize("text", ["what is seven times eight", "what is twelve plus nine"])
def test_a_whole_question_is_complete(check, text):
    judged = check.judge(said(text))
    assert check.complete(said(text)), judged
    assert check.accepts(judged.text) and judged.tail_covered >= check.min_tail_covered


def test_a_question_cut_short_is_not_complete(check):
    words = check.judge(said("what is seven times")).text
    assert not check.accepts(words), words   # a prefix of a sentence, not a sentence
    assert not check.complete(said("what is seven times"))


@pytest.mark.parametrize("text", ["so I was wondering", "could you tell me"])
def test_words_outside_the_grammar_are_not_complete(check, text):
    # the grammar alone forces them into a sentence; the phone loop fits them better
    judged = check.judge(said(text))
    assert judged.fit_per_s < check.min_fit_per_s, judged
    assert not check.complete(said(text))


def pause(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), np.float32)


def test_a_monologue_fits_the_grammar_but_does_not_end_in_its_words(check):
    # two everyday sentences with a breath between: the decoder's silence and noise models soak
    # up what the grammar cannot say, so the grammar now fits *better* than the phone loop (test
    # 2 passes) and its words make a whole sentence, but they lie on the first sentence only
    audio = np.concatenate([said("when I was at school I never liked numbers"), pause(0.3),
                            said("but then I had a teacher who made it fun")])
    judged = check.judge(audio)
    assert judged.fit_per_s >= check.min_fit_per_s and check.accepts(judged.text), judged
    assert judged.tail_covered < check.min_tail_covered, judged
    assert not check.complete(audio)


def test_the_words_after_a_pause_can_finish_the_request(check):
    audio = np.concatenate([said("what is seven times"), pause(0.3), said("eight")])
    judged = check.judge(audio)
    assert judged.text == "what is seven times eight" and judged.tail_covered >= 0.9, judged
    assert check.complete(audio)


def test_tail_covered_counts_the_speech_after_the_last_pause():
    rng = np.random.default_rng(0)
    burst = lambda s: rng.normal(0, 0.1, int(s * 16000)).astype(np.float32)  # noqa: E731
    audio = np.concatenate([pause(0.2), burst(1.0), pause(GAP_S + 0.2), burst(1.0), pause(0.2)])
    second = 0.2 + 1.0 + GAP_S + 0.2   # where the last stretch of speech starts
    assert tail_covered(audio, []) == 0.0
    assert tail_covered(audio, [("one", 0.2, 1.2)]) == 0.0                       # words on the first only
    assert tail_covered(audio, [("one", second, second + 0.5)]) == pytest.approx(0.5, abs=0.02)
    assert tail_covered(audio, [("a", 0.0, 0.5), ("b", second, second + 1.0)]) == pytest.approx(1.0)
    short = np.concatenate([pause(0.2), burst(1.0), pause(GAP_S - 0.1), burst(1.0), pause(0.2)])
    assert tail_covered(short, [("one", 0.2, 1.2)]) == pytest.approx(0.5, abs=0.02)  # a gap too short to split
    assert tail_covered(pause(1.0), [("one", 0.0, 1.0)]) == 0.0


def test_through_noise_the_fit_bound_is_the_stricter_one(check):
    # the fit test's margin shrinks in noise (docs/eval.md, "Heard in a worse room"): an utterance
    # whose own level range says it was heard through noise must fit the grammar better
    clean = said("what is seven times eight")
    speech = clean[np.abs(clean) > 0.01]
    level = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)))
    noisy = clean + np.random.default_rng(1).normal(0, level * 10 ** (-20 / 20), len(clean)).astype(np.float32)
    assert level_range_db(noisy) < NOISY_BELOW_DB < level_range_db(clean)
    from microturn.runtime.train import dsp   # a 0.6 s room's tail fills the gaps between words
    room = dsp.room_impulse(np.random.default_rng(2), rt60_s=0.6, direct_to_reverb_db=6.0)
    dither = np.random.default_rng(3).normal(0, 3e-4, len(clean)).astype(np.float32)   # eval synth's floor
    assert level_range_db(clean + dither) > NOISY_BELOW_DB > level_range_db(dsp.convolve(clean + dither, room))
    heard_clean, heard_noisy = check.judge(clean), check.judge(noisy)
    assert check.min_fit_for(heard_clean) == check.min_fit_per_s < check.noisy_min_fit_per_s == check.min_fit_for(heard_noisy)
    between = (check.min_fit_per_s + check.noisy_min_fit_per_s) / 2   # passes only when heard clean
    words = {"text": "what is seven times eight", "tail_covered": 1.0}
    assert check.passes(heard_clean._replace(fit_per_s=between, **words))
    assert not check.passes(heard_noisy._replace(fit_per_s=between, **words))
    assert check.passes(heard_noisy._replace(fit_per_s=check.noisy_min_fit_per_s, **words))


def test_silence_is_not_a_request(check):
    assert not check.complete(np.zeros(16000, np.float32))


def test_sentences_and_prefixes_by_the_grammar(check):
    assert isinstance(check, TurnWordsCheck)
    assert check.accepts("what is seven times eight") and check.accepts("Seven  times eight")
    assert not check.accepts("what is seven times") and not check.accepts("")
    assert public_rule(GRAMMAR) == "question"
    with pytest.raises(ValueError, match="no public rule"):
        GrammarFit("#JSGF V1.0;\ngrammar g;\n<a> = yes;\n")
