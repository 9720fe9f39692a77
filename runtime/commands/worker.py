"""`microturn worker`: connect an SDK agent to a runtime as a remote worker"""

from __future__ import annotations

from microturn.runtime.commands._pending import not_yet

run = not_yet("worker", "issue 4")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("worker", help="connect an SDK agent to a runtime as a remote worker")
    p.set_defaults(func=run)
