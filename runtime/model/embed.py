"""Early fusion: every modality becomes d_model-wide tokens in the block layout (layout.py).

No pretrained encoder anywhere:
- audio: each bin's level (dMel, then pitch: features.py) picks a learned vector from an
  [audio_bins * levels, d] table, and a
  frame's token is the sum over its bins;
- video: patches go through a hierarchical MLP: a linear patch embedding, then repeated 2x2
  merges (concatenate four neighbours, linear, GELU) until `video_tokens_side`^2 tokens remain;
- text: one learned vector per byte value (plus NONE), plus a source vector (user / agent);
- TURN carries the flags (a learned vector per flag, summed), ACT is a learned query, the text
  output slots are told apart by the slot embedding every block position gets.
Linear layers go through the backend's `linear` so they batch like the rest of the model.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from microturn.runtime.model.config import N_FLAGS, TEXT_VOCAB, ModelConfig
from microturn.runtime.model.features import TurnTensors


def _init(shape, std=0.02):
    return nn.Parameter(torch.randn(*shape) * std)


class Embedder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        c = self.config = config
        d = c.d_model
        self.audio = _init((c.audio_bins * c.audio_levels, d))
        self.patch = _init((d, c.video_patch ** 2 * 3))
        self.patch_bias = nn.Parameter(torch.zeros(d))
        self.merge = nn.ParameterList([_init((d, 4 * d)) for _ in range(c.video_merge_levels)])
        self.merge_bias = nn.ParameterList([nn.Parameter(torch.zeros(d)) for _ in range(c.video_merge_levels)])
        self.no_video = _init((d,))
        self.text = _init((TEXT_VOCAB, d))
        self.source = _init((2, d))
        self.turn = _init((d,))
        self.act = _init((d,))
        self.flags = _init((N_FLAGS, d))
        self.slot = _init((c.tokens_per_turn, d))
        # level offsets so that bin i, level l picks row i * levels + l
        self.register_buffer("bin_offset", torch.arange(c.audio_bins) * c.audio_levels, persistent=False)

    def _video(self, tt: TurnTensors, ops) -> torch.Tensor:
        """[B, N, P, P, patch_in] -> [B, N, side*side, d]."""
        b, n, p, _, pin = tt.video.shape
        x = ops.linear(tt.video.reshape(b, n * p * p, pin).to(self.patch.dtype), self.patch) + self.patch_bias
        x = F.gelu(x).reshape(b, n, p, p, -1)
        for w, bias in zip(self.merge, self.merge_bias):
            p //= 2
            x = x.reshape(b, n, p, 2, p, 2, -1).permute(0, 1, 2, 4, 3, 5, 6).reshape(b, n * p * p, -1)
            x = F.gelu(ops.linear(x, w) + bias).reshape(b, n, p, p, -1)
        x = x.reshape(b, n, p * p, -1)
        present = tt.video_present[:, :, None, None]
        return torch.where(present, x, self.no_video.to(x.dtype))

    def forward(self, tt: TurnTensors, ops) -> torch.Tensor:
        """-> [B, N * tokens_per_turn, d] in the block layout."""
        b, n = tt.batch, tt.turns
        d = self.config.d_model
        audio = self.audio[tt.audio + self.bin_offset].sum(dim=-2)                  # [B, N, 5, d]
        video = self._video(tt, ops)                                               # [B, N, V, d]
        user = self.text[tt.user_bytes] + self.source[0]
        agent = self.text[tt.agent_bytes] + self.source[1]
        flags = tt.flags.to(self.flags.dtype)[..., None] * self.flags
        turn = (self.turn + flags.sum(dim=-2))[:, :, None]                          # [B, N, 1, d]
        act = self.act.expand(b, n, 1, d)
        out = torch.zeros(b, n, self.config.text_out, d, dtype=audio.dtype, device=audio.device)
        block = torch.cat([turn, audio, video, user, agent, act, out], dim=2) + self.slot
        return block.reshape(b, n * self.config.tokens_per_turn, d)
