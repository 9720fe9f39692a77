"""The ground truth of one synthetic conversation: who speaks when, and what happens.

The generator lays a conversation out on this timeline (all times in integer milliseconds of
media time) and `labels.py` reads the per-micro-turn floor actions off it. Keeping the truth in
plain data, apart from audio, lets tests build an episode by hand and check every label.

Vocabulary:
- a *user turn* is one or more stretches of the user's speech (`spans`); the gaps between them
  are mid-turn pauses, and the turn ends when its last span ends. A turn that starts while the
  agent is speaking a turn is an *interruption*.
- a *user backchannel* is a short "mm-hm" while the agent speaks; it is not a turn.
- *agent speech* is either a turn (holding the floor) or a backchannel.
- *other speech* is anyone but the user: side talk, TV, background voices. It never asks for
  the floor.
- *visual events* (a whiteboard or camera frame changed) and *timers* (a reminder fell due)
  are instants that ask the agent to speak up when they meet silence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MICRO_TURN_MS = 200


@dataclass(frozen=True)
class UserTurn:
    spans: tuple[tuple[int, int], ...]
    # Indices i of pauses (between spans[i] and spans[i+1]) where a backchannel fits.
    backchannel_pauses: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if not self.spans:
            raise ValueError("a user turn needs at least one span")
        prev_end = None
        for start, end in self.spans:
            if end <= start or (prev_end is not None and start < prev_end):
                raise ValueError(f"user turn spans must be ordered and non-empty: {self.spans}")
            prev_end = end
        for i in self.backchannel_pauses:
            if not 0 <= i < len(self.spans) - 1:
                raise ValueError(f"backchannel pause {i} is not a pause of {self.spans}")

    @property
    def start(self) -> int:
        return self.spans[0][0]

    @property
    def end(self) -> int:
        return self.spans[-1][1]

    def pauses(self) -> list[tuple[int, int]]:
        return [(self.spans[i][1], self.spans[i + 1][0]) for i in range(len(self.spans) - 1)]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str = ""  # agent: "turn" | "backchannel"; other: "side" | "tv" | "background"; user bc: ""
    text: str = ""  # agent backchannels: the word said (the text head learns to write it)

    def overlaps(self, lo: int, hi: int) -> bool:
        return self.start < hi and lo < self.end


@dataclass
class Timeline:
    duration_ms: int
    user_turns: list[UserTurn] = field(default_factory=list)
    user_backchannels: list[Span] = field(default_factory=list)
    agent: list[Span] = field(default_factory=list)
    others: list[Span] = field(default_factory=list)
    visual_events: list[int] = field(default_factory=list)
    timers: list[int] = field(default_factory=list)

    @property
    def n_turns(self) -> int:
        """Number of whole micro-turns in the episode."""
        return self.duration_ms // MICRO_TURN_MS

    def agent_turns(self) -> list[Span]:
        return [a for a in self.agent if a.kind == "turn"]

    def to_dict(self) -> dict:
        return {
            "duration_ms": self.duration_ms,
            "user_turns": [{"spans": [list(s) for s in u.spans],
                            "backchannel_pauses": sorted(u.backchannel_pauses)} for u in self.user_turns],
            "user_backchannels": [[s.start, s.end] for s in self.user_backchannels],
            "agent": [[s.start, s.end, s.kind] + ([s.text] if s.text else []) for s in self.agent],
            "others": [[s.start, s.end, s.kind] for s in self.others],
            "visual_events": list(self.visual_events),
            "timers": list(self.timers),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Timeline":
        return cls(
            duration_ms=int(d["duration_ms"]),
            user_turns=[UserTurn(tuple(tuple(s) for s in u["spans"]), frozenset(u["backchannel_pauses"]))
                        for u in d["user_turns"]],
            user_backchannels=[Span(a, b) for a, b in d["user_backchannels"]],
            agent=[Span(*a) for a in d["agent"]],
            others=[Span(a, b, k) for a, b, k in d["others"]],
            visual_events=list(d["visual_events"]),
            timers=list(d["timers"]),
        )


def decision_time(k: int) -> int:
    """Media time at which the decision after micro-turn k is made (the end of micro-turn k)."""
    return (k + 1) * MICRO_TURN_MS


def first_decision_at_or_after(t_ms: int) -> int:
    """The earliest decision time (a micro-turn boundary > 0) that is >= t_ms."""
    return max(MICRO_TURN_MS, -(-t_ms // MICRO_TURN_MS) * MICRO_TURN_MS)
