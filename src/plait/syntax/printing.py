"""Writing terms the way ProbLog writes them (``path(a,b)``, ``[a, b]``, ``(1, 2)``).

The rules mirror ProbLog's ``Term.__repr__`` so that ``plait query`` output can be
compared with ProbLog's line by line: arguments are joined with ``,`` (no space),
list items and conjunctions with ``, ``, disjunctions with ``; ``; other
operators are written infix without spaces, parenthesised by priority.
"""

from __future__ import annotations

import re

from .operators import BINARY, PREFIX
from .terms import AGGREGATE, Float, Int, Str, Struct, Term, Var, set_text_form

__all__ = ["format_term", "format_atom"]

_PLAIN_ATOM = re.compile(r"^[a-z][A-Za-z0-9_]*$")
_SYMBOL_ATOM = re.compile(r"^[+\-*/\\^<>=~:.?@#&$]+$")


def format_atom(name: str) -> str:
    if _PLAIN_ATOM.match(name) or name in ("[]", "!", ";", ",", "{}") or _SYMBOL_ATOM.match(name):
        return name
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _priority(t: Term) -> int | None:
    if isinstance(t, Int | Float) and t.value < 0:
        # a negative number reads as the prefix operator '-' applied to it (priority 200), as in ProbLog
        return PREFIX["-"][0]
    if isinstance(t, Struct):
        if len(t.args) == 2 and t.functor in BINARY and t.functor != ".":
            return BINARY[t.functor][0]
        if len(t.args) == 1 and t.functor in PREFIX:
            return PREFIX[t.functor][0]
    return None


def _glues(left: str, right: str) -> bool:
    """Whether symbol text ``left`` written directly before ``right`` would read as another token.

    The lexer takes the longest run of symbol characters and, if that is no operator, its longest
    prefix that is one: ``1--1`` reads back as ``1 - -1``, but ``2.5:-1`` as ``2.5 :- 1``.
    """
    if not right or right[0] not in _SYMBOL_CHARS or left[-1] not in _SYMBOL_CHARS:
        return False
    if left[-1] == "/" and right[0] == "*":
        return True  # a block comment
    run = left
    for c in right:
        if c not in _SYMBOL_CHARS:
            break
        run += c
    return any(run[:k] in _SYMBOL_OPERATORS for k in range(len(left) + 1, len(run) + 1))


_SYMBOL_CHARS = frozenset("+-*/\\^<>=~:.?@#&$")
_SYMBOL_OPERATORS = frozenset(op for op in (*BINARY, *PREFIX) if op[0] in _SYMBOL_CHARS)


def format_term(t: Term, var_names: dict[Var, str] | None = None) -> str:
    parts: list[str] = []
    _fmt(t, parts, var_names if var_names is not None else {})
    return "".join(parts)


def _fmt(t: Term, out: list[str], names: dict[Var, str]) -> None:
    if isinstance(t, Var):
        if t not in names:
            names[t] = t.name if (t.uid == 0 and t.name != "_") else f"X{len(names) + 1}"
        out.append(names[t])
        return
    if isinstance(t, Int):
        out.append(str(t.value))
        return
    if isinstance(t, Float):
        out.append(repr(t.value))
        return
    if isinstance(t, Str):
        out.append(str(t))
        return
    f, args = t.functor, t.args
    if not args:
        out.append(format_atom(f))
        return
    if f == AGGREGATE and len(args) == 2 and isinstance(args[0], Struct) and not args[0].args:
        out.append(format_atom(args[0].functor) + "<")  # ProbLog's aggregate head argument avg<X>
        _fmt(args[1], out, names)
        out.append(">")
        return
    if f == "," and len(args) == 2:
        out.append("(")
        items = []
        while isinstance(t, Struct) and t.functor == "," and len(t.args) == 2:
            items.append(t.args[0])
            t = t.args[1]
        items.append(t)
        for i, item in enumerate(items):
            if i:
                out.append(", ")
            wrap = isinstance(item, Struct) and item.functor == ";" and len(item.args) == 2
            if wrap:
                out.append("(")
            _fmt(item, out, names)
            if wrap:
                out.append(")")
        out.append(")")
        return
    if f == ";" and len(args) == 2:
        items = []
        while isinstance(t, Struct) and t.functor == ";" and len(t.args) == 2:
            items.append(t.args[0])
            t = t.args[1]
        items.append(t)
        for i, item in enumerate(items):
            if i:
                out.append("; ")
            _fmt(item, out, names)
        return
    if f == "." and len(args) == 2:
        out.append("[")
        _fmt_arg(args[0], out, names)
        tail = args[1]
        while isinstance(tail, Struct) and tail.functor == "." and len(tail.args) == 2:
            out.append(", ")
            _fmt_arg(tail.args[0], out, names)
            tail = tail.args[1]
        if not (isinstance(tail, Struct) and tail.functor == "[]" and not tail.args):
            out.append(" | ")
            _fmt_arg(tail, out, names)
        out.append("]")
        return
    if len(args) == 1 and f in PREFIX:
        prio, spec = PREFIX[f]
        pa = _priority(args[0])
        a = args[0]
        # '-(1)' is a compound term and '-1' a number; '--(1)' would be one symbol token; an operand
        # that binds looser than the operator needs brackets: all these fall through to functional
        # notation, which reads back as the same term (and is how ProbLog writes '-(-(1))')
        plain = not isinstance(a, Int | Float) and not (
            isinstance(a, Struct) and len(a.args) == 1 and a.functor in PREFIX
        )
        if plain and (pa is None or pa < prio or (pa == prio and spec == "fy")):
            out.append(f" {f} " if f[0].isalpha() else f)
            _fmt(args[0], out, names)
            return
    if len(args) == 2 and f in BINARY:
        prio, spec = BINARY[f]
        a, b = args
        pa, pb = _priority(a), _priority(b)
        # a conjunction brings its own brackets: s:(a, b), as ProbLog writes it
        wrap_a = not (pa is None or pa < prio or (pa == prio and spec == "yfx") or _is_conjunction(a))
        wrap_b = not (pb is None or pb < prio or (pb == prio and spec == "xfy") or _is_conjunction(b))
        if wrap_a:
            out.append("(")
        _fmt(a, out, names)
        if wrap_a:
            out.append(")")
        right: list[str] = []
        if wrap_b:
            right.append("(")
        _fmt(b, right, names)
        if wrap_b:
            right.append(")")
        if f[0].isalpha():
            out.append(f" {f} ")
        else:
            # written together, ':' and '-1' would read as ':-' 1 (Prolog takes the longest symbol run)
            glued = _glues(f, "".join(right)) or (out and out[-1] and _glues(out[-1][-1], f))
            out.append(f" {f} " if glued else f)
        out.extend(right)
        return
    out.append(format_atom(f))
    out.append("(")
    for i, a in enumerate(args):
        if i:
            out.append(",")
        _fmt_arg(a, out, names, _ARG_OPERATORS)
    out.append(")")


def _is_conjunction(t: Term) -> bool:
    return isinstance(t, Struct) and t.functor == "," and len(t.args) == 2


# Operators above priority 999 that the grammar still accepts unbracketed as an argument: f(a;b), f(a->b).
_ARG_OPERATORS = frozenset({";", "->"})


def _fmt_arg(t: Term, out: list[str], names: dict[Var, str], allowed: frozenset[str] = frozenset()) -> None:
    """An argument or list item: an operator term above priority 999 gets brackets so it reads back."""
    p = _priority(t)
    wrap = p is not None and p > 999 and not (isinstance(t, Struct) and (t.functor in allowed or t.functor == ","))
    if wrap:
        out.append("(")
    _fmt(t, out, names)
    if wrap:
        out.append(")")


set_text_form(format_term)
