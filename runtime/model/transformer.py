"""The interaction model: a decoder-only MoE transformer over the fused micro-turn blocks.

`InteractionModel.forward` is a pure function of (inputs, cache, cache lengths) -> (logits,
new keys and values), so the same code serves three callers:
- streaming (streaming.py): one micro-turn per call, caches of different lengths per session;
- training / one-pass (issue 6): N micro-turns at once with empty caches;
- export (export.py): `torch.export` / ONNX of the streaming step.

RoPE and the bounded window: keys are rotated once, at their *absolute* position in the
session (tokens since it opened), and cached rotated; eviction just drops old entries. Attention
scores depend only on the offset between query and key, so a window that starts anywhere is
fine. Angles are computed in float64 before the cos/sin, so positions stay exact for any session
length (2^53 tokens) instead of drifting like float32 angles would after ~1e5 tokens.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from microturn.runtime.model.backends import TorchOps
from microturn.runtime.model.config import FLOOR_ACTIONS, TEXT_VOCAB, ModelConfig
from microturn.runtime.model.embed import Embedder
from microturn.runtime.model.features import TurnTensors


def _init(shape, std=0.02):
    return nn.Parameter(torch.randn(*shape) * std)


def rope_tables(positions: torch.Tensor, head_dim: int, theta: float, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [B, T, 1, D/2] for integer positions [B, T] (angles in float64)."""
    inv_freq = theta ** (-torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float64) / head_dim)
    angles = positions.to(torch.float64)[..., None] * inv_freq
    return angles.cos()[:, :, None].to(dtype), angles.sin()[:, :, None].to(dtype)


def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (i, i + D/2) of x [B, T, H, D]."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Layer(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.c = c
        d, hd = c.d_model, c.head_dim
        self.attn_norm = nn.Parameter(torch.ones(d))
        self.wqkv = _init(((c.n_heads + 2 * c.n_kv_heads) * hd, d))
        self.wo = _init((d, c.n_heads * hd))
        self.ffn_norm = nn.Parameter(torch.ones(d))
        self.router = _init((c.n_experts, d))
        self.w_gate_up = _init((c.n_experts, 2 * c.d_expert, d))
        self.w_down = _init((c.n_experts, d, c.d_expert))

    def forward(self, x, k_buf, v_buf, cache_len, kv_len, cos, sin, ops):
        """x [B, T, d] -> x. k_buf/v_buf [B, S, Hkv, D] hold cache_len[b] valid entries and room
        for T more: this layer writes its new keys and values there, in place.

        cos/sin rotate the T new tokens (their absolute positions); cached keys are rotated.
        """
        c = self.c
        b, t, _ = x.shape
        hq, hkv, hd = c.n_heads, c.n_kv_heads, c.head_dim
        qkv = ops.linear(ops.rms_norm(x, self.attn_norm, c.norm_eps), self.wqkv)
        q, k, v = qkv.split([hq * hd, hkv * hd, hkv * hd], dim=-1)
        q = rope(q.reshape(b, t, hq, hd), cos, sin)
        k = rope(k.reshape(b, t, hkv, hd), cos, sin)
        v = v.reshape(b, t, hkv, hd)
        # the new keys go right after each session's valid cache entries
        rows = torch.arange(b, device=x.device)[:, None]
        slots = cache_len[:, None] + torch.arange(t, device=x.device)
        k_buf[rows, slots] = k
        v_buf[rows, slots] = v
        attn = ops.attention(q, k_buf, v_buf, kv_len)
        x = x + ops.linear(attn.reshape(b, t, hq * hd), self.wo)
        h = ops.rms_norm(x, self.ffn_norm, c.norm_eps)
        x = x + ops.moe(h, self.router, self.w_gate_up, self.w_down, c.top_k)
        return x


class InteractionModel(nn.Module):
    """Embeddings -> n_layers x (GQA attention + MoE) -> floor-action and text heads."""

    def __init__(self, config: ModelConfig, ops=None):
        super().__init__()
        self.config = config
        self.ops = ops or TorchOps()
        self.embed = Embedder(config)
        self.layers = nn.ModuleList([Layer(config) for _ in range(config.n_layers)])
        self.final_norm = nn.Parameter(torch.ones(config.d_model))
        self.floor_head = _init((len(FLOOR_ACTIONS), config.d_model))
        self.text_head = _init((TEXT_VOCAB, config.d_model))

    def set_ops(self, ops) -> None:
        self.ops = ops

    def empty_cache(self, batch: int, length: int = 0):
        """Zeroed key/value buffers with room for `length` tokens, and zero lengths."""
        c = self.config
        shape = (c.n_layers, batch, length, c.n_kv_heads, c.head_dim)
        zeros = torch.zeros(shape, device=self.final_norm.device, dtype=self.final_norm.dtype)
        return zeros, zeros.clone(), torch.zeros(batch, dtype=torch.long, device=zeros.device)

    def forward(self, tt: TurnTensors, k_buf, v_buf, cache_len, start_pos):
        """Run N micro-turns of B sessions on top of their caches.

        k_buf, v_buf: [n_layers, B, S, Hkv, D] (or a list of per-layer [B, S, Hkv, D]); session b's cache is valid up to cache_len[b] and
        S >= cache_len[b] + N * tokens_per_turn: the new keys (rotated) and values are written
        in place right after it, so the caller's buffer is the updated cache.
        start_pos [B]: the absolute position of each session's first new token.
        Returns floor logits [B, N, 6] and text logits [B, N, text_out, 257].
        """
        ops, c = self.ops, self.config
        x = self.embed(tt, ops)
        positions = start_pos[:, None] + torch.arange(x.shape[1], device=x.device)
        cos, sin = rope_tables(positions, c.head_dim, c.rope_theta, x.dtype)
        kv_len = cache_len + x.shape[1]   # one tensor for all layers (backends may reuse masks)
        for i, layer in enumerate(self.layers):
            x = layer(x, k_buf[i], v_buf[i], cache_len, kv_len, cos, sin, ops)
        x = ops.rms_norm(x, self.final_norm, c.norm_eps)
        lay = c.layout
        blocks = x.reshape(tt.batch, tt.turns, c.tokens_per_turn, c.d_model)
        act = blocks[:, :, lay.act]                                        # [B, N, d]
        out = blocks[:, :, lay.out_start:].reshape(tt.batch, tt.turns * c.text_out, c.d_model)
        floor = ops.linear(act, self.floor_head)
        text = ops.linear(out, self.text_head).reshape(tt.batch, tt.turns, c.text_out, TEXT_VOCAB)
        return floor, text

    def forward_sequence(self, tt: TurnTensors):
        """One pass over whole sequences from an empty cache (training, tests).

        Each layer gets its own key/value buffer: layers write their new keys in place, and
        views of one shared buffer would make layer i+1's write clobber a tensor layer i's
        attention saved for backward, so autograd could not go through more than one layer."""
        k, v, length = self.empty_cache(tt.batch, tt.turns * self.config.tokens_per_turn)
        k_layers = [k[i].clone() for i in range(k.shape[0])]
        v_layers = [v[i].clone() for i in range(v.shape[0])]
        return self.forward(tt, k_layers, v_layers, length, length)
