"""Evaluation of arithmetic expressions (``is``, ``=:=``, ``<``, probabilities)."""

from __future__ import annotations

import math

from ..errors import CallModeError
from ..syntax.terms import Float, Int, Struct, Term, Var
from .unify import Subst, walk

__all__ = ["evaluate", "to_term", "compare_numbers"]

Number = int | float


def _need_int(name: str, *xs: Number) -> None:
    for x in xs:
        if not isinstance(x, int):
            raise CallModeError(f"arithmetic: {name} expects integers, got {x}")


def _div(a: Number, b: Number) -> Number:
    if b == 0:
        raise CallModeError("arithmetic: division by zero")
    return a / b  # always a float, as in ProbLog (4 / 2 is 2.0)


def _intdiv(a: Number, b: Number) -> Number:
    # ProbLog's // is Python's floor division (-7 // 2 is -4; 1.5 // 2 is 0.0)
    if b == 0:
        raise CallModeError("arithmetic: division by zero")
    return a // b


def _mod(a: Number, b: Number) -> int:
    _need_int("mod", a, b)
    if b == 0:
        raise CallModeError("arithmetic: division by zero")
    return a % b  # type: ignore[operator]


def _rem(a: Number, b: Number) -> int:
    # ProbLog evaluates rem like mod (Python's %); we follow ProbLog
    return _mod(a, b)


def _pow(a: Number, b: Number) -> Number:
    if isinstance(a, int) and isinstance(b, int) and b >= 0:
        return a**b
    return float(a) ** float(b)


def _float_pow(a: Number, b: Number) -> Number:
    # as in ProbLog: integers give an integer (2 ** 3 is 8)
    return _pow(a, b)


def _shift(a: Number, b: Number, left: bool) -> int:
    _need_int("<< / >>", a, b)
    return a << b if left else a >> b  # type: ignore[operator]


BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _div,
    "//": _intdiv,
    "mod": _mod,
    "rem": _rem,
    "div": lambda a, b: (a - _mod(a, b)) // b,
    "**": _float_pow,
    "^": _pow,
    "min": lambda a, b: min(a, b),
    "max": lambda a, b: max(a, b),
    "<<": lambda a, b: _shift(a, b, True),
    ">>": lambda a, b: _shift(a, b, False),
    "/\\": lambda a, b: (_need_int("/\\", a, b), a & b)[1],
    "\\/": lambda a, b: (_need_int("\\/", a, b), a | b)[1],
    "xor": lambda a, b: (_need_int("xor", a, b), a ^ b)[1],
    "atan2": lambda a, b: math.atan2(a, b),
    "atan": lambda a, b: math.atan2(a, b),
    "copysign": lambda a, b: math.copysign(a, b),
    "log": lambda a, b: math.log(b) / math.log(a),
    "gcd": lambda a, b: (_need_int("gcd", a, b), math.gcd(a, b))[1],
}

UNARY = {
    "-": lambda a: -a,
    "+": lambda a: a,
    "abs": abs,
    "sign": lambda a: (a > 0) - (a < 0),
    "sqrt": lambda a: math.sqrt(a),
    "exp": math.exp,
    "log": lambda a: math.log(a),
    "log2": lambda a: math.log2(a),
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "float": float,
    "integer": lambda a: round(a),  # ProbLog rounds halves to even, like Python
    "float_integer_part": lambda a: math.trunc(a),
    "float_fractional_part": lambda a: a - math.trunc(a),
    "truncate": lambda a: math.trunc(a),
    "round": lambda a: round(a),
    "ceiling": lambda a: math.ceil(a),
    "floor": lambda a: math.floor(a),
    "\\": lambda a: (_need_int("\\", a), ~a)[1],
}

CONSTANTS = {
    "pi": math.pi,
    "e": math.e,
    "inf": math.inf,
    "infinite": math.inf,
    "nan": math.nan,
    "epsilon": 2.220446049250313e-16,
    "max_tagged_integer": (1 << 60) - 1,
    "random": None,
}


def evaluate(t: Term, s: Subst) -> Number:
    """Value of an arithmetic expression under substitution ``s``."""
    t = walk(t, s)
    if isinstance(t, Int):
        return t.value
    if isinstance(t, Float):
        return t.value
    if isinstance(t, Var):
        raise CallModeError(
            "arithmetic: an operand is an unbound variable",
            hint="arithmetic needs its inputs bound; move the goal that binds it before this one",
        )
    if isinstance(t, Struct):
        n = len(t.args)
        try:
            if n == 2 and t.functor in BINARY:
                return _check(BINARY[t.functor](evaluate(t.args[0], s), evaluate(t.args[1], s)))
            if n == 1 and t.functor in UNARY:
                return _check(UNARY[t.functor](evaluate(t.args[0], s)))
            if n == 0 and t.functor in CONSTANTS and CONSTANTS[t.functor] is not None:
                return CONSTANTS[t.functor]
        except (ValueError, OverflowError, ZeroDivisionError, TypeError) as e:
            raise CallModeError(f"arithmetic error in {t}: {e}") from None
        raise CallModeError(
            f"arithmetic: unknown function {t.functor}/{n} in {t}",
            hint="arithmetic supports + - * / // mod rem ** ^ min max abs sqrt exp log ...",
        )
    raise CallModeError(f"arithmetic: {t} is not a number")


def _check(x: Number) -> Number:
    if isinstance(x, int) and x.bit_length() > 100_000:
        raise CallModeError("arithmetic: integer too large")
    return x


def to_term(x: Number) -> Term:
    return Int(x) if isinstance(x, int) and not isinstance(x, bool) else Float(float(x))


def compare_numbers(op: str, a: Number, b: Number) -> bool:
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op == "=<":
        return a <= b
    if op == ">=":
        return a >= b
    if op == "=:=":
        return a == b
    if op == "=\\=":
        return a != b
    raise AssertionError(op)
