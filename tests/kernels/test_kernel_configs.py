"""No tile parameter that shapes a reduction depends on the number of rows (invariant mode)."""

from __future__ import annotations

import torch

import microturn.kernels as K
from microturn.kernels import configs

from kernel_data import moe_weights, randn

ROWS = [0, 1, 2, 3, 7, 8, 16, 31, 64, 100, 128, 129, 512, 1000, 2048, 4096, 8192, 65536]


def test_selected_tiles_are_the_same_for_every_row_count():
    for kernel in configs.KERNELS:
        for dtype in ("float16", "bfloat16", "float32", "float64"):
            for cuda in (False, True):
                chosen = {configs.select(kernel, rows=m, dtype_name=dtype, cuda=cuda) for m in ROWS}
                assert len(chosen) == 1, (kernel, dtype, cuda, chosen)


def test_free_mode_does_depend_on_rows_so_the_check_above_can_fail():
    with configs.invariant_mode(False):
        chosen = {configs.select("moe_gate_up", rows=m, dtype_name="bfloat16", cuda=True) for m in ROWS}
    assert len(chosen) > 1
    assert configs.invariant()  # the context manager restored the default


def _launched_tiles(fn) -> dict:
    with K.backend.tile_log() as log:
        fn()
    assert log, "no Triton kernel was launched"
    return {name: tiles for name, tiles, _grid in log}


def test_launched_tiles_do_not_change_with_the_batch():
    router, wgu, wd = moe_weights(8, 32, 32, seed=1)
    norm_w = randn(32, seed=2)
    runs = []
    for rows in (1, 5, 40):
        x = randn(rows, 32, seed=3)
        q, k = randn(rows, 2, 4, 16, seed=4), randn(rows, 24, 2, 16, seed=5)

        def step():
            K.fused_moe(x, router, wgu, wd, 2)
            K.bi_matmul(x, wgu[0])
            K.rms_norm(x, norm_w)
            K.attention(q, k, k, torch.full((rows,), 20))

        runs.append(_launched_tiles(step))
    assert runs[0] == runs[1] == runs[2]
    assert set(runs[0]) == {"route", "moe_gate_up", "moe_down", "moe_combine", "bi_matmul", "rms_norm", "attention"}
