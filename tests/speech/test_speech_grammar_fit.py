"""The turn-end word check (`speech/grammar_fit.py`): pocketsphinx with the app's grammar against
a free phone loop, on real eSpeak speech (a voice the eval suites use), cut as the engine cuts an
utterance when the user pauses: a little silence before, about 150 ms after."""

from __future__ import annotations

import numpy as np
import pytest

from examples.arithmetic import GRAMMAR
from microturn.runtime.eval.synth import speak
from microturn.runtime.speech.grammar_fit import GrammarFit, TurnWordsCheck, public_rule

VOICE = ("en-us", 160, 50)


@pytest.fixture(scope="module")
def check() -> GrammarFit:
    return GrammarFit(GRAMMAR)


def said(text: str) -> np.ndarray:
    return np.concatenate([np.zeros(3200, np.float32), speak(text, VOICE).astype(np.float32),
                           np.zeros(2400, np.float32)])


@pytest.mark.parametrize("text", ["what is seven times eight", "what is twelve plus nine"])
def test_a_whole_question_is_complete(check, text):
    words, fit = check.judge(said(text))
    assert check.complete(said(text)), (words, fit)
    assert check.accepts(words)


def test_a_question_cut_short_is_not_complete(check):
    words, fit = check.judge(said("what is seven times"))
    assert not check.accepts(words), words   # a prefix of a sentence, not a sentence
    assert not check.complete(said("what is seven times"))


@pytest.mark.parametrize("text", ["so I was wondering", "could you tell me"])
def test_words_outside_the_grammar_are_not_complete(check, text):
    # the grammar alone forces them into a sentence; the phone loop fits them better
    words, fit = check.judge(said(text))
    assert fit < check.min_fit_per_s, (words, fit)
    assert not check.complete(said(text))


def test_silence_is_not_a_request(check):
    assert not check.complete(np.zeros(16000, np.float32))


def test_sentences_and_prefixes_by_the_grammar(check):
    assert isinstance(check, TurnWordsCheck)
    assert check.accepts("what is seven times eight") and check.accepts("Seven  times eight")
    assert not check.accepts("what is seven times") and not check.accepts("")
    assert public_rule(GRAMMAR) == "question"
    with pytest.raises(ValueError, match="no public rule"):
        GrammarFit("#JSGF V1.0;\ngrammar g;\n<a> = yes;\n")
