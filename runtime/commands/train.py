"""`microturn train`: training data and training of the interaction model"""

from __future__ import annotations

from microturn.runtime.commands._pending import not_yet

run = not_yet("train", "issue 6")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="training data and training of the interaction model")
    p.set_defaults(func=run)
