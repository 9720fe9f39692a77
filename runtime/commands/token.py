"""`microturn token`: mint a signed join token for a room"""

from __future__ import annotations

from microturn.runtime.commands._pending import not_yet

run = not_yet("token", "issue 2")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("token", help="mint a signed join token for a room")
    p.set_defaults(func=run)
