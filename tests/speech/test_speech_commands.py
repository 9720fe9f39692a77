"""The word check behind `DecisionOptions.hold_words`: pocketsphinx with a grammar of command and
backchannel phrases, on real eSpeak speech (the voice the eval suites are made with)."""

from __future__ import annotations

import numpy as np
import pytest

from microturn.runtime.eval.synth import speak
from microturn.runtime.speech.commands import CommandCheck, GrammarCommands, phrase_grammar

VOICE = ("en-us", 160, 50)


@pytest.fixture(scope="module")
def check() -> GrammarCommands:
    return GrammarCommands()


def burst(text: str) -> np.ndarray:
    """The phrase with silence around it, as the policy hears a held burst."""
    quiet = np.zeros(4800, np.float32)
    return np.concatenate([quiet, speak(text, VOICE).astype(np.float32), quiet])


@pytest.mark.parametrize("text", ["stop", "wait", "stop please", "no, wait", "no, wait, stop"])
def test_commands_are_heard_as_commands(check, text):
    assert check.kind(burst(text)) == "command", check.heard(burst(text))
    assert check.is_command(burst(text))


@pytest.mark.parametrize("text", ["yeah", "okay", "I see"])
def test_backchannels_are_not_commands(check, text):
    assert check.kind(burst(text)) == "backchannel", check.heard(burst(text))
    assert not check.is_command(burst(text))


def test_a_long_run_of_commands_is_not_a_command(check):
    """Echo residue and side talk, decoded under the closed choice, come out as long runs of
    command phrases; a user's command is one to three ("no, wait, stop")."""
    audio = burst("hold on, stop, no, wait, hang on")
    assert check._command_run.fullmatch(check.heard(audio)), check.heard(audio)  # decoded as commands...
    assert check.kind(audio) == "none"  # ...but too long a run to be one
    assert not check.is_command(audio)
    assert GrammarCommands(max_commands=5).kind(audio) == "command"


def test_silence_is_not_a_command(check):
    assert not check.is_command(np.zeros(16000, np.float32))


def test_it_is_a_command_check_and_refuses_ambiguous_phrase_lists():
    assert isinstance(GrammarCommands(commands=("stop",), backchannels=("yeah",)), CommandCheck)
    with pytest.raises(ValueError, match="both a command and a backchannel"):
        GrammarCommands(commands=("stop", "no"), backchannels=("no",))
    assert phrase_grammar(["yeah"], repeated=["stop", "hold on"]).endswith("public <s> = yeah | <repeated>+;\n")
