"""Triton kernels (MoE, batch-invariant ops) with pure-torch references beside them.

Public API (see CONTRACTS.md):
    fused_moe(hidden[T,H], router_weight[E,H], w_gate_up[E,2I,H], w_down[E,H,I], top_k) -> [T,H]
    bi_matmul(x[M,K], w[N,K]) -> [M,N]
    rms_norm(x[M,H], weight[H], eps=1e-6) -> [M,H]
    attention(q[B,Tq,Hq,D], k[B,S,Hkv,D], v[B,S,Hkv,D], kv_len[B], scale=None) -> [B,Tq,Hq,D]
    use("triton" | "reference"), using(name), backend_name()
    set_invariant(bool), invariant_mode(bool)
    reference (module), configs (module), backend (module: launch counting)

Every row of every output depends only on the same row of the input (and the weights), bitwise,
whatever else is in the batch: see DESIGN.md and `configs.py`.

Importable with torch + triton alone (the lent GPU machines have nothing else), and lazily: the
Triton modules load on first use. On a machine without CUDA, importing this package sets
TRITON_INTERPRET=1 (unless the environment already says otherwise) so the same kernels run in
Triton's interpreter. Triton reads that variable when *it* is first imported, so import
`microturn.kernels` before anything that imports triton (torch.export and torch.compile do), or
set the variable in the environment; `_common` raises a clear error when the order was wrong.
"""

from __future__ import annotations

import importlib
import os

if "TRITON_INTERPRET" not in os.environ:
    import torch as _torch

    if not _torch.cuda.is_available():
        os.environ["TRITON_INTERPRET"] = "1"

from . import backend, configs
from .backend import counting, use, using
from .configs import invariant_mode, set_invariant

__all__ = ["fused_moe", "bi_matmul", "rms_norm", "attention", "use", "using", "backend_name",
           "set_invariant", "invariant_mode", "counting", "reference", "configs", "backend"]


def backend_name() -> str:
    return backend.current()


def _impl(name: str):
    if backend.current() == "reference":
        return getattr(importlib.import_module(".reference", __name__), name)
    importlib.import_module(".ops", __name__)  # registers torch.ops.microturn.*
    import torch

    return getattr(torch.ops.microturn, name)


def fused_moe(hidden, router_weight, w_gate_up, w_down, top_k: int):
    """Mixture-of-experts feed-forward (softmax top-k routing, SwiGLU experts) -> [T, H]."""
    return _impl("fused_moe")(hidden, router_weight, w_gate_up, w_down, int(top_k))


def bi_matmul(x, w):
    """x[M, K] @ w[N, K].T, batch-invariant."""
    return _impl("bi_matmul")(x, w)


def rms_norm(x, weight, eps: float = 1e-6):
    """RMSNorm over the last dim of x[M, H], one row per program."""
    return _impl("rms_norm")(x, weight, float(eps))


def attention(q, k, v, kv_len, scale: float | None = None):
    """Causal GQA attention over a padded KV cache; the queries are each session's last Tq positions."""
    return _impl("attention")(q, k, v, kv_len, None if scale is None else float(scale))


def __getattr__(name: str):
    if name == "reference":
        return importlib.import_module(".reference", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
