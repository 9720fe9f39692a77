"""eSpeak NG in-process: audio shape and duration, voices/rates/pitches, text edge cases, threads,
and reproducibility (the same sentence gives the same samples whatever was spoken before)."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import threading

import numpy as np
import pytest

from microturn.runtime.speech.base import TTS
from microturn.runtime.speech.espeak import EspeakTTS, _Espeak, split_sentences, variants, voices

QUESTION = "What is seven times eight?"


@pytest.fixture(scope="module")
def tts():
    return EspeakTTS()


def test_speaks_a_question_at_a_plausible_length(tts):
    assert isinstance(tts, TTS) and tts.sample_rate == 22050
    audio = tts.synthesize_all(QUESTION)
    assert audio.dtype == np.float32 and audio.ndim == 1
    seconds = len(audio) / tts.sample_rate
    assert 0.8 < seconds < 3.0  # five words at 175 words per minute is about 1.7 s
    assert 0.05 < np.abs(audio).max() <= 1.0
    assert np.sqrt(np.mean(audio**2)) > 0.01  # real signal, not near-silence


def test_one_chunk_per_sentence(tts):
    chunks = list(tts.synthesize("Hello there. How are you today? Fine, thanks!"))
    assert len(chunks) == 3 and all(len(c) > 0.2 * tts.sample_rate for c in chunks)
    assert split_sentences("a. b!  c? d") == ["a.", "b!", "c?", "d"]


def test_rate_changes_duration():
    slow = EspeakTTS(rate=120).synthesize_all(QUESTION)
    fast = EspeakTTS(rate=300).synthesize_all(QUESTION)
    assert len(fast) < 0.7 * len(slow)


def test_voices_and_pitches_change_the_audio(tts):
    base = tts.synthesize_all(QUESTION)
    for other in (EspeakTTS(voice="en-gb+f3"), EspeakTTS(pitch=90)):
        audio = other.synthesize_all(QUESTION)
        n = min(len(audio), len(base))
        assert np.abs(audio[:n] - base[:n]).mean() > 0.01
    assert len(tts.synthesize_all(QUESTION, voice="en-us+f3")) > 0  # per-call voice override


def test_voice_catalogue():
    codes = {v.languages[0] for v in voices() if v.languages}
    assert {"en-us", "en-gb", "fr-fr", "de"} <= codes
    assert "f3" in {v.identifier.split("/")[-1] for v in variants()}


def test_empty_and_unusual_text(tts):
    assert list(tts.synthesize("")) == []
    assert list(tts.synthesize("   \n\t ")) == []
    assert len(tts.synthesize_all("Café, naïve, smörgåsbord, 你好 🙂 — done.")) > 0.5 * tts.sample_rate
    assert len(tts.synthesize_all("with a \0 NUL byte")) > 0


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="unknown eSpeak voice"):
        EspeakTTS(voice="no-such-voice")
    with pytest.raises(ValueError, match="rate"):
        EspeakTTS(rate=10)
    with pytest.raises(ValueError, match="pitch"):
        EspeakTTS(pitch=101)


def test_concurrent_synthesisers_keep_their_own_settings():
    """eSpeak is one global engine: each sentence must be spoken with its own caller's rate."""
    slow, fast = EspeakTTS(rate=120), EspeakTTS(rate=350)
    text = "One sentence here. And another one there."
    ref = {"slow": len(slow.synthesize_all(text)), "fast": len(fast.synthesize_all(text))}
    got: dict[str, list[int]] = {"slow": [], "fast": []}

    def work(name, tts):
        for _ in range(5):
            got[name].append(len(tts.synthesize_all(text)))

    threads = [threading.Thread(target=work, args=a) for a in (("slow", slow), ("fast", fast))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, lengths in got.items():  # exactly: synthesis is reproducible (see below)
        assert lengths == [ref[name]] * 5, (name, lengths, ref)


# Voices that exercise each of eSpeak's generators and their state: the default harmonic one,
# breath noise ("whisper"), echo ("announcer", Klatt), the Klatt synthesizer ("klatt4") and the
# speechPlayer generator, which draws from libc's rand() ("Reed").
STATEFUL_VOICES = [("en-us", 175, 50), ("en-us+whisper", 175, 30), ("en-us+announcer", 175, 50),
                   ("en-us+klatt4", 175, 50), ("en-us+Reed", 175, 50)]
OTHER_SPEECH = [(("en-us", 175, 50), "I would like a table for two, please."),
                (("en-gb+f3", 300, 50), "Hello there. Something else entirely!"),
                (("en-us", 120, 90), "zebras buzz"), (("en-us+klatt", 175, 50), "thanks"),
                (("fr-fr", 200, 50), "Bonjour à tous."), (("en-us+croak", 175, 50), "Please!")]


def test_the_state_reset_is_available_for_the_shipped_library():
    state = _Espeak.get().state
    assert state.available, f"eSpeak statics not found: {state.missing}"


@pytest.mark.parametrize("voice", STATEFUL_VOICES, ids=lambda v: v[0])
def test_same_sentence_is_bit_identical_whatever_was_spoken_before(voice):
    tts = EspeakTTS(*voice)
    first = tts.synthesize_all(QUESTION)
    assert len(first) > 0.5 * tts.sample_rate
    for (other_voice, text) in OTHER_SPEECH:  # X, then Y, then X again, for several Ys
        EspeakTTS(*other_voice).synthesize_all(text)
        again = tts.synthesize_all(QUESTION)
        assert len(again) == len(first) and np.array_equal(again, first), (other_voice, text)


def test_a_sentence_sounds_the_same_anywhere_in_a_text(tts):
    alone = tts.synthesize_all(QUESTION)
    chunks = list(tts.synthesize("Hello there. I am fine. " + QUESTION))
    assert len(chunks) == 3 and np.array_equal(chunks[2], alone)


def test_same_audio_as_a_fresh_process():
    """After a history of other voices and texts, a sentence matches what a brand-new process
    (eSpeak just loaded) produces for it, including a Klatt voice and a two-sentence text."""
    cases = [(("en-us", 175, 50), "Hello there. " + QUESTION),
             (("en-us+klatt4", 175, 50), QUESTION)]
    for other_voice, text in OTHER_SPEECH[:3]:
        EspeakTTS(*other_voice).synthesize_all(text)
    here = [EspeakTTS(*v).synthesize_all(t) for v, t in cases]
    code = ("import sys\nfrom microturn.runtime.speech.espeak import EspeakTTS\n"
            f"for v, t in {cases!r}:\n"
            "    sys.stdout.buffer.write(EspeakTTS(*v).synthesize_all(t).tobytes())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, timeout=60)
    fresh = np.frombuffer(out.stdout, np.float32)
    assert np.array_equal(fresh, np.concatenate(here))


def test_synthesis_leaves_the_process_rand_sequence_alone():
    """The speechPlayer voices use libc's rand(); eSpeak gets a private generator state, so other
    code in the process sees its own sequence continue undisturbed."""
    libc = ctypes.CDLL(None)
    libc.srand(7)
    expected = [libc.rand() for _ in range(3)]
    libc.srand(7)
    got = [libc.rand()]
    EspeakTTS("en-us+Reed").synthesize_all("hello there")
    got += [libc.rand(), libc.rand()]
    assert got == expected
