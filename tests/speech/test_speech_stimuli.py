"""Resampling, WAV round trips, and speech rendered with boundaries known by construction."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from microturn.runtime.speech.resample import resample
from microturn.runtime.speech.stimuli import Utterance, read_wav, render_speech, speak, trim_silence, write_wav


def _tone(freq, sr, seconds=1.0):
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(audio, sr):
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return np.argmax(spectrum) * sr / len(audio)


@pytest.mark.parametrize("sr_in,sr_out", [(22050, 16000), (48000, 16000), (16000, 44100), (8000, 16000)])
def test_resample_keeps_pitch_and_length(sr_in, sr_out):
    out = resample(_tone(440.0, sr_in), sr_in, sr_out)
    assert out.dtype == np.float32
    assert len(out) == -(-sr_in * sr_out // sr_in)  # ceil(n * sr_out / sr_in) for n = sr_in
    assert abs(_peak_hz(out, sr_out) - 440.0) < 2.0


def test_resample_does_not_shift_an_onset():
    x = np.zeros(22050, np.float32)
    x[11025:] = _tone(300, 22050, 0.5)  # onset at exactly 0.5 s
    y = resample(x, 22050, 16000)
    onset = np.nonzero(np.abs(y) > 0.05)[0][0] / 16000
    assert abs(onset - 0.5) < 0.002


def test_resample_edge_cases():
    x = _tone(100, 16000)
    same = resample(x, 16000, 16000)
    assert np.array_equal(same, x) and same is not x
    assert len(resample(np.zeros(0, np.float32), 16000, 8000)) == 0
    with pytest.raises(ValueError):
        resample(np.zeros((2, 10)), 16000, 8000)
    with pytest.raises(ValueError):
        resample(x, 0, 16000)


def test_wav_round_trip(tmp_path):
    x = _tone(440, 44100, 0.25) * np.linspace(0, 1.9, 11025, dtype=np.float32)  # goes past full scale
    path = write_wav(tmp_path / "a.wav", x, 44100)
    y, sr = read_wav(path)
    assert sr == 44100 and y.dtype == np.float32 and len(y) == len(x)
    np.testing.assert_allclose(y, np.clip(x, -1, 1), atol=1.5 / 32767)


def test_read_stereo_averages_and_other_widths(tmp_path):
    left, right = _tone(200, 8000, 0.1), _tone(300, 8000, 0.1)
    with wave.open(str(tmp_path / "st.wav"), "wb") as w:
        w.setnchannels(2), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes((np.stack([left, right], 1) * 32767).astype("<i2").tobytes())
    y, sr = read_wav(tmp_path / "st.wav")
    assert sr == 8000 and y.ndim == 1
    np.testing.assert_allclose(y, (left + right) / 2, atol=2 / 32767)

    i32 = (left.astype(np.float64) * 2**31 * 0.999).astype("<i4")
    with wave.open(str(tmp_path / "p24.wav"), "wb") as w:  # 24-bit: the top three bytes of each int32
        w.setnchannels(1), w.setsampwidth(3), w.setframerate(8000)
        w.writeframes(i32.view(np.uint8).reshape(-1, 4)[:, 1:].tobytes())
    y24, _ = read_wav(tmp_path / "p24.wav")
    np.testing.assert_allclose(y24, left * 0.999, atol=1e-4)


def test_read_rejects_non_wav(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(ValueError, match="x.wav"):
        read_wav(tmp_path / "x.wav")


def test_trim_silence():
    x = np.concatenate([np.zeros(100), np.full(50, 0.3), np.zeros(7)]).astype(np.float32)
    trimmed, lead = trim_silence(x)
    assert lead == 100 and len(trimmed) == 50
    assert len(trim_silence(np.zeros(10, np.float32))[0]) == 0


def test_render_places_speech_at_the_given_times(three_utterances):
    audio, sr, bounds = three_utterances
    assert sr == 16000 and audio.dtype == np.float32
    assert [b.start_s for b in bounds] == [0.5, 3.0, 6.0]
    assert len(audio) == int(round((bounds[-1].end_s + 0.5) * sr))  # default tail of 0.5 s
    for b in bounds:
        s, e = int(b.start_s * sr), int(b.end_s * sr)
        # the trimmed speech, placed whole (eSpeak's length drifts ~1% between calls)
        assert abs((e - s) - len(speak(b.text))) < 0.03 * (e - s)
        assert np.abs(audio[s : s + 160]).max() > 0.01  # speech right at the start ...
        assert np.abs(audio[e - 160 : e]).max() > 0.003  # ... and right up to the end
        before, after = audio[s - 800 : s], audio[e + 10 : e + 810]
        assert np.sqrt(np.mean(before**2)) < 0.002 and np.sqrt(np.mean(after**2)) < 0.002  # only the -60 dB floor


def test_render_options():
    audio, sr, bounds = render_speech(
        [Utterance(0.2, "hello", voice="en-gb+f3", gain_db=-12.0), (0.4, "overlapping words")],
        sample_rate=8000, noise_db=None, duration_s=5.0,
    )
    assert sr == 8000 and len(audio) == 40000
    assert bounds[0].voice == "en-gb+f3" and bounds[1].voice == "en-us"
    assert bounds[1].start_s < bounds[0].end_s  # overlap is allowed and mixed
    assert np.count_nonzero(audio[: int(0.2 * sr)]) == 0  # noise_db=None: exact silence
    again, _, _ = render_speech([(0.1, "hi")], seed=3)
    other, _, _ = render_speech([(0.1, "hi")], seed=4)
    assert np.array_equal(again[:1000], render_speech([(0.1, "hi")], seed=3)[0][:1000])
    assert not np.array_equal(again[:1000], other[:1000])
    empty, _, nothing = render_speech([(1.0, "")])
    assert nothing[0].start_s == nothing[0].end_s == 1.0 and len(empty) == 1.5 * 16000


def test_render_rejects_impossible_layouts():
    with pytest.raises(ValueError, match="before the clip"):
        render_speech([(-0.5, "hi")])
    with pytest.raises(ValueError, match="cuts off"):
        render_speech([(0.5, "a rather long sentence to speak")], duration_s=1.0)
