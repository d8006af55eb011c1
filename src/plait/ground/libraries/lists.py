"""The Python part of library(lists): the list predicates that plait runs in Python.

They give the answers of ProbLog 2.3's clauses in lists.pl (and of its lists.py for
``enum_groups``), fast: no tabled call per list element. As ProbLog's clauses do,
they fail when a list argument is bound to something that is not a list; on a
partial list, where those clauses would recurse forever, they raise a
``CallModeError``. The Prolog part of the library is ``lists.pl``.

>>> from plait.syntax.parser import parse_term
>>> [s for s in LISTS[("sum_list", 2)]((parse_term("[1, 2.5]"), parse_term("S")), {})][0].popitem()[1]
Float(value=3.5)
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator

from ...errors import CallModeError
from ...syntax.terms import NIL, Int, Struct, Term, Var, list_items, mk_list
from ..arithmetic import evaluate, to_term
from ..builtins import (
    Builtin,
    NotAList,
    int_arg,
    proper_list,
    standard_order,
    term_compare,
    yield_unify,
)
from ..unify import Subst, resolve, unify

__all__ = ["LISTS"]

LISTS: dict[tuple[str, int], Builtin] = {}


def _lists(name: str, arity: int) -> Callable[[Builtin], Builtin]:
    def deco(fn: Builtin) -> Builtin:
        @functools.wraps(fn)
        def failing_on_non_lists(args: tuple[Term, ...], s: Subst) -> Iterator[Subst]:
            try:
                yield from fn(args, s)
            except NotAList:
                return

        LISTS[(name, arity)] = failing_on_non_lists
        return fn

    return deco


@_lists("member", 2)
def _member(args, s):
    items, tail = list_items(resolve(args[1], s))
    if isinstance(tail, Var):
        raise CallModeError("member/2: argument 2 must be a proper list")
    for item in items:
        yield from yield_unify(args[0], item, s)


@_lists("memberchk", 2)
def _memberchk(args, s):
    for s2 in _member(args, s):
        yield s2
        return


@_lists("append", 3)
def _append(args, s):
    a_items, a_tail = list_items(resolve(args[0], s))
    if a_tail == NIL:
        yield from yield_unify(args[2], mk_list(a_items, args[1]), s)
        return
    c_items, c_tail = list_items(resolve(args[2], s))
    if c_tail != NIL:
        raise CallModeError("append/3: argument 1 or argument 3 must be a proper list")
    for i in range(len(c_items) + 1):
        s2 = unify(args[0], mk_list(c_items[:i]), s)
        if s2 is not None:
            yield from yield_unify(args[1], mk_list(c_items[i:]), s2)


@_lists("append", 2)
def _append2(args, s):
    lists = proper_list(args[0], s, "append/2", 1)
    parts = [list_items(resolve(x, s)) for x in lists]
    if all(tail == NIL for _, tail in parts):
        yield from yield_unify(args[1], mk_list([i for items, _ in parts for i in items]), s)
        return
    target = proper_list(args[1], s, "append/2", 2)

    def split(k: int, start: int, s1: Subst):
        if k == len(lists) - 1:
            yield from yield_unify(lists[k], mk_list(target[start:]), s1)
            return
        for end in range(start, len(target) + 1):
            s2 = unify(lists[k], mk_list(target[start:end]), s1)
            if s2 is not None:
                yield from split(k + 1, end, s2)

    if lists:
        yield from split(0, 0, s)
    elif not target:
        yield s


@_lists("select", 3)
def _select(args, s):
    items = proper_list(args[1], s, "select/3", 2)
    for i, item in enumerate(items):
        s2 = unify(args[0], item, s)
        if s2 is not None:
            yield from yield_unify(args[2], mk_list(items[:i] + items[i + 1 :]), s2)


@_lists("reverse", 2)
def _reverse(args, s):
    items = proper_list(args[0], s, "reverse/2", 1)
    yield from yield_unify(args[1], mk_list(items[::-1]), s)


@_lists("nth0", 3)
def _nth0(args, s):
    yield from _nth(args, s, 0)


@_lists("nth1", 3)
def _nth1(args, s):
    yield from _nth(args, s, 1)


def _nth(args, s, base):
    items = proper_list(args[1], s, f"nth{base}/3", 2)
    n = int_arg(args[0], s, f"nth{base}/3", 1)
    if n is not None:
        if 0 <= n - base < len(items):
            yield from yield_unify(args[2], items[n - base], s)
        return
    for i, item in enumerate(items):
        s2 = unify(args[2], item, s)
        if s2 is not None:
            yield from yield_unify(args[0], Int(i + base), s2)


@_lists("last", 2)
def _last(args, s):
    items = proper_list(args[0], s, "last/2", 1)
    if items:
        yield from yield_unify(args[1], items[-1], s)


def _numbers(t: Term, s: Subst, pred: str) -> list[int | float]:
    return [evaluate(x, s) for x in proper_list(t, s, pred, 1)]


@_lists("sum_list", 2)
def _sum_list(args, s):
    yield from yield_unify(args[1], to_term(sum(_numbers(args[0], s, "sum_list/2"))), s)


LISTS[("sumlist", 2)] = LISTS[("sum_list", 2)]


@_lists("max_list", 2)
def _max_list(args, s):
    xs = _numbers(args[0], s, "max_list/2")
    if xs:
        yield from yield_unify(args[1], to_term(max(xs)), s)


@_lists("min_list", 2)
def _min_list(args, s):
    xs = _numbers(args[0], s, "min_list/2")
    if xs:
        yield from yield_unify(args[1], to_term(min(xs)), s)


@_lists("max_member", 2)
def _max_member(args, s):
    items = proper_list(args[1], s, "max_member/2", 2)
    if items:
        yield from yield_unify(args[0], max(items, key=standard_order), s)


@_lists("min_member", 2)
def _min_member(args, s):
    items = proper_list(args[1], s, "min_member/2", 2)
    if items:
        yield from yield_unify(args[0], min(items, key=standard_order), s)


@_lists("list_to_set", 2)
def _list_to_set(args, s):
    items = proper_list(args[0], s, "list_to_set/2", 1)
    out: list[Term] = []
    for x in items:
        if all(term_compare(x, y) != 0 for y in out):
            out.append(x)
    yield from yield_unify(args[1], mk_list(out), s)


@_lists("permutation", 2)
def _permutation(args, s):
    items = proper_list(args[0], s, "permutation/2", 1)
    if len(items) > 9:
        raise CallModeError("permutation/2: lists longer than 9 would enumerate too many permutations")
    for perm in itertools.permutations(items):
        yield from yield_unify(args[1], mk_list(list(perm)), s)


@_lists("numlist", 3)
def _numlist(args, s):
    lo = int_arg(args[0], s, "numlist/3", 1)
    hi = int_arg(args[1], s, "numlist/3", 2)
    if lo is None or hi is None:
        raise CallModeError("numlist/3: the bounds must be bound integers")
    yield from yield_unify(args[2], mk_list([Int(i) for i in range(lo, hi + 1)]), s)


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


@_lists("enum_groups", 3)
def _enum_groups3(args: tuple[Term, ...], s: Subst) -> Iterator[Subst]:
    """enum_groups(+GroupValues, -Group, -Values): GroupValues holds pairs such as (G, V) or G-V."""
    pairs = []
    for gv in proper_list(args[0], s, "enum_groups/3", 1):
        if not (isinstance(gv, Struct) and len(gv.args) == 2):
            raise CallModeError(f"enum_groups/3: {gv} is not a pair (Group, Value)")
        pairs.append((gv.args[0], gv.args[1]))
    yield from _yield_groups(_groups(pairs), args[1], args[2], s)


@_lists("enum_groups", 4)
def _enum_groups4(args: tuple[Term, ...], s: Subst) -> Iterator[Subst]:
    """enum_groups(+Groups, +Values, -Group, -GroupValues): Values grouped by the matching Groups."""
    groups = proper_list(args[0], s, "enum_groups/4", 1)
    values = proper_list(args[1], s, "enum_groups/4", 2)
    yield from _yield_groups(_groups(list(zip(groups, values))), args[2], args[3], s)
