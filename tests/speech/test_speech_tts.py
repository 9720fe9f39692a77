"""eSpeak NG in-process: audio shape and duration, voices/rates/pitches, text edge cases, threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from microturn.runtime.speech.base import TTS
from microturn.runtime.speech.espeak import EspeakTTS, split_sentences, variants, voices

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
    for name, lengths in got.items():  # within 3% (eSpeak drifts a little; the rates differ 3x)
        assert all(abs(n - ref[name]) < 0.03 * ref[name] for n in lengths), (name, lengths, ref)
