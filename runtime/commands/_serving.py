"""What `dev` and `serve` share: build the engine, and run the HTTP server with its companions.

The companions are the two things that run beside the HTTP server:
- the background reasoner: a child process this runtime starts (`dev`), or a service elsewhere
  that it connects to (`serve` with MICROTURN_REASONER_ADDRESS);
- the worker hub: a gRPC port where `microturn worker APP --runtime HOST:PORT` attaches.

Sessions go to a worker when one with room is attached, otherwise to the in-process app
(`prefer_workers`). The server binds its socket itself before uvicorn starts, so `--port 0`
works and the URL that is printed is the one really listening. Shutdown runs in reverse order
(HTTP and engine, then reasoner, then hub), and a reasoner child is always stopped, whether the
runtime ends by Ctrl-C, SIGTERM or an error.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
import sys
from dataclasses import dataclass
from typing import Any, Callable

from microturn.runtime.settings import Settings

log = logging.getLogger("microturn")


def prefer_workers(hub, in_process: Callable[[], Any]) -> Callable[[], Any]:
    """The engine's agent factory when a worker hub runs: each new session goes to a registered
    worker that has room (the hub picks the least loaded), or, when there is none, to the app in
    this process. A session keeps the side it started on: one that began in-process stays there
    when a worker attaches later, and one whose worker dies waits on the hub's default behaviour
    until another worker takes it over (the hub replays its transcript)."""

    def make_agent():
        if any(not worker.full for worker in hub.workers.values()):
            return hub.agent_factory()
        return in_process()

    return make_agent


def build_engine(settings: Settings, hub=None):
    """The real engine: the named floor policy, the bundled speech providers, the app's agent
    (behind `prefer_workers` when a worker hub is given).

    Problems a user can fix (an unknown policy, an app that does not load) raise ValueError with
    a message for them. Speech providers load in `engine.start()`, when the server starts.
    """
    from microturn.runtime.apps import agent_factory, load_app
    from microturn.runtime.engine.clock import RealClock
    from microturn.runtime.engine.engine import Engine
    from microturn.runtime.engine.options import EngineOptions
    from microturn.runtime.engine.policy import make_policy

    factory = agent_factory(load_app(settings.app))
    if hub is not None:
        factory = prefer_workers(hub, factory)
    # Only the learned policy takes a checkpoint; the others have nothing to load.
    options = {"checkpoint": settings.checkpoint} if settings.checkpoint else {}
    return Engine(EngineOptions(), make_policy(settings.policy, **options), None, factory, RealClock())


@dataclass
class Companions:
    """What runs beside the HTTP server. No reasoner when both reasoner fields are None."""

    reasoner_backend: str | None = None   # start `microturn reasoner --backend B` as a child process
    reasoner_address: str | None = None   # or connect to one that runs at host:port
    hub: Any = None                       # a `WorkerHub` to serve, or None for no worker port
    worker_host: str = "127.0.0.1"
    worker_port: int = 0                  # 0: any free port
    worker_port_fallback: bool = False    # a busy worker_port falls back to a free one (dev's default port)


@dataclass
class Started:
    """What is listening, for the start-up message."""

    host: str
    port: int
    reasoner_address: str | None = None
    reasoner_pid: int | None = None       # the child process, when this runtime started it
    reasoner_answering: bool = False      # it answered a health check at start-up
    worker_address: str | None = None     # host:port of the worker hub


class StartupError(RuntimeError):
    """A companion could not start; the message is for the user."""


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _port_is_free(host: str, port: int) -> bool:
    # gRPC binds with SO_REUSEPORT, so a second hub would silently share a busy port; a plain
    # bind without it fails on a port anyone holds, which is the check we want.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


async def _start_hub(companions: Companions):
    from microturn.runtime.worker.hub import start_hub

    host, port = companions.worker_host, companions.worker_port
    if port and not _port_is_free(host, port):
        if not companions.worker_port_fallback:
            raise StartupError(f"worker port {host}:{port} is in use (choose another, or 0 for any free port)")
        log.warning("worker port %s is in use; using a free one instead", port)
        port = 0
    try:
        return await start_hub(companions.hub, host, port)
    except OSError as exc:
        raise StartupError(f"cannot serve the worker hub on {host}:{port}: {exc}") from None


async def _open_reasoner(engine, companions: Companions, started: Started):
    """Start or reach the reasoner and attach it to the engine; None when there is none."""
    from microturn.runtime.reasoner.launch import ReasonerConnection, wait_healthy

    if companions.reasoner_backend is not None:
        try:
            conn = await ReasonerConnection.open(engine, spawn_backend=companions.reasoner_backend)
        except (RuntimeError, TimeoutError) as exc:
            raise StartupError(f"the reasoner did not start: {exc}") from None
        started.reasoner_pid = conn.process.process.pid
        started.reasoner_answering = True
    elif companions.reasoner_address is not None:
        conn = await ReasonerConnection.open(engine, address=companions.reasoner_address)
        try:  # only for the start-up message: the link keeps trying in the background either way
            await wait_healthy(companions.reasoner_address, timeout_s=1.0)
            started.reasoner_answering = True
        except TimeoutError:
            pass
    else:
        return None
    started.reasoner_address = conn.link.address
    return conn


def run_server(settings: Settings, engine, on_listening: Callable[[Started], None],
               companions: Companions | None = None, *, front=None) -> int:
    """Serve until Ctrl-C or SIGTERM; returns the exit status.

    `engine` is the real engine (the reasoner attaches to it); `front` is what the HTTP layer
    talks to when that differs (dev --record's RecordingEngine). `on_listening(started)` runs
    once the HTTP server and every companion are up.
    """
    import uvicorn

    from microturn.runtime.server import create_app

    companions = companions or Companions()
    try:
        sock = bind(settings.host, settings.port)
    except OSError as exc:
        print(f"microturn: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, front or engine), log_level="warning",
                                           lifespan="on"))

    # Our own handlers from the first moment: a signal during start-up asks the server to stop
    # instead of raising KeyboardInterrupt in the middle of launching a child process. uvicorn
    # swaps in its handlers while it serves and hands captured signals back to these afterwards.
    def stop_requested(signum, frame) -> None:
        server.should_exit = True

    previous = {sig: signal.signal(sig, stop_requested) for sig in (signal.SIGINT, signal.SIGTERM)}

    async def main() -> int:
        started = Started(host, port)
        hub_server = conn = None
        try:
            if companions.hub is not None:
                hub_server, worker_port = await _start_hub(companions)
                started.worker_address = f"{companions.worker_host}:{worker_port}"
            # the reasoner child and the engine's speech models load side by side; the opening
            # is awaited, never cancelled, so a child that was started is always known and stopped
            opening = asyncio.ensure_future(_open_reasoner(engine, companions, started))
            serving = asyncio.ensure_future(server.serve(sockets=[sock]))
            while not opening.done() or not (server.started or serving.done()):
                await asyncio.sleep(0.05)
            try:
                conn = opening.result()
            except BaseException:
                server.should_exit = True
                await serving
                raise
            if server.started and not server.should_exit:
                on_listening(started)
            await serving
            return 0 if server.started else 1
        except StartupError as exc:
            print(f"microturn: {exc}", file=sys.stderr)
            return 1
        finally:
            if conn is not None:
                await conn.close()
            if hub_server is not None:
                await hub_server.stop(0.5)

    try:
        return asyncio.run(main())
    finally:
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
