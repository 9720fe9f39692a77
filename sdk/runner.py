"""`AgentRunner`: connects one `Agent` to one session through messages.

The engine (or a remote-worker transport) hands it notification dicts with `deliver`; it
updates the `Session`, then fires the matching hook as its own task so a slow hook never holds
up the caller. Replies the engine waits for (interjection verdicts, tool results) go back as
command messages through the same `send` callable the Session uses.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable

from microturn import messages as m
from microturn.agent import Agent
from microturn.session import Session
from microturn.tools import current_session

log = logging.getLogger(__name__)


class AgentRunner:
    """Runs one agent's hooks for one session. All methods are called on the agent's loop."""

    def __init__(self, agent: Agent, session_id: str, send: Callable[[dict[str, Any]], None], *,
                 room: str = "", identity: str = ""):
        self.agent = agent
        self.session = Session(session_id, send, room=room, identity=identity)
        self._send = send
        self._tasks: set[asyncio.Task] = set()

    def deliver(self, data: dict[str, Any]) -> None:
        """Take one engine notification (a dict); never raises for a bad one, it logs it."""
        try:
            msg = m.message_from_dict(data)
        except m.MessageError as exc:
            log.warning("agent runner dropped a bad message: %s", exc)
            return
        self.session.receive(msg)
        coro = self._hook_for(msg)
        if coro is not None:
            self._spawn(coro, msg.kind)

    def _hook_for(self, msg: m.Message):
        a, s = self.agent, self.session
        if isinstance(msg, m.SessionStarted):
            return a.on_session_started(s)
        if isinstance(msg, m.SessionEnded):
            return a.on_session_ended(s)
        if isinstance(msg, m.UserTurn):
            return a.on_user_turn(s, msg)
        if isinstance(msg, m.BargeIn):
            return a.on_barge_in(s, msg.media_ms)
        if isinstance(msg, m.SpeechDone):
            return a.on_speech_finished(s, msg)
        if isinstance(msg, m.UserText):
            return a.on_user_text(s, msg.text)
        if isinstance(msg, m.VisualChange):
            return a.on_visual_change(s, msg.media_ms)
        if isinstance(msg, m.TimerFired):
            return a.on_timer(s, msg.name, msg.media_ms)
        if isinstance(msg, m.InterjectionOffered) and msg.interjection is not None:
            return self._review(msg)
        if isinstance(msg, m.ToolCall):
            return self._run_tool(msg)
        return None

    async def _review(self, msg: m.InterjectionOffered) -> None:
        inj = msg.interjection
        try:
            verdict = await self.agent.on_interjection(self.session, inj)
        except Exception:
            log.exception("on_interjection failed; keeping the interjection unchanged")
            verdict = inj
        if verdict is not None and verdict.id != inj.id:
            verdict = type(inj).from_dict({**verdict.to_dict(), "id": inj.id})  # the id names the offer
        self._send(m.InterjectionVerdict(media_ms=self.session.media_ms, interjection_id=inj.id,
                                         interjection=verdict).to_dict())

    async def _run_tool(self, msg: m.ToolCall) -> None:
        result = await self.agent.tools.call(msg.name, msg.arguments, session=self.session, call_id=msg.call_id)
        # the answer travels as JSON (data channel, worker stream): make odd values plain text
        payload = json.loads(json.dumps(result.to_dict(), default=str))
        self._send(m.ToolCallResult(media_ms=self.session.media_ms, result=payload).to_dict())

    def _spawn(self, coro, what: str) -> None:
        async def guarded():
            token = current_session.set(self.session)
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # an app bug: report it, keep the session alive
                log.exception("agent hook for %s failed", what)
                self._send(m.SendEvent(media_ms=self.session.media_ms, event={
                    "type": "error", "code": "hook_failed",
                    "message": f"agent hook for {what} failed: {type(exc).__name__}: {exc}"}).to_dict())
            finally:
                current_session.reset(token)

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def busy(self) -> bool:
        """True while a hook task is running that is not just waiting for speech to play out."""
        return len(self._tasks) > self.session._parked

    async def aclose(self, grace_s: float = 1.0) -> None:
        """Let running hooks (on_session_ended included) finish briefly, then cancel the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_s)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.agent.tools.aclose()
