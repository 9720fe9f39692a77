"""Helpers for worker tests: real worker processes, and waiting on the hub."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from microturn.runtime.worker.hub import WorkerHub

ROOT = Path(__file__).resolve().parents[2]
ARITHMETIC = str(ROOT / "examples" / "arithmetic.py")


class Workers:
    def __init__(self, address: str, log_dir: Path):
        self.address = address
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, app: str = ARITHMETIC, *extra: str) -> subprocess.Popen:
        log = open(self.log_dir / f"worker-{name}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "microturn.runtime.cli", "worker", app,
                                 "--runtime", self.address, "--name", name, *extra], stdout=log, stderr=log)
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait(5)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


async def until(hub: WorkerHub, predicate, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            hub.changed.clear()
            try:
                await asyncio.wait_for(hub.changed.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
