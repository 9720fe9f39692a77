"""`microturn token ROOM --identity NAME [--ttl SECONDS]`: mint a signed join token.

The secret comes from `MICROTURN_SECRET`, the same one the server verifies with.
"""

from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("token", help="mint a signed join token for a room")
    p.add_argument("room", help="the room the token admits to")
    p.add_argument("--identity", required=True, help="who the token admits (shown to the agent)")
    p.add_argument("--ttl", type=int, default=None, help="lifetime in seconds (default: MICROTURN_TOKEN_TTL_S or 3600)")
    p.set_defaults(func=run)


def run(args) -> int:
    from microturn.runtime.settings import Settings
    from microturn.runtime.tokens import mint_token

    settings = Settings()
    if not settings.secret:
        print("microturn token: set MICROTURN_SECRET (the server's signing secret) first", file=sys.stderr)
        return 2
    ttl = args.ttl if args.ttl is not None else settings.token_ttl_s
    if ttl <= 0:
        print("microturn token: --ttl must be positive", file=sys.stderr)
        return 2
    print(mint_token(settings.secret, args.room, args.identity, ttl))
    return 0
