"""Method path and address parsing shared by the worker hub and the worker process."""

from __future__ import annotations

SERVICE = "microturn.worker.v1.WorkerHub"
ATTACH = f"/{SERVICE}/Attach"
DEFAULT_PORT = 50062


def grpc_target(url: str) -> str:
    """`grpc://host:port`, `host:port` or `host` -> `host:port` for grpc channels."""
    target = url.strip()
    for scheme in ("grpc://", "http://"):
        if target.startswith(scheme):
            target = target[len(scheme):]
    target = target.rstrip("/")
    if not target:
        raise ValueError("empty runtime address")
    if ":" not in target.rsplit("]", 1)[-1]:
        target = f"{target}:{DEFAULT_PORT}"
    return target
