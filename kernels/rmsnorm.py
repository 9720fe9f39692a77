"""Batch-invariant RMSNorm: out = x * rsqrt(mean(x^2) + eps) * weight, one row per program.

A program reduces its own row in fixed BLOCK_N chunks (BLOCK_N depends on nothing), so the
order of the sum of squares is the same whatever the number of rows.
"""

from __future__ import annotations

import torch

from ._common import acc_dtype, check, launch, on_cuda, round_like, storage_dtype, tiles, tl, triton, widen


@triton.jit
def _rms_norm_kernel(x_ptr, w_ptr, out_ptr, H, eps, stride_x, stride_o,
                     BLOCK_N: tl.constexpr, ACC: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK_N)
    sq = tl.zeros((BLOCK_N,), dtype=ACC)
    for h0 in range(0, H, BLOCK_N):
        x = tl.load(x_ptr + row * stride_x + h0 + cols, mask=h0 + cols < H, other=0.0).to(ACC)
        sq += x * x
    inv = 1.0 / tl.sqrt(tl.sum(sq, axis=0) / H + eps)
    for h0 in range(0, H, BLOCK_N):
        mask = h0 + cols < H
        x = tl.load(x_ptr + row * stride_x + h0 + cols, mask=mask, other=0.0).to(ACC)
        w = tl.load(w_ptr + h0 + cols, mask=mask, other=0.0).to(ACC)
        tl.store(out_ptr + row * stride_o + h0 + cols, (x * inv * w).to(out_ptr.dtype.element_ty), mask=mask)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    dtype = check("rms_norm", x, weight)
    if x.dim() != 2 or weight.shape != (x.shape[1],):
        raise ValueError(f"rms_norm: expected x[M, H] and weight[H], got {tuple(x.shape)} and {tuple(weight.shape)}")
    M, H = x.shape
    out = torch.empty((M, H), dtype=storage_dtype(dtype), device=x.device)
    if M == 0 or H == 0:
        return round_like(out, dtype)
    xs = widen(x)
    if xs.stride(1) != 1:
        xs = xs.contiguous()
    ws = widen(weight).contiguous()
    t = tiles("rms_norm", M, dtype, on_cuda(x))
    grid = (M,)
    launch(_rms_norm_kernel, "rms_norm", grid, t, xs, ws, out, H, float(eps), xs.stride(0), out.stride(0),
           BLOCK_N=t.BLOCK_N, ACC=tl.float64 if acc_dtype(dtype) == torch.float64 else tl.float32)
    return round_like(out, dtype)
