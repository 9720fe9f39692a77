"""`SpeechServices`: the speech components an engine uses, behind the Protocols in speech/base.py.

The engine needs a fresh VAD per session (a VAD is stateful per stream), one recogniser and
one synthesiser. Tests hand in doubles; `default_speech_services()` builds the real, offline
providers: Silero VAD (onnxruntime), pocketsphinx and eSpeak NG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from microturn.runtime.speech.base import ASR, TTS, VAD
from microturn.runtime.speech.grammar_fit import TurnWordsCheck


@dataclass
class SpeechServices:
    """What the engine speaks and listens with.

    vad_factory: makes one VAD per session (VADs keep per-stream state).
    asr: the recogniser for sessions whose agent has no grammar.
    tts: the synthesiser for agent speech.
    asr_for_grammar: builds a recogniser for an agent's JSGF `asr_grammar`; None means the
        grammar is ignored and `asr` is used. Recognisers built here are cached per grammar.
    turn_words_for_grammar: builds the turn-end word check (`TurnWordsCheck`) for a grammar,
        which tells the floor policy whether the user's words so far are a whole request;
        None: no check. Cached per grammar too.
    """

    vad_factory: Callable[[], VAD]
    asr: ASR
    tts: TTS
    asr_for_grammar: Callable[[str], ASR] | None = None
    turn_words_for_grammar: Callable[[str], TurnWordsCheck] | None = None

    def __post_init__(self) -> None:
        self._grammar_asr: dict[str, ASR] = {}
        self._turn_words: dict[str, TurnWordsCheck | None] = {}

    def asr_for(self, grammar: str | None) -> ASR:
        """The recogniser to use for an agent with this `asr_grammar` (None: the general one)."""
        if not grammar or self.asr_for_grammar is None:
            return self.asr
        asr = self._grammar_asr.get(grammar)
        if asr is None:
            asr = self._grammar_asr[grammar] = self.asr_for_grammar(grammar)
        return asr

    def turn_words_for(self, grammar: str | None) -> TurnWordsCheck | None:
        """The turn-end word check for an agent with this `asr_grammar` (None: none, as for an
        agent without a grammar: only a grammar says what a whole request is)."""
        if not grammar or self.turn_words_for_grammar is None:
            return None
        if grammar not in self._turn_words:
            try:
                self._turn_words[grammar] = self.turn_words_for_grammar(grammar)
            except Exception as exc:  # the check only speeds answers up: without it, sessions still run
                import logging

                logging.getLogger(__name__).warning("no turn-end word check for this grammar: %s", exc)
                self._turn_words[grammar] = None
        return self._turn_words[grammar]


def default_speech_services(voice: str = "en-us", rate: int = 175) -> SpeechServices:
    """The bundled offline providers: Silero VAD, pocketsphinx (grammar-aware, with the turn-end
    word check for grammars) and eSpeak NG."""
    from microturn.runtime.speech.espeak import EspeakTTS
    from microturn.runtime.speech.grammar_fit import GrammarFit
    from microturn.runtime.speech.silero import SileroVAD
    from microturn.runtime.speech.sphinx import PocketsphinxASR

    return SpeechServices(
        vad_factory=SileroVAD,
        asr=PocketsphinxASR(),
        tts=EspeakTTS(voice=voice, rate=rate),
        asr_for_grammar=lambda jsgf: PocketsphinxASR(jsgf=jsgf),
        turn_words_for_grammar=GrammarFit,
    )
