"""Is a short burst of speech over the agent a command ("stop", "wait") or a backchannel ("yeah")?

The interaction model pauses the agent's voice for any near-field burst and commits to yielding
only once the speech has gone on (`DecisionOptions.hold_commit_ms`): a "yeah" is over before
that and the agent resumes. A one-word command is over just as soon, and without its words it
would be ridden through like the "yeah". `DecisionOptions.hold_words` asks a `CommandCheck` about
the burst when such a hold ends: a command makes the agent yield instead of resuming.

The bundled check decodes the burst with pocketsphinx and a grammar of backchannel and command
phrases: a closed choice, so the recogniser only has to tell which phrase fits best, which it
does well even on synthetic voices where its general LM is poor. Commands may come several in a
row ("no, wait, stop"); a backchannel comes alone. But a run of more than `MAX_COMMANDS` (3)
command phrases is not a command: that is how the agent's echo residue under a user's "yeah",
or a side talker's sentence, decodes when the grammar leaves no other choice (validation
episodes, 2026-11-27: of 15 such false verdicts, 5 were runs of four or five, such as "hold on
stop no wait"; every command of the command suites decoded as one phrase, at most repeated,
and a user's "no, wait, stop", the live bench's barge-in, is three). Measured over the live policy's window
(`scripts/burst_words.py`, 2026-11-27): tuning and validation suites 22 of 24 commands heard as
commands and 1 of 24 backchannels (a "right" as "wait"); held out 27 of 36 and 1 of 36 ("hold
on" is heard as "true"); 20-45 ms a burst on one core. A hypothesis that is not a whole sentence
of the grammar (pocketsphinx returns its best partial path when nothing fits, "uh" for a clipped
"uh huh") is not a command: when unsure, the agent plays on, as without the check.

Bring your own (Whisper, a keyword spotter) by implementing `CommandCheck.is_command`.
"""

from __future__ import annotations

import re
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

BACKCHANNELS = ("mm hmm", "uh huh", "yeah", "yes", "okay", "right", "i see", "sure", "got it", "true", "oh wow")
COMMANDS = ("stop", "wait", "hold on", "hang on", "no", "stop please", "one moment", "excuse me")
# How many command phrases one burst may hold and still be a command: a user's short command
# is one to three ("stop", "no, wait, stop"); the agent's echo residue or a side talker's
# sentence under the closed choice decodes as longer runs. (Counting *different* phrases, at
# most 2, rejected more of those, but also the "no wait, stop" of a real barge-in.)
MAX_COMMANDS = 3


@runtime_checkable
class CommandCheck(Protocol):
    """Decides whether a burst of speech (16 kHz mono float32, the burst with a little silence
    or echo around it) asked the agent to stop."""

    def is_command(self, audio: np.ndarray) -> bool: ...


def phrase_grammar(phrases: Sequence[str], repeated: Sequence[str] = ()) -> str:
    """A JSGF grammar whose sentences are exactly one of `phrases`, or one or more of `repeated`."""
    choices = list(phrases)
    rules = ""
    if repeated:
        rules = f"<repeated> = {' | '.join(repeated)};\n"
        choices.append("<repeated>+")
    return f"#JSGF V1.0;\ngrammar burst;\n{rules}public <s> = {' | '.join(choices)};\n"


class GrammarCommands:
    """`CommandCheck` by pocketsphinx over a grammar of `commands` and `backchannels`: the burst
    is a command when the decoded phrase is one of `commands`. Thread-safe (a decoder pool)."""

    def __init__(self, commands: Sequence[str] = COMMANDS, backchannels: Sequence[str] = BACKCHANNELS,
                 max_commands: int = MAX_COMMANDS):
        from microturn.runtime.speech.sphinx import PocketsphinxASR

        overlap = set(commands) & set(backchannels)
        if overlap:
            raise ValueError(f"phrases both a command and a backchannel: {sorted(overlap)}")
        self.commands = frozenset(commands)
        self.max_commands = max_commands
        self.backchannels = frozenset(backchannels)
        # commands may come several at once ("no, wait, stop"); a backchannel comes alone
        self.asr = PocketsphinxASR(phrase_grammar(backchannels, repeated=commands))
        phrase = "|".join(map(re.escape, sorted(commands, key=len, reverse=True)))  # "stop please" before "stop"
        self._command_run = re.compile(rf"(?:{phrase})(?: (?:{phrase}))*")
        self._phrase = re.compile(phrase)

    def heard(self, audio: np.ndarray) -> str:
        """The phrase the recogniser picked ("" or a partial one when none fits)."""
        return self.asr.transcribe(audio).text.strip()

    def kind(self, audio: np.ndarray) -> str:
        """"command", "backchannel" or "none" (no whole sentence of the grammar)."""
        heard = self.heard(audio)
        if self._command_run.fullmatch(heard):
            # a long run ("hold on stop no wait") is how echo and side talk decode: unsure
            too_long = len(self._phrase.findall(heard)) > self.max_commands
            return "none" if too_long else "command"
        return "backchannel" if heard in self.backchannels else "none"

    def is_command(self, audio: np.ndarray) -> bool:
        return self.kind(audio) == "command"
