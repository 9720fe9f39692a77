"""Exact linear arithmetic with Fractions: the fast path of `mathcheck`.

Nearly everything a tutor hears is plain arithmetic or an equation linear in one unknown
("2x+3=7 so x=2"). sympy builds and solves those in 0.2-0.4 ms, which is most of the local
reasoner's cost per request; the same exact answer from `fractions.Fraction` takes a few
microseconds. `evaluate` walks the same `ast` tree `mathcheck` builds and returns a `Linear`
value `const + sum(coef * var)`, or raises `NotLinear` for anything else (an unknown raised to
a power, a product or quotient of unknowns, a fractional power), and `mathcheck` then falls back
to sympy. So the fast path never changes an answer, only how soon it comes; a test compares the
two on random input.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from fractions import Fraction


class NotLinear(Exception):
    """Outside the fast path: let sympy do it."""


@dataclass(frozen=True)
class Linear:
    """`const + sum(coefs[v] * v)`, exact; zero coefficients are never stored."""

    const: Fraction
    coefs: dict[str, Fraction] = field(default_factory=dict)

    @property
    def free_symbols(self) -> set[str]:
        return set(self.coefs)

    @property
    def is_constant(self) -> bool:
        return not self.coefs

    def __add__(self, other: Linear) -> Linear:
        coefs = dict(self.coefs)
        for v, c in other.coefs.items():
            coefs[v] = coefs.get(v, 0) + c
        return Linear(self.const + other.const, {v: c for v, c in coefs.items() if c})

    def __neg__(self) -> Linear:
        return Linear(-self.const, {v: -c for v, c in self.coefs.items()})

    def __sub__(self, other: Linear) -> Linear:
        return self + (-other)

    def scaled(self, k: Fraction) -> Linear:
        return Linear(self.const * k, {v: c * k for v, c in self.coefs.items()} if k else {})

    def root(self) -> Fraction:
        """The value of its one unknown that makes it zero (the caller checks there is one)."""
        (coef,) = self.coefs.values()  # never zero: zero coefficients are not stored
        return -self.const / coef


def evaluate(node: ast.AST, variables: str, max_exponent: int) -> Linear:
    """The exact linear value of a parsed expression; raises NotLinear when it is not one."""
    if isinstance(node, ast.Expression):
        return evaluate(node.body, variables, max_exponent)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return Linear(Fraction(ast.unparse(node)))  # "0.1" is exactly 1/10, as in the sympy path
    if isinstance(node, ast.Name) and node.id in variables:
        return Linear(Fraction(0), {node.id: Fraction(1)})
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = evaluate(node.operand, variables, max_exponent)
        return -value if isinstance(node.op, ast.USub) else value
    if not isinstance(node, ast.BinOp):
        raise NotLinear("not arithmetic")
    left = evaluate(node.left, variables, max_exponent)
    right = evaluate(node.right, variables, max_exponent)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        if left.is_constant:
            return right.scaled(left.const)
        if right.is_constant:
            return left.scaled(right.const)
        raise NotLinear("product of unknowns")
    if isinstance(node.op, ast.Div):
        if not right.is_constant or right.const == 0:
            raise NotLinear("division by an unknown or by zero")  # sympy says which, in words
        return left.scaled(1 / right.const)
    if isinstance(node.op, ast.Pow):
        base, exp = left, right
        if not (base.is_constant and exp.is_constant and exp.const.denominator == 1):
            raise NotLinear("power of an unknown or fractional power")
        if abs(exp.const) > max_exponent or (base.const == 0 and exp.const < 0):
            raise NotLinear("out of the fast path's range")
        return Linear(base.const ** int(exp.const))
    raise NotLinear("operator outside + - * / ^")
