"""The Triton kernels as `torch.library` custom ops (`torch.ops.microturn.*`).

Each op has a fake (meta) implementation that only computes the output's shape and dtype, so
`torch.export` and `torch.compile` keep a kernel as ONE node of the graph (the TensorRT path
replaces exactly those nodes with plugins). The ops always run the Triton kernels; choosing the
torch reference instead is the job of the public functions in `microturn.kernels`.
"""

from __future__ import annotations

import torch

from . import kv_attention as _attention
from . import matmul as _matmul
from . import moe as _moe
from . import rmsnorm as _rmsnorm


@torch.library.custom_op("microturn::fused_moe", mutates_args=())
def fused_moe(hidden: torch.Tensor, router_weight: torch.Tensor, w_gate_up: torch.Tensor,
              w_down: torch.Tensor, top_k: int) -> torch.Tensor:
    return _moe.fused_moe(hidden, router_weight, w_gate_up, w_down, top_k)


@fused_moe.register_fake
def _(hidden, router_weight, w_gate_up, w_down, top_k):
    return hidden.new_empty(hidden.shape)


@torch.library.custom_op("microturn::bi_matmul", mutates_args=())
def bi_matmul(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return _matmul.matmul(x, w)


@bi_matmul.register_fake
def _(x, w):
    return x.new_empty((x.shape[0], w.shape[0]))


@torch.library.custom_op("microturn::rms_norm", mutates_args=())
def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return _rmsnorm.rms_norm(x, weight, eps)


@rms_norm.register_fake
def _(x, weight, eps):
    return x.new_empty(x.shape)


@torch.library.custom_op("microturn::attention", mutates_args=())
def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kv_len: torch.Tensor,
              scale: float | None = None) -> torch.Tensor:
    return _attention.attention(q, k, v, kv_len, scale)


@attention.register_fake
def _(q, k, v, kv_len, scale=None):
    return q.new_empty(q.shape)
