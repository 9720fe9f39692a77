"""Between the SDK's `Interjection` dataclass and its protobuf message, and the method paths.

The service registers its handlers with raw-bytes deserialisers (see `service.py`), so the
paths and the parsing live here rather than in the generated servicer.
"""

from __future__ import annotations

import json
from typing import Any

from microturn.interjection import Interjection
from microturn.runtime.reasoner.protos import reasoner_pb2 as pb

SERVICE = "microturn.reasoner.v1.Reasoner"
CONNECT = f"/{SERVICE}/Connect"
ASK = f"/{SERVICE}/Ask"
GET_SESSION = f"/{SERVICE}/GetSession"

# Limits both sides know: the service refuses larger fields (in-band), and the link refuses to
# send them at all, so one oversized event can never break the stream every session shares.
MAX_QUESTION_CHARS = 4000
MAX_JSON_BYTES = 64 * 1024

_TO_PB = {"urgent": pb.URGENT, "next_pause": pb.NEXT_PAUSE, "when_idle": pb.WHEN_IDLE}
_FROM_PB = {v: k for k, v in _TO_PB.items()}


def interjection_to_pb(ij: Interjection) -> pb.Interjection:
    return pb.Interjection(
        id=ij.id, session_id=ij.session_id, text=ij.text, anchor_ms=int(ij.anchor_ms),
        created_ms=int(ij.created_ms), expires_ms=int(ij.expires_ms), priority=_TO_PB[ij.priority],
        reason=ij.reason, source=ij.source,
    )


def interjection_from_pb(msg: pb.Interjection, request_id: str = "") -> Interjection:
    return Interjection(
        id=msg.id, session_id=msg.session_id, text=msg.text, anchor_ms=msg.anchor_ms,
        created_ms=msg.created_ms, expires_ms=msg.expires_ms,
        priority=_FROM_PB.get(msg.priority, "next_pause"), reason=msg.reason, source=msg.source,
        request_id=request_id,
    )


class BadJson(ValueError):
    pass


def json_object(text: str, what: str) -> dict[str, Any]:
    """Parse a JSON-object field ("" means {}); BadJson with a clear message otherwise."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadJson(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadJson(f"{what} must be a JSON object, not {type(value).__name__}")
    return value
