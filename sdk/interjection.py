"""`Interjection`: a piece of text the background reasoner (or a background tool) wants voiced.

An interjection is anchored to a point in the session's media time (`anchor_ms`, what it is
about), carries when it was made and when it stops being worth saying (`expires_ms`), and a
priority that tells the engine's delivery rules how patient it may be:

- ``"urgent"``: voiced at once, even while the user is speaking;
- ``"next_pause"``: voiced at the next pause of at least one micro-turn;
- ``"when_idle"``: voiced only when neither side has spoken for a while.

All times are milliseconds of the session's media time.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

PRIORITIES = ("urgent", "next_pause", "when_idle")


@dataclass(frozen=True)
class Interjection:
    """Text to voice at a fitting moment, with its anchor, expiry and priority.

    `request_id` ties an interjection to the `session.ask(...)` call it answers ("" when it was
    not asked for); reasoners echo the ``request_id`` they find in the request's context.
    """

    text: str
    session_id: str = ""
    anchor_ms: int = 0
    created_ms: int = 0
    expires_ms: int = 0
    priority: str = "next_pause"
    reason: str = ""
    source: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    request_id: str = ""

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise ValueError(f"interjection priority must be one of {PRIORITIES}, got {self.priority!r}")
        if not isinstance(self.text, str):
            raise TypeError("interjection text must be a string")

    def with_text(self, text: str) -> "Interjection":
        """A copy with different words (what `on_interjection` returns to rewrite one)."""
        return replace(self, text=text)

    def expired(self, media_ms: int) -> bool:
        """True once `media_ms` is past the expiry (an expiry of 0 means never)."""
        return self.expires_ms > 0 and media_ms > self.expires_ms

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Interjection":
        """Rebuild from `to_dict()` output; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
