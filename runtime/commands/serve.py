"""`microturn serve`: the production server. Everything comes from settings (MICROTURN_* env).

It refuses to start without `MICROTURN_SECRET`, and it never offers loopback ICE candidates,
whatever the environment says: those are for `dev` and tests on one machine only.
"""

from __future__ import annotations

import logging
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("serve", help="production server: secret and addresses from settings/env")
    p.add_argument("--host", default=None, help="bind address (default: MICROTURN_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: MICROTURN_PORT or 8080)")
    p.set_defaults(func=run)


def run(args) -> int:
    from microturn.runtime.commands._serving import build_engine, run_server
    from microturn.runtime.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings(**overrides)
    if not settings.secret:
        print("microturn serve: refusing to start without MICROTURN_SECRET (the key that signs join tokens)",
              file=sys.stderr)
        return 2
    if len(settings.secret) < 32:
        print("microturn serve: MICROTURN_SECRET should be at least 32 characters", file=sys.stderr)
        return 2
    if settings.loopback_ice or settings.dev_mode:
        print("microturn serve: ignoring MICROTURN_LOOPBACK_ICE / MICROTURN_DEV_MODE (dev-only settings)",
              file=sys.stderr)
        settings = settings.model_copy(update={"loopback_ice": False, "dev_mode": False})
    try:
        engine = build_engine(settings)
    except ValueError as exc:  # unknown policy, app that does not load: the message says which
        print(f"microturn {args.command}: {exc}", file=sys.stderr)
        return 2
    return run_server(settings, engine, lambda host, port: print(f"microturn serve: listening on http://{host}:{port}", flush=True))
