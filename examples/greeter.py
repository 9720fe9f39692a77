"""The smallest useful agent: it greets you, and repeats what it heard.

Run it with ``microturn dev examples/greeter.py``.
"""

from __future__ import annotations

from microturn import Agent


class Greeter(Agent):
    """Says hello when you join, then echoes each of your turns."""

    async def on_session_started(self, session):
        session.say("hello! I am listening.")

    async def on_user_turn(self, session, turn):
        if turn.text:
            session.say(f"you said: {turn.text}")
        else:
            session.say("I heard you, but I could not make out the words.")

    async def on_user_text(self, session, text):
        session.say(f"you wrote: {text}")
