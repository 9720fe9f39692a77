"""`microturn dev`: runtime + reasoner + agent on localhost; prints the join URL"""

from __future__ import annotations

from microturn.runtime.commands._pending import not_yet

run = not_yet("dev", "issue 2")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("dev", help="runtime + reasoner + agent on localhost; prints the join URL")
    p.set_defaults(func=run)
