"""Batch-invariant causal GQA attention for decode and chunked prefill: one kernel, one path.

q [B, Tq, Hq, D], k/v [B, S, Hkv, D] (a padded KV cache), kv_len [B]. The Tq queries of session b
are its last Tq positions: query i sits at position kv_len[b] - Tq + i and sees keys 0..position.
Decode is Tq = 1; a prefill chunk is Tq > 1; both run the same code.

One program per (session, KV head, block of packed query rows). The rows of a block are the
(query, head-in-group) pairs of one KV head, so the G = Hq/Hkv query heads that share a KV head
share its loads (GQA). The program walks the keys in splits of a FIXED size (BLOCK_N, from
`configs`), starting at key 0. Each split is reduced on its own (its max, its exp-sum, its p@V),
then merged into the running result in split order 0, 1, 2, ...: the flash-decoding merge, with
a fixed order instead of a parallel one. A query's arithmetic therefore depends only on its
position, its keys and the split size: not on the batch, not on S, not on Tq (a query computed in
a prefill chunk equals the same query decoded alone). Splits past a query's causal horizon are
exact no-ops for it (their max is -inf, so they scale nothing).
"""

from __future__ import annotations

import math

import torch

from ._common import acc_dtype, check, dot, ieee, launch, on_cuda, round_like, storage_dtype, tiles, tl, triton, widen


@triton.jit
def _attention_kernel(q_ptr, k_ptr, v_ptr, len_ptr, scale_ptr, out_ptr, Tq, Hkv, D,
                      sq_b, sq_t, sq_h, sk_b, sk_s, sk_h, sv_b, sv_s, sv_h, so_b, so_t, so_h,
                      GROUP: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                      BLOCK_D: tl.constexpr, ACC: tl.constexpr, IEEE: tl.constexpr):
    b = tl.program_id(0) // Hkv
    kv_head = tl.program_id(0) % Hkv
    rows = tl.program_id(1) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < Tq * GROUP
    tq = rows // GROUP
    head = kv_head * GROUP + rows % GROUP
    dims = tl.arange(0, BLOCK_D)
    kv_len = tl.load(len_ptr + b)
    pos = kv_len - Tq + tq
    scale = tl.load(scale_ptr).to(ACC)

    q = tl.load(q_ptr + b * sq_b + tq[:, None] * sq_t + head[:, None] * sq_h + dims[None, :],
                mask=row_ok[:, None] & (dims[None, :] < D), other=0.0)
    m = tl.full((BLOCK_M,), float("-inf"), dtype=ACC)
    l = tl.zeros((BLOCK_M,), dtype=ACC)
    acc = tl.zeros((BLOCK_M, BLOCK_D), dtype=ACC)

    last = tl.minimum(tl.max(tl.where(row_ok, pos, -1), axis=0) + 1, kv_len)  # keys this block needs
    keys0 = tl.arange(0, BLOCK_N)
    for start in range(0, last, BLOCK_N):
        keys = start + keys0
        key_ok = keys < kv_len
        kt = tl.load(k_ptr + b * sk_b + keys[None, :] * sk_s + kv_head * sk_h + dims[:, None],
                     mask=key_ok[None, :] & (dims[:, None] < D), other=0.0)
        scores = dot(q, kt, tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC), IEEE) * scale
        visible = (keys[None, :] <= pos[:, None]) & key_ok[None, :] & row_ok[:, None]
        scores = tl.where(visible, scores, float("-inf"))
        # This split alone ...
        m_s = tl.max(scores, axis=1)
        p = tl.exp(scores - tl.where(m_s == float("-inf"), 0.0, m_s)[:, None])
        l_s = tl.sum(p, axis=1)
        vt = tl.load(v_ptr + b * sv_b + keys[:, None] * sv_s + kv_head * sv_h + dims[None, :],
                     mask=key_ok[:, None] & (dims[None, :] < D), other=0.0)
        acc_s = dot(p.to(vt.dtype), vt, tl.zeros((BLOCK_M, BLOCK_D), dtype=ACC), IEEE)
        # ... then merged into the running result, in split order.
        m_new = tl.maximum(m, m_s)
        m_ref = tl.where(m_new == float("-inf"), 0.0, m_new)
        a = tl.exp(m - m_ref)
        c = tl.exp(m_s - m_ref)
        l = l * a + l_s * c
        acc = acc * a[:, None] + acc_s * c[:, None]
        m = m_new

    out = tl.where(l[:, None] > 0, acc / tl.where(l > 0, l, 1.0)[:, None], 0.0)
    tl.store(out_ptr + b * so_b + tq[:, None] * so_t + head[:, None] * so_h + dims[None, :],
             out.to(out_ptr.dtype.element_ty), mask=row_ok[:, None] & (dims[None, :] < D))


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kv_len: torch.Tensor,
              scale: float | None = None) -> torch.Tensor:
    dtype = check("attention", q, k, v)
    if q.dim() != 4 or k.dim() != 4 or k.shape != v.shape:
        raise ValueError(f"attention: expected q[B,Tq,Hq,D], k=v[B,S,Hkv,D], got {tuple(q.shape)}, "
                         f"{tuple(k.shape)}, {tuple(v.shape)}")
    B, Tq, Hq, D = q.shape
    S, Hkv = k.shape[1], k.shape[2]
    if k.shape[0] != B or k.shape[3] != D or Hkv == 0 or Hq % Hkv:
        raise ValueError(f"attention: k/v {tuple(k.shape)} do not fit q {tuple(q.shape)} (Hq must be a multiple of Hkv)")
    if kv_len.shape != (B,) or kv_len.dtype.is_floating_point:
        raise ValueError(f"attention: kv_len must be an integer tensor [B={B}], got {kv_len.dtype} {tuple(kv_len.shape)}")
    out = torch.empty((B, Tq, Hq, D), dtype=storage_dtype(dtype), device=q.device)
    if out.numel() == 0:
        return round_like(out, dtype)
    if kv_len.device.type == "cpu" and B and (int(kv_len.min()) < 0 or int(kv_len.max()) > S):
        # Checked only for host tensors: a check on a CUDA tensor would sync (and break graphs).
        raise ValueError(f"attention: kv_len must lie in [0, S={S}], got {kv_len.tolist()}")
    lens = kv_len.to(device=q.device, dtype=torch.int32).clamp(0, S).contiguous()
    acc = acc_dtype(dtype)
    # A device tensor, not a kernel float argument: Triton passes Python floats as float32, which
    # would round the scale of a float64 call. torch.full (a fill kernel, no host copy) keeps the
    # call capturable in a CUDA graph.
    scale_t = torch.full((1,), 1.0 / math.sqrt(D) if scale is None else float(scale), dtype=acc, device=q.device)
    qs, ks, vs = (widen(t) for t in (q, k, v))
    qs, ks, vs = (t if t.stride(3) == 1 else t.contiguous() for t in (qs, ks, vs))
    group = Hq // Hkv
    t = tiles("attention", B * Tq, dtype, on_cuda(q))
    grid = (B * Hkv, triton.cdiv(Tq * group, t.BLOCK_M))
    launch(_attention_kernel, "attention", grid, t, qs, ks, vs, lens, scale_t, out, Tq, Hkv, D,
           qs.stride(0), qs.stride(1), qs.stride(2), ks.stride(0), ks.stride(1), ks.stride(2),
           vs.stride(0), vs.stride(1), vs.stride(2), out.stride(0), out.stride(1), out.stride(2),
           GROUP=group, BLOCK_M=t.BLOCK_M, BLOCK_N=t.BLOCK_N, BLOCK_D=max(16, triton.next_power_of_2(D)),
           ACC=tl.float64 if acc == torch.float64 else tl.float32, IEEE=ieee(dtype))
    return round_like(out, dtype)
