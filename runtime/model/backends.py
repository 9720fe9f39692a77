"""The four operations the model is made of, behind one small seam, in three flavours.

Every tensor here is *session-blocked*: the leading dimension is the session, the second the
tokens of that session in this call. The model never loops over sessions; each operation is
one batched call for all of them.

- `TorchOps(invariant=False)`: the reference. Plain `F.linear` over all rows at once, a sparse
  MoE that loops over experts (not sessions), attention padded to the longest cache.
- `TorchOps(invariant=True)`: the batch-invariant CPU mode. A row's result must not depend on
  which other sessions share the call. Plain GEMMs break that (MKL takes a GEMV path for one
  row and a tiled GEMM for more, and may tile by row count), so every reduction is made to run
  on a problem whose shape is fixed by the session alone:
    * linear: `bmm` with one batch entry per session ([T, K] x [K, N], weight broadcast with
      stride 0): the per-entry shape never depends on how many sessions there are;
    * MoE: every expert computed densely per session block, as two such per-session matmuls
      over all experts side by side; unpicked experts get weight 0 (no scatter-add, no
      data-dependent shapes): the routing maths exactly, with E/k times the expert FLOPs;
    * attention: the caller pads every cache to the full window (fixed KV length), so each
      (session, head) problem has the same shape whatever the batch; masked keys get exactly 0.
      torch's fused attention kernel splits work per (session, head) and by block sizes chosen
      from the sequence lengths only, so it keeps that property (the explicit matmul form,
      `attention_torch`, is kept for the ONNX export and as the readable reference).
  RMSNorm, softmax, top-k and embeddings already reduce within one row. `microturn bench step`
  measures the cost against the free mode.
- `TritonOps`: `microturn.kernels` (batch-invariant by construction, see CONTRACTS.md), called
  through their `torch.ops.microturn.*` custom ops so `torch.export` keeps each as one node.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def route(logits: torch.Tensor, top_k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax over experts in fp32, top-k, renormalised -> (weights [.., k], experts [.., k])."""
    probs = torch.softmax(logits.float(), dim=-1)
    top_p, top_e = torch.topk(probs, top_k, dim=-1)
    return top_p / top_p.sum(dim=-1, keepdim=True), top_e


def attention_torch(q, k, v, kv_len, scale=None):
    """Reference causal GQA attention over a padded cache (the kernels' contract).

    q [B, Tq, Hq, D] are the last Tq of session b's kv_len[b] valid keys in k/v [B, S, Hkv, D].
    Keys at or past kv_len are masked with -inf, so they contribute exactly zero. The G query
    heads that share a KV head are stacked as rows of one matrix, so K and V are never
    repeated per query head.
    """
    b, tq, hq, d = q.shape
    s, hkv = k.shape[1], k.shape[2]
    g = hq // hkv
    scale = d ** -0.5 if scale is None else scale
    qh = (q * scale).reshape(b, tq, hkv, g, d).permute(0, 2, 3, 1, 4).reshape(b, hkv, g * tq, d)
    scores = torch.matmul(qh, k.permute(0, 2, 3, 1))                  # [B, Hkv, G*Tq, S]
    key_pos = torch.arange(s, device=q.device)
    q_pos = kv_len[:, None] - tq + torch.arange(tq, device=q.device)  # [B, Tq]
    allowed = (key_pos[None, None, :] <= q_pos[:, :, None]).repeat(1, g, 1)  # causal, < kv_len
    scores = scores.masked_fill(~allowed[:, None], float("-inf"))
    probs = torch.softmax(scores.float(), dim=-1).to(v.dtype)
    out = torch.matmul(probs, v.permute(0, 2, 1, 3))                  # [B, Hkv, G*Tq, D]
    return out.reshape(b, hkv, g, tq, d).permute(0, 3, 1, 2, 4).reshape(b, tq, hq, d)


def causal_mask(kv_len, tq: int, s: int):
    """[B, 1, Tq, S] True where query i of session b may see key j (j <= its position < kv_len)."""
    key_pos = torch.arange(s, device=kv_len.device)
    q_pos = kv_len[:, None] - tq + torch.arange(tq, device=kv_len.device)
    return (key_pos[None, None, :] <= q_pos[:, :, None])[:, None]


def attention_sdpa(q, k, v, kv_len, scale=None, mask=None):
    """The same attention through torch's fused CPU/GPU kernel (about 2x faster on a CPU).

    Its work is split per (session, head) and by fixed block sizes of the sequence lengths, so
    at a fixed padded length (the invariant mode) a session's rows do not depend on the batch;
    tests/model/test_model_invariance.py checks that bitwise.
    """
    if mask is None:
        mask = causal_mask(kv_len, q.shape[1], k.shape[1])
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                         attn_mask=mask, scale=scale, enable_gqa=True)
    return out.transpose(1, 2)


def rms_norm_torch(x, weight, eps):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * weight


def _swiglu(h: torch.Tensor) -> torch.Tensor:
    gate, up = h.chunk(2, dim=-1)
    return F.silu(gate) * up


class TorchOps:
    """Pure-torch operations; `invariant=True` is the batch-invariant CPU mode (see above)."""

    def __init__(self, invariant: bool = False, fused_attention: bool = True):
        self.invariant = invariant
        self.pad_to_window = invariant  # fixed attention shapes: the caller pads to the full window
        self.name = "torch-invariant" if invariant else "torch"
        self._attention = attention_sdpa if fused_attention else attention_torch
        self._mask_for = self._mask_key = self._mask = None  # last additive mask and its kv_len

    def linear(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if not self.invariant:
            return F.linear(x, w)
        return torch.bmm(x, w.t().unsqueeze(0).expand(x.shape[0], -1, -1))

    def rms_norm(self, x, weight, eps):
        return rms_norm_torch(x, weight, eps)

    def attention(self, q, k, v, kv_len):
        if self._attention is attention_torch:
            return attention_torch(q, k, v, kv_len)
        # every layer of one forward passes the same kv_len tensor: build the mask once
        key = (kv_len._version, q.shape[1], k.shape[1], q.dtype)
        if self._mask_for is not kv_len or self._mask_key != key:
            allowed = causal_mask(kv_len, q.shape[1], k.shape[1])
            self._mask = torch.zeros(allowed.shape, dtype=q.dtype, device=q.device).masked_fill(~allowed, float("-inf"))
            self._mask_for, self._mask_key = kv_len, key
        return attention_sdpa(q, k, v, kv_len, mask=self._mask)

    def moe(self, x, router, w_gate_up, w_down, top_k):
        if self.invariant:
            return moe_dense(x, router, w_gate_up, w_down, top_k, linear=self.linear)
        return moe_expert_loop(x, router, w_gate_up, w_down, top_k)


def moe_expert_loop(x, router, w_gate_up, w_down, top_k):
    """Sparse MoE as a plain torch loop over experts (the bench's baseline). x: [B, T, H]."""
    shape = x.shape
    flat = x.reshape(-1, shape[-1])
    weights, experts = route(F.linear(flat, router), top_k)
    out = torch.zeros_like(flat)
    for e in range(router.shape[0]):
        rows, slot = torch.nonzero(experts == e, as_tuple=True)
        if rows.numel() == 0:
            continue
        y = F.linear(_swiglu(F.linear(flat[rows], w_gate_up[e])), w_down[e])
        out.index_add_(0, rows, y * weights[rows, slot, None].to(y.dtype))
    return out.reshape(shape)


def moe_dense(x, router, w_gate_up, w_down, top_k, linear=None):
    """MoE with every expert evaluated per session block; static shapes (exportable to ONNX).

    x: [B, T, H]. Two matmuls with all experts side by side: gate/up against the stacked
    [E * 2I, H] weight, then the routing-weighted activations (zero for experts a token did not
    pick) against the stacked [H, E * I] down weight, which sums the k picked experts inside
    one fixed-order reduction per row. Same function as the sparse form, E/k times the FLOPs.
    """
    linear = linear or F.linear
    e, two_i, h = w_gate_up.shape
    weights, experts = route(linear(x, router), top_k)                       # [B, T, k]
    dense_w = torch.zeros(*x.shape[:-1], e, dtype=x.dtype, device=x.device)
    dense_w = dense_w.scatter(-1, experts, weights.to(x.dtype))               # [B, T, E]
    gate_up = linear(x, w_gate_up.reshape(e * two_i, h)).unflatten(-1, (e, two_i))  # [B, T, E, 2I]
    act = _swiglu(gate_up) * dense_w[..., None]                              # [B, T, E, I]
    down = w_down.permute(1, 0, 2).reshape(h, e * (two_i // 2))               # [H, E * I]
    return linear(act.flatten(-2), down)


class TritonOps:
    """The Triton kernels (`microturn.kernels`), called as their registered custom ops."""

    invariant = True        # the kernels are batch-invariant...
    pad_to_window = False   # ...at any cache padding (fixed KV split size)
    name = "triton"

    def __init__(self):
        import microturn.kernels.ops  # noqa: F401  registers torch.ops.microturn.*

        self._ops = torch.ops.microturn

    def linear(self, x, w):
        b, t, k = x.shape
        return self._ops.bi_matmul(x.reshape(b * t, k), w).reshape(b, t, -1)

    def rms_norm(self, x, weight, eps):
        b, t, h = x.shape
        return self._ops.rms_norm(x.reshape(b * t, h), weight, float(eps)).reshape(b, t, h)

    def attention(self, q, k, v, kv_len):
        return self._ops.attention(q, k, v, kv_len.to(torch.int32), None)

    def moe(self, x, router, w_gate_up, w_down, top_k):
        b, t, h = x.shape
        return self._ops.fused_moe(x.reshape(b * t, h), router, w_gate_up, w_down, int(top_k)).reshape(b, t, h)


BACKENDS = ("torch", "triton", "tensorrt")


def make_ops(backend: str = "torch", invariant: bool = False):
    """Ops for a backend name. `tensorrt` runs the exported graph; its eager twin is triton."""
    if backend == "torch":
        return TorchOps(invariant=invariant)
    if backend in ("triton", "tensorrt"):
        return TritonOps()
    raise ValueError(f"unknown model backend {backend!r}; choose one of {', '.join(BACKENDS)}")
