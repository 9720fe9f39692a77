"""fused_moe against the torch reference, edge cases, and bitwise batch invariance (float64)."""

from __future__ import annotations

import pytest
import torch

import microturn.kernels as K
from microturn.kernels import reference

from kernel_data import DTYPES, assert_close, gen, moe_weights, randn

E, H, I = 8, 160, 96  # H: 3 K-steps (last one partial); I: 2 N-tiles
MOE_KERNELS = {"route": 1, "moe_gate_up": 1, "moe_down": 1, "moe_combine": 1}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("top_k", [1, 2])
def test_fused_moe_matches_reference(dtype, top_k):
    router, wgu, wd = moe_weights(E, H, I, seed=1, dtype=dtype)
    x = randn(19, H, seed=2, dtype=dtype)
    with K.counting() as launched:
        out = K.fused_moe(x, router, wgu, wd, top_k)
    assert launched == MOE_KERNELS
    assert out.shape == (19, H)
    assert_close(out, reference.fused_moe(x, router, wgu, wd, top_k), dtype)


def test_experts_spanning_several_blocks():
    router, wgu, wd = moe_weights(4, 64, 64, seed=17)
    x = randn(90, 64, seed=18, dtype=torch.float32)
    router, wgu, wd = router.float(), wgu.float(), wd.float()
    ids, _ = reference.route(x, router, 2)
    assert torch.bincount(ids.flatten().long()).max() > 2 * 16  # some expert fills 3+ blocks
    assert_close(K.fused_moe(x, router, wgu, wd, 2), reference.fused_moe(x, router, wgu, wd, 2), torch.float32)


def test_every_expert_chosen_when_top_k_is_all_experts():
    router, wgu, wd = moe_weights(4, 32, 32, seed=3)
    x = randn(6, 32, seed=4)
    assert_close(K.fused_moe(x, router, wgu, wd, 4), reference.fused_moe(x, router, wgu, wd, 4), torch.float64)


def test_no_tokens():
    router, wgu, wd = moe_weights(E, H, I, seed=1)
    with K.counting() as launched:
        out = K.fused_moe(randn(0, H, seed=2), router, wgu, wd, 2)
    assert out.shape == (0, H) and out.dtype == torch.float64
    assert not launched


def test_experts_without_tokens():
    router, wgu, wd = moe_weights(E, H, I, seed=5)
    # Experts 2..7 point away from every token, so only experts 0 and 1 get tokens.
    x = randn(11, H, seed=6).abs()
    router[:2] = randn(2, H, seed=7).abs()
    router[2:] = -randn(E - 2, H, seed=8).abs()
    ids, _ = reference.route(x, router, 2)
    assert set(ids.unique().tolist()) == {0, 1}
    assert_close(K.fused_moe(x, router, wgu, wd, 2), reference.fused_moe(x, router, wgu, wd, 2), torch.float64)


def test_token_is_bitwise_the_same_alone_in_garbage_and_shuffled():
    router, wgu, wd = moe_weights(E, H, I, seed=9)
    tokens = randn(24, H, seed=10)
    full = K.fused_moe(tokens, router, wgu, wd, 2)
    for t in (0, 13, 23):
        assert torch.equal(K.fused_moe(tokens[t:t + 1], router, wgu, wd, 2)[0], full[t])
    # Among garbage: many rows of large values, so the token's blocks fill with other tokens
    # and it lands at other positions inside its blocks.
    for size, at, seed in ((3, 2, 11), (40, 5, 12), (57, 56, 13)):
        batch = randn(size, H, seed=seed, scale=20.0)
        batch[at] = tokens[13]
        assert torch.equal(K.fused_moe(batch, router, wgu, wd, 2)[at], full[13])
    perm = torch.randperm(24, generator=gen(14))
    assert torch.equal(K.fused_moe(tokens[perm], router, wgu, wd, 2), full[perm])



@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # numpy, on the NaN row
def test_a_nan_token_poisons_only_itself():
    router, wgu, wd = moe_weights(E, H, I, seed=19)
    tokens = randn(12, H, seed=20)
    clean = K.fused_moe(tokens, router, wgu, wd, 2)
    tokens[4] = float("nan")
    out = K.fused_moe(tokens, router, wgu, wd, 2)
    assert torch.isnan(out[4]).all()
    keep = [t for t in range(12) if t != 4]
    assert torch.equal(out[keep], clean[keep])
