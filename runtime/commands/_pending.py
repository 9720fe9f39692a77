"""Shared helper for subcommands whose implementation has not landed yet."""

from __future__ import annotations

import sys


def not_yet(name: str, issue: str):
    def run(args) -> int:
        print(f"microturn {name}: not implemented yet ({issue})", file=sys.stderr)
        return 2

    return run
