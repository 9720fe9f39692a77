"""Exact checks of spoken and typed arithmetic and algebra, and the local backend around them."""

from __future__ import annotations

import pytest

from microturn.reasoner import ContextItem, Observation, ReasonerError, ReasonerRequest
from microturn.runtime.reasoner.backends.local import LocalMathBackend
from microturn.runtime.reasoner.mathcheck import MathError, check, normalise


@pytest.mark.parametrize("text, correct, expected", [
    ("twelve times seven is eighty four", True, "84"),
    ("twelve times seven is eighty five", False, "84"),
    ("one hundred and five minus five equals one hundred", True, "100"),
    ("I think 3/4 + 1/4 = 1", True, "1"),
    ("(2+3)^2 = 25", True, "25"),
    ("7 divided by 2 is 3", False, "7/2"),
    ("2x+3=7 so x=2", True, "x = 2"),
    ("2x+3=7 so x=3", False, "x = 2"),
    ("two x plus three equals seven so x equals two", True, "x = 2"),
    ("2x+3=7 so 2x=4 so x=3", False, "x = 2"),
    ("2x + 3 = 7, so 2x = 10", False, "x = 2"),
])
def test_claims_and_steps(text, correct, expected):
    verdict = check(text)
    assert verdict.correct is correct and verdict.expected == expected
    assert ("Not quite" in verdict.text) is (not correct)


def test_values_and_problem_context():
    assert check("what is 12 times 7?").text == "12 × 7 is 84."
    assert check("x^2 = 9").expected == "x = -3, x = 3"
    wrong = check("x = 4", problem="2x+3=7")
    assert wrong.kind == "solution" and wrong.correct is False and "x = 2" in wrong.text
    assert check("x equals two", problem="2x+3=7").correct is True


def test_no_maths_and_unsafe_maths():
    assert check("hello there, how are you") is None
    assert normalise("a cat is on the mat") == ""
    for text in ["2^5000 = 1", "1234567890123456789 + 1", "x + y = 3"]:
        with pytest.raises(MathError):
            check(text)
    # only digits, operators and a few variable letters reach the parser
    assert set(normalise("__import__('os').system('x')")) <= set("()x ")


async def test_local_backend_answers_and_observes():
    backend = LocalMathBackend()
    request = ReasonerRequest("r", "s", "x = 3", {"problem": "2x+3=7"}, media_ms=900, now_ms=1000)
    (ij,) = [ij async for ij in backend.answer(request)]
    assert ij.anchor_ms == 900 and ij.created_ms == 1000 and ij.expires_ms > 1000 and "x = 2" in ij.text
    with pytest.raises(ReasonerError) as info:
        [ij async for ij in backend.answer(ReasonerRequest("r", "s", "nice weather", {}, 0, 0))]
    assert info.value.code == "INVALID_ARGUMENT"

    problem = ContextItem("s", "problem.set", {"problem": "3x = 12"}, 100)
    said = ContextItem("s", "transcript.final", {"role": "user", "text": "x is five", "start_ms": 2000}, 2600)
    (ij,) = [ij async for ij in backend.observe(Observation(said, 2700, [problem]))]
    assert ij.anchor_ms == 2000 and "x = 4" in ij.text and ij.priority == "next_pause"
    right = ContextItem("s", "transcript.final", {"role": "user", "text": "x is four"}, 3000)
    agent = ContextItem("s", "transcript.final", {"role": "agent", "text": "x is five"}, 3100)
    for event in (right, agent):
        assert [ij async for ij in backend.observe(Observation(event, 3200, [problem]))] == []


def test_linear_fast_path_gives_the_same_verdicts_as_sympy(monkeypatch):
    """Random arithmetic, linear and non-linear equations and steps: the Fraction fast path and
    sympy agree on every verdict (text included), and the fast path really is taken."""
    import random

    from microturn.runtime.reasoner import linear, mathcheck

    rng = random.Random(7)

    def term() -> str:
        a, b = rng.randint(-9, 30), rng.randint(1, 12)
        return rng.choice([f"{a}", f"{a}x", f"({a} - {b}x)", f"{a}/{b}", f"{a}x/{b}", f"{b}^2",
                           f"{a}.5", f"({b}x + {a}) * {b}", f"2^-{b % 4}"])

    def side() -> str:
        return " + ".join(term() for _ in range(rng.randint(1, 3)))

    texts = []
    for _ in range(150):
        texts += [side(), f"{side()} = {side()}", f"{side()} = {side()} so x = {rng.randint(-5, 5)}",
                  f"x^2 = {rng.randint(1, 20) ** 2}", f"{rng.randint(2, 99)} times {rng.randint(2, 99)} is "
                  f"{rng.randint(4, 9801)}", f"{side()} = {side()} so {side()} = {side()}"]

    def verdicts():
        out = []
        for text in texts:
            try:
                out.append(check(text))
            except MathError as exc:
                out.append(f"MathError: {exc}")
        return out

    fast_calls = []
    original = linear.evaluate
    monkeypatch.setattr(linear, "evaluate", lambda *a: fast_calls.append(1) or original(*a))
    fast = verdicts()
    assert len(fast_calls) > 500

    def no_fast_path(*_):
        raise linear.NotLinear("disabled for this comparison")

    monkeypatch.setattr(linear, "evaluate", no_fast_path)
    slow = verdicts()
    assert sum(isinstance(v, mathcheck.Verdict) for v in slow) > 400  # most of them are checkable
    for text, a, b in zip(texts, fast, slow):
        assert a == b, text
