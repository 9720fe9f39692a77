"""Test-wide set-up.

Triton runs in its interpreter when no CUDA device is present; the variable must be set before
the first `@triton.jit` function is defined, so it is set here, before any test imports kernels.
"""

from __future__ import annotations

import os


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


if not _cuda_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
