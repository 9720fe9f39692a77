"""Fused MoE feed-forward: route -> align -> gate/up+SwiGLU grouped GEMM -> down grouped GEMM
(routing weight in the epilogue) -> fixed-order combine over the k slots.

Shapes: hidden [T, H], router_weight [E, H], w_gate_up [E, 2I, H] (gate rows first, then up),
w_down [E, H, I]. Both grouped GEMMs run one program per (M-block, N-tile); the block's expert
comes from the alignment, the block's rows are (token, slot) pairs of that expert, gathered by
index (no padded copy of the activations).

Intermediate buffers: `act` [T*k, I] holds silu(gate) * up in the input dtype (float32 in the
interpreter for 16-bit inputs, then rounded by torch, see `_common`); `slots` [T*k, H] holds
each pair's weighted down projection in the accumulation dtype, and the combine kernel sums a
token's k slots in slot order 0..k-1 and rounds once. No atomics anywhere, so a token's output
is the same sequence of operations whatever other tokens share its blocks.
"""

from __future__ import annotations

import torch

from ._common import (acc_dtype, check, dot, ieee, launch, on_cuda, round_like, storage_dtype, tiles,
                      tl, triton, widen)
from .routing import align, route


def _acc_tl(dtype):
    return tl.float64 if acc_dtype(dtype) == torch.float64 else tl.float32


@triton.jit
def _gate_up_kernel(x_ptr, w_ptr, act_ptr, sorted_ptr, block_expert_ptr, num_pairs, H, I,
                    stride_x, stride_we, stride_wn, stride_a,
                    TOP_K: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                    BLOCK_K: tl.constexpr, ACC: tl.constexpr, IEEE: tl.constexpr):
    block = tl.program_id(0)
    expert = tl.load(block_expert_ptr + block)
    if expert < 0:
        return
    pairs = tl.load(sorted_ptr + block * BLOCK_M + tl.arange(0, BLOCK_M))
    valid = pairs < num_pairs
    tokens = pairs // TOP_K
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    ks = tl.arange(0, BLOCK_K)
    w_expert = w_ptr + expert.to(tl.int64) * stride_we
    gate = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC)
    up = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC)
    for k0 in range(0, H, BLOCK_K):
        kk = k0 + ks
        a = tl.load(x_ptr + tokens[:, None].to(tl.int64) * stride_x + kk[None, :],
                    mask=valid[:, None] & (kk[None, :] < H), other=0.0)
        wmask = (cols[None, :] < I) & (kk[:, None] < H)
        g = tl.load(w_expert + cols[None, :] * stride_wn + kk[:, None], mask=wmask, other=0.0)
        u = tl.load(w_expert + (I + cols[None, :]) * stride_wn + kk[:, None], mask=wmask, other=0.0)
        gate = dot(a, g, gate, IEEE)
        up = dot(a, u, up, IEEE)
    act = gate / (1.0 + tl.exp(-gate)) * up  # silu(gate) * up
    tl.store(act_ptr + pairs[:, None].to(tl.int64) * stride_a + cols[None, :],
             act.to(act_ptr.dtype.element_ty), mask=valid[:, None] & (cols[None, :] < I))


@triton.jit
def _down_kernel(act_ptr, w_ptr, weights_ptr, slots_ptr, sorted_ptr, block_expert_ptr, num_pairs, H, I,
                 stride_a, stride_we, stride_wn, stride_s,
                 BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                 ACC: tl.constexpr, IEEE: tl.constexpr):
    block = tl.program_id(0)
    expert = tl.load(block_expert_ptr + block)
    if expert < 0:
        return
    pairs = tl.load(sorted_ptr + block * BLOCK_M + tl.arange(0, BLOCK_M))
    valid = pairs < num_pairs
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    ks = tl.arange(0, BLOCK_K)
    w_expert = w_ptr + expert.to(tl.int64) * stride_we
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC)
    for k0 in range(0, I, BLOCK_K):
        kk = k0 + ks
        a = tl.load(act_ptr + pairs[:, None].to(tl.int64) * stride_a + kk[None, :],
                    mask=valid[:, None] & (kk[None, :] < I), other=0.0)
        b = tl.load(w_expert + cols[None, :] * stride_wn + kk[:, None],
                    mask=(cols[None, :] < H) & (kk[:, None] < I), other=0.0)
        acc = dot(a, b, acc, IEEE)
    # Epilogue: scale by the pair's routing weight.
    route_w = tl.load(weights_ptr + pairs, mask=valid, other=0.0).to(ACC)
    acc = acc * route_w[:, None]
    tl.store(slots_ptr + pairs[:, None].to(tl.int64) * stride_s + cols[None, :],
             acc.to(slots_ptr.dtype.element_ty), mask=valid[:, None] & (cols[None, :] < H))


@triton.jit
def _combine_kernel(slots_ptr, out_ptr, T, H, stride_s, stride_o,
                    TOP_K: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, ACC: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    mask = (rows[:, None] < T) & (cols[None, :] < H)
    total = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC)
    for slot in tl.static_range(TOP_K):  # fixed order: slot 0, 1, ..., k-1
        pair = rows.to(tl.int64) * TOP_K + slot
        total += tl.load(slots_ptr + pair[:, None] * stride_s + cols[None, :], mask=mask, other=0.0)
    tl.store(out_ptr + rows[:, None] * stride_o + cols[None, :], total.to(out_ptr.dtype.element_ty), mask=mask)


def _check_shapes(hidden, router_weight, w_gate_up, w_down, top_k):
    if hidden.dim() != 2:
        raise ValueError(f"fused_moe: hidden must be [T, H], got {tuple(hidden.shape)}")
    T, H = hidden.shape
    if router_weight.dim() != 2 or router_weight.shape[1] != H:
        raise ValueError(f"fused_moe: router_weight must be [E, {H}], got {tuple(router_weight.shape)}")
    E = router_weight.shape[0]
    if w_gate_up.dim() != 3 or w_gate_up.shape[0] != E or w_gate_up.shape[2] != H or w_gate_up.shape[1] % 2:
        raise ValueError(f"fused_moe: w_gate_up must be [{E}, 2I, {H}], got {tuple(w_gate_up.shape)}")
    I = w_gate_up.shape[1] // 2
    if tuple(w_down.shape) != (E, H, I):
        raise ValueError(f"fused_moe: w_down must be [{E}, {H}, {I}], got {tuple(w_down.shape)}")
    if not 1 <= top_k <= E:
        raise ValueError(f"fused_moe: top_k={top_k} must be between 1 and the number of experts {E}")
    return T, H, E, I


def fused_moe(hidden: torch.Tensor, router_weight: torch.Tensor, w_gate_up: torch.Tensor,
              w_down: torch.Tensor, top_k: int) -> torch.Tensor:
    dtype = check("fused_moe", hidden, router_weight, w_gate_up, w_down)
    T, H, E, I = _check_shapes(hidden, router_weight, w_gate_up, w_down, top_k)
    device, cuda = hidden.device, on_cuda(hidden)
    if T == 0:
        return torch.empty((0, H), dtype=dtype, device=device)
    ids, weights = route(hidden, router_weight, top_k)
    x = widen(hidden).contiguous()
    wgu, wd = widen(w_gate_up).contiguous(), widen(w_down).contiguous()
    acc_t, P = _acc_tl(dtype), T * top_k

    tg = tiles("moe_gate_up", T, dtype, cuda)
    al = align(ids, E, tg.BLOCK_M)
    act = torch.empty((P, I), dtype=storage_dtype(dtype), device=device)
    launch(_gate_up_kernel, "moe_gate_up", (al.num_blocks, triton.cdiv(I, tg.BLOCK_N)), tg,
           x, wgu, act, al.sorted_pairs, al.block_expert, P, H, I,
           x.stride(0), wgu.stride(0), wgu.stride(1), act.stride(0),
           TOP_K=top_k, BLOCK_M=tg.BLOCK_M, BLOCK_N=tg.BLOCK_N, BLOCK_K=tg.BLOCK_K, ACC=acc_t, IEEE=ieee(dtype))
    if act.dtype != dtype:  # interpreter: the CUDA kernel stores act in the 16-bit input dtype
        act = act.to(dtype).float()

    td = tiles("moe_down", T, dtype, cuda)
    if td.BLOCK_M != tg.BLOCK_M:
        al = align(ids, E, td.BLOCK_M)
    slots = torch.empty((P, H), dtype=acc_dtype(dtype), device=device)
    launch(_down_kernel, "moe_down", (al.num_blocks, triton.cdiv(H, td.BLOCK_N)), td,
           act, wd, weights, slots, al.sorted_pairs, al.block_expert, P, H, I,
           act.stride(0), wd.stride(0), wd.stride(1), slots.stride(0),
           BLOCK_M=td.BLOCK_M, BLOCK_N=td.BLOCK_N, BLOCK_K=td.BLOCK_K, ACC=acc_t, IEEE=ieee(dtype))

    tc = tiles("moe_combine", T, dtype, cuda)
    out = torch.empty((T, H), dtype=storage_dtype(dtype), device=device)
    launch(_combine_kernel, "moe_combine", (triton.cdiv(T, tc.BLOCK_M), triton.cdiv(H, tc.BLOCK_N)), tc,
           slots, out, T, H, slots.stride(0), out.stride(0),
           TOP_K=top_k, BLOCK_M=tc.BLOCK_M, BLOCK_N=tc.BLOCK_N, ACC=acc_t)
    return round_like(out, dtype)
