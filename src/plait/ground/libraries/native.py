"""Library predicates written in Python: library(lists)'s (see lists.py), ``concat/2`` and ``join/3`` (string).

The string ones are ProbLog 2.3's ``string.py``, with the same results. Each entry of :data:`NATIVE` is tagged with its library; the
grounder offers it once the program has loaded that library.

>>> from plait.syntax.parser import parse_term
>>> concat = NATIVE[("concat", 2)][1]
>>> [str(v) for s in concat((parse_term("[collect_, avg]"), parse_term("X")), {}) for v in s.values()]
['collect_avg']
"""

from __future__ import annotations

from collections.abc import Iterator

from ...errors import CallModeError
from ...syntax.printing import format_term
from ...syntax.terms import NIL, Str, Struct, Term, list_items
from ..builtins import Builtin
from ..unify import Subst, resolve, unify
from .lists import LISTS

__all__ = ["NATIVE"]

NATIVE: dict[tuple[str, int], tuple[str, Builtin]] = {}


def _list(t: Term, s: Subst, pred: str, pos: int) -> list[Term]:
    items, tail = list_items(resolve(t, s))
    if tail != NIL:
        raise CallModeError(
            f"{pred}: argument {pos} must be a proper list, got {resolve(t, s)}",
            hint=f"call {pred} with argument {pos} bound to a list",
        )
    return items


def _text(t: Term) -> str:
    """A term as ProbLog's unquote(str(t)) writes it: atoms and strings without quotes."""
    if isinstance(t, Struct) and not t.args:
        return t.functor
    if isinstance(t, Str):
        return t.value
    return format_term(t)


def _concat(args: tuple[Term, ...], s: Subst) -> Iterator[Subst]:
    """concat(+Terms, -Atom): the texts of Terms joined into one atom."""
    text = "".join(_text(x) for x in _list(args[0], s, "concat/2", 1))
    s2 = unify(args[1], Struct(text), s)
    if s2 is not None:
        yield s2


def _join(args: tuple[Term, ...], s: Subst) -> Iterator[Subst]:
    """join(+Separator, +Terms, -Atom): the texts of Terms joined by Separator's."""
    sep = _text(resolve(args[0], s))
    text = sep.join(_text(x) for x in _list(args[1], s, "join/3", 2))
    s2 = unify(args[2], Struct(text), s)
    if s2 is not None:
        yield s2


NATIVE[("concat", 2)] = ("string", _concat)
NATIVE[("join", 3)] = ("string", _join)
NATIVE.update({key: ("lists", fn) for key, fn in LISTS.items()})
