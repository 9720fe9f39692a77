"""The `triton` backend: the model runs on the kernels (Triton interpreter on a CPU) and agrees
with the torch reference; the launches prove the Triton path ran (no silent fallback)."""

from __future__ import annotations

import torch

from microturn.kernels import counting
from microturn.runtime.model.backends import TorchOps, TritonOps
from microturn.runtime.model.features import random_turns
from microturn.runtime.model.streaming import StreamingSessions
from model_helpers import make_model, small_config


def run(ops, tt, steps=2):
    model = make_model(small_config(n_layers=1), ops=ops)
    sessions = StreamingSessions(model)
    ids = [f"s{i}" for i in range(tt.batch)]
    for s in ids:
        sessions.open(s)
    return [sessions.step(ids, tt.index((slice(None), slice(i, i + 1)))) for i in range(steps)]


def test_triton_backend_matches_torch_and_launches_kernels():
    tt = random_turns(small_config(n_layers=1), 2, 2, torch.Generator().manual_seed(0))
    expected = run(TorchOps(), tt)
    with counting() as launched:
        got = run(TritonOps(), tt)
    for family in ("matmul", "rms_norm", "attention", "moe_gate_up", "moe_down"):
        assert sum(n for k, n in launched.items() if family in k) > 0, f"no {family} launch: {dict(launched)}"
    for (fe, te), (fg, tg) in zip(expected, got):
        torch.testing.assert_close(fg, fe, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(tg, te, rtol=1e-4, atol=1e-5)
