"""Which implementation the public kernel functions run, and a record of Triton launches.

`use("triton")` (the default) runs the Triton kernels: compiled on CUDA, in Triton's interpreter
on a CPU. `use("reference")` runs the pure-torch references. Nothing falls back silently: with
the triton backend, a CPU tensor without the interpreter is an error, not a quiet switch to torch.

Every Triton launch goes through `record()`, so tests can prove the Triton path ran
(`with counting() as launched: ...; assert launched["moe_gate_up"] > 0`) and see the exact tiles
that were used.
"""

from __future__ import annotations

import collections
import contextlib
import threading

BACKENDS = ("triton", "reference")
_backend = "triton"
_lock = threading.Lock()
_counters: list[collections.Counter] = []
_tile_log: list[list] = []


def use(name: str) -> None:
    """Select the backend of `microturn.kernels.fused_moe` and friends for this process."""
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"unknown kernel backend {name!r}; choose one of {BACKENDS}")
    _backend = name


def current() -> str:
    return _backend


@contextlib.contextmanager
def using(name: str):
    previous = _backend
    use(name)
    try:
        yield
    finally:
        use(previous)


def record(kernel: str, tiles, grid) -> None:
    """Called by every wrapper right before it launches a Triton kernel."""
    with _lock:
        for counter in _counters:
            counter[kernel] += 1
        for log in _tile_log:
            log.append((kernel, tiles, tuple(grid)))


@contextlib.contextmanager
def counting():
    """Count Triton launches per kernel name inside the block."""
    counter: collections.Counter = collections.Counter()
    with _lock:
        _counters.append(counter)
    try:
        yield counter
    finally:
        with _lock:
            _counters.remove(counter)


@contextlib.contextmanager
def tile_log():
    """Record (kernel, Tiles, grid) for every launch inside the block."""
    log: list = []
    with _lock:
        _tile_log.append(log)
    try:
        yield log
    finally:
        with _lock:
            _tile_log.remove(log)
