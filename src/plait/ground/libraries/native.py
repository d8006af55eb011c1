"""Library predicates written in Python: ``enum_groups/3,4`` (lists), ``concat/2``, ``join/3`` (string).

They are ProbLog 2.3's Python parts of those libraries (``lists.py``, ``string.py``),
with the same results. Each entry of :data:`NATIVE` is tagged with its library; the
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
from ...syntax.terms import NIL, Str, Struct, Term, list_items, mk_list
from ..builtins import Builtin
from ..unify import Subst, resolve, unify

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


def _groups(pairs: list[tuple[Term, Term]]) -> dict[Term, list[Term]]:
    """Values by group, groups in the order they first occur (as ProbLog's defaultdict)."""
    grouped: dict[Term, list[Term]] = {}
    for g, v in pairs:
        grouped.setdefault(g, []).append(v)
    return grouped


def _yield_groups(grouped: dict[Term, list[Term]], group: Term, values: Term, s: Subst) -> Iterator[Subst]:
    for g, vs in grouped.items():
        s2 = unify(group, g, s)
        if s2 is not None:
            s3 = unify(values, mk_list(vs), s2)
            if s3 is not None:
                yield s3


def _enum_groups3(args: tuple[Term, ...], s: Subst) -> Iterator[Subst]:
    """enum_groups(+GroupValues, -Group, -Values): GroupValues holds pairs such as (G, V) or G-V."""
    pairs = []
    for gv in _list(args[0], s, "enum_groups/3", 1):
        if not (isinstance(gv, Struct) and len(gv.args) == 2):
            raise CallModeError(f"enum_groups/3: {gv} is not a pair (Group, Value)")
        pairs.append((gv.args[0], gv.args[1]))
    yield from _yield_groups(_groups(pairs), args[1], args[2], s)


def _enum_groups4(args: tuple[Term, ...], s: Subst) -> Iterator[Subst]:
    """enum_groups(+Groups, +Values, -Group, -GroupValues): Values grouped by the matching Groups."""
    groups = _list(args[0], s, "enum_groups/4", 1)
    values = _list(args[1], s, "enum_groups/4", 2)
    yield from _yield_groups(_groups(list(zip(groups, values))), args[2], args[3], s)


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


NATIVE[("enum_groups", 3)] = ("lists", _enum_groups3)
NATIVE[("enum_groups", 4)] = ("lists", _enum_groups4)
NATIVE[("concat", 2)] = ("string", _concat)
NATIVE[("join", 3)] = ("string", _join)
