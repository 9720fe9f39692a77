"""The `local` backend: exact arithmetic and algebra with sympy, no network, no model.

- A request ("what is 12 times 7", "2x+3=7 so x=2", or "x = 4" with `context={"problem":
  "2x+3=7"}`) gets one interjection: the worked-out value or a verdict on the stated answer.
- Unprompted, it listens to what the user says (`transcript` lines with role user, and typed
  `user.text`) and speaks up only when a stated answer or step is wrong, anchored at the media
  time the user said it. A bare answer ("x equals four") is checked against the latest
  `problem` any context event carried, or the latest equation the agent itself said.
"""

from __future__ import annotations

import asyncio

from microturn.reasoner import Observation, ReasonerBackend, ReasonerError, ReasonerRequest
from microturn.runtime.reasoner import mathcheck

USER_SPEECH = {"transcript", "transcript.final", "user.text", "user.turn.ended"}  # the engine sends "transcript"


def _latest_problem(history) -> str | None:
    """The problem a bare answer refers to: the latest `problem` any context event carried, or
    the latest equation the agent said ("solve two x plus three equals seven")."""
    for item in reversed(history):
        problem = item.payload.get("problem")
        if isinstance(problem, str) and problem:
            return problem
        if item.kind == "transcript" and item.role == "agent":
            steps = mathcheck.normalise(item.text).split(" | ")
            if len(steps) == 1 and steps[0].count("=") == 1 and any(v in steps[0] for v in mathcheck.VARIABLES):
                return steps[0]
    return None


class LocalMathBackend(ReasonerBackend):
    name = "local"

    async def start(self) -> None:
        # sympy's first parse loads a lot of code; do it now, not on the first user's request
        await asyncio.to_thread(mathcheck.check, "1+1=2")

    async def answer(self, request: ReasonerRequest):
        problem = request.context.get("problem") or _latest_problem(request.history)
        try:
            verdict = await asyncio.to_thread(mathcheck.check, request.question, problem)
        except mathcheck.MathError as exc:
            raise ReasonerError("INVALID_ARGUMENT", str(exc)) from None
        if verdict is None:
            raise ReasonerError("INVALID_ARGUMENT", f"no arithmetic or algebra found in {request.question!r}")
        yield request.interjection(verdict.text, reason=f"{verdict.kind}: {verdict.expected}", source=self.name)

    async def observe(self, observation: Observation):
        event = observation.event
        if event.kind not in USER_SPEECH or event.role not in (None, "user") or not event.text:
            return
        problem = _latest_problem(observation.history)
        try:
            verdict = await asyncio.to_thread(mathcheck.check, event.text, problem)
        except mathcheck.MathError:
            return  # unprompted: maths it will not check is simply not commented on
        if verdict is None or verdict.correct is not False:
            return
        start = event.payload.get("start_ms")
        anchor = start if isinstance(start, int) and not isinstance(start, bool) else event.media_ms
        yield observation.interjection(
            verdict.text, anchor_ms=anchor, reason=f"wrong {verdict.kind}: expected {verdict.expected}",
            source=self.name,
        )
