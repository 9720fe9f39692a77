"""Routing (softmax top-k) and alignment (sort by expert, pad per expert to the block)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import microturn.kernels as K
from microturn.kernels import reference
from microturn.kernels.routing import align, max_blocks, route

from kernel_data import DTYPES, randn


@pytest.mark.parametrize("dtype", DTYPES)
def test_route_matches_reference(dtype):
    x, router = randn(21, 48, seed=1, dtype=dtype), randn(6, 48, seed=2, dtype=dtype)
    with K.counting() as launched:
        ids, weights = route(x, router, 3)
    assert launched["route"] == 1
    ref_ids, ref_weights = reference.route(x, router, 3)
    assert torch.equal(ids, ref_ids)
    assert weights.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
    torch.testing.assert_close(weights, ref_weights.to(weights.dtype), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(21, dtype=weights.dtype))


def test_ties_go_to_the_lower_expert_id():
    x = randn(5, 16, seed=3)
    row = randn(1, 16, seed=4)
    # Experts 1, 3 and 4 are identical, so their probabilities tie exactly; expert 0 is the
    # same direction scaled up (always first), expert 2 the opposite one (always last).
    router = torch.cat([2 * row, row, -row, row, row])
    ids, weights = route(x.abs() * row.sign(), router, 3)  # every token aligns with `row`
    assert ids.tolist() == [[0, 1, 3]] * 5
    assert torch.equal(weights[:, 1], weights[:, 2])
    ids_ref, _ = reference.route(x.abs() * row.sign(), router, 3)
    assert torch.equal(ids, ids_ref)


def test_route_with_no_tokens():
    ids, weights = route(randn(0, 16, seed=1), randn(4, 16, seed=2), 2)
    assert ids.shape == (0, 2) and weights.shape == (0, 2)


@st.composite
def routings(draw):
    num_experts = draw(st.integers(1, 6))
    top_k = draw(st.integers(1, min(3, num_experts)))
    tokens = draw(st.integers(0, 12))
    rows = draw(st.lists(st.lists(st.integers(0, num_experts - 1), min_size=top_k, max_size=top_k,
                                  unique=True), min_size=tokens, max_size=tokens))
    block_m = draw(st.sampled_from([1, 2, 4, 16]))
    ids = torch.tensor(rows, dtype=torch.int32).reshape(tokens, top_k)
    return ids, num_experts, block_m


@settings(max_examples=60, deadline=None)
@given(routings())
def test_align_agrees_with_the_plain_reference_and_keeps_its_promises(case):
    ids, num_experts, block_m = case
    P = ids.numel()
    al = align(ids, num_experts, block_m)
    ref_pairs, ref_blocks = reference.align(ids, num_experts, block_m)
    used = len(ref_blocks)
    assert al.num_blocks == max_blocks(P, num_experts, block_m) >= used
    assert al.block_expert[:used].tolist() == ref_blocks
    assert al.sorted_pairs[:used * block_m].tolist() == ref_pairs
    assert (al.block_expert[used:] == -1).all() and (al.sorted_pairs[used * block_m:] == P).all()
    # Every pair exactly once; each block holds one expert's pairs, in token order.
    real = al.sorted_pairs[al.sorted_pairs < P].tolist()
    assert sorted(real) == list(range(P))
    flat = ids.reshape(-1).tolist()
    for b in range(used):
        block = [p for p in al.sorted_pairs[b * block_m:(b + 1) * block_m].tolist() if p < P]
        assert block and all(flat[p] == ref_blocks[b] for p in block)
        assert block == sorted(block)
