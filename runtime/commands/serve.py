"""`microturn serve`: the production server. Everything comes from settings (MICROTURN_* env).

It refuses to start without `MICROTURN_SECRET`, and it never offers loopback ICE candidates,
whatever the environment says: those are for `dev` and tests on one machine only.

Companions: it connects to the reasoner at MICROTURN_REASONER_ADDRESS (and runs without one,
saying so, when that is unset), and serves the worker hub on MICROTURN_WORKER_HOST /
MICROTURN_WORKER_PORT (default 127.0.0.1:50062). Sessions go to attached workers when there are
any with room, otherwise to the app (MICROTURN_APP) in this process.
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
    from pydantic import ValidationError

    from microturn.runtime.commands._serving import Companions, build_engine, run_server
    from microturn.runtime.reasoner.settings import ReasonerSettings
    from microturn.runtime.settings import Settings
    from microturn.runtime.worker.hub import WorkerHub

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    try:
        settings = Settings(**overrides)
        reasoner = ReasonerSettings()
    except ValidationError as exc:
        print(f"microturn serve: bad setting: {exc}", file=sys.stderr)
        return 2
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
    hub = WorkerHub()
    try:
        engine = build_engine(settings, hub)
    except ValueError as exc:  # unknown policy, app that does not load: the message says which
        print(f"microturn {args.command}: {exc}", file=sys.stderr)
        return 2
    # only an address that was really configured: serve never guesses where a reasoner runs
    configured = "address" in reasoner.model_fields_set and reasoner.address.strip()
    companions = Companions(reasoner_address=reasoner.address.strip() if configured else None, hub=hub,
                            worker_host=settings.worker_host, worker_port=settings.worker_port)

    def announce(started) -> None:
        print(f"microturn serve: listening on http://{started.host}:{started.port}", flush=True)
        if started.reasoner_address:
            state = "answering" if started.reasoner_answering else "not answering yet; the runtime keeps trying"
            print(f"microturn serve: reasoner at {started.reasoner_address} ({state})", flush=True)
        else:
            print("microturn serve: no reasoner (MICROTURN_REASONER_ADDRESS is unset): session.ask fails at once",
                  flush=True)
        print(f"microturn serve: worker hub on {started.worker_address}", flush=True)

    return run_server(settings, engine, announce, companions)
