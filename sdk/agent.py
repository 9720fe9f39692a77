"""`Agent`: the base class an app subclasses. Every hook is optional and async.

Hooks get the `Session` first, so one agent instance can serve many sessions. The engine fires
them without waiting (a slow hook never stalls the 200 ms micro-turn clock); the agent acts by
calling the session: ``session.say(...)``, ``session.send(...)``, ``session.ask(...)``.

A minimal agent::

    class Greeter(Agent):
        async def on_session_started(self, session):
            session.say("hello, I am listening")

        async def on_user_turn(self, session, turn):
            session.say(f"you said {turn.text}")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from microturn.interjection import Interjection
    from microturn.messages import SpeechDone, UserTurn
    from microturn.session import Session
    from microturn.tools import ToolDispatcher


class Agent:
    """Base class for agents. Override the hooks you need; declare tools with `@tool` methods.

    `asr_grammar` may hold a JSGF grammar: for a narrow domain (numbers, commands) it makes the
    speech recogniser far more accurate than the general language model. It also tells the
    engine what a whole request is: when the user pauses on a whole sentence of the grammar the
    default floor policy answers at once, and a prefix of one ("what is seven times") or speech
    the grammar does not fit is waited through (`speech/grammar_fit.py`). Its first public rule
    is the request.
    """

    asr_grammar: ClassVar[str | None] = None

    @property
    def tools(self) -> "ToolDispatcher":
        """The dispatcher holding this agent's `@tool` methods (made on first use)."""
        dispatcher = self.__dict__.get("_microturn_tools")
        if dispatcher is None:
            from microturn.tools import ToolDispatcher

            dispatcher = ToolDispatcher.for_agent(self)
            self.__dict__["_microturn_tools"] = dispatcher
        return dispatcher

    async def on_session_started(self, session: "Session") -> None:
        """A user joined; the session is live (a good moment to greet)."""

    async def on_session_ended(self, session: "Session") -> None:
        """The session ended (the peer left or the runtime stopped); release per-session state."""

    async def on_user_turn(self, session: "Session", turn: "UserTurn") -> None:
        """The user's turn ended: `turn.text` is the final transcript, `turn.start_ms`/`end_ms` its span."""

    async def on_barge_in(self, session: "Session", media_ms: int) -> None:
        """The user talked over the agent and the agent stopped speaking."""

    async def on_speech_finished(self, session: "Session", result: "SpeechDone") -> None:
        """An utterance played out or was cut: `result.text_played`, `.interrupted`, `.speech_id`."""

    async def on_user_text(self, session: "Session", text: str) -> None:
        """The user typed `text` (a ``user.text`` data-channel event)."""

    async def on_interjection(self, session: "Session", interjection: "Interjection") -> "Interjection | None":
        """Review an interjection before it is voiced: return it (maybe rewritten with
        ``interjection.with_text(...)``), or None to veto it. The default keeps it as it is."""
        return interjection

    async def on_visual_change(self, session: "Session", media_ms: int) -> None:
        """The camera or whiteboard picture changed noticeably."""

    async def on_timer(self, session: "Session", name: str, media_ms: int) -> None:
        """A timer set with `session.set_timer(name, at_ms)` fell due."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def describe_hooks() -> list[str]:
    """Names of every hook an `Agent` may override (for docs and the remote worker)."""
    return [n for n in vars(Agent) if n.startswith("on_")]


