"""`microturn worker`: connect an SDK agent to a runtime as a remote worker"""

from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("worker", help="connect an SDK agent to a runtime as a remote worker")
    p.add_argument("app", nargs="?", default=None,
                   help="agent app: a file (app.py, app.py:Class) or module:Class (default: the arithmetic example)")
    p.add_argument("--runtime", required=True, help="the runtime's worker hub, host:port or grpc://host:port")
    p.add_argument("--name", default="", help="worker name in the runtime's logs (default: host name and pid)")
    p.add_argument("--capacity", type=int, default=0, help="most sessions at once (default 0: no limit)")
    p.set_defaults(func=run)


def run(args) -> int:
    import asyncio
    import logging
    import os
    import signal
    import socket

    from microturn.runtime.apps import AppError, agent_factory, load_app
    from microturn.runtime.worker.agent_worker import AgentWorker, WorkerOptions

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        app = load_app(args.app)
        target_ok = bool(args.runtime.strip())
    except AppError as exc:
        print(f"microturn worker: {exc}", file=sys.stderr)
        return 2
    if not target_ok or args.capacity < 0:
        print("microturn worker: --runtime must be host:port and --capacity >= 0", file=sys.stderr)
        return 2
    name = args.name or f"{socket.gethostname()}-{os.getpid()}"
    worker = AgentWorker(agent_factory(app), args.runtime, app=args.app or "default",
                         options=WorkerOptions(name=name, capacity=args.capacity))

    async def main() -> None:
        task = asyncio.create_task(worker.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        print(f"microturn worker {name}: serving {args.app or 'the default app'} for {worker.target}", flush=True)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(main())
    return 0
