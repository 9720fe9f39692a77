"""A reasoner backend for tests, loaded by the real CLI: `--backend tests/reasoner/scripted_backend.py`.

It is the `local` sympy backend plus two scripted questions, so tests can make one request slow
or broken on purpose:
- "sleep S: QUESTION" sleeps S seconds (times MICROTURN_TEST_SLEEP_SCALE, default 1), then
  answers QUESTION with sympy;
- "slowly QUESTION" does the same with S = MICROTURN_TEST_SLOW_S (default 30); the word is
  ignored by the maths reader, so the same text is a plain answer to the unprompted check;
- "boom" raises inside the backend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os

from microturn.runtime.reasoner.backends.local import LocalMathBackend


class ScriptedBackend(LocalMathBackend):
    name = "scripted"

    async def answer(self, request):
        question = request.question
        if question == "boom":
            raise RuntimeError("scripted failure")
        if question.startswith("sleep "):
            head, _, question = question.partition(":")
            await asyncio.sleep(float(head.split()[1]) * float(os.environ.get("MICROTURN_TEST_SLEEP_SCALE", "1")))
        elif question.startswith("slowly "):
            question = question.removeprefix("slowly ")
            await asyncio.sleep(float(os.environ.get("MICROTURN_TEST_SLOW_S", "30")))
        async for ij in super().answer(dataclasses.replace(request, question=question.strip())):
            yield ij
