"""Run the reasoner as its own process (what `dev` does) and wait until it answers health checks.

    proc = ReasonerProcess(backend="local")
    proc.start(); await proc.wait_healthy()
    link = GrpcReasonerLink(proc.address, engine)
    ...
    proc.stop()

The port is chosen once, so `restart()` brings the service back where clients reconnect.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM it when its parent dies (no-op elsewhere).

    prctl's death signal follows the parent *thread*; `start` runs on the event-loop thread,
    which lives as long as the runtime does."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


async def wait_healthy(address: str, timeout_s: float = 30.0, process: subprocess.Popen | None = None) -> None:
    """Poll gRPC health until the server says SERVING; fail early if `process` exits."""
    deadline = time.monotonic() + timeout_s
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"reasoner process exited with {process.returncode} before it was healthy")
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"reasoner at {address} not healthy within {timeout_s} s")
            await asyncio.sleep(0.05)


class ReasonerProcess:
    """`python -m microturn.runtime.cli reasoner` as a child process on a fixed loopback port."""

    def __init__(self, backend: str = "local", host: str = "127.0.0.1", port: int = 0,
                 env: dict[str, str] | None = None, log: IO | int | None = None):
        self.backend = backend
        self.host = host
        self.port = port or free_port(host)
        self.env = env
        self.log = log  # where its output goes (None: inherit ours)
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        # The child is tied to this process: even a SIGKILLed `dev` leaves no reasoner behind.
        if self.running:
            raise RuntimeError("reasoner process already running")
        cmd = [sys.executable, "-m", "microturn.runtime.cli", "reasoner",
               "--host", self.host, "--port", str(self.port), "--backend", self.backend]
        self.process = subprocess.Popen(cmd, env={**os.environ, **(self.env or {})},
                                        stdout=self.log, stderr=self.log,
                                        preexec_fn=_die_with_parent)

    async def wait_healthy(self, timeout_s: float = 30.0) -> None:
        await wait_healthy(self.address, timeout_s, self.process)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the crash case, no goodbye on any stream."""
        if self.running:
            self.process.kill()
            self.process.wait(5)

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self, env: dict[str, str] | None = None) -> None:
        self.stop()
        if env is not None:
            self.env = env
        self.start()


class ReasonerConnection:
    """The runtime's reasoner, ready to use: a `GrpcReasonerLink` attached to the engine, plus
    the reasoner process when this runtime started it.

        # dev: start our own reasoner process
        conn = await ReasonerConnection.open(engine, spawn_backend="local")
        # serve: connect to one that runs elsewhere
        conn = await ReasonerConnection.open(engine, address=ReasonerSettings().address)
        ...
        await conn.close()

    `open` does not wait for the connection itself: if the reasoner is down, conversations go on
    and the link keeps trying in the background.
    """

    def __init__(self, link, process: ReasonerProcess | None):
        self.link = link
        self.process = process

    @classmethod
    async def open(cls, engine, *, spawn_backend: str | None = None, address: str | None = None,
                   options=None, log: IO | int | None = None, healthy_within_s: float = 30.0) -> "ReasonerConnection":
        from microturn.runtime.reasoner.link import GrpcReasonerLink

        if (spawn_backend is None) == (address is None):
            raise ValueError("give exactly one of spawn_backend (start a process) or address (connect)")
        process = None
        if spawn_backend is not None:
            process = ReasonerProcess(backend=spawn_backend, log=log)
            process.start()
            try:
                await process.wait_healthy(healthy_within_s)
            except Exception:
                process.stop()
                raise
            address = process.address
        link = GrpcReasonerLink(address, engine, options)
        if getattr(engine, "reasoner", None) is None:
            engine.reasoner = link
        await link.start()
        return cls(link, process)

    async def close(self) -> None:
        await self.link.stop()
        if self.process is not None:
            self.process.stop()
