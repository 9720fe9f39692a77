"""The seam between the engine and the background reasoner: `ReasonerLink`.

The engine streams the reasoner context as it happens and forwards explicit questions; answers
come back later, whenever they are ready, through `Engine.offer_interjection`. The engine then
owns *when* they are voiced (see delivery.py) and reports each one's outcome. The gRPC client
to the reasoner service implements this; tests use a small in-process double.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ReasonerLink(Protocol):
    def context(self, session_id: str, kind: str, payload: dict[str, Any], media_ms: int) -> None:
        """Something happened in a session (a transcript line, a whiteboard event, the session
        opening or closing). Must return at once: queue it, never block."""

    async def request(self, session_id: str, question: str, context: dict[str, Any], media_ms: int) -> None:
        """An explicit question (`session.ask`, a background tool). Returns once it is sent;
        the answer arrives later as interjections. ``context["request_id"]`` names the request:
        the answering interjections carry it as their ``request_id``. Raise to report that the
        request could not be made (the asking session is told at once)."""

    def outcome(self, interjection_id: str, delivered: bool, reason: str) -> None:
        """What became of an interjection: voiced (``delivered``) or dropped, and why."""
