"""Inputs for the kernel tests: small shapes, seeded, and float64 values that are exactly
representable in bfloat16 (so float64 products and sums of them are exact, which makes bitwise
comparisons in the Triton interpreter meaningful; see shared notes on the interpreter)."""

from __future__ import annotations

import torch

DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64]
# Tolerances against the torch reference (atol, rtol), per dtype.
TOL = {
    torch.float64: (1e-10, 1e-10),
    torch.float32: (2e-5, 2e-5),
    torch.float16: (2e-2, 2e-2),
    torch.bfloat16: (6e-2, 6e-2),
}


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed: int, dtype=torch.float64, scale: float = 1.0) -> torch.Tensor:
    """Normal values rounded to bfloat16, then cast to `dtype`."""
    x = torch.randn(*shape, generator=gen(seed), dtype=torch.float32) * scale
    return x.to(torch.bfloat16).to(dtype)


def moe_weights(E: int, H: int, I: int, *, seed: int, dtype=torch.float64):
    """router [E, H], w_gate_up [E, 2I, H], w_down [E, H, I] at sensible scales."""
    router = randn(E, H, seed=seed, dtype=dtype)
    w_gate_up = randn(E, 2 * I, H, seed=seed + 1, dtype=dtype, scale=H ** -0.5)
    w_down = randn(E, H, I, seed=seed + 2, dtype=dtype, scale=I ** -0.5)
    return router, w_gate_up, w_down


def assert_close(actual: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype) -> None:
    atol, rtol = TOL[dtype]
    assert actual.dtype == expected.dtype == dtype
    torch.testing.assert_close(actual, expected, atol=atol, rtol=rtol)
