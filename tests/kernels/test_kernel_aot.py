"""The kernels compile in Triton's compiled mode for an H100 (sm_90), without a GPU.

The other kernel tests run in the interpreter, which accepts code the compiler refuses; this one
runs the real compiler (to PTX and, through the ptxas that ships with triton, to a cubin) with the
invariant-mode tiles, in a fresh process without TRITON_INTERPRET and with an empty cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

KERNELS = {"bi_matmul", "rms_norm", "route", "moe_gate_up", "moe_down", "moe_combine", "attention"}
H100_SHARED_BYTES = 227 * 1024


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_every_kernel_compiles_for_sm90(dtype, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_CACHE_DIR"] = str(tmp_path / "cache")
    env["TRITON_DEFAULT_FP_FUSION"] = "1"
    run = subprocess.run([sys.executable, "-m", "microturn.kernels.aot", "--arch", "90", "--dtype", dtype,
                          "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert set(report["kernels"]) == KERNELS
    for name, info in report["kernels"].items():
        assert 0 <= info["shared_bytes"] <= H100_SHARED_BYTES, name
        assert info["cubin_bytes"] > 0
        assert ".target sm_90" in (tmp_path / "out" / f"{name}.ptx").read_text()
