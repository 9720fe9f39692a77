"""eSpeak NG text-to-speech, in-process through ctypes on the library in `espeakng-loader`.

The wheel carries `libespeak-ng.so` and its `espeak-ng-data`, so no system espeak is needed: we
load that library and pass that data path to `espeak_Initialize`. eSpeak runs in *synchronous*
mode: `espeak_Synth` returns only when the text is spoken, and meanwhile calls our synth callback
(on the same thread) with blocks of 16-bit samples at 22,050 Hz, which we collect.

eSpeak NG is a **process-wide singleton**: one voice, one rate and pitch, one callback for the
whole process. So every synthesis runs under one lock (`_Espeak.lock`), and each sentence sets
the voice and parameters it needs before speaking, because another `EspeakTTS` (say, with a
different voice) may have run in between. ctypes releases the GIL during the C call, so other
Python threads keep running while a sentence is synthesised; they just cannot synthesise at the
same moment. eSpeak NG is GPL-3.0 and is only loaded at run time from its own package.

Reproducible: eSpeak keeps its signal generators' state in C statics that carry over from one
utterance to the next, so before every sentence we put them back to their just-initialised
values (`espeak_reset.py`) and reseed its random generator. The same (sentence, voice, rate,
pitch) then gives bit-identical audio whatever was spoken before, in this or any process.
"""

from __future__ import annotations

import ctypes
import re
import threading
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from microturn.runtime.speech.espeak_reset import SignalStateReset

SAMPLE_RATE = 22050

# Constants from speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # never let the library call exit() on a data error
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000  # keep the sentence-final pause (we use it between sentences)
_PARAM_RATE, _PARAM_PITCH = 1, 3
_EE_OK = 0

RATE_RANGE = (80, 450)  # words per minute eSpeak accepts
PITCH_RANGE = (0, 100)

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _VoiceStruct(ctypes.Structure):
    """`espeak_VOICE`; `languages` is a run of (priority byte, NUL-terminated code) pairs."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


@dataclass(frozen=True)
class VoiceInfo:
    """One eSpeak voice. Pass `languages[0]` (e.g. "en-us"), `name` or `identifier` as a voice;
    append "+VARIANT" (see `variants()`, e.g. "en-us+f3") for another timbre."""

    name: str
    identifier: str
    languages: tuple[str, ...]
    gender: str  # "male", "female" or "unknown"


class _Espeak:
    """The loaded library and its single global state. Use only under `lock`."""

    lock = threading.Lock()
    _instance: "_Espeak | None" = None

    @classmethod
    def get(cls) -> "_Espeak":
        with cls.lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceStruct))
        data = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_DONT_EXIT)
        if rate != SAMPLE_RATE:
            raise RuntimeError(f"espeak_Initialize failed (returned {rate}) with data at {data!r}")
        # Snapshot the generators' state now, before anything is spoken (see espeak_reset.py).
        self.state = SignalStateReset(lib, espeakng_loader.get_library_path())
        self.lib = lib
        self._blocks: list[np.ndarray] = []
        self._callback = _SynthCallback(self._on_samples)  # keep a reference: C holds a pointer
        lib.espeak_SetSynthCallback(self._callback)
        self.voices = self._list(None)
        self.variants = self._list(b"variant")

    def _on_samples(self, wav, n, _events) -> int:
        if n > 0 and wav:
            self._blocks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0  # 0 = keep going

    def _list(self, language: bytes | None) -> list[VoiceInfo]:
        spec = None
        if language is not None:
            spec = _VoiceStruct()
            lang_buf = ctypes.create_string_buffer(language)
            spec.languages = ctypes.cast(lang_buf, ctypes.c_void_p)
        found = self.lib.espeak_ListVoices(ctypes.byref(spec) if spec is not None else None)
        out = []
        i = 0
        while found[i]:
            v = found[i].contents
            out.append(VoiceInfo(v.name.decode(), v.identifier.decode(), _languages(v.languages),
                                 {1: "male", 2: "female"}.get(v.gender, "unknown")))
            i += 1
        return out

    def select(self, voice: str, rate: int, pitch: int) -> None:
        """Make `voice` (a name, identifier or language code, optionally "+variant") current."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            # SetVoiceByName matches voice names and file names but not every language code
            # ("en-gb" lives in the file "gmw/en"), so retry with the code's identifier.
            key = self._by_language(voice)
            if key is None or self.lib.espeak_SetVoiceByName(key) != _EE_OK:
                raise ValueError(f"unknown eSpeak voice {voice!r}")
        self.lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
        self.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)

    def _by_language(self, voice: str) -> bytes | None:
        base, plus, variant = voice.partition("+")
        for v in self.voices:
            if v.languages and v.languages[0].lower() == base.lower():
                return (v.identifier + plus + variant).encode()
        return None

    def speak(self, sentence: str, end_pause: bool, seed: int) -> np.ndarray:
        # Each sentence starts from the state of a freshly loaded library: generator statics
        # restored, eSpeak's noise generator reseeded. Without this the same sentence differed
        # (by up to ~1% in length) depending on what this process had spoken before.
        self.state.restore()
        self.lib.espeak_ng_SetRandSeed(seed)
        self._blocks = []
        text = sentence.encode("utf-8") + b"\0"
        flags = _CHARS_UTF8 | (_ENDPAUSE if end_pause else 0)
        try:
            err = self.lib.espeak_Synth(text, len(text), 0, _POS_CHARACTER, 0, flags, None, None)
            self.lib.espeak_Synchronize()
        finally:
            self.state.finished()
        if err != _EE_OK:
            raise RuntimeError(f"espeak_Synth failed with code {err}")
        if not self._blocks:
            return np.zeros(0, np.float32)
        return (np.concatenate(self._blocks).astype(np.float32) / 32768.0)


def _languages(ptr: int | None) -> tuple[str, ...]:
    if not ptr:
        return ()
    out = []
    while ctypes.string_at(ptr, 1) != b"\0":  # priority byte; 0 ends the list
        code = ctypes.string_at(ptr + 1)
        out.append(code.decode())
        ptr += 1 + len(code) + 1
    return tuple(out)


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


def split_sentences(text: str) -> list[str]:
    """Split text after sentence punctuation followed by whitespace; drops empty pieces."""
    return [s.strip() for s in _SENTENCE_END.split(text.replace("\0", " ")) if s.strip()]


def voices() -> list[VoiceInfo]:
    """All eSpeak voices (languages) in the bundled data."""
    return list(_Espeak.get().voices)


def variants() -> list[VoiceInfo]:
    """Voice variants (timbres) usable as "LANG+VARIANT"; the variant is the identifier's file
    name after "!v/", e.g. "en-us+f3", "en-us+m3", "en-us+klatt"."""
    return list(_Espeak.get().variants)


class EspeakTTS:
    """eSpeak NG synthesiser producing float32 mono audio at 22,050 Hz (`sample_rate`).

    voice: a language code ("en-us", "en-gb"), voice name or identifier, optionally with a
        "+variant" suffix (see `variants()`). Checked at construction (ValueError if unknown).
    rate: speaking rate in words per minute, 80-450 (eSpeak's default is 175).
    pitch: base pitch 0-100 (default 50).
    seed: eSpeak's random seed, set before every sentence.
    Deterministic: a sentence's audio depends only on (sentence, voice, rate, pitch, seed), not on
        what was synthesised before, nor on which process does it (see `espeak_reset.py`).
    Thread-safe: synthesis is serialised process-wide (eSpeak is a global singleton).
    """

    sample_rate: int = SAMPLE_RATE

    def __init__(self, voice: str = "en-us", rate: int = 175, pitch: int = 50, seed: int = 0
    ) -> None:
        if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
            raise ValueError(f"rate must be within {RATE_RANGE} words per minute, got {rate}")
        if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]:
            raise ValueError(f"pitch must be within {PITCH_RANGE}, got {pitch}")
        self.voice, self.rate, self.pitch, self.seed = voice, int(rate), int(pitch), int(seed)
        self._engine = _Espeak.get()
        with _Espeak.lock:
            self._engine.select(voice, self.rate, self.pitch)

    def synthesize(self, text: str, voice: str | None = None) -> Iterator[np.ndarray]:
        """Yield one float32 chunk per sentence of `text` (nothing for empty text).

        The lock is held per sentence, not across yields, so a slow consumer never blocks other
        synthesisers, and two generators can be interleaved on one thread.
        """
        sentences = split_sentences(text)
        for i, sentence in enumerate(sentences):
            with _Espeak.lock:
                self._engine.select(voice or self.voice, self.rate, self.pitch)
                audio = self._engine.speak(sentence, end_pause=i < len(sentences) - 1,
                                           seed=self.seed)
            if len(audio):
                yield audio

    def synthesize_all(self, text: str, voice: str | None = None) -> np.ndarray:
        """The whole of `text` as one float32 array (empty for empty text)."""
        chunks = list(self.synthesize(text, voice))
        return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)

    def voices(self) -> list[VoiceInfo]:
        return voices()
