"""Batch-invariant matmul: out[M, N] = x[M, K] @ w[N, K].T.

Each program owns one BLOCK_M x BLOCK_N output tile and walks K from 0 in fixed BLOCK_K steps
into one accumulator: no split-K, and the tiles come from `configs.select`, which ignores M in
invariant mode. So row m's result is the same sequence of operations whatever M is.
"""

from __future__ import annotations

import torch

from ._common import check, dot, ieee, launch, on_cuda, round_like, storage_dtype, tiles, tl, triton, widen
from ._common import acc_dtype as _acc


@triton.jit
def _matmul_kernel(x_ptr, w_ptr, out_ptr, M, N, K,
                   stride_xm, stride_xk, stride_wn, stride_wk, stride_om, stride_on,
                   BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                   ACC: tl.constexpr, IEEE: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    ks = tl.arange(0, BLOCK_K)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC)
    for k0 in range(0, K, BLOCK_K):
        kk = k0 + ks
        a = tl.load(x_ptr + rows[:, None] * stride_xm + kk[None, :] * stride_xk,
                    mask=(rows[:, None] < M) & (kk[None, :] < K), other=0.0)
        # w is [N, K]; read it as a [BLOCK_K, BLOCK_N] tile of w.T.
        b = tl.load(w_ptr + cols[None, :] * stride_wn + kk[:, None] * stride_wk,
                    mask=(cols[None, :] < N) & (kk[:, None] < K), other=0.0)
        acc = dot(a, b, acc, IEEE)
    out = acc.to(out_ptr.dtype.element_ty)
    tl.store(out_ptr + rows[:, None] * stride_om + cols[None, :] * stride_on, out,
             mask=(rows[:, None] < M) & (cols[None, :] < N))


def matmul(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """x[M, K] @ w[N, K].T in x's dtype (float32/float64 accumulation)."""
    dtype = check("bi_matmul", x, w)
    if x.dim() != 2 or w.dim() != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(f"bi_matmul: expected x[M, K] and w[N, K], got {tuple(x.shape)} and {tuple(w.shape)}")
    M, K = x.shape
    N = w.shape[0]
    out = torch.empty((M, N), dtype=storage_dtype(dtype), device=x.device)
    if M == 0 or N == 0:
        return round_like(out, dtype)
    if K == 0:
        return round_like(out.zero_(), dtype)
    xs, ws = widen(x), widen(w)
    t = tiles("bi_matmul", M, dtype, on_cuda(x))
    grid = (triton.cdiv(M, t.BLOCK_M), triton.cdiv(N, t.BLOCK_N))
    launch(_matmul_kernel, "bi_matmul", grid, t, xs, ws, out, M, N, K,
           xs.stride(0), xs.stride(1), ws.stride(0), ws.stride(1), out.stride(0), out.stride(1),
           BLOCK_M=t.BLOCK_M, BLOCK_N=t.BLOCK_N, BLOCK_K=t.BLOCK_K,
           ACC=tl.float64 if _acc(dtype) == torch.float64 else tl.float32, IEEE=ieee(dtype))
    return round_like(out, dtype)
