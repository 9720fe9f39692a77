"""Pure-torch references with the same signatures and the same numerics contract as the
Triton kernels: float64 in float64, everything else accumulated in float32 and rounded to the
input dtype where the kernels store in it (the MoE activation and every output).

They are written for clarity (a loop over experts, explicit masks), not speed, and are the
`reference` backend of `microturn.kernels.use`.
"""

from __future__ import annotations

import math

import torch


def _acc(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def bi_matmul(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    acc = _acc(x.dtype)
    return (x.to(acc) @ w.to(acc).T).to(x.dtype)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    acc = _acc(x.dtype)
    xf = x.to(acc)
    inv = torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + eps)
    return (xf * inv * weight.to(acc)).to(x.dtype)


def route(hidden: torch.Tensor, router_weight: torch.Tensor, top_k: int):
    """Softmax over experts, top-k with ties to the lower expert id, renormalised."""
    acc = _acc(hidden.dtype)
    logits = hidden.to(acc) @ router_weight.to(acc).T
    probs = torch.softmax(logits, dim=-1)
    # A stable descending sort keeps equal probabilities in expert-id order.
    top_p, top_i = torch.sort(probs, dim=-1, descending=True, stable=True)
    top_p, top_i = top_p[:, :top_k], top_i[:, :top_k]
    return top_i.to(torch.int32), top_p / top_p.sum(dim=-1, keepdim=True)


def align(topk_ids: torch.Tensor, num_experts: int, block_m: int):
    """Plain-Python alignment: -> (sorted pair ids with sentinel padding, expert of each block)."""
    flat = topk_ids.reshape(-1).tolist()
    sentinel = len(flat)
    sorted_pairs: list[int] = []
    block_expert: list[int] = []
    for e in range(num_experts):
        pairs = [p for p, expert in enumerate(flat) if expert == e]
        if not pairs:
            continue
        blocks = -(-len(pairs) // block_m)
        sorted_pairs += pairs + [sentinel] * (blocks * block_m - len(pairs))
        block_expert += [e] * blocks
    return sorted_pairs, block_expert


def fused_moe(hidden: torch.Tensor, router_weight: torch.Tensor, w_gate_up: torch.Tensor,
              w_down: torch.Tensor, top_k: int) -> torch.Tensor:
    T, H = hidden.shape
    dtype, acc = hidden.dtype, _acc(hidden.dtype)
    I = w_gate_up.shape[1] // 2
    ids, weights = route(hidden, router_weight, top_k)
    slots = torch.zeros((T, top_k, H), dtype=acc, device=hidden.device)
    x = hidden.to(acc)
    for e in range(router_weight.shape[0]):
        tok, slot = torch.nonzero(ids == e, as_tuple=True)
        if tok.numel() == 0:
            continue
        gate_up = x[tok] @ w_gate_up[e].to(acc).T
        act = torch.nn.functional.silu(gate_up[:, :I]) * gate_up[:, I:]
        act = act.to(dtype).to(acc)  # the kernel stores the activation in the input dtype
        slots[tok, slot] = (act @ w_down[e].to(acc).T) * weights[tok, slot, None].to(acc)
    out = torch.zeros((T, H), dtype=acc, device=hidden.device)
    for slot in range(top_k):  # fixed order, as the combine kernel
        out = out + slots[:, slot]
    return out.to(dtype)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kv_len: torch.Tensor,
              scale: float | None = None) -> torch.Tensor:
    """Causal GQA attention; the Tq queries of session b sit at positions kv_len[b]-Tq .. kv_len[b]-1.

    A query at a negative position (kv_len[b] < Tq) sees no key and returns zeros.
    """
    B, Tq, Hq, D = q.shape
    S, Hkv = k.shape[1], k.shape[2]
    acc = _acc(q.dtype)
    scale = 1.0 / math.sqrt(D) if scale is None else scale
    group = Hq // Hkv
    kf = k.to(acc).repeat_interleave(group, dim=2)  # [B, S, Hq, D]
    vf = v.to(acc).repeat_interleave(group, dim=2)
    scores = torch.einsum("bqhd,bshd->bhqs", q.to(acc), kf) * scale
    lens = kv_len.to(device=q.device, dtype=torch.int64)
    pos = lens[:, None] - Tq + torch.arange(Tq, device=q.device)[None, :]  # [B, Tq]
    keys = torch.arange(S, device=q.device)
    visible = (keys[None, None, :] <= pos[:, :, None]) & (keys[None, None, :] < lens[:, None, None])
    scores = scores.masked_fill(~visible[:, None], float("-inf"))
    probs = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # rows with no key: all -inf -> 0
    vf = torch.where(keys[None, :, None, None] < lens[:, None, None, None], vf, 0.0)
    out = torch.einsum("bhqs,bshd->bqhd", probs, vf)
    return out.to(q.dtype)
