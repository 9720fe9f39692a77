"""What `dev` and `serve` share: build the engine from settings, and run the HTTP server.

The server binds its socket itself before uvicorn starts, so `--port 0` works (the OS picks a
free port) and the URL that is printed is the one really listening.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Callable

from microturn.runtime.settings import Settings

log = logging.getLogger("microturn")


def build_engine(settings: Settings):
    """The real engine: the named floor policy, the bundled speech providers, the app's agent.

    Problems a user can fix (an unknown policy, an app that does not load) raise ValueError with
    a message for them. Speech providers load in `engine.start()`, when the server starts.
    """
    from microturn.runtime.apps import agent_factory, load_app
    from microturn.runtime.engine.clock import RealClock
    from microturn.runtime.engine.engine import Engine
    from microturn.runtime.engine.options import EngineOptions
    from microturn.runtime.engine.policy import make_policy

    app = load_app(settings.app)
    return Engine(EngineOptions(), make_policy(settings.policy), None, agent_factory(app), RealClock())


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run_server(settings: Settings, engine, on_listening: Callable[[str, int], None]) -> int:
    """Serve until interrupted. `on_listening(host, port)` runs once the socket is bound."""
    import uvicorn

    from microturn.runtime.server import create_app

    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    app = create_app(settings, engine)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))

    async def main() -> None:
        serving = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if server.started:
            on_listening(host, port)
        await serving

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
