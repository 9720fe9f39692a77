"""The data-channel event catalogue.

Every message on the data channel is one JSON object `{"type": "noun.verb", "media_ms": int,
...fields}`. This module is the single list of event types, who sends them, and their fields;
the browser page, the engine and the SDK all refer to these names.

Inbound messages (browser -> runtime) are validated here: anything malformed, oversized or
unknown is answered with an `error` event naming the problem, and the session keeps working.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_BYTES = 16 * 1024  # larger data-channel messages are refused with an error event


class EventError(ValueError):
    """A data-channel message that cannot be accepted; `code` is machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class EventType:
    name: str
    direction: str          # "in" (browser -> runtime) or "out" (runtime -> browser)
    fields: dict[str, type]  # required fields besides type and media_ms
    doc: str


CATALOGUE: dict[str, EventType] = {
    e.name: e
    for e in [
        # browser -> runtime
        EventType("user.text", "in", {"text": str}, "text typed by the user"),
        EventType("tool.call", "in", {"name": str, "arguments": dict}, "ask the agent to run a tool"),
        EventType("whiteboard.stroke", "in", {"points": list}, "a stroke drawn on the whiteboard"),
        EventType("whiteboard.cleared", "in", {}, "the whiteboard was cleared"),
        EventType("client.ping", "in", {}, "liveness probe; answered by client.pong"),
        # runtime -> browser
        EventType("session.started", "out", {"session_id": str}, "the session is live"),
        EventType("session.ended", "out", {"reason": str}, "the session ended"),
        EventType("client.pong", "out", {}, "answer to client.ping"),
        EventType("transcript.delta", "out", {"role": str, "text": str}, "partial transcript text"),
        EventType("transcript.final", "out", {"role": str, "text": str, "start_ms": int, "end_ms": int},
                  "a finished utterance; for the agent, only what was actually played"),
        EventType("user.speech.started", "out", {}, "the user started speaking"),
        EventType("user.speech.stopped", "out", {}, "the user stopped speaking"),
        EventType("user.turn.ended", "out", {"text": str}, "the policy took the turn after user speech"),
        EventType("user.barged_in", "out", {}, "the user talked over the agent and it yielded"),
        EventType("agent.speech.started", "out", {"speech_id": str, "text": str}, "agent audio starts"),
        EventType("agent.speech.finished", "out", {"speech_id": str, "text": str}, "played to the end"),
        EventType("agent.speech.interrupted", "out", {"speech_id": str, "played_text": str},
                  "cut off; played_text is what was heard"),
        EventType("agent.speech.paused", "out", {"speech_id": str},
                  "held: someone talks over the agent and the policy has not decided to yield yet"),
        EventType("agent.speech.resumed", "out", {"speech_id": str}, "a held utterance plays on from where it paused"),
        EventType("agent.backchannel", "out", {"text": str}, "a short backchannel was voiced"),
        EventType("floor.decision", "out", {"action": str}, "the policy's action this micro-turn"),
        EventType("tool.result", "out", {"name": str, "ok": bool, "result": object}, "a tool's result or error"),
        EventType("interjection.delivered", "out", {"id": str, "text": str, "anchor_ms": int, "delay_ms": int},
                  "a reasoner interjection was voiced"),
        EventType("interjection.dropped", "out", {"id": str, "reason": str, "anchor_ms": int},
                  "a reasoner interjection was not voiced (expired, vetoed, failed)"),
        EventType("error", "out", {"code": str, "message": str}, "a message could not be accepted"),
    ]
}


def make_event(name: str, media_ms: int, /, **fields: Any) -> dict[str, Any]:
    """Build an outbound event, checking it against the catalogue.

    `name` and `media_ms` are positional-only, so an event may carry a field called `name`
    (`tool.result` does)."""
    etype = CATALOGUE.get(name)
    if etype is None:
        raise KeyError(f"unknown event type {name!r}")
    missing = [f for f in etype.fields if f not in fields]
    if missing:
        raise TypeError(f"{name}: missing fields {missing}")
    return {"type": name, "media_ms": int(media_ms), **fields}


def parse_inbound(raw: str | bytes) -> dict[str, Any]:
    """Validate one inbound data-channel message. Raises EventError with a clear message."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_MESSAGE_BYTES:
        raise EventError("too_large", f"message of {size} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        msg = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EventError("bad_json", f"message is not valid JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise EventError("bad_event", "message must be a JSON object")
    name = msg.get("type")
    etype = CATALOGUE.get(name) if isinstance(name, str) else None
    if etype is None or etype.direction != "in":
        known = sorted(n for n, e in CATALOGUE.items() if e.direction == "in")
        raise EventError("unknown_type", f"unknown inbound event type {name!r}; accepted: {', '.join(known)}")
    for field_name, field_type in etype.fields.items():
        if not isinstance(msg.get(field_name), field_type):
            raise EventError("bad_field", f"{name}: field {field_name!r} must be {field_type.__name__}")
    media_ms = msg.get("media_ms", 0)
    if not isinstance(media_ms, int) or isinstance(media_ms, bool) or media_ms < 0:
        raise EventError("bad_field", f"{name}: media_ms must be a non-negative integer")
    msg["media_ms"] = media_ms
    return msg
