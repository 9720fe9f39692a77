"""Encoder-free inputs: dMel audio levels, video patches, byte text."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from microturn.runtime.model.config import get_config
from microturn.runtime.model.features import (
    audio_levels,
    build_turn,
    mel_filterbank,
    text_bytes,
    video_patches,
)
from microturn.runtime.model.layout import NONE_BYTE

C = get_config("tiny")


def test_mel_filterbank_covers_the_band():
    fb = mel_filterbank(16)
    assert fb.shape == (513, 16)
    assert (fb >= 0).all() and (fb.max(dim=0).values > 0.5).all()


def test_audio_levels_rise_with_loudness_at_the_tone_bin():
    t = np.arange(3200) / 16000
    quiet = 0.001 * np.sin(2 * np.pi * 1000 * t)
    loud = 0.5 * np.sin(2 * np.pi * 1000 * t)
    levels = audio_levels(torch.tensor(np.stack([np.zeros(3200), quiet, loud]), dtype=torch.float32), 16, 8)
    assert levels.shape == (3, 5, 16)
    assert levels.min() >= 0 and levels.max() <= 7
    assert (levels[0] == 0).all()                      # silence is the lowest level
    peak_bin = int(levels[2, 0].argmax())
    assert levels[2, :, peak_bin].min() > levels[1, :, peak_bin].max()
    with pytest.raises(ValueError, match="3200 samples"):
        audio_levels(torch.zeros(1, 3000), 16, 8)


def test_video_patches_and_no_frame():
    frame = np.zeros((48, 64, 3), dtype=np.uint8)
    frame[:, :32] = 255                                  # left half white
    p = video_patches(frame, C)
    side = C.video_grid // C.video_patch
    assert p.shape == (side, side, C.video_patch ** 2 * 3)
    assert torch.allclose(p[:, 0], torch.ones_like(p[:, 0])) and torch.allclose(p[:, -1], -torch.ones_like(p[:, -1]))
    assert (video_patches(None, C) == 0).all()
    with pytest.raises(ValueError, match="RGB"):
        video_patches(np.zeros((4, 4)), C)


def test_text_bytes_pad_with_none_and_reject_overflow():
    t = text_bytes([b"hi", b""], 4)
    assert t.tolist() == [[104, 105, NONE_BYTE, NONE_BYTE], [NONE_BYTE] * 4]
    with pytest.raises(ValueError, match="exceeds"):
        text_bytes([b"hello"], 4)


def test_build_turn_shapes():
    tt = build_turn(C, np.zeros((2, 3200), np.float32), [None, np.zeros((8, 8, 3), np.uint8)],
                    [b"ab", b""], [b"", b"ok"], np.zeros((2, 5)))
    assert tt.batch == 2 and tt.turns == 1
    assert tt.audio.shape == (2, 1, 5, C.n_mels)
    assert tt.video_present.tolist() == [[False], [True]]


def _tone(f0: float, n: int = 640) -> torch.Tensor:
    t = torch.arange(n) / 16_000
    return 0.2 * torch.sin(2 * np.pi * f0 * t) + 0.1 * torch.sin(2 * np.pi * 2 * f0 * t + 0.3)


def test_pitch_levels_follow_f0_on_the_log_scale_without_octave_errors():
    from microturn.runtime.model.pitch import pitch_levels

    levels = [int(pitch_levels(_tone(f)[None], 16)[0, 0]) for f in (65, 90, 130, 190, 280, 390)]
    assert levels == sorted(levels) and len(set(levels)) == 6 and levels[0] >= 1 and levels[-1] <= 15
    # each level is ~2.2 semitones: an octave up is ~5.5 levels up, not the same level (octave error)
    assert 5 <= int(pitch_levels(_tone(300)[None], 16)[0, 0]) - int(pitch_levels(_tone(150)[None], 16)[0, 0]) <= 6
    assert int(pitch_levels(_tone(150)[None], 16)[0, 1]) >= 14            # periodic
    quiet = torch.zeros(1, 640)
    noise = torch.from_numpy(np.random.default_rng(0).standard_normal((4, 640)).astype(np.float32)) * 0.1
    assert pitch_levels(quiet, 16)[0].tolist() == [0, 0]                  # silence: unvoiced, aperiodic
    assert (pitch_levels(noise, 16)[:, 0] == 0).all()                     # noise: unvoiced


def test_pitch_config_appends_two_levels_per_frame_and_counts_its_weights():
    from microturn.runtime.model.config import count_params
    from microturn.runtime.model.transformer import InteractionModel

    c = get_config("tiny-mel40-f0")
    audio = _tone(200, 3200)[None].numpy()
    plain = audio_levels(torch.from_numpy(audio), 40, 16)
    with_pitch = audio_levels(torch.from_numpy(audio), 40, 16, pitch_bins=2)
    assert with_pitch.shape == (1, 5, 42) and torch.equal(with_pitch[..., :40], plain)
    assert (with_pitch[..., 40] > 0).all()
    tt = build_turn(c, audio, [None], [b""], [b""], np.zeros((1, 5)))
    assert tt.audio.shape == (1, 1, 5, c.audio_bins) == (1, 1, 5, 42)
    model = InteractionModel(c)
    assert count_params(c)["total"] == sum(p.numel() for p in model.parameters())
    out = model.forward_sequence(tt)
    floor = out[0] if isinstance(out, tuple) else out
    assert floor.shape[-1] == 6 and torch.isfinite(floor).all()
    with pytest.raises(ValueError, match="pitch_bins"):
        get_config("tiny").__class__(pitch_bins=1)
