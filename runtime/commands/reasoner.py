"""`microturn reasoner`: run the background reasoner gRPC service"""

from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("reasoner", help="run the background reasoner gRPC service")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None,
                   help="port to listen on (default 50061; 0: any free port, printed on start)")
    p.add_argument("--backend", default=None,
                   help="local (sympy, default), openai, or a user backend: path.py[:Class] or module:Class")
    p.add_argument("--timeout-ms", type=int, default=None, help="per-request limit (default 5000)")
    p.set_defaults(func=run)


def run(args) -> int:
    import asyncio
    import logging

    from microturn.runtime.reasoner.backends import load_backend
    from microturn.runtime.reasoner.server import serve_forever
    from microturn.runtime.reasoner.service import ServiceOptions
    from microturn.runtime.reasoner.settings import DEFAULT_PORT, ReasonerSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = ReasonerSettings()
    try:
        backend = load_backend(args.backend or settings.backend)
    except (ValueError, ImportError, AttributeError) as exc:
        print(f"microturn reasoner: cannot load backend: {exc}", file=sys.stderr)
        return 2
    options = ServiceOptions(default_timeout_ms=args.timeout_ms or settings.request_timeout_ms)
    port = DEFAULT_PORT if args.port is None else args.port

    def ready(running) -> None:
        print(f"microturn reasoner: backend {backend.name} listening on {args.host}:{running.port}", flush=True)

    asyncio.run(serve_forever(backend, args.host, port, options, on_ready=ready))
    return 0
