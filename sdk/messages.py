"""The messages between an agent's `Session` and the engine, and nothing else.

The SDK never calls into the engine: a `Session` sends *commands* (say this, stop that, ask the
reasoner) and the engine sends *notifications* (the user's turn ended, speech finished). Both
are small dataclasses that turn into plain JSON-ready dicts (`to_dict`) and back
(`message_from_dict`), so the same agent code runs in-process and in a remote worker.

Every message has a ``kind`` (its wire name) and the session's ``media_ms`` when it was made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from microturn.interjection import Interjection

_KINDS: dict[str, type["Message"]] = {}


class MessageError(ValueError):
    """A dict that is not a valid message (unknown kind, missing or bad fields)."""


@dataclass
class Message:
    """Base of every message. Subclasses set `kind` and add their fields."""

    kind: ClassVar[str] = ""
    media_ms: int = 0

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.kind:
            _KINDS[cls.kind] = cls

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Interjection):
                data[f.name] = value.to_dict()
        return {"kind": self.kind, **data}


def message_from_dict(data: dict[str, Any]) -> Message:
    """Rebuild a message from `Message.to_dict()` output. Raises MessageError when it can't."""
    if not isinstance(data, dict):
        raise MessageError("a message must be a dict")
    cls = _KINDS.get(data.get("kind"))  # type: ignore[arg-type]
    if cls is None:
        raise MessageError(f"unknown message kind {data.get('kind')!r}")
    try:
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.type in ("Interjection", "Interjection | None") and isinstance(value, dict):
                value = Interjection.from_dict(value)
            kwargs[f.name] = value
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise MessageError(f"bad {cls.kind} message: {exc}") from None


# ---- commands: Session -> engine -------------------------------------------------------------

@dataclass
class Say(Message):
    """Speak `text`; `speech_id` names the utterance in later notifications. An utterance that
    is not `interruptible` keeps playing when the user talks over it."""

    kind: ClassVar[str] = "say"
    speech_id: str = ""
    text: str = ""
    interruptible: bool = True


@dataclass
class Interrupt(Message):
    """Stop the utterance `speech_id` now (queued or playing)."""

    kind: ClassVar[str] = "interrupt"
    speech_id: str = ""


@dataclass
class SendEvent(Message):
    """Send an event dict on the session's data channel."""

    kind: ClassVar[str] = "send_event"
    event: dict = field(default_factory=dict)


@dataclass
class Ask(Message):
    """Ask the background reasoner a question; answered by an interjection with `request_id`."""

    kind: ClassVar[str] = "ask"
    request_id: str = ""
    question: str = ""
    context: dict = field(default_factory=dict)


@dataclass
class SetTimer(Message):
    """Fire `on_timer(name)` once the session's media time reaches `at_ms`."""

    kind: ClassVar[str] = "set_timer"
    name: str = ""
    at_ms: int = 0


@dataclass
class OfferInterjection(Message):
    """An interjection made on the agent side (a background tool's result) for delivery."""

    kind: ClassVar[str] = "offer_interjection"
    interjection: Interjection | None = None


@dataclass
class InterjectionVerdict(Message):
    """The agent's answer to `InterjectionOffered`: the (maybe rewritten) one, or None to veto."""

    kind: ClassVar[str] = "interjection_verdict"
    interjection_id: str = ""
    interjection: Interjection | None = None


@dataclass
class ToolCallResult(Message):
    """The dispatcher's answer to a `ToolCall` (a `ToolResult` as a dict)."""

    kind: ClassVar[str] = "tool_call_result"
    result: dict = field(default_factory=dict)


# ---- notifications: engine -> Session --------------------------------------------------------

@dataclass
class SessionStarted(Message):
    kind: ClassVar[str] = "session_started"
    session_id: str = ""
    room: str = ""
    identity: str = ""


@dataclass
class SessionEnded(Message):
    kind: ClassVar[str] = "session_ended"
    reason: str = ""


@dataclass
class UserTurn(Message):
    """The user's turn ended: what they said and when (media time)."""

    kind: ClassVar[str] = "user_turn"
    text: str = ""
    start_ms: int = 0
    end_ms: int = 0


@dataclass
class BargeIn(Message):
    kind: ClassVar[str] = "barge_in"


@dataclass
class SpeechDone(Message):
    """An utterance finished playing, or was cut: `text_played` is what the user heard."""

    kind: ClassVar[str] = "speech_done"
    speech_id: str = ""
    text: str = ""
    text_played: str = ""
    interrupted: bool = False


@dataclass
class UserText(Message):
    kind: ClassVar[str] = "user_text"
    text: str = ""


@dataclass
class InterjectionOffered(Message):
    """An interjection reached the engine; the agent reviews it and answers with a verdict."""

    kind: ClassVar[str] = "interjection_offered"
    interjection: Interjection | None = None


@dataclass
class AskFailed(Message):
    kind: ClassVar[str] = "ask_failed"
    request_id: str = ""
    error: str = ""


@dataclass
class ToolCall(Message):
    """Run a tool on the agent side (from a `tool.call` data-channel event, or a model)."""

    kind: ClassVar[str] = "tool_call"
    call_id: str = ""
    name: str = ""
    arguments: dict = field(default_factory=dict)


@dataclass
class VisualChange(Message):
    kind: ClassVar[str] = "visual_change"


@dataclass
class TimerFired(Message):
    kind: ClassVar[str] = "timer_fired"
    name: str = ""


@dataclass
class TranscriptAppended(Message):
    """One finished transcript line (for the agent: only what was played)."""

    kind: ClassVar[str] = "transcript_appended"
    role: str = ""
    text: str = ""
    start_ms: int = 0
    end_ms: int = 0
