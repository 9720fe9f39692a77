"""`microturn serve`: production server: secret and addresses from settings/env"""

from __future__ import annotations

from microturn.runtime.commands._pending import not_yet

run = not_yet("serve", "issue 2")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("serve", help="production server: secret and addresses from settings/env")
    p.set_defaults(func=run)
