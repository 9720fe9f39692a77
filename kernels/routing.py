"""MoE routing and alignment.

`route`: router logits (hidden @ router_weight.T, float32 or float64 accumulation), softmax over
experts in float32 (float64 for float64 inputs), top-k by repeated argmax with ties going to the
lower expert id, weights renormalised over the k chosen. One Triton kernel, BLOCK_M tokens per
program; every reduction is along one token's row, so a token's route never depends on the
others.

`align`: index bookkeeping, done with torch tensor ops on the tensors' device (no host sync):
the T*k (token, slot) pairs, numbered p = t*k + slot, are stably sorted by expert, and each
expert's segment is padded to a multiple of BLOCK_M, so that every M-block of the grouped GEMMs
holds one expert. Padding entries hold the sentinel T*k. The block count is a static upper bound
(a function of T, k, E and BLOCK_M only), and blocks past the used ones carry expert -1 and exit
at once.
"""

from __future__ import annotations

import dataclasses

import torch

from ._common import acc_dtype, check, dot, ieee, launch, on_cuda, tiles, tl, triton, widen


@triton.jit
def _route_kernel(x_ptr, w_ptr, ids_ptr, weights_ptr, T, E, H, stride_x, stride_w,
                  TOP_K: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_E: tl.constexpr,
                  BLOCK_K: tl.constexpr, ACC: tl.constexpr, IEEE: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    experts = tl.arange(0, BLOCK_E)
    ks = tl.arange(0, BLOCK_K)
    logits = tl.zeros((BLOCK_M, BLOCK_E), dtype=ACC)
    for k0 in range(0, H, BLOCK_K):
        kk = k0 + ks
        a = tl.load(x_ptr + rows[:, None] * stride_x + kk[None, :],
                    mask=(rows[:, None] < T) & (kk[None, :] < H), other=0.0)
        b = tl.load(w_ptr + experts[None, :] * stride_w + kk[:, None],
                    mask=(experts[None, :] < E) & (kk[:, None] < H), other=0.0)
        logits = dot(a, b, logits, IEEE)
    logits = tl.where(experts[None, :] < E, logits, float("-inf"))
    shifted = logits - tl.max(logits, axis=1)[:, None]
    e = tl.exp(shifted)
    probs = e / tl.sum(e, axis=1)[:, None]
    # A token with NaN/inf inputs has NaN probabilities, and argmax over NaN is unspecified (the
    # interpreter even raises). Zero them: such a token then picks experts 0..k-1 with weights
    # 0/0 = NaN, so its output is NaN, its ids stay in range, and no other token is touched.
    probs = tl.where(probs == probs, probs, 0.0)
    # Top-k by repeated argmax; probabilities are >= 0, so -1 marks "already taken".
    total = tl.zeros((BLOCK_M,), dtype=ACC)
    for slot in tl.static_range(TOP_K):
        best = tl.argmax(probs, axis=1, tie_break_left=True)
        chosen = experts[None, :] == best[:, None]
        p = tl.sum(tl.where(chosen, probs, 0.0), axis=1)
        tl.store(ids_ptr + rows * TOP_K + slot, best.to(tl.int32), mask=rows < T)
        tl.store(weights_ptr + rows * TOP_K + slot, p, mask=rows < T)
        total += p
        probs = tl.where(chosen, -1.0, probs)
    for slot in tl.static_range(TOP_K):
        p = tl.load(weights_ptr + rows * TOP_K + slot, mask=rows < T, other=0.0)
        tl.store(weights_ptr + rows * TOP_K + slot, p / total, mask=rows < T)


def route(hidden: torch.Tensor, router_weight: torch.Tensor, top_k: int):
    """-> (topk_ids [T, k] int32, topk_weights [T, k] float32, float64 for float64 inputs)."""
    dtype = check("route", hidden, router_weight)
    T, H = hidden.shape
    E = router_weight.shape[0]
    if not 1 <= top_k <= E:
        raise ValueError(f"route: top_k={top_k} must be between 1 and the number of experts {E}")
    acc = acc_dtype(dtype)
    ids = torch.empty((T, top_k), dtype=torch.int32, device=hidden.device)
    weights = torch.empty((T, top_k), dtype=acc, device=hidden.device)
    if T == 0:
        return ids, weights
    xs, ws = widen(hidden).contiguous(), widen(router_weight).contiguous()
    t = tiles("route", T, dtype, on_cuda(hidden))
    grid = (triton.cdiv(T, t.BLOCK_M),)
    launch(_route_kernel, "route", grid, t, xs, ws, ids, weights, T, E, H, xs.stride(0), ws.stride(0),
           TOP_K=top_k, BLOCK_M=t.BLOCK_M, BLOCK_E=max(16, triton.next_power_of_2(E)),
           BLOCK_K=t.BLOCK_K, ACC=tl.float64 if acc == torch.float64 else tl.float32, IEEE=ieee(dtype))
    return ids, weights


@dataclasses.dataclass
class Alignment:
    """Pairs sorted by expert and padded per expert to `block_m`.

    sorted_pairs[i]: the pair id p = t*k + slot at padded position i, or `num_pairs` for padding.
    block_expert[b]: the expert of rows [b*block_m, (b+1)*block_m), or -1 for an unused block.
    """

    sorted_pairs: torch.Tensor  # [num_blocks * block_m] int32
    block_expert: torch.Tensor  # [num_blocks] int32
    num_pairs: int
    block_m: int

    @property
    def num_blocks(self) -> int:
        return self.block_expert.numel()


def max_blocks(num_pairs: int, num_experts: int, block_m: int) -> int:
    """Upper bound on used blocks: each nonempty expert wastes under one block of padding, and
    every used block holds at least one real pair."""
    return min(num_pairs, triton.cdiv(num_pairs, block_m) + min(num_experts, num_pairs))


def align(topk_ids: torch.Tensor, num_experts: int, block_m: int) -> Alignment:
    device = topk_ids.device
    flat = topk_ids.reshape(-1).to(torch.int64)
    P = flat.numel()
    nb = max_blocks(P, num_experts, block_m)
    if P == 0:
        return Alignment(torch.empty(0, dtype=torch.int32, device=device),
                         torch.empty(0, dtype=torch.int32, device=device), 0, block_m)
    order = torch.sort(flat, stable=True).indices  # pair ids, by expert, in token order
    # scatter_add, not bincount: bincount syncs with the host on CUDA, and the whole MoE must stay
    # sync-free so that a CUDA graph can capture it.
    counts = torch.zeros(num_experts, dtype=torch.int64, device=device).scatter_add_(0, flat, torch.ones_like(flat))
    blocks = (counts + block_m - 1) // block_m
    padded_start = (torch.cumsum(blocks, 0) - blocks) * block_m  # first padded row of each expert
    start = torch.cumsum(counts, 0) - counts  # first sorted index of each expert
    experts_sorted = flat[order]
    rank = torch.arange(P, device=device) - start[experts_sorted]
    dest = padded_start[experts_sorted] + rank
    sorted_pairs = torch.full((nb * block_m,), P, dtype=torch.int32, device=device)
    sorted_pairs[dest] = order.to(torch.int32)
    block_ids = torch.arange(nb, device=device)
    owner = torch.searchsorted(torch.cumsum(blocks, 0), block_ids, right=True)
    block_expert = torch.where(owner < num_experts, owner, -1).to(torch.int32)
    return Alignment(sorted_pairs, block_expert, P, block_m)
