"""`microturn dev [APP]`: runtime + agent on this machine; prints the URL that joins by itself.

Dev mode is for one machine: loopback ICE candidates are on, a random signing secret is made
per run (unless MICROTURN_SECRET is set), and the page at `/` carries a token for the default
room, so `/?autojoin=1` joins without any set-up.
"""

from __future__ import annotations

import logging
import sys
import secrets


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("dev", help="runtime + reasoner + agent on localhost; prints the join URL")
    p.add_argument("app", nargs="?", default=None,
                   help="agent app: a file path (path.py or path.py:Class) or module:Class "
                        "(default: examples/arithmetic.py)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    p.add_argument("--policy", default=None, help="floor policy by name (default: heuristic)")
    p.add_argument("--room", default=None, help="the room the page joins (default: 'default')")
    p.add_argument("--record", metavar="DIR", default=None,
                   help="save each session in the eval layout under DIR/live/ (input.wav, output.wav, "
                        "events.jsonl) for `microturn eval run/score`")
    p.set_defaults(func=run)


def run(args) -> int:
    from microturn.runtime.commands._serving import build_engine, run_server
    from microturn.runtime.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    overrides = {"host": args.host, "port": args.port, "dev_mode": True, "loopback_ice": True}
    if args.app:
        overrides["app"] = args.app
    if args.policy:
        overrides["policy"] = args.policy
    if args.room:
        overrides["default_room"] = args.room
    if not settings.secret:
        overrides["secret"] = secrets.token_urlsafe(32)
    settings = settings.model_copy(update=overrides)
    try:
        engine = build_engine(settings)
    except ValueError as exc:  # unknown policy, app that does not load: the message says which
        print(f"microturn {args.command}: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "record", None):  # tee every session into the eval layout
        from microturn.runtime.eval.record import Recorder, RecordingEngine

        engine = RecordingEngine(engine, Recorder(args.record))

    def announce(host: str, port: int) -> None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        print(f"microturn dev: app {settings.app or 'the bundled arithmetic example'}, policy {settings.policy}",
              flush=True)
        print(f"microturn dev: open http://{shown}:{port}/?autojoin=1", flush=True)

    return run_server(settings, engine, announce)
