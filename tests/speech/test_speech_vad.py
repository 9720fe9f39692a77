"""Silero VAD through onnxruntime: speech vs silence vs noise, streaming buffering, segments."""

from __future__ import annotations

import numpy as np
import pytest

from microturn.runtime.speech.silero import CHUNK, SegmentOptions, SileroVAD, speech_segments

SR = 16000
MICRO_TURN = 3200


def test_speech_scores_high_silence_and_noise_low(three_utterances):
    audio, sr, bounds = three_utterances
    first = bounds[0]
    mid = int((first.start_s + first.end_s) / 2 * sr)
    vad = SileroVAD()
    vad.speech_prob(audio[:mid - MICRO_TURN])  # run up to the middle of the first utterance
    assert vad.speech_prob(audio[mid - MICRO_TURN : mid]) > 0.8
    assert SileroVAD().speech_prob(np.zeros(SR, np.float32)) < 0.2
    noise = np.random.default_rng(1).normal(0, 0.05, SR).astype(np.float32)  # about -26 dBFS
    assert SileroVAD().speech_prob(noise) < 0.5


def test_any_length_feeding_matches_whole_clip(three_utterances):
    audio = three_utterances[0][: 3 * SR]
    whole = SileroVAD().chunk_probs(audio)
    vad, pieces, pos = SileroVAD(), [], 0
    for size in [100, 3200, 777, 1, 512, 5000] * 20:
        pieces.append(vad.chunk_probs(audio[pos : pos + size]))
        pos += size
        if pos >= len(audio):
            break
    assert len(whole) == len(audio) // CHUNK
    np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-6)


def test_speech_prob_is_max_of_completed_chunks_or_last(three_utterances):
    audio = three_utterances[0]
    vad = SileroVAD()
    assert vad.speech_prob(audio[:100]) == 0.0  # no chunk completed yet on a fresh stream
    probs = SileroVAD().chunk_probs(audio[: 4 * CHUNK])
    assert vad.speech_prob(audio[100 : 4 * CHUNK]) == pytest.approx(float(probs.max()), abs=1e-6)
    assert vad.speech_prob(audio[4 * CHUNK : 4 * CHUNK + 10]) == pytest.approx(float(probs[-1]), abs=1e-6)


def test_reset_forgets_the_stream(three_utterances):
    audio = three_utterances[0][: SR]
    vad = SileroVAD()
    vad.chunk_probs(three_utterances[0][SR : 2 * SR] + 0.0)
    vad.chunk_probs(audio[:300])  # leaves a remainder in the buffer
    vad.reset()
    np.testing.assert_allclose(vad.chunk_probs(audio), SileroVAD().chunk_probs(audio), atol=1e-6)


def test_segments_match_constructed_truth(three_utterances):
    audio, sr, bounds = three_utterances
    segs = speech_segments(audio, sr)
    assert len(segs) == len(bounds)
    for (start, end), truth in zip(segs, bounds):
        assert abs(start - truth.start_s) < 0.15, (start, truth)
        assert abs(end - truth.end_s) < 0.15, (end, truth)


def test_segments_at_another_sample_rate(three_utterances):
    from microturn.runtime.speech.resample import resample

    audio, sr, bounds = three_utterances
    segs = speech_segments(resample(audio, sr, 8000), 8000)
    assert len(segs) == len(bounds)
    for (start, end), truth in zip(segs, bounds):
        assert abs(start - truth.start_s) < 0.15 and abs(end - truth.end_s) < 0.15


def test_gaps_merge_and_short_bursts_drop():
    from microturn.runtime.speech.stimuli import render_speech

    audio, sr, bounds = render_speech([(0.3, "hello there"), (1.6, "how are you")])
    gap = bounds[1].start_s - bounds[0].end_s
    assert 0.3 < gap < 1.0
    assert len(speech_segments(audio, sr, SegmentOptions(min_silence_s=0.2))) == 2
    merged = speech_segments(audio, sr, SegmentOptions(min_silence_s=1.0))
    assert len(merged) == 1 and merged[0][1] - merged[0][0] > bounds[1].end_s - bounds[0].start_s - 0.15
    assert speech_segments(audio, sr, SegmentOptions(min_speech_s=5.0)) == []


def test_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match="1-D"):
        SileroVAD().speech_prob(np.zeros((2, 512), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        SileroVAD().speech_prob(np.full(512, np.nan, np.float32))
