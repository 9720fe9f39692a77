"""`microturn dev` and `serve` with their companions, as real processes on free loopback ports:
the reasoner child process, the worker hub a real `microturn worker` attaches to, a clean
shutdown on SIGTERM that leaves no reasoner behind; and how new sessions pick worker or app."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from microturn import Agent
from microturn.runtime.commands._serving import Companions, StartupError, _start_hub, prefer_workers
from microturn.runtime.worker.hub import RemoteAgent, WorkerHub, start_hub

ROOT = Path(__file__).resolve().parents[2]
GREETER = str(ROOT / "examples" / "greeter.py")
SECRET = "dev-serve-test-secret-0123456789abcdef"


class Runtime:
    """A `microturn dev|serve` child: stdout lines read as they come, stderr (the log) in a file."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None, unset: tuple[str, ...] = ()):
        self.log = log
        self._log_file = open(log, "w")
        child_env = {k: v for k, v in os.environ.items() if k not in unset}
        self.proc = subprocess.Popen([sys.executable, "-m", "microturn.runtime.cli", *args],
                                     stdout=subprocess.PIPE, stderr=self._log_file, text=True,
                                     env={**child_env, "PYTHONUNBUFFERED": "1", **(env or {})},
                                     cwd=ROOT, start_new_session=True)
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self._queue.put(line) for line in self.proc.stdout], daemon=True).start()

    def wait_for_line(self, pattern: str, timeout_s: float = 90.0) -> re.Match:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.lines.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r}; stdout: {self.lines}\nlog:\n{self.log.read_text()[-3000:]}")

    def wait_for_log(self, text: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.log.read_text():
            assert time.monotonic() < deadline, f"{text!r} not in the log:\n{self.log.read_text()[-3000:]}"
            assert self.proc.poll() is None, f"exited with {self.proc.returncode}"
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log_file.close()
        return self.proc.returncode


def parent_of(pid: int) -> int | None:
    """The parent pid of a live process, None when it is gone (or only a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    state, ppid = stat.rsplit(")", 1)[1].split()[:2]
    return None if state in ("Z", "X") else int(ppid)


def reasoner_health(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    return reply.status


def test_dev_starts_reasoner_and_hub_takes_a_worker_and_stops_cleanly(tmp_path):
    dev = Runtime(["dev", "--port", "0", "--worker-port", "0"], tmp_path / "dev.log")
    worker = None
    try:
        reasoner = dev.wait_for_line(r"reasoner \(local backend\) started as process (\d+) at (\S+)")
        pid, address = int(reasoner.group(1)), reasoner.group(2)
        hub_port = int(dev.wait_for_line(r"--runtime 127\.0\.0\.1:(\d+)").group(1))
        url = dev.wait_for_line(r"(http://[^/\s]+)/\?autojoin=1").group(1)

        assert parent_of(pid) == dev.proc.pid  # its own process, started by dev
        health = httpx.get(f"{url}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert reasoner_health(address) == health_pb2.HealthCheckResponse.SERVING

        worker = subprocess.Popen([sys.executable, "-m", "microturn.runtime.cli", "worker", GREETER,
                                   "--runtime", f"127.0.0.1:{hub_port}", "--name", "test-greeter"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        dev.wait_for_log("worker test-greeter (")  # the hub's "worker NAME (APP) attached" line
        assert "attached" in dev.log.read_text().split("worker test-greeter (", 1)[1].splitlines()[0]
    finally:
        rc = dev.stop()
        if worker is not None:
            worker.terminate()
            worker.wait(10)
    assert rc == 0, dev.log.read_text()[-3000:]
    assert parent_of(pid) is None, "the reasoner process outlived dev"


def test_serve_without_a_reasoner_address_says_so_and_serves_the_hub(tmp_path):
    env = {"MICROTURN_SECRET": SECRET, "MICROTURN_PORT": "0", "MICROTURN_WORKER_PORT": "0"}
    serve = Runtime(["serve"], tmp_path / "serve.log", env=env, unset=("MICROTURN_REASONER_ADDRESS",))
    try:
        url = serve.wait_for_line(r"listening on (http://\S+)").group(1)
        assert "MICROTURN_REASONER_ADDRESS is unset" in serve.wait_for_line(r"no reasoner").string
        hub = serve.wait_for_line(r"worker hub on (\S+):(\d+)")
        assert httpx.get(f"{url}/healthz", timeout=10).json()["status"] == "ok"
        with socket.create_connection((hub.group(1), int(hub.group(2))), timeout=5):
            pass  # the hub's port accepts connections
    finally:
        rc = serve.stop()
    assert rc == 0, serve.log.read_text()[-3000:]


class InProcess(Agent):
    """The app that runs in the runtime when no worker can take a session."""


async def test_sessions_go_to_a_worker_with_room_else_to_the_app_in_process():
    hub = WorkerHub()
    server, port = await start_hub(hub)
    make_agent = prefer_workers(hub, InProcess)
    worker = None
    try:
        assert isinstance(make_agent(), InProcess)  # no worker yet
        worker = subprocess.Popen([sys.executable, "-m", "microturn.runtime.cli", "worker", GREETER,
                                   "--runtime", f"127.0.0.1:{port}", "--capacity", "1"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        async with asyncio.timeout(30):
            while not hub.workers:
                await asyncio.sleep(0.05)
        agent = make_agent()
        assert isinstance(agent, RemoteAgent)
        runner = agent.make_runner("s1", lambda data: None)
        assert runner.worker is not None
        assert isinstance(make_agent(), InProcess)  # its only worker is full
        await runner.aclose()
        assert isinstance(make_agent(), RemoteAgent)  # room again
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(10)
        await server.stop(0.2)


async def test_a_busy_worker_port_is_an_error_unless_dev_may_fall_back():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        busy = held.getsockname()[1]
        with pytest.raises(StartupError, match="in use"):
            await _start_hub(Companions(hub=WorkerHub(), worker_port=busy))
        server, port = await _start_hub(Companions(hub=WorkerHub(), worker_port=busy, worker_port_fallback=True))
        try:
            assert port not in (0, busy)
        finally:
            await server.stop(0.2)
