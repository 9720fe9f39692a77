"""pocketsphinx: grammar and general-LM decoding, streaming partials, word timings, quirks."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from microturn.runtime.apps import load_app
from microturn.runtime.speech.base import ASR, ASRStream
from microturn.runtime.speech.sphinx import PocketsphinxASR
from microturn.runtime.speech.stimuli import render_speech, speak

MICRO_TURN = 3200


def _assert_monotonic(words, duration_s):
    assert words
    for (_, start, end), (_, next_start, _) in zip(words, words[1:] + [("", np.inf, np.inf)]):
        assert 0.0 <= start < end <= next_start
    assert words[-1][2] <= duration_s + 0.05


def test_implements_the_protocols(grammar_asr):
    assert isinstance(grammar_asr, ASR)
    stream = grammar_asr.stream()
    assert isinstance(stream, ASRStream)
    stream.cancel()


@pytest.mark.parametrize("text", ["what is seven times eight", "what is three plus four"])
def test_grammar_transcribe_is_exact(grammar_asr, text):
    audio = speak(text)
    result = grammar_asr.transcribe(audio)
    assert result.text == text
    assert [w for w, _, _ in result.words] == text.split()
    _assert_monotonic(result.words, len(audio) / 16000)


def test_grammar_stream_gives_partials_then_the_final(grammar_asr, question_audio):
    stream = grammar_asr.stream()
    partials = [stream.feed(question_audio[i : i + MICRO_TURN]) for i in range(0, len(question_audio), MICRO_TURN)]
    final = stream.finish()
    assert final.text == "what is seven times eight"
    nonempty = [p for p in partials if p]
    assert nonempty and len(nonempty[0].split()) < 5  # words arrive before the utterance ends
    assert partials[-1].startswith("what is")
    with pytest.raises(RuntimeError, match="finished"):
        stream.feed(question_audio[:MICRO_TURN])


def test_stream_word_times_are_relative_to_the_first_sample_fed(grammar_asr):
    audio, sr, bounds = render_speech([(0.8, "what is nine minus two")])
    stream = grammar_asr.stream()
    for i in range(0, len(audio), MICRO_TURN):
        stream.feed(audio[i : i + MICRO_TURN])
    words = stream.finish().words
    assert abs(words[0][1] - bounds[0].start_s) < 0.15
    assert abs(words[-1][2] - bounds[0].end_s) < 0.15


def _as_the_engine_hears_it(text: str, seed: int = 0) -> np.ndarray:
    """An utterance as the engine's ear hands it over: room noise before and after the words."""
    audio, _, _ = render_speech([(0.5, text)], tail_s=1.0, seed=seed)
    return audio


def _stream(asr, audio):
    stream = asr.stream()
    partials = [stream.feed(audio[i : i + MICRO_TURN]) for i in range(0, len(audio), MICRO_TURN)]
    return partials, stream.finish()


def _assert_plausible_partials(partials, text, *, heard_speech_before):
    """Partials grow towards the answer: they start with its first word, are never longer than
    it and differ from it only in a number or two being heard. Once the recogniser has heard
    speech (its live pass starts from a speech-like mean) at most one word differs and the
    last partial is the answer."""
    truth = text.split()
    heard = [p.split() for p in partials if p]
    assert heard and len(heard[0]) < len(truth)  # words arrive before the utterance ends
    for words in heard:
        assert words[0] == truth[0] and len(words) <= len(truth), (words, truth)
        assert sum(a != b for a, b in zip(words, truth)) <= (1 if heard_speech_before else 2), (words, truth)
    if heard_speech_before:
        assert partials[-1] == text


@pytest.fixture(scope="module")
def app_grammar():
    """The arithmetic example's grammar: optional "what is", numbers to twenty, "divided by"."""
    return load_app().asr_grammar


def test_streaming_does_not_disturb_later_decodes(app_grammar):
    # Regression: pocketsphinx 5 switches a decoder from batch to live CMN for good once it is
    # fed partial blocks; every later decode on that decoder heard "what is seven times eight"
    # as "fourteen divided by eleven".
    text = "what is seven times eight"
    audio = _as_the_engine_hears_it(text)
    fresh = PocketsphinxASR(app_grammar).transcribe(audio)
    assert fresh.text == text
    asr = PocketsphinxASR(app_grammar)  # used from one thread: every call reuses its one decoder
    _, streamed = _stream(asr, audio)
    assert streamed.text == text
    assert asr.transcribe(audio) == fresh  # same words and times as on an untouched recogniser
    assert asr.transcribe(audio) == fresh


def test_streams_in_a_row_each_hear_their_own_words(app_grammar):
    asr = PocketsphinxASR(app_grammar)
    for seed, text in enumerate(["what is seven times eight", "what is three plus four", "what is twelve divided by four"]):
        partials, final = _stream(asr, _as_the_engine_hears_it(text, seed))
        assert final.text == text
        assert [w for w, _, _ in final.words] == text.split()
        _assert_plausible_partials(partials, text, heard_speech_before=seed > 0)


def test_general_lm_decodes_do_not_depend_on_an_earlier_stream(general_asr):
    audio = _as_the_engine_hears_it("thank you very much for your help today")
    before = general_asr.transcribe(audio)
    _stream(general_asr, audio)
    assert before.words and general_asr.transcribe(audio) == before


def test_exact_digital_silence_does_not_break_decoding(grammar_asr):
    audio, _, _ = render_speech([(0.5, "what is six times seven")], noise_db=None)
    assert np.count_nonzero(audio[:4000]) == 0
    assert grammar_asr.transcribe(audio).text == "what is six times seven"
    assert grammar_asr.transcribe(np.zeros(16000, np.float32)).text == ""
    assert grammar_asr.transcribe(np.zeros(0, np.float32)).words == []


def test_general_lm_returns_words_with_monotonic_timings(general_asr):
    audio = speak("the quick brown fox jumps over the lazy dog")
    result = general_asr.transcribe(audio)
    assert result.text == " ".join(w for w, _, _ in result.words)
    assert len(result.words) >= 5
    _assert_monotonic(result.words, len(audio) / 16000)


def test_general_lm_stream_gives_partials_and_timed_words(general_asr):
    audio = speak("thank you very much for your help today")
    stream = general_asr.stream()
    partials = [stream.feed(audio[i : i + MICRO_TURN]) for i in range(0, len(audio), MICRO_TURN)]
    final = stream.finish()
    assert any(partials[:-1])  # something is heard before the end of the utterance
    assert final.text and final.text == " ".join(w for w, _, _ in final.words)
    _assert_monotonic(final.words, len(audio) / 16000)


def test_words_over_a_long_clip_fall_inside_the_spoken_segments(general_asr):
    audio, sr, bounds = render_speech(
        [(0.5, "I would like a table for two, please."), (4.0, "the weather is lovely today"), (7.5, "thank you very much")]
    )
    words = general_asr.words(audio)
    _assert_monotonic(words, len(audio) / sr)
    for segment in bounds:  # every utterance is heard ...
        assert any(segment.start_s - 0.2 <= s and e <= segment.end_s + 0.2 for _, s, e in words), segment
    for _, s, e in words:  # ... and nothing is heard outside them
        assert any(b.start_s - 0.2 <= s and e <= b.end_s + 0.2 for b in bounds), (s, e)


def test_one_recogniser_serves_several_threads(grammar_asr):
    texts = ["what is seven times eight", "what is three plus four", "what is nine minus two"]
    clips = {t: speak(t) for t in texts}
    results: dict[str, list[str]] = {t: [] for t in texts}

    def work(text):
        for _ in range(2):
            results[text].append(grammar_asr.transcribe(clips[text]).text)

    threads = [threading.Thread(target=work, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {t: [t, t] for t in texts}


def test_bad_grammar_and_bad_audio_are_rejected_clearly(grammar_asr):
    with pytest.raises(ValueError, match="JSGF"):
        PocketsphinxASR("this is not a grammar")
    with pytest.raises(ValueError, match="1-D"):
        grammar_asr.transcribe(np.zeros((2, 100), np.float32))
    stream = grammar_asr.stream()
    with pytest.raises(ValueError, match="NaN"):
        stream.feed(np.full(100, np.nan, np.float32))
    stream.feed(np.zeros(100, np.float32))  # the stream survives bad input
    stream.cancel()
