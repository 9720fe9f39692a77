"""`microturn reasoner`: run the background reasoner gRPC service"""

from __future__ import annotations

from microturn.runtime.commands._pending import not_yet

run = not_yet("reasoner", "issue 4")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("reasoner", help="run the background reasoner gRPC service")
    p.set_defaults(func=run)
