"""Shared, session-scoped speech fixtures: building decoders and rendering speech once keeps
the speech tests well inside their time budget."""

from __future__ import annotations

import pytest

ARITHMETIC_JSGF = """#JSGF V1.0;
grammar arithmetic;
public <question> = what is <number> (times | plus | minus) <number>;
<number> = zero | one | two | three | four | five | six | seven | eight | nine | ten;
"""


@pytest.fixture(scope="session")
def grammar_asr():
    from microturn.runtime.speech.sphinx import PocketsphinxASR

    return PocketsphinxASR(ARITHMETIC_JSGF)


@pytest.fixture(scope="session")
def general_asr():
    from microturn.runtime.speech.sphinx import PocketsphinxASR

    return PocketsphinxASR()


@pytest.fixture(scope="session")
def question_audio():
    """'what is seven times eight' at 16 kHz, trimmed of eSpeak's silence."""
    from microturn.runtime.speech.stimuli import speak

    return speak("what is seven times eight")


@pytest.fixture(scope="session")
def three_utterances():
    """A clip with three utterances at known times: (audio, sample_rate, boundaries)."""
    from microturn.runtime.speech.stimuli import render_speech

    return render_speech(
        [(0.5, "what is seven times eight"), (3.0, "I would like a table for two, please."), (6.0, "thanks")]
    )
