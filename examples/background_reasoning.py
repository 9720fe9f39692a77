"""Background reasoning: an equation tutor whose answers are checked by the reasoner service.

One file, two halves (EquationTutor, the agent; EncouragingChecker, the reasoner backend), in
two processes. `dev` can start both:

    microturn dev examples/background_reasoning.py --reasoner-backend examples/background_reasoning.py

or run the reasoner yourself and point `dev` at it:

    microturn reasoner --backend examples/background_reasoning.py --port 50061
    microturn dev examples/background_reasoning.py --reasoner 127.0.0.1:50061

The agent never waits for the reasoner. It acknowledges an answer at once and asks the reasoner
to check it (`session.ask`); the verdict comes back as an `Interjection` anchored at the moment
the user answered, and the engine voices it at the next pause (never over the user), unless it
has expired by then. `on_interjection` sees every interjection first and may rewrite or veto it.
The reasoner also listens on its own: when the user states a wrong answer without being asked,
it speaks up unprompted. A `@tool(background=True)` returns at once and is voiced later too.
"""

from __future__ import annotations

from microturn import Agent, ReasonerBackend, ReasonerUnavailable, tool
from microturn.runtime.reasoner.backends.local import LocalMathBackend

PROBLEM = "2x + 3 = 7"


class EquationTutor(Agent):
    """Sets one equation and lets the reasoner judge each answer."""

    def __init__(self):
        self.voiced: set[str] = set()

    async def on_session_started(self, session):
        # the reasoner hears this line too, and takes the equation in it as the problem
        session.say("solve two x plus three equals seven")

    async def on_user_turn(self, session, turn):
        session.say("let me check")
        try:
            verdict = await session.ask(turn.text, context={"problem": PROBLEM})
        except ReasonerUnavailable:
            session.say("I cannot check that right now; try again in a moment")
            return
        if verdict.text.startswith("Yes"):
            session.send({"type": "tutor.solved", "answer": turn.text})

    async def on_interjection(self, session, interjection):
        if interjection.text in self.voiced:
            return None  # veto: the reasoner repeated itself (asked, and unprompted)
        self.voiced.add(interjection.text)
        # rewrite for the ear: a speech synthesiser reads "×" badly
        return interjection.with_text(interjection.text.replace("×", "times"))

    @tool(background=True, priority="when_idle")
    async def hint(self, session) -> str:
        """Work out a hint in the background; it is voiced when nobody is speaking."""
        first_step = await session.ask("2x + 3 = 7 so 2x = 4")
        return "here is a hint: " + first_step.text.removeprefix("Yes: ")


class EncouragingChecker(ReasonerBackend):
    """A reasoner backend: sympy's exact checks, phrased kindly. Subclass `ReasonerBackend`,
    override `answer` (explicit questions) and optionally `observe` (context as it happens)."""

    name = "encouraging"

    def __init__(self):
        self.math = LocalMathBackend()

    async def start(self):
        await self.math.start()

    async def answer(self, request):
        async for interjection in self.math.answer(request):
            yield self._kindly(interjection)

    async def observe(self, observation):
        async for interjection in self.math.observe(observation):
            yield self._kindly(interjection)

    @staticmethod
    def _kindly(interjection):
        return interjection.with_text(interjection.text.replace("Not quite:", "Close! Remember:"))
