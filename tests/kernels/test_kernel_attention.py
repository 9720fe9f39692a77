"""attention: decode and chunked prefill, GQA, per-session kv_len; bitwise batch invariance."""

from __future__ import annotations

import pytest
import torch

import microturn.kernels as K
from microturn.kernels import reference

from kernel_data import DTYPES, assert_close, gen, randn

HQ, HKV, D = 4, 2, 16


def _qkv(B, Tq, S, *, seed, dtype=torch.float64):
    return (randn(B, Tq, HQ, D, seed=seed, dtype=dtype), randn(B, S, HKV, D, seed=seed + 1, dtype=dtype),
            randn(B, S, HKV, D, seed=seed + 2, dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("Tq", [1, 6])
def test_attention_matches_reference(dtype, Tq):
    q, k, v = _qkv(4, Tq, 75, seed=1, dtype=dtype)
    kv_len = torch.tensor([75, 40, 6, 3])  # full, partial, exactly Tq, fewer keys than queries
    with K.counting() as launched:
        out = K.attention(q, k, v, kv_len)
    assert launched == {"attention": 1}
    assert_close(out, reference.attention(q, k, v, kv_len), dtype)


def test_explicit_scale_and_multi_query():
    q = randn(2, 3, 4, D, seed=2)
    k, v = randn(2, 50, 1, D, seed=3), randn(2, 50, 1, D, seed=4)
    kv_len = torch.tensor([50, 17])
    assert_close(K.attention(q, k, v, kv_len, scale=0.3), reference.attention(q, k, v, kv_len, scale=0.3),
                 torch.float64)


def test_queries_without_keys_are_zero_and_cache_garbage_never_leaks():
    q, k, v = _qkv(2, 4, 40, seed=5)
    k[:, 10:], v[:, 10:] = float("nan"), float("inf")  # unwritten cache slots
    kv_len = torch.tensor([10, 0])
    out = K.attention(q, k, v, kv_len)
    assert torch.isfinite(out).all()
    assert (out[1] == 0).all()
    assert_close(out, reference.attention(q, k, v, kv_len), torch.float64)


def test_empty_batch():
    q, k, v = _qkv(0, 1, 8, seed=6)
    assert K.attention(q, k, v, torch.zeros(0, dtype=torch.int64)).shape == (0, 1, HQ, D)


def test_session_is_bitwise_the_same_alone_among_garbage_and_shuffled():
    q, k, v = _qkv(1, 3, 70, seed=7)
    lens = torch.tensor([52])
    alone = K.attention(q, k, v, lens)
    # In a bigger batch with a longer cache (more KV splits) and random other sessions.
    for B, at, S, seed in ((2, 1, 70, 8), (5, 3, 130, 9)):
        bq, bk, bv = _qkv(B, 3, S, seed=seed)
        bq, bk, bv = bq * 30, bk * 30, bv * 30
        bq[at], bk[at, :70], bv[at, :70] = q[0], k[0], v[0]
        bk[at, 70:], bv[at, 70:] = float("nan"), float("nan")
        lens_b = torch.randint(0, S + 1, (B,), generator=gen(seed))
        lens_b[at] = 52
        assert torch.equal(K.attention(bq, bk, bv, lens_b)[at], alone[0])
    bq, bk, bv = _qkv(6, 3, 70, seed=10)
    lens_b = torch.tensor([70, 5, 33, 64, 1, 52])
    full = K.attention(bq, bk, bv, lens_b)
    perm = torch.randperm(6, generator=gen(11))
    assert torch.equal(K.attention(bq[perm], bk[perm], bv[perm], lens_b[perm]), full[perm])


def test_prefill_chunk_equals_decoding_one_query_at_a_time():
    q, k, v = _qkv(2, 8, 90, seed=12)
    lens = torch.tensor([90, 41])
    chunk = K.attention(q, k, v, lens)
    for i in range(0, 8, 3):  # query i alone: its cache ends at its own position
        step = K.attention(q[:, i:i + 1], k, v, lens - 8 + i + 1)
        assert torch.equal(step[:, 0], chunk[:, i])
