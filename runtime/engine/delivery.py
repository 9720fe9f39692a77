"""Interjection delivery: the engine's hard rules for *when* a reasoner's words may be voiced.

An interjection waits here from the moment it arrives until it is voiced or dropped:

- it is held while the user is speaking, unless it is ``urgent``;
- a ``next_pause`` one is voiced at the first pause of at least one micro-turn (the user
  silent for `pause_ms`, and the agent not speaking);
- a ``when_idle`` one only when neither side has spoken for `idle_ms`;
- an expired one is dropped;
- never two at once: nothing is voiced while another interjection is still playing;
- it is voiced only after the agent's `on_interjection` review (which may rewrite or veto it),
  or after the review timed out.

Within these rules the floor policy may pick the moment with an INTERJECT decision. A policy
that declares ``picks_interjections = True`` gets that choice for every non-urgent one; for
other policies the engine voices the first eligible interjection as soon as the rules allow.
This module is pure bookkeeping (no clock, no I/O), so each rule is easy to test.
"""

from __future__ import annotations

from dataclasses import dataclass

from microturn.interjection import Interjection
from microturn.runtime.engine.policy import PendingInterjection

_ORDER = {"urgent": 0, "next_pause": 1, "when_idle": 2}


@dataclass
class Pending:
    interjection: Interjection
    arrived_ms: int
    reviewed: bool = False


@dataclass(frozen=True)
class FloorState:
    """What the rules need to know about the conversation right now."""

    media_ms: int
    user_silent_ms: int          # since the user last spoke
    agent_speaking: bool
    agent_silent_ms: int         # since the agent last stopped speaking (0 while speaking)
    interjection_playing: bool   # an interjection is queued or playing in the agent's voice


class InterjectionQueue:
    """The interjections waiting in one session."""

    def __init__(self, *, pause_ms: int, idle_ms: int, review_timeout_ms: int):
        self.pause_ms = pause_ms
        self.idle_ms = idle_ms
        self.review_timeout_ms = review_timeout_ms
        self.items: list[Pending] = []

    def add(self, inj: Interjection, arrived_ms: int, *, reviewed: bool = False) -> Pending:
        p = Pending(inj, arrived_ms, reviewed)
        self.items.append(p)
        return p

    def get(self, interjection_id: str) -> Pending | None:
        return next((p for p in self.items if p.interjection.id == interjection_id), None)

    def remove(self, p: Pending) -> None:
        if p in self.items:
            self.items.remove(p)

    def review(self, interjection_id: str, verdict: Interjection | None) -> Pending | None:
        """Apply the agent's verdict. Returns the vetoed item (now removed), else None.
        A rewrite to empty text counts as a veto."""
        p = self.get(interjection_id)
        if p is None:
            return None
        if verdict is None or not verdict.text.strip():
            self.remove(p)
            return p
        p.interjection = verdict
        p.reviewed = True
        return None

    def expire(self, media_ms: int) -> list[Pending]:
        """Remove and return every interjection past its expiry."""
        gone = [p for p in self.items if p.interjection.expired(media_ms)]
        for p in gone:
            self.items.remove(p)
        return gone

    def eligible(self, p: Pending, s: FloorState) -> bool:
        """May `p` be voiced now under the hard rules?"""
        if s.interjection_playing:
            return False
        if not p.reviewed and s.media_ms - p.arrived_ms < self.review_timeout_ms:
            return False
        priority = p.interjection.priority
        if priority == "urgent":
            return True
        if s.agent_speaking:
            return False
        if priority == "next_pause":
            return s.user_silent_ms >= self.pause_ms
        return s.user_silent_ms >= self.idle_ms and s.agent_silent_ms >= self.idle_ms

    def pick(self, s: FloorState, requested_id: str | None = None, policy_picks: bool = False) -> Pending | None:
        """The interjection to voice now, if any."""
        if requested_id:
            p = self.get(requested_id)
            return p if p is not None and self.eligible(p, s) else None
        ordered = sorted(self.items, key=lambda p: (_ORDER[p.interjection.priority], p.arrived_ms))
        for p in ordered:
            if policy_picks and p.interjection.priority != "urgent":
                continue
            if self.eligible(p, s):
                return p
        return None

    def for_policy(self) -> list[PendingInterjection]:
        """The waiting interjections as a policy sees them."""
        return [PendingInterjection(p.interjection.id, p.interjection.priority, p.interjection.expires_ms)
                for p in self.items]
