"""Model operations for training: the model's torch ops with a maskless causal attention.

Training runs whole crops from an empty cache. There the attention is plain causal
self-attention, which `F.scaled_dot_product_attention(is_causal=True)` computes without the
padded-cache mask the general path builds (10x faster than the reference on a `tiny` crop;
same math: tests/train check it against the reference). Any other call (a padded cache,
queries that are not the whole sequence) goes to the model's own torch ops.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from microturn.runtime.model.backends import TorchOps


class TrainingOps(TorchOps):
    def __init__(self) -> None:
        super().__init__(invariant=False)
        self.name = "torch-train"

    def attention(self, q, k, v, kv_len):
        t, s = q.shape[1], k.shape[1]
        if t == s and bool((kv_len == s).all()):
            # Copies, not views: the model writes later layers' keys in place into the same
            # cache buffer, which would bump the version of a view saved for backward.
            k, v = k.transpose(1, 2).contiguous(), v.transpose(1, 2).contiguous()
            out = F.scaled_dot_product_attention(q.transpose(1, 2), k, v, is_causal=True, enable_gqa=True)
            return out.transpose(1, 2)
        return super().attention(q, k, v, kv_len)


def forward_training(model, tt):
    """Floor and text logits for whole crops from an empty cache, differentiable.

    Like `InteractionModel.forward_sequence`, but with one key/value buffer per layer: the model
    writes each layer's keys in place into its buffer, and layers sharing one tensor would bump
    a version counter autograd checks (the model's forward accepts a list of per-layer buffers).
    """
    c = model.config
    shape = (tt.batch, tt.turns * c.tokens_per_turn, c.n_kv_heads, c.head_dim)
    p = model.final_norm
    keys = [torch.zeros(shape, dtype=p.dtype, device=p.device) for _ in range(c.n_layers)]
    values = [torch.zeros(shape, dtype=p.dtype, device=p.device) for _ in range(c.n_layers)]
    start = torch.zeros(tt.batch, dtype=torch.long, device=p.device)
    return model(tt, keys, values, start, start)
