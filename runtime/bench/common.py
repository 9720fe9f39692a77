"""What every benchmark report carries: the machine, the versions, the time it ran."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import os
import platform

import numpy as np

_PACKAGES = ["microturn", "torch", "triton", "numpy", "aiortc", "av", "onnxruntime", "grpcio", "pocketsphinx"]


def machine_info() -> dict:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = _md.version(name)
        except _md.PackageNotFoundError:
            versions[name] = None
    info = {
        "when": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions,
    }
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except Exception:  # torch missing or broken: the report still says what it can
        pass
    return info


def percentiles(values_ms, qs=(50, 90, 99)) -> dict:
    """p50/p90/p99/max/mean of a list of milliseconds (empty -> all None)."""
    if len(values_ms) == 0:
        return {**{f"p{q}": None for q in qs}, "max": None, "mean": None, "n": 0}
    arr = np.asarray(values_ms, dtype=float)
    out = {f"p{q}": float(np.percentile(arr, q)) for q in qs}
    out.update(max=float(arr.max()), mean=float(arr.mean()), n=int(arr.size))
    return out
