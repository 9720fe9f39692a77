"""Kernel tests that need a CUDA device: compiled Triton, bfloat16 and float32 bitwise batch
invariance, fused_moe against the reference.

Importable with torch + triton + microturn.kernels alone (the lent GPU machines have nothing
else): no hypothesis, no helpers from other test folders. Run there with
`pip install --no-deps --no-build-isolation -e . && pytest tests/gpu`.
"""

from __future__ import annotations

import pytest
import torch

import microturn.kernels as K
from microturn.kernels import reference

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (no GPU here)")]

TOL = {torch.float64: (1e-10, 1e-10), torch.float32: (1e-4, 1e-4), torch.float16: (2e-2, 2e-2),
       torch.bfloat16: (6e-2, 6e-2)}
BATCHES = [1, 2, 3, 7, 16, 33, 100, 256]


def _randn(*shape, seed, dtype, scale=1.0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return (torch.randn(*shape, generator=g, device="cuda", dtype=torch.float32) * scale).to(dtype)


def _moe(E, H, I, seed, dtype):
    return (_randn(E, H, seed=seed, dtype=dtype), _randn(E, 2 * I, H, seed=seed + 1, dtype=dtype, scale=H ** -0.5),
            _randn(E, H, I, seed=seed + 2, dtype=dtype, scale=I ** -0.5))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32, torch.float64])
def test_fused_moe_matches_reference_on_cuda(dtype):
    router, wgu, wd = _moe(16, 256, 384, seed=1, dtype=dtype)
    for T in (0, 1, 5, 77, 300):
        x = _randn(T, 256, seed=T + 10, dtype=dtype)
        with K.counting() as launched:
            out = K.fused_moe(x, router, wgu, wd, 4)
        assert T == 0 or launched["moe_gate_up"] == 1
        atol, rtol = TOL[dtype]
        torch.testing.assert_close(out, reference.fused_moe(x, router, wgu, wd, 4), atol=atol, rtol=rtol)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_dense_kernels_and_attention_match_reference_on_cuda(dtype):
    atol, rtol = TOL[dtype]
    x, w = _randn(67, 512, seed=1, dtype=dtype), _randn(300, 512, seed=2, dtype=dtype)
    torch.testing.assert_close(K.bi_matmul(x, w), reference.bi_matmul(x, w), atol=atol * 10, rtol=rtol)
    nw = _randn(512, seed=3, dtype=dtype)
    torch.testing.assert_close(K.rms_norm(x, nw), reference.rms_norm(x, nw), atol=atol, rtol=rtol)
    q, k, v = _randn(5, 9, 8, 64, seed=4, dtype=dtype), _randn(5, 700, 2, 64, seed=5, dtype=dtype), \
        _randn(5, 700, 2, 64, seed=6, dtype=dtype)
    lens = torch.tensor([700, 333, 9, 3, 0], device="cuda")
    torch.testing.assert_close(K.attention(q, k, v, lens), reference.attention(q, k, v, lens), atol=atol, rtol=rtol)


def _check_row_invariance(fn, rows: torch.Tensor, make_garbage):
    """fn(batch)[i] == fn(row alone)[0] bitwise, for garbage batches of many sizes and shuffles."""
    full = fn(rows)
    for t in (0, rows.shape[0] // 2, rows.shape[0] - 1):
        assert torch.equal(fn(rows[t:t + 1])[0], full[t]), f"row {t} alone differs"
    for size in BATCHES:
        batch = make_garbage(size, seed=size)
        at = size // 3
        batch[at] = rows[1]
        assert torch.equal(fn(batch)[at], full[1]), f"row differs inside a batch of {size}"
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(rows.shape[0], generator=g).to("cuda")
    assert torch.equal(fn(rows[perm]), full[perm])


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_bitwise_batch_invariance_on_cuda(dtype):
    H = 512
    w = _randn(1024, H, seed=1, dtype=dtype)
    nw = _randn(H, seed=2, dtype=dtype)
    router, wgu, wd = _moe(16, H, 256, seed=3, dtype=dtype)
    rows = _randn(48, H, seed=4, dtype=dtype)

    def garbage(size, seed):
        return _randn(size, H, seed=1000 + seed, dtype=dtype, scale=8.0)

    _check_row_invariance(lambda x: K.bi_matmul(x, w), rows, garbage)
    _check_row_invariance(lambda x: K.rms_norm(x, nw), rows, garbage)
    _check_row_invariance(lambda x: K.fused_moe(x, router, wgu, wd, 4), rows, garbage)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_attention_session_invariance_on_cuda(dtype):
    q, k, v = _randn(1, 4, 8, 64, seed=1, dtype=dtype), _randn(1, 500, 2, 64, seed=2, dtype=dtype), \
        _randn(1, 500, 2, 64, seed=3, dtype=dtype)
    alone = K.attention(q, k, v, torch.tensor([321], device="cuda"))
    for B, S in ((2, 500), (9, 1200), (40, 600)):
        bq = _randn(B, 4, 8, 64, seed=B + 6, dtype=dtype)
        bk, bv = _randn(B, S, 2, 64, seed=B + 7, dtype=dtype), _randn(B, S, 2, 64, seed=B + 8, dtype=dtype)
        at = B - 1
        bq[at], bk[at, :500], bv[at, :500] = q[0], k[0], v[0]
        lens = torch.randint(0, S + 1, (B,), device="cuda")
        lens[at] = 321
        assert torch.equal(K.attention(bq, bk, bv, lens)[at], alone[0]), f"session differs in a batch of {B}"
    # A prefill chunk equals the same queries decoded one at a time.
    for i in range(4):
        step = K.attention(q[:, i:i + 1], k, v, torch.tensor([321 - 3 + i], device="cuda"))
        assert torch.equal(step[0, 0], alone[0, i])
