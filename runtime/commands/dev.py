"""`microturn dev [APP]`: the whole runtime on this machine; prints the URL that joins by itself.

Dev mode is for one machine: loopback ICE candidates are on, a random signing secret is made
per run (unless MICROTURN_SECRET is set), and the page at `/` carries a token for the default
room, so `/?autojoin=1` joins without any set-up.

Beside the HTTP server it starts the background reasoner as its own process (or connects to a
running one with `--reasoner`) and a worker hub, so `microturn worker APP --runtime ...` can take
new sessions; with no worker attached, sessions run APP in this process. Ctrl-C or SIGTERM stops
all of it, the reasoner process included.
"""

from __future__ import annotations

import logging
import secrets
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("dev", help="runtime + reasoner + agent on localhost; prints the join URL")
    p.add_argument("app", nargs="?", default=None,
                   help="agent app: a file path (path.py or path.py:Class) or module:Class "
                        "(default: examples/arithmetic.py)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    p.add_argument("--policy", default=None,
                   help="floor policy by name (default: model, the trained interaction model; "
                        "heuristic: VAD and a 300 ms timer)")
    p.add_argument("--checkpoint", default=None,
                   help="checkpoint for --policy model (default: the shipped checkpoints/tiny-floor-v3; "
                        "'random': untrained weights)")
    p.add_argument("--room", default=None, help="the room the page joins (default: 'default')")
    p.add_argument("--record", metavar="DIR", default=None,
                   help="save each session in the eval layout under DIR/live/ (input.wav, output.wav, "
                        "events.jsonl) for `microturn eval run/score`")
    reasoner = p.add_mutually_exclusive_group()
    reasoner.add_argument("--reasoner", metavar="ADDRESS", default=None,
                          help="use the reasoner already running at host:port instead of starting one")
    reasoner.add_argument("--no-reasoner", action="store_true",
                          help="run without a background reasoner (session.ask then fails at once)")
    reasoner.add_argument("--reasoner-backend", metavar="BACKEND", default=None,
                          help="backend of the reasoner process dev starts: local, openai, path.py[:Class] "
                               "or module:Class (default: MICROTURN_REASONER_BACKEND or local)")
    p.add_argument("--worker-port", type=int, default=None,
                   help="gRPC port where `microturn worker` attaches (default 50062, or a free one if that "
                        "is taken; 0 picks a free one)")
    p.set_defaults(func=run)


def run(args) -> int:
    from microturn.runtime.commands._serving import Companions, build_engine, run_server
    from microturn.runtime.reasoner.settings import ReasonerSettings
    from microturn.runtime.settings import WORKER_PORT, Settings
    from microturn.runtime.worker.hub import WorkerHub

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.worker_port is not None and not 0 <= args.worker_port <= 65535:
        print("microturn dev: --worker-port must be 0..65535", file=sys.stderr)
        return 2
    settings = Settings()
    overrides = {"host": args.host, "port": args.port, "dev_mode": True, "loopback_ice": True}
    if args.app:
        overrides["app"] = args.app
    if args.policy:
        overrides["policy"] = args.policy
    if args.checkpoint:
        overrides["checkpoint"] = args.checkpoint
    if args.room:
        overrides["default_room"] = args.room
    if not settings.secret:
        overrides["secret"] = secrets.token_urlsafe(32)
    settings = settings.model_copy(update=overrides)
    hub = WorkerHub()
    try:
        engine = build_engine(settings, hub)
    except ValueError as exc:  # unknown policy, app that does not load: the message says which
        print(f"microturn {args.command}: {exc}", file=sys.stderr)
        return 2
    front = engine
    if getattr(args, "record", None):  # tee every session into the eval layout
        from microturn.runtime.eval.record import Recorder, RecordingEngine

        front = RecordingEngine(engine, Recorder(args.record))

    companions = Companions(hub=hub, worker_host=settings.worker_host,
                            # dev's default port falls back to a free one, so two dev runs can coexist
                            worker_port=WORKER_PORT if args.worker_port is None else args.worker_port,
                            worker_port_fallback=args.worker_port is None)
    if args.reasoner:
        companions.reasoner_address = args.reasoner
    elif not args.no_reasoner:
        companions.reasoner_backend = args.reasoner_backend or ReasonerSettings().backend

    def announce(started) -> None:
        shown = "127.0.0.1" if started.host in ("0.0.0.0", "") else started.host
        policy = settings.policy
        if policy == "model":  # say which weights: the shipped ones unless named
            from microturn.checkpoints import SHIPPED_NAME

            policy += f" ({settings.checkpoint or 'the shipped checkpoints/' + SHIPPED_NAME})"
        print(f"microturn dev: app {settings.app or 'the bundled arithmetic example'}, policy {policy}", flush=True)
        if started.reasoner_pid is not None:
            print(f"microturn dev: reasoner ({companions.reasoner_backend} backend) started as process "
                  f"{started.reasoner_pid} at {started.reasoner_address}", flush=True)
        elif started.reasoner_address:
            state = "answering" if started.reasoner_answering else "not answering yet; the runtime keeps trying"
            print(f"microturn dev: reasoner at {started.reasoner_address} ({state})", flush=True)
        else:
            print("microturn dev: no reasoner (--no-reasoner): session.ask fails at once", flush=True)
        worker_host, _, worker_port = started.worker_address.rpartition(":")
        worker_host = "127.0.0.1" if worker_host in ("0.0.0.0", "") else worker_host
        print(f"microturn dev: worker hub on port {worker_port}; attach with "
              f"`microturn worker APP --runtime {worker_host}:{worker_port}` (until one attaches, "
              f"sessions run the app in this process)", flush=True)
        print(f"microturn dev: open http://{shown}:{started.port}/?autojoin=1", flush=True)

    return run_server(settings, engine, announce, companions, front=front)
