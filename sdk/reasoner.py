"""The base class for background reasoner backends.

A backend is the slow-thinking half of an agent: it runs in the reasoner service
(`microturn reasoner --backend path.py:MyBackend`), never on the conversation's clock. It sees
two things per session and may answer either with interjections:

- `answer(request)`: an explicit question from a hook or tool (`session.ask`, a
  `@tool(background=True)`); yield zero or more interjections, or raise `ReasonerError`.
- `observe(event)`: the session's context as it happens (transcript, whiteboard, data-channel
  events); yield an interjection only when something is worth saying unprompted.

Both are async generators, run concurrently, each under the service's timeout. Blocking work
(a solver, a local model) belongs in a thread: `await asyncio.to_thread(...)`.

    class Echo(ReasonerBackend):
        name = "echo"

        async def answer(self, request):
            yield request.interjection(f"you asked: {request.question}", reason="echo")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from microturn.interjection import PRIORITIES, Interjection

DEFAULT_TTL_MS = 10_000  # an interjection not voiced within 10 s of media time is stale


class ReasonerError(Exception):
    """A request that cannot be answered. `code` is a gRPC status code name."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ContextItem:
    """One thing that happened in a session, stamped with the session's media time."""

    session_id: str
    kind: str                 # an event name such as "transcript.final" or "whiteboard.stroke"
    payload: dict[str, Any]
    media_ms: int

    @property
    def role(self) -> str | None:
        """The speaker of a transcript event ("user" / "agent"), else None."""
        role = self.payload.get("role")
        return role if isinstance(role, str) else None

    @property
    def text(self) -> str:
        text = self.payload.get("text")
        return text if isinstance(text, str) else ""


def _make_interjection(session_id: str, text: str, *, anchor_ms: int, now_ms: int, ttl_ms: int,
                       priority: str, reason: str, source: str) -> Interjection:
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {PRIORITIES}, not {priority!r}")
    return Interjection(
        session_id=session_id, text=text, anchor_ms=int(anchor_ms),
        created_ms=int(now_ms), expires_ms=int(now_ms + ttl_ms), priority=priority,
        reason=reason, source=source,
    )


@dataclass
class ReasonerRequest:
    """An explicit question about one session.

    `now_ms` is the service's estimate of the session's media time when the request started
    (the last media time the runtime reported, plus the wall time since); `history` is the
    session's recent context, oldest first.
    """

    request_id: str
    session_id: str
    question: str
    context: dict[str, Any]
    media_ms: int
    now_ms: int
    history: list[ContextItem] = field(default_factory=list)
    source: str = "reasoner"

    def interjection(self, text: str, *, anchor_ms: int | None = None, priority: str = "next_pause",
                     ttl_ms: int = DEFAULT_TTL_MS, reason: str = "", source: str | None = None):
        """An interjection about this request; anchored at the question's media time by default."""
        return _make_interjection(
            self.session_id, text, anchor_ms=self.media_ms if anchor_ms is None else anchor_ms,
            now_ms=self.now_ms, ttl_ms=ttl_ms, priority=priority, reason=reason,
            source=source or self.source,
        )


@dataclass
class Observation:
    """A context event handed to `observe`, with the session's history before it."""

    event: ContextItem
    now_ms: int
    history: list[ContextItem] = field(default_factory=list)
    source: str = "reasoner"

    def interjection(self, text: str, *, anchor_ms: int | None = None, priority: str = "next_pause",
                     ttl_ms: int = DEFAULT_TTL_MS, reason: str = "", source: str | None = None):
        """An interjection about this event; anchored at the event's media time by default."""
        return _make_interjection(
            self.event.session_id, text,
            anchor_ms=self.event.media_ms if anchor_ms is None else anchor_ms,
            now_ms=self.now_ms, ttl_ms=ttl_ms, priority=priority, reason=reason,
            source=source or self.source,
        )


class ReasonerBackend:
    """Subclass and override `answer` (and optionally `observe`, `start`, `close`)."""

    name: str = "custom"

    async def start(self) -> None:
        """Called once before the service accepts requests (load models, open clients)."""

    async def close(self) -> None:
        """Called once when the service stops."""

    async def answer(self, request: ReasonerRequest) -> AsyncIterator[Interjection]:
        """Yield interjections for an explicit request. The default cannot answer anything."""
        raise ReasonerError("UNIMPLEMENTED", f"backend {self.name!r} does not answer requests")
        yield  # pragma: no cover - makes this an async generator

    async def observe(self, observation: Observation) -> AsyncIterator[Interjection]:
        """Yield interjections prompted by context alone. The default stays quiet."""
        return
        yield  # pragma: no cover
