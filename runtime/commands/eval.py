"""`microturn eval`: FD-bench-style evaluation: synth, run, score"""

from __future__ import annotations

from microturn.runtime.commands._pending import not_yet

run = not_yet("eval", "issue 5")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("eval", help="FD-bench-style evaluation: synth, run, score")
    p.set_defaults(func=run)
