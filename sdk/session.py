"""`Session`: an agent's handle on one live conversation, and `SpeechHandle` for one utterance.

A Session never touches the engine directly: each method turns into a command message
(`microturn.messages`) handed to a `send` callable, and the engine's notifications come back
through `receive`. In-process the callable is the engine itself; in a remote worker it is a
gRPC stream. Everything here runs on the agent's event loop and returns at once.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from microturn import messages as m
from microturn.interjection import Interjection


class ReasonerUnavailable(RuntimeError):
    """`session.ask` could not reach a background reasoner (none configured, or it failed)."""


class SessionClosed(RuntimeError):
    """The session ended before the operation could complete."""


@dataclass(frozen=True)
class TranscriptEntry:
    """One finished line of the conversation. For the agent, only the words actually played."""

    role: str  # "user" | "agent"
    text: str
    start_ms: int
    end_ms: int


class AskFuture(asyncio.Future):
    """The future `Session.ask` returns; awaiting it counts as "waiting on the engine", so a
    virtual-clock driver does not wait for the hook that awaits it."""

    def __init__(self, session: "Session"):
        super().__init__(loop=asyncio.get_running_loop())
        self._session = session

    def __await__(self):
        self._session._parked += 1
        try:
            return (yield from super().__await__())
        finally:
            self._session._parked -= 1

    __iter__ = __await__


class SpeechHandle:
    """One utterance started by `Session.say`.

    ``await handle`` waits until it has played out (or was cut) and returns the
    `SpeechResult`; ``handle.interrupt()`` stops it now.
    """

    def __init__(self, session: "Session", speech_id: str, text: str):
        self._session = session
        self.speech_id = speech_id
        self.text = text
        self._done: asyncio.Future[m.SpeechDone] = asyncio.get_running_loop().create_future()

    def interrupt(self) -> None:
        """Stop this utterance (whether it is playing or still queued). Safe to call twice."""
        if not self._done.done():
            self._session._send(m.Interrupt(media_ms=self._session.media_ms, speech_id=self.speech_id))

    def done(self) -> bool:
        """True once the utterance has played out or been cut."""
        return self._done.done()

    @property
    def result(self) -> m.SpeechDone | None:
        """The outcome once done (`text_played`, `interrupted`), else None."""
        return self._done.result() if self._done.done() else None

    def _resolve(self, result: m.SpeechDone) -> None:
        if not self._done.done():
            self._done.set_result(result)

    def __await__(self):
        return self._wait().__await__()

    async def _wait(self) -> m.SpeechDone:
        # counted as "parked on the engine", so a virtual-clock driver knows not to wait for us
        self._session._parked += 1
        try:
            return await asyncio.shield(self._done)
        finally:
            self._session._parked -= 1

    def __repr__(self) -> str:
        return f"<SpeechHandle {self.speech_id} {self.text!r}{' done' if self.done() else ''}>"


class Session:
    """One conversation as the agent sees it: speak, send events, ask the reasoner, set timers.

    `transcript` holds the finished lines (user and agent) in order; `media_ms` is the latest
    media time the engine reported.
    """

    def __init__(self, session_id: str, send: Callable[[dict[str, Any]], None], *, room: str = "",
                 identity: str = ""):
        self.session_id = session_id
        self.room = room
        self.identity = identity
        self.media_ms = 0
        self.transcript: list[TranscriptEntry] = []
        self.ended = False
        self._send_raw = send
        self._speeches: dict[str, SpeechHandle] = {}
        self._asks: dict[str, asyncio.Future[Interjection]] = {}
        self._parked = 0  # hook tasks awaiting a SpeechHandle or an ask (only the engine wakes them)

    # ---- what agent code calls -------------------------------------------------------------

    def say(self, text: str, *, interruptible: bool = True) -> SpeechHandle:
        """Speak `text` after anything already queued. Returns a handle to await or interrupt.

        With ``interruptible=False`` a barge-in does not cut it (use it sparingly: a safety
        notice, a legal line); `SpeechHandle.interrupt()` still does."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("say() needs non-empty text")
        handle = SpeechHandle(self, uuid.uuid4().hex[:12], text.strip())
        if self.ended:
            handle._resolve(m.SpeechDone(media_ms=self.media_ms, speech_id=handle.speech_id, text=handle.text,
                                         interrupted=True))
            return handle
        self._speeches[handle.speech_id] = handle
        self._send(m.Say(media_ms=self.media_ms, speech_id=handle.speech_id, text=handle.text,
                         interruptible=interruptible))
        return handle

    def send(self, event: dict[str, Any]) -> None:
        """Send an event on the data channel: a dict with a ``"type"`` named ``noun.verb``."""
        if not isinstance(event, dict) or not isinstance(event.get("type"), str) or "." not in event["type"]:
            raise ValueError("an event is a dict with a 'type' named like 'noun.verb'")
        self._send(m.SendEvent(media_ms=self.media_ms, event=dict(event)))

    def ask(self, question: str, context: dict[str, Any] | None = None) -> "asyncio.Future[Interjection]":
        """Ask the background reasoner; the future resolves with its answering `Interjection`.

        The answer is also offered for voicing under the delivery rules (veto it in
        `on_interjection` to only use it in code). Fails with `ReasonerUnavailable` when the
        runtime has no reasoner, and with `SessionClosed` if the session ends first.
        """
        request_id = uuid.uuid4().hex[:12]
        fut: asyncio.Future[Interjection] = AskFuture(self)
        if self.ended:
            fut.set_exception(SessionClosed("the session has ended"))
            return fut
        self._asks[request_id] = fut
        ctx = dict(context or {})
        self._send(m.Ask(media_ms=self.media_ms, request_id=request_id, question=question, context=ctx))
        return fut

    def set_timer(self, name: str, at_ms: int) -> None:
        """Fire `Agent.on_timer(session, name, media_ms)` once media time reaches `at_ms`."""
        self._send(m.SetTimer(media_ms=self.media_ms, name=name, at_ms=int(at_ms)))

    def offer_interjection(self, interjection: Interjection) -> None:
        """Hand an interjection to the engine's delivery rules (background tools use this)."""
        self._send(m.OfferInterjection(media_ms=self.media_ms, interjection=interjection))

    # ---- the engine side -------------------------------------------------------------------

    def _send(self, msg: m.Message) -> None:
        self._send_raw(msg.to_dict())

    def receive(self, msg: m.Message) -> None:
        """Update local state from an engine notification (called by the agent runner)."""
        self.media_ms = max(self.media_ms, msg.media_ms)
        if isinstance(msg, m.TranscriptAppended):
            self.transcript.append(TranscriptEntry(msg.role, msg.text, msg.start_ms, msg.end_ms))
        elif isinstance(msg, m.SpeechDone):
            handle = self._speeches.pop(msg.speech_id, None)
            if handle is not None:
                handle._resolve(msg)
        elif isinstance(msg, m.InterjectionOffered) and msg.interjection is not None:
            fut = self._asks.pop(msg.interjection.request_id, None) if msg.interjection.request_id else None
            if fut is not None and not fut.done():
                fut.set_result(msg.interjection)
        elif isinstance(msg, m.AskFailed):
            fut = self._asks.pop(msg.request_id, None)
            if fut is not None and not fut.done():
                fut.set_exception(ReasonerUnavailable(msg.error))
        elif isinstance(msg, m.SessionEnded):
            self._end()

    def _end(self) -> None:
        self.ended = True
        for handle in self._speeches.values():
            handle._resolve(m.SpeechDone(media_ms=self.media_ms, speech_id=handle.speech_id, text=handle.text,
                                         interrupted=True))
        self._speeches.clear()
        for fut in self._asks.values():
            if not fut.done():
                fut.set_exception(SessionClosed("the session ended before the reasoner answered"))
        self._asks.clear()

    def __repr__(self) -> str:
        return f"<Session {self.session_id} at {self.media_ms} ms>"
