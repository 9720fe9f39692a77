"""bi_matmul and rms_norm against their references, and bitwise batch invariance (float64)."""

from __future__ import annotations

import pytest
import torch

import microturn.kernels as K
from microturn.kernels import reference

from kernel_data import DTYPES, assert_close, gen, randn


@pytest.mark.parametrize("dtype", DTYPES)
def test_bi_matmul_matches_reference(dtype):
    x, w = randn(37, 80, seed=1, dtype=dtype), randn(70, 80, seed=2, dtype=dtype)
    with K.counting() as launched:
        out = K.bi_matmul(x, w)
    assert launched["bi_matmul"] == 1
    assert_close(out, reference.bi_matmul(x, w), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_norm_matches_reference(dtype):
    x, w = randn(9, 300, seed=3, dtype=dtype, scale=3.0), randn(300, seed=4, dtype=dtype)
    with K.counting() as launched:
        out = K.rms_norm(x, w, 1e-5)
    assert launched["rms_norm"] == 1
    assert_close(out, reference.rms_norm(x, w, 1e-5), dtype)


def test_empty_rows():
    assert K.bi_matmul(randn(0, 8, seed=1), randn(5, 8, seed=2)).shape == (0, 5)
    assert K.rms_norm(randn(0, 8, seed=1), randn(8, seed=2)).shape == (0, 8)


def _garbage_batch(row: torch.Tensor, size: int, at: int, seed: int) -> torch.Tensor:
    """`row` placed at index `at` among `size - 1` rows of large random garbage."""
    batch = randn(size, row.shape[-1], seed=seed, scale=50.0)
    batch[at] = row
    return batch


@pytest.mark.parametrize("op", ["bi_matmul", "rms_norm"])
def test_row_is_bitwise_the_same_alone_in_garbage_and_shuffled(op):
    w = randn(96, 130, seed=7)
    norm_w = randn(130, seed=8)
    fn = (lambda x: K.bi_matmul(x, w)) if op == "bi_matmul" else (lambda x: K.rms_norm(x, norm_w))
    rows = randn(40, 130, seed=9)
    full = fn(rows)
    alone = torch.cat([fn(rows[t:t + 1]) for t in (0, 17, 39)])
    assert torch.equal(alone, full[[0, 17, 39]])
    for size, at, seed in ((2, 1, 10), (33, 31, 11), (70, 45, 12)):
        assert torch.equal(fn(_garbage_batch(rows[17], size, at, seed))[at], full[17])
    perm = torch.randperm(40, generator=gen(13))
    assert torch.equal(fn(rows[perm]), full[perm])
