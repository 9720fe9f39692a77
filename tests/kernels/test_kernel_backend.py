"""The backend switch is explicit and never falls back silently."""

from __future__ import annotations

import pytest
import torch

import microturn.kernels as K
from microturn.kernels import reference

from kernel_data import moe_weights, randn


def test_triton_backend_launches_triton_kernels():
    x, w = randn(4, 16, seed=1), randn(8, 16, seed=2)
    assert K.backend_name() == "triton"
    with K.counting() as launched:
        out = K.bi_matmul(x, w)
    assert launched == {"bi_matmul": 1}
    assert torch.equal(out, reference.bi_matmul(x, w))  # exact: bf16-representable float64


def test_reference_backend_launches_nothing_and_matches():
    router, wgu, wd = moe_weights(4, 16, 16, seed=3)
    x = randn(5, 16, seed=4)
    with K.using("reference"), K.counting() as launched:
        assert K.backend_name() == "reference"
        out = K.fused_moe(x, router, wgu, wd, 2)
    assert not launched
    assert K.backend_name() == "triton"
    assert torch.equal(out, reference.fused_moe(x, router, wgu, wd, 2))


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown kernel backend"):
        K.use("cuda-magic")
    assert K.backend_name() == "triton"


def test_cpu_tensors_without_the_interpreter_are_an_error_not_a_fallback(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(RuntimeError, match="needs CUDA tensors"):
        K.rms_norm(randn(2, 8, seed=5), randn(8, seed=6))


def test_bad_inputs_get_clear_errors():
    with pytest.raises(TypeError, match="share one dtype"):
        K.bi_matmul(randn(2, 8, seed=1), randn(3, 8, seed=2, dtype=torch.float32))
    with pytest.raises(TypeError, match="not supported"):
        K.rms_norm(torch.ones(2, 8, dtype=torch.int32), torch.ones(8, dtype=torch.int32))
    with pytest.raises(ValueError, match="expected x"):
        K.bi_matmul(randn(2, 8, seed=1), randn(3, 7, seed=2))
    router, wgu, wd = moe_weights(4, 16, 16, seed=3)
    with pytest.raises(ValueError, match="top_k"):
        K.fused_moe(randn(2, 16, seed=4), router, wgu, wd, 5)
    with pytest.raises(ValueError, match="w_down"):
        K.fused_moe(randn(2, 16, seed=4), router, wgu, wd[:, :, :8], 2)
    with pytest.raises(ValueError, match="kv_len must lie"):
        K.attention(randn(1, 1, 2, 8, seed=1), randn(1, 4, 2, 8, seed=2), randn(1, 4, 2, 8, seed=2),
                    torch.tensor([5]))
    with pytest.raises(ValueError, match="multiple of Hkv"):
        K.attention(randn(1, 1, 3, 8, seed=1), randn(1, 4, 2, 8, seed=2), randn(1, 4, 2, 8, seed=2),
                    torch.tensor([4]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="the interpreter is only chosen without CUDA")
def test_importing_triton_before_the_kernels_on_a_cpu_is_a_clear_error(tmp_path):
    import os
    import subprocess
    import sys

    script = ("import triton, torch, microturn.kernels as K\n"
              "K.rms_norm(torch.ones(1, 4), torch.ones(4))\n")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "triton was imported before TRITON_INTERPRET=1 was set" in run.stderr
