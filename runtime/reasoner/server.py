"""Start the reasoner service on a grpc.aio server, with gRPC health checking.

Health reports SERVING for "" and the Reasoner service only after the backend has started, so
`launch.wait_healthy` means "ready to answer", not just "port open".
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from microturn.reasoner import ReasonerBackend
from microturn.runtime.reasoner import wire
from microturn.runtime.reasoner.service import ReasonerService, ServiceOptions

log = logging.getLogger("microturn.reasoner")


@dataclass
class RunningReasoner:
    server: grpc.aio.Server
    port: int
    service: ReasonerService
    health: HealthServicer

    async def stop(self, grace_s: float = 1.0) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace_s)
        await self.service.backend.close()


async def start_reasoner(backend: ReasonerBackend, host: str = "127.0.0.1", port: int = 0,
                         options: ServiceOptions | None = None) -> RunningReasoner:
    options = options or ServiceOptions()
    service = ReasonerService(backend, options)
    server = grpc.aio.server(options=[
        ("grpc.max_receive_message_length", options.max_message_bytes),
        ("grpc.max_send_message_length", options.max_message_bytes),
    ])
    server.add_generic_rpc_handlers((service.handler(),))
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    await server.start()
    await backend.start()
    for name in ("", wire.SERVICE):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningReasoner(server, bound, service, health)


async def serve_forever(backend: ReasonerBackend, host: str, port: int, options: ServiceOptions | None = None,
                        on_ready=None) -> None:
    """Run until SIGINT/SIGTERM, then stop, giving running calls half a second to finish."""
    running = await start_reasoner(backend, host, port, options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if on_ready:
        on_ready(running)
    await stop.wait()
    await running.stop(grace_s=0.5)
