"""Join tokens: HS256 JWTs bound to one room and one identity, with an expiry.

A token answers one question at join time: may this identity enter this room now? Every way
that can fail has its own reason, so the HTTP layer can say precisely what is wrong (401 for a
missing, unreadable, tampered or expired token; 403 for a valid token for another room).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
ISSUER = "microturn"


class TokenError(Exception):
    """Why a token was refused. `reason` is machine-readable, `status` is the HTTP status."""

    def __init__(self, reason: str, message: str, status: int = 401):
        super().__init__(message)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Grant:
    """What a verified token allows."""

    room: str
    identity: str
    expires_at: int  # unix seconds


def mint_token(secret: str, room: str, identity: str, ttl_s: int = 3600, *, now: float | None = None) -> str:
    if not secret:
        raise ValueError("cannot mint a token without a secret")
    if not room or not identity:
        raise ValueError("room and identity must be non-empty")
    issued = int(time.time() if now is None else now)
    claims = {"iss": ISSUER, "room": room, "sub": identity, "iat": issued, "exp": issued + int(ttl_s)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str | None, room: str, *, now: float | None = None) -> Grant:
    """Check signature, expiry and room. Raises TokenError with a clear reason."""
    if not token:
        raise TokenError("missing_token", "a join token is required")
    options = {"require": ["exp", "room", "sub"]}
    try:
        if now is None:
            claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options=options)
        else:
            # Check expiry against the given clock instead of PyJWT's own.
            claims = jwt.decode(
                token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                options={**options, "verify_exp": False},
            )
            if int(claims["exp"]) <= now:
                raise jwt.ExpiredSignatureError("Signature has expired")
    except jwt.ExpiredSignatureError:
        raise TokenError("expired_token", "the join token has expired") from None
    except jwt.InvalidSignatureError:
        raise TokenError("invalid_signature", "the join token's signature does not match (tampered or another key)") from None
    except jwt.DecodeError:
        raise TokenError("malformed_token", "the join token is not a readable JWT") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError("invalid_token", f"the join token is not valid: {exc}") from None
    if claims["room"] != room:
        raise TokenError("wrong_room", f"the join token is for another room, not {room!r}", status=403)
    return Grant(room=str(claims["room"]), identity=str(claims["sub"]), expires_at=int(claims["exp"]))
