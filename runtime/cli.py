"""`microturn` command line. Each subcommand lives in its own module under `commands/`.

A subcommand module defines `add_parser(subparsers)` (registering its arguments, with
`func=run` as default) and `run(args) -> int`. Modules are imported when the CLI starts, but
each one imports its heavy dependencies inside `run`, so `microturn --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from microturn import __version__

SUBCOMMANDS = ["dev", "serve", "token", "reasoner", "worker", "eval", "bench", "train", "model"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="microturn",
        description="Full-duplex voice agents over WebRTC, driven by 200 ms micro-turns.",
    )
    parser.add_argument("--version", action="version", version=f"microturn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"microturn.runtime.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
