"""A worker hub in this process (the runtime's side) and real `microturn worker` processes."""

from __future__ import annotations

import pytest
from worker_helpers import Workers

from microturn.runtime.worker.hub import WorkerHub, start_hub


@pytest.fixture
async def hub_and_workers(tmp_path):
    hub = WorkerHub()
    server, port = await start_hub(hub)
    workers = Workers(f"127.0.0.1:{port}", tmp_path)
    try:
        yield hub, workers
    finally:
        workers.stop_all()
        await server.stop(0.5)
