"""A real reasoner process (the CLI, on a free loopback port) shared by the service tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from microturn.runtime.reasoner.launch import ReasonerProcess

SCRIPTED = str(Path(__file__).with_name("scripted_backend.py"))


@pytest.fixture(scope="module")
def reasoner(tmp_path_factory):
    log = open(tmp_path_factory.mktemp("reasoner") / "reasoner.log", "w")
    proc = ReasonerProcess(backend=SCRIPTED, log=log)
    proc.start()
    try:
        asyncio.run(proc.wait_healthy(30))
        yield proc
    finally:
        proc.stop()
        log.close()
