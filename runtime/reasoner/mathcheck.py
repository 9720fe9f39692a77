"""Exact arithmetic and algebra checks with sympy, from spoken or typed text.

`check("twelve times seven is eighty five")` finds the arithmetic in a sentence, works it out
exactly and says whether a stated answer (or one step of working, "2x+3=7 so x=2") holds.
Text comes from users, so it is reduced to a small alphabet (digits, a few single-letter
variables, + - * / ^ ( ) =), parsed with `ast` and turned into sympy values by walking the tree
(never `eval`, and not sympy's `parse_expr`, which evals), and big powers and long numbers are
refused: nothing a user says can make the checker run code or the solver run for minutes.
Plain arithmetic and equations linear in one unknown take the exact fast path in `linear`
(Fractions, ~50x quicker); everything else goes to sympy, with the same answers either way.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass

import sympy

from microturn.runtime.reasoner import linear

VARIABLES = "xyznmkt"      # single letters read as unknowns; other letters are words
MAX_CHARS = 400            # longer text is not searched for arithmetic
MAX_DIGITS = 15
MAX_EXPONENT = 100

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}

# Spoken operators, longest first so "divided by" wins over "by".
_PHRASES = [
    ("multiplied by", "*"), ("divided by", "/"), ("to the power of", "^"), ("is equal to", "="),
    ("equal to", "="), ("which means", "|"), ("that means", "|"), ("so that", "|"),
    ("squared", "^2"), ("cubed", "^3"), ("plus", "+"), ("minus", "-"), ("times", "*"),
    ("over", "/"), ("equals", "="), ("is", "="), ("are", "="), ("makes", "="), ("gives", "="),
    ("so", "|"), ("therefore", "|"), ("then", "|"), ("hence", "|"), ("thus", "|"),
]
_SYMBOLS = {"×": "*", "·": "*", "÷": "/", "−": "-", "–": "-", "**": "^", "=>": "|", ";": "|", "⇒": "|"}
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+|[-+*/^()=|]")
_LOCALS = {v: sympy.Symbol(v) for v in VARIABLES}


@dataclass(frozen=True)
class Verdict:
    kind: str                 # "value" (worked out), "claim", "step" or "solution"
    correct: bool | None      # None for "value": nothing was claimed
    text: str                 # what to say, one short spoken sentence
    expected: str             # the exact result, e.g. "84" or "x = 2"


class MathError(ValueError):
    """Arithmetic that was found but cannot be checked safely."""


def _words_to_numbers(text: str) -> str:
    """Replace runs of number words ("eighty four", "one hundred and five") with digits."""
    out: list[str] = []
    total = current = 0
    in_number = False

    def flush():
        nonlocal total, current, in_number
        if in_number:
            out.append(str(total + current))
        total = current = 0
        in_number = False

    words = text.split()
    for i, word in enumerate(words):
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word in _SCALES and in_number:
            scale = _SCALES[word]
            if scale == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * scale
                current = 0
        elif word == "and" and in_number and i + 1 < len(words) and (
                words[i + 1] in _UNITS or words[i + 1] in _TENS):
            continue
        else:
            flush()
            out.append(word)
            continue
        in_number = True
    flush()
    return " ".join(out)


def normalise(text: str) -> str:
    """Text -> a compact math string with `|` between steps, e.g. "2 x + 3 = 7 | x = 2"."""
    s = text.lower()[:MAX_CHARS]
    for sym, rep in _SYMBOLS.items():
        s = s.replace(sym, rep)
    s = re.sub(r"what'?s|what is", " ", s)
    s = re.sub(r"[?!,]", " ", s)
    s = re.sub(r"\.(?!\d)", " ", s)  # sentence full stops, not decimal points
    s = re.sub(r"(?<=\d),(?=\d{3})", "", s)
    s = _words_to_numbers(s)
    s = re.sub(r"(\d)([a-z])", r"\1 \2", s)  # "2x" -> "2 x" so the x reads as a token
    for phrase, rep in _PHRASES:
        s = re.sub(rf"\b{phrase}\b", f" {rep} ", s)
    tokens = [t for t in _TOKEN.findall(s) if not t.isalpha() or (len(t) == 1 and t in VARIABLES)]
    steps = []
    for part in " ".join(tokens).split("|"):
        part = part.strip(" =+*/^|")
        if re.search(r"[0-9a-z]", part):
            steps.append(part)
    return " | ".join(steps)


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _implicit_products(side: str) -> str:
    """Spell out implicit products between tokens: "2 x" -> "2 * x", ") (" -> ") * (" ."""
    tokens = side.split()
    out: list[str] = []
    for tok in tokens:
        if out and (out[-1][-1].isalnum() or out[-1] == ")") and (tok[0].isalnum() or tok == "("):
            out.append("*")
        out.append(tok)
    return " ".join(out).replace("^", "**")


def _to_sympy(node: ast.AST) -> sympy.Expr:
    """Build the sympy value of a parsed expression by walking it; nothing is ever eval'd."""
    if isinstance(node, ast.Expression):
        return _to_sympy(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return sympy.Rational(ast.unparse(node))  # exact: "0.1" is 1/10, not a binary float
    if isinstance(node, ast.Name) and node.id in _LOCALS:
        return _LOCALS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _to_sympy(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        base, exponent = _to_sympy(node.left), _to_sympy(node.right)
        if not exponent.is_number or abs(exponent) > MAX_EXPONENT:
            raise MathError(f"only numeric exponents up to {MAX_EXPONENT} are checked")
        return base ** exponent
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _to_sympy(node.left), _to_sympy(node.right)
        if isinstance(node.op, ast.Div) and right == 0:
            raise MathError("division by zero")
        return _BINOPS[type(node.op)](left, right)
    raise MathError("not plain arithmetic")


def _tree(side: str) -> ast.Expression:
    if any(len(d) > MAX_DIGITS for d in re.findall(r"\d+", side)):
        raise MathError("numbers that long are not checked")
    if side.count("^") > 3:
        raise MathError("too many powers")
    try:
        return ast.parse(_implicit_products(side), mode="eval")
    except SyntaxError:
        raise MathError(f"cannot read {side!r} as maths") from None


def _show(value) -> str:
    if isinstance(value, linear.Linear):
        value = value.const
    return str(value).replace("**", "^").replace("*", "×")


def _pretty(part: str) -> str:
    s = re.sub(r"\s+", " ", part.replace("*", "×")).replace("( ", "(").replace(" )", ")")
    s = re.sub(r"(\d) / (\d)", r"\1/\2", s)     # fractions: "3/4"
    return re.sub(r"(\d) ([a-z])", r"\1\2", s)  # "2 x" reads better as "2x"


def _is_zero(difference) -> bool:
    if isinstance(difference, linear.Linear):
        return difference.is_constant and difference.const == 0
    return (difference if difference.is_Number else sympy.simplify(difference)) == 0


def _solutions(lhs, rhs) -> tuple[str, list]:
    """The unknown's name and its real solutions, sorted."""
    symbols = sorted(map(str, (lhs - rhs).free_symbols))
    if len(symbols) != 1:
        raise MathError("only equations in one unknown are solved")
    if isinstance(lhs, linear.Linear):
        return symbols[0], [(lhs - rhs).root()]
    var = sympy.Symbol(symbols[0])
    try:  # polynomials (the usual case) via their roots: several times faster than solve()
        poly = sympy.Poly(lhs - rhs, var)
        if poly.degree() <= 4:
            roots = {r for r in sympy.roots(poly) if r.is_real}
        else:
            roots = None
    except sympy.PolynomialError:
        roots = None
    if roots is None:
        roots = {r for r in sympy.solve(sympy.Eq(lhs, rhs), var) if r.is_real}
    return symbols[0], sorted(roots, key=sympy.default_sort_key)


def _sides(part: str, fast: bool = True) -> list:
    """Each side of `part` parsed: `linear.Linear` values when all of them are linear (and
    `fast`), sympy expressions otherwise."""
    sides = part.split("=")
    if len(sides) > 2:
        raise MathError("one equals sign per step")
    trees = [_tree(s) for s in sides]
    if fast:
        try:
            return [linear.evaluate(t, VARIABLES, MAX_EXPONENT) for t in trees]
        except linear.NotLinear:
            pass
    return [_to_sympy(t) for t in trees]


def _check_step(premise: str, conclusion: str) -> Verdict:
    p, c = _sides(premise), _sides(conclusion)
    if len(p) != 2 or len(c) != 2:
        raise MathError("a step must start from and end in an equation")
    if type(p[0]) is not type(c[0]):  # one side took the fast path, the other not: compare like with like
        p, c = _sides(premise, fast=False), _sides(conclusion, fast=False)
    var, before = _solutions(*p)
    var2, after = _solutions(*c)
    shown = ", ".join(f"{var} = {_show(v)}" for v in before) or "no solution"
    if var2 != var:
        raise MathError("the step changes the unknown")
    correct = after == before
    if correct:
        text = f"Yes: {_pretty(premise)} gives {_pretty(conclusion)}."
    else:
        text = f"Not quite: {_pretty(premise)} gives {shown}, not {_pretty(conclusion)}."
    return Verdict("step", correct, text, shown)


def _check_part(part: str, problem: str | None) -> Verdict:
    sides = _sides(part)
    if len(sides) == 1:
        (expr,) = sides
        if expr.free_symbols:
            raise MathError("an expression with unknowns has no single value")
        value = expr  # exact already: numbers are Rationals from the start
        return Verdict("value", None, f"{_pretty(part)} is {_show(value)}.", _show(value))
    lhs, rhs = sides
    free = (lhs - rhs).free_symbols
    if not free:
        if isinstance(lhs, linear.Linear) and not (lhs.is_constant and rhs.is_constant):
            lhs, rhs = _sides(part, fast=False)  # the unknown cancels: sympy shows both sides
        value, claimed = lhs, rhs
        correct = _is_zero(value - claimed)
        said, expected = _pretty(part.split("=")[0]).strip(), _show(value)
        text = (f"Yes, {said} is {expected}." if correct
                else f"Not quite: {said} is {expected}, not {_show(claimed)}.")
        return Verdict("claim", bool(correct), text, expected)
    if problem:
        step = _check_step(normalise(problem).split(" | ")[0], part)
        return Verdict("solution", step.correct, step.text, step.expected)
    var, roots = _solutions(lhs, rhs)
    shown = ", ".join(f"{var} = {_show(v)}" for v in roots) or "no solution"
    return Verdict("value", None, f"{_pretty(part)} gives {shown}.", shown)


def check(text: str, problem: str | None = None) -> Verdict | None:
    """Work out or check the arithmetic in `text`; None when it holds no maths at all.

    `problem` (an equation such as "2x+3=7") is what a bare answer like "x = 2" refers to.
    With several steps ("2x+3=7 so 2x=4 so x=2") each step is checked against the one before
    and the first wrong one is reported. Raises MathError for maths it will not check.
    """
    steps = [s for s in normalise(text).split(" | ") if s]
    if not steps:
        return None
    if len(steps) == 1:
        return _check_part(steps[0], problem)
    last = None
    for premise, conclusion in zip(steps, steps[1:]):
        if "=" not in premise:
            raise MathError("each step must be an equation")
        last = _check_step(premise, conclusion)
        if not last.correct:
            return last
    return last
