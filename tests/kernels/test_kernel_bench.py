"""The MoE benchmark runs through the Triton path and reports what it promises (no timing asserts)."""

from __future__ import annotations

import torch

from microturn.kernels.bench import bench_moe, torch_loop_moe

from kernel_data import moe_weights, randn


def test_torch_loop_baseline_agrees_with_the_reference():
    from microturn.kernels import reference

    router, wgu, wd = moe_weights(4, 32, 32, seed=1)
    x = randn(9, 32, seed=2)
    torch.testing.assert_close(torch_loop_moe(x, router, wgu, wd, 2), reference.fused_moe(x, router, wgu, wd, 2))


def test_bench_moe_reports_every_size():
    report = bench_moe("cpu", (1, 3), torch.float32, experts=4, hidden=32, inter=32, top_k=2, warmup=0, iters=1)
    assert [r["tokens"] for r in report["results"]] == [1, 3]
    for row in report["results"]:
        assert row["timing"] == "eager" and 1 <= row["experts_touched"] <= 4
        assert row["ms_invariant"] > 0 and row["ms_free"] > 0 and row["ms_torch_loop"] > 0
        assert row["TFLOPs"] > 0 and row["weight_GBps"] > 0
