"""Raw micro-turn inputs -> the integer and pixel tensors the model embeds (no learned weights).

Encoder-free: nothing here is trained or downloaded.
- Audio: dMel-style. Each 40 ms frame (640 samples at 16 kHz, no overlap, so a micro-turn's
  tokens depend on its own 3200 samples only) gets a Hann window, a 1024-point power spectrum,
  a fixed triangular mel filterbank (HTK mel scale, 0-8 kHz), log10, and uniform quantisation
  of [LOG_MIN, LOG_MAX] into `audio_levels` levels per bin; configs with `pitch_bins` append a
  pitch and a periodicity level per frame (`pitch.py`).
- Video: the frame is area-resized to `video_grid` x `video_grid`, scaled to [-1, 1], and cut into
  `video_patch`-sided patches; the hierarchical MLP in embed.py takes it from there.
- Text: UTF-8 bytes; NONE_BYTE fills empty slots.

All functions take a batch (leading dimension = sessions) and never loop over sessions except
to resize video frames, whose sizes may differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from microturn.runtime.model.config import N_FLAGS, ModelConfig
from microturn.runtime.model.layout import NONE_BYTE
from microturn.runtime.model.pitch import pitch_levels

SAMPLE_RATE = 16_000
FRAME = 640                 # 40 ms
FRAMES_PER_TURN = 5
N_FFT = 1024
LOG_MIN, LOG_MAX = -10.0, 0.0  # log10 of the normalised mel power; full-scale tone ~ -0.6


@dataclass
class TurnTensors:
    """Inputs for N micro-turns of B sessions (N = 1 when streaming)."""

    audio: torch.Tensor        # int64 [B, N, 5, audio_bins] quantised levels (dMel, then pitch)
    video: torch.Tensor        # float32 [B, N, P, P, patch*patch*3]  (P = grid / patch)
    video_present: torch.Tensor  # bool [B, N]
    user_bytes: torch.Tensor   # int64 [B, N, text_in]
    agent_bytes: torch.Tensor  # int64 [B, N, text_out]
    flags: torch.Tensor        # float32 [B, N, N_FLAGS]

    @property
    def batch(self) -> int:
        return self.audio.shape[0]

    @property
    def turns(self) -> int:
        return self.audio.shape[1]

    def as_tuple(self) -> tuple[torch.Tensor, ...]:
        return (self.audio, self.video, self.video_present, self.user_bytes, self.agent_bytes, self.flags)

    def to(self, device) -> "TurnTensors":
        return TurnTensors(*(t.to(device) for t in self.as_tuple()))

    def index(self, rows) -> "TurnTensors":
        return TurnTensors(*(t[rows] for t in self.as_tuple()))

    @staticmethod
    def cat_turns(parts: list["TurnTensors"]) -> "TurnTensors":
        return TurnTensors(*(torch.cat(ts, dim=1) for ts in zip(*(p.as_tuple() for p in parts))))


@lru_cache(maxsize=8)
def mel_filterbank(n_mels: int, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """[n_fft // 2 + 1, n_mels] triangular filters, equally spaced on the HTK mel scale."""

    def hz_to_mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    mel_points = torch.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2, dtype=torch.float64)
    hz_points = 700.0 * (10.0 ** (mel_points / 2595.0) - 1.0)
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    lower, centre, upper = hz_points[:-2], hz_points[1:-1], hz_points[2:]
    rising = (bins[:, None] - lower) / (centre - lower)
    falling = (upper - bins[:, None]) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


@lru_cache(maxsize=1)
def _window() -> torch.Tensor:
    return torch.hann_window(FRAME, periodic=True)


def audio_levels(audio: torch.Tensor, n_mels: int, levels: int, pitch_bins: int = 0) -> torch.Tensor:
    """float32 [B, 3200] -> int64 [B, 5, n_mels + pitch_bins] quantised log-mel levels, then
    (with pitch_bins = 2) each frame's pitch and periodicity levels (`pitch.py`)."""
    if audio.shape[-1] != FRAME * FRAMES_PER_TURN:
        raise ValueError(f"a micro-turn has {FRAME * FRAMES_PER_TURN} samples, got {audio.shape[-1]}")
    raw = audio.float().reshape(audio.shape[0], FRAMES_PER_TURN, FRAME)
    frames = raw * _window()
    spectrum = torch.fft.rfft(frames, n=N_FFT).abs().pow(2) / (_window().sum() ** 2 / 4)
    mel = spectrum @ mel_filterbank(n_mels)
    logmel = torch.log10(mel.clamp_min(10.0 ** LOG_MIN))
    scaled = (logmel - LOG_MIN) / (LOG_MAX - LOG_MIN) * levels
    out = scaled.floor().clamp(0, levels - 1).long()
    if pitch_bins:
        out = torch.cat([out, pitch_levels(raw, levels)], dim=-1)
    return out


def video_patches(frame: np.ndarray | None, config: ModelConfig) -> torch.Tensor:
    """(H, W, 3) uint8 frame -> float32 [P, P, patch*patch*3] in [-1, 1] (zeros when None)."""
    p = config.video_grid // config.video_patch
    if frame is None:
        return torch.zeros(p, p, config.video_patch ** 2 * 3)
    arr = np.asarray(frame)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"video frames are (H, W, 3) RGB, got shape {arr.shape}")
    img = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).float()[None] / 127.5 - 1.0
    img = torch.nn.functional.adaptive_avg_pool2d(img, config.video_grid)[0]  # [3, G, G]
    k = config.video_patch
    patches = img.reshape(3, p, k, p, k).permute(1, 3, 2, 4, 0)  # [P, P, k, k, 3]
    return patches.reshape(p, p, k * k * 3)


def text_bytes(chunks: list[bytes], width: int) -> torch.Tensor:
    """Byte strings (each at most `width` long) -> int64 [B, width] padded with NONE_BYTE."""
    out = torch.full((len(chunks), width), NONE_BYTE, dtype=torch.long)
    for i, chunk in enumerate(chunks):
        if len(chunk) > width:
            raise ValueError(f"text chunk of {len(chunk)} bytes exceeds its {width} slots")
        if chunk:
            out[i, : len(chunk)] = torch.tensor(list(chunk), dtype=torch.long)
    return out


def build_turn(
    config: ModelConfig,
    audio: np.ndarray | torch.Tensor,
    frames: list[np.ndarray | None],
    user_chunks: list[bytes],
    agent_chunks: list[bytes],
    flags: np.ndarray | torch.Tensor,
) -> TurnTensors:
    """One micro-turn for B sessions. audio: [B, 3200] float; flags: [B, N_FLAGS] 0/1."""
    audio_t = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    flags_t = torch.as_tensor(np.asarray(flags, dtype=np.float32))
    if flags_t.shape != (audio_t.shape[0], N_FLAGS):
        raise ValueError(f"flags must be [B, {N_FLAGS}], got {tuple(flags_t.shape)}")
    video = torch.stack([video_patches(f, config) for f in frames]) if frames else None
    return TurnTensors(
        audio=audio_levels(audio_t, config.n_mels, config.audio_levels, config.pitch_bins)[:, None],
        video=video[:, None],
        video_present=torch.tensor([f is not None for f in frames], dtype=torch.bool)[:, None],
        user_bytes=text_bytes(user_chunks, config.text_in)[:, None],
        agent_bytes=text_bytes(agent_chunks, config.text_out)[:, None],
        flags=flags_t[:, None],
    )


def random_turns(config: ModelConfig, batch: int, turns: int, generator: torch.Generator) -> TurnTensors:
    """Random but valid inputs (tests, benchmarks, export examples)."""
    p = config.video_grid // config.video_patch
    g = generator
    return TurnTensors(
        audio=torch.randint(0, config.audio_levels, (batch, turns, FRAMES_PER_TURN, config.audio_bins), generator=g),
        video=torch.rand(batch, turns, p, p, config.video_patch ** 2 * 3, generator=g) * 2 - 1,
        video_present=torch.rand(batch, turns, generator=g) < 0.5,
        user_bytes=torch.randint(0, NONE_BYTE + 1, (batch, turns, config.text_in), generator=g),
        agent_bytes=torch.randint(0, NONE_BYTE + 1, (batch, turns, config.text_out), generator=g),
        flags=(torch.rand(batch, turns, N_FLAGS, generator=g) < 0.3).float(),
    )
