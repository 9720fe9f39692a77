"""`microturn model`: interaction model configs and checkpoints: info, init"""

from __future__ import annotations

from microturn.runtime.commands._pending import not_yet

run = not_yet("model", "issue 3")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("model", help="interaction model configs and checkpoints: info, init")
    p.set_defaults(func=run)
