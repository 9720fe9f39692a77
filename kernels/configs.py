"""Every tile configuration the kernels use, in one place.

Batch invariance rests on one rule: a tile parameter that shapes a reduction (the K step of a
matmul, the KV split size of attention, the row width of RMSNorm, the M block of the MoE grouped
GEMMs, which decides the MMA instruction) never depends on how many rows the call has.
`select()` is the only way a kernel wrapper gets its configuration. In the default *invariant*
mode it does not even look at `rows`; the test `tests/kernels/test_configs.py` calls it for many
row counts and checks that the answer never changes, and the launch records
(`microturn.kernels.backend.launches`) let the tests check what was really launched.

*Free* mode (`set_invariant(False)`) picks tiles by row count the way tuned tables do
(vLLM-style); it exists so `bench_moe` can report what invariance costs.

Two families: the Triton interpreter on a CPU (cost is per op per program, so big tiles and few
programs) and CUDA (tiles sized for an H100).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os

_INVARIANT = True


@dataclasses.dataclass(frozen=True)
class Tiles:
    """One kernel's launch parameters. Unused fields stay 0."""

    BLOCK_M: int = 0  # rows of the output tile (tokens, (token, slot) pairs, packed query rows)
    BLOCK_N: int = 0  # columns of the output tile; for attention, the KV split size
    BLOCK_K: int = 0  # reduction step
    num_warps: int = 4
    num_stages: int = 2


def interpreting() -> bool:
    """True when Triton runs in its CPU interpreter (TRITON_INTERPRET=1)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0", "false", "False")


def invariant() -> bool:
    return _INVARIANT


def set_invariant(enabled: bool) -> None:
    """Switch between batch-invariant tiles (default) and row-count-tuned tiles."""
    global _INVARIANT
    _INVARIANT = bool(enabled)


@contextlib.contextmanager
def invariant_mode(enabled: bool):
    previous = _INVARIANT
    set_invariant(enabled)
    try:
        yield
    finally:
        set_invariant(previous)


# Interpreter tiles: as large as the small test shapes allow, so few programs run.
_INTERPRETER = {
    "bi_matmul": Tiles(BLOCK_M=32, BLOCK_N=64, BLOCK_K=64),
    "rms_norm": Tiles(BLOCK_N=256),
    "route": Tiles(BLOCK_M=32, BLOCK_K=64),
    "moe_gate_up": Tiles(BLOCK_M=16, BLOCK_N=64, BLOCK_K=64),
    "moe_down": Tiles(BLOCK_M=16, BLOCK_N=64, BLOCK_K=64),
    "moe_combine": Tiles(BLOCK_M=32, BLOCK_N=128),
    "attention": Tiles(BLOCK_M=32, BLOCK_N=32),
}

# CUDA tiles (H100 class). Fixed per kernel and dtype family; never a function of rows.
_CUDA = {
    "bi_matmul": Tiles(BLOCK_M=64, BLOCK_N=128, BLOCK_K=64, num_warps=4, num_stages=4),
    "rms_norm": Tiles(BLOCK_N=1024, num_warps=4),
    "route": Tiles(BLOCK_M=16, BLOCK_K=128, num_warps=4),
    # One M block for every batch: 64 rows, the natural Hopper MMA height. At decode sizes the
    # padding costs tensor-core work that is free anyway (those GEMMs are bound by reading the
    # expert weights); at prefill sizes it gives 4x the weight reuse of a 16-row block.
    "moe_gate_up": Tiles(BLOCK_M=64, BLOCK_N=64, BLOCK_K=64, num_warps=4, num_stages=4),
    "moe_down": Tiles(BLOCK_M=64, BLOCK_N=64, BLOCK_K=64, num_warps=4, num_stages=4),
    "moe_combine": Tiles(BLOCK_M=16, BLOCK_N=256, num_warps=4),
    "attention": Tiles(BLOCK_M=16, BLOCK_N=64, num_warps=4, num_stages=2),
}

# float32 tiles take twice the shared memory of 16-bit ones: fewer pipeline stages.
_CUDA_FP32 = {name: dataclasses.replace(t, num_stages=min(t.num_stages, 2)) for name, t in _CUDA.items()}

# fp64 has no tensor cores and twice the register footprint again: smaller tiles on CUDA.
_CUDA_FP64 = {
    "bi_matmul": Tiles(BLOCK_M=32, BLOCK_N=32, BLOCK_K=32, num_warps=4, num_stages=2),
    "moe_gate_up": Tiles(BLOCK_M=16, BLOCK_N=32, BLOCK_K=32, num_warps=4, num_stages=2),
    "moe_down": Tiles(BLOCK_M=16, BLOCK_N=32, BLOCK_K=32, num_warps=4, num_stages=2),
    "attention": Tiles(BLOCK_M=16, BLOCK_N=32, num_warps=4, num_stages=1),
}


def _free_mode_cuda(kernel: str, rows: int, base: Tiles) -> Tiles:
    """Row-count-tuned tiles (NOT batch invariant), the way tuned tables do it: small M blocks
    and long K steps for a few rows, big square tiles for many."""
    if kernel not in ("moe_gate_up", "moe_down", "bi_matmul"):
        return base
    if rows < 64:
        return dataclasses.replace(base, BLOCK_M=16, BLOCK_N=64, BLOCK_K=128, num_warps=4, num_stages=4)
    if rows >= 1024:
        return dataclasses.replace(base, BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, num_warps=8, num_stages=3)
    return base


def select(kernel: str, *, rows: int, dtype_name: str, cuda: bool) -> Tiles:
    """The tiles for `kernel` at this call.

    `rows` is only consulted in free mode; in invariant mode the answer depends on the kernel,
    the dtype and the device family alone.
    """
    if not cuda:
        base = _INTERPRETER[kernel]
    elif dtype_name == "float64" and kernel in _CUDA_FP64:
        base = _CUDA_FP64[kernel]
    elif dtype_name in ("float32", "float64"):
        base = _CUDA_FP32[kernel]
    else:
        base = _CUDA[kernel]
    if _INVARIANT or not cuda or dtype_name not in ("float16", "bfloat16"):
        return base
    return _free_mode_cuda(kernel, rows, base)


KERNELS = tuple(_INTERPRETER)
