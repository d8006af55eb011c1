"""Deterministic builtins: type checks, comparison, arithmetic, lists, terms.

Each builtin is ``fn(args, s) -> Iterator[Subst]``: it yields one substitution
per solution. Builtins that call goals (findall, negation, call/N, ...) live in
the engine because they need it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from ..errors import CallModeError
from ..syntax.terms import NIL, Float, Int, Str, Struct, Term, Var, fresh_var, is_ground, list_items, mk_list
from .arithmetic import compare_numbers, evaluate, to_term
from .unify import Subst, resolve, unify, walk

__all__ = [
    "BUILTINS",
    "NotAList",
    "int_arg",
    "proper_list",
    "sort_unique",
    "standard_order",
    "term_compare",
    "yield_unify",
]

Builtin = Callable[[tuple[Term, ...], Subst], Iterator[Subst]]
BUILTINS: dict[tuple[str, int], Builtin] = {}


class NotAList(Exception):
    """A list argument is bound to something that is not a list (see :func:`proper_list`)."""


def builtin(name: str, arity: int):
    def deco(fn: Builtin) -> Builtin:
        BUILTINS[(name, arity)] = fn
        return fn

    return deco


def yield_unify(a: Term, b: Term, s: Subst) -> Iterator[Subst]:
    s2 = unify(a, b, s)
    if s2 is not None:
        yield s2


# ---------------------------------------------------------------- standard order


def _type_rank(t: Term) -> int:
    if isinstance(t, Var):
        return 0
    if isinstance(t, (Int, Float)):
        return 1
    if isinstance(t, Struct) and not t.args:
        return 3
    if isinstance(t, Str):
        return 4
    return 5


def term_compare(a: Term, b: Term) -> int:
    """Prolog's standard order of terms: -1, 0 or 1."""
    ra, rb = _type_rank(a), _type_rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 0:
        ka, kb = (a.uid, a.name), (b.uid, b.name)  # type: ignore[union-attr]
        return (ka > kb) - (ka < kb)
    if ra == 1:
        va, vb = a.value, b.value  # type: ignore[union-attr]
        if va == vb:
            if isinstance(a, Float) and isinstance(b, Int):
                return -1
            if isinstance(a, Int) and isinstance(b, Float):
                return 1
            return 0
        return -1 if va < vb else 1
    if ra == 3:
        return (a.functor > b.functor) - (a.functor < b.functor)  # type: ignore[union-attr]
    if ra == 4:
        return (a.value > b.value) - (a.value < b.value)  # type: ignore[union-attr]
    assert isinstance(a, Struct) and isinstance(b, Struct)
    if len(a.args) != len(b.args):
        return -1 if len(a.args) < len(b.args) else 1
    if a.functor != b.functor:
        return -1 if a.functor < b.functor else 1
    for x, y in zip(a.args, b.args):
        c = term_compare(x, y)
        if c:
            return c
    return 0


standard_order = functools.cmp_to_key(term_compare)


def sort_unique(items: list[Term]) -> list[Term]:
    """Sorted in the standard order of terms, duplicates (==) removed, as sort/2 does."""
    out: list[Term] = []
    for x in sorted(items, key=standard_order):
        if not out or term_compare(out[-1], x) != 0:
            out.append(x)
    return out


# ---------------------------------------------------------------- unification and comparison


@builtin("=", 2)
def _eq(args, s):
    return yield_unify(args[0], args[1], s)


@builtin("\\=", 2)
def _neq(args, s):
    if unify(args[0], args[1], s) is None:
        yield s


@builtin("==", 2)
def _identical(args, s):
    if term_compare(resolve(args[0], s), resolve(args[1], s)) == 0:
        yield s


@builtin("\\==", 2)
def _not_identical(args, s):
    if term_compare(resolve(args[0], s), resolve(args[1], s)) != 0:
        yield s


for _op, _test in (
    ("@<", lambda c: c < 0),
    ("@>", lambda c: c > 0),
    ("@=<", lambda c: c <= 0),
    ("@>=", lambda c: c >= 0),
):

    def _mk(test):
        def fn(args, s):
            if test(term_compare(resolve(args[0], s), resolve(args[1], s))):
                yield s

        return fn

    BUILTINS[(_op, 2)] = _mk(_test)


@builtin("compare", 3)
def _compare(args, s):
    c = term_compare(resolve(args[1], s), resolve(args[2], s))
    return yield_unify(args[0], Struct("<" if c < 0 else ">" if c > 0 else "="), s)


@builtin("=@=", 2)
def _variant_b(args, s):
    from .unify import variant_key

    if variant_key(resolve(args[0], s)) == variant_key(resolve(args[1], s)):
        yield s


@builtin("\\=@=", 2)
def _not_variant_b(args, s):
    from .unify import variant_key

    if variant_key(resolve(args[0], s)) != variant_key(resolve(args[1], s)):
        yield s


# ---------------------------------------------------------------- arithmetic


@builtin("is", 2)
def _is(args, s):
    return yield_unify(args[0], to_term(evaluate(args[1], s)), s)


for _op in ("<", ">", "=<", ">=", "=:=", "=\\="):

    def _mk_cmp(op):
        def fn(args, s):
            if compare_numbers(op, evaluate(args[0], s), evaluate(args[1], s)):
                yield s

        return fn

    BUILTINS[(_op, 2)] = _mk_cmp(_op)


def int_arg(t: Term, s: Subst, pred: str, pos: int) -> int | None:
    t = walk(t, s)
    if isinstance(t, Var):
        return None
    if not isinstance(t, Int):
        raise CallModeError(f"{pred}: argument {pos} must be an integer, got {resolve(t, s)}")
    return t.value


@builtin("between", 3)
def _between(args, s):
    lo = int_arg(args[0], s, "between/3", 1)
    hi_t = walk(args[1], s)
    if lo is None or isinstance(hi_t, Var):
        raise CallModeError(
            "between/3: the bounds must be bound integers", hint="call between(Low, High, X) with Low and High known"
        )
    if isinstance(hi_t, Struct) and hi_t.functor in ("inf", "infinite"):
        raise CallModeError("between/3 with an infinite upper bound would ground forever", hint="give a finite bound")
    hi = int_arg(hi_t, s, "between/3", 2)
    x = walk(args[2], s)
    if isinstance(x, Var):
        for i in range(lo, hi + 1):  # type: ignore[operator]
            yield {**s, x: Int(i)}
    elif isinstance(x, Int):
        if lo <= x.value <= hi:  # type: ignore[operator]
            yield s
    else:
        raise CallModeError(f"between/3: argument 3 must be an integer, got {x}")


@builtin("succ", 2)
def _succ(args, s):
    a = int_arg(args[0], s, "succ/2", 1)
    b = int_arg(args[1], s, "succ/2", 2)
    if a is not None:
        if a < 0:
            raise CallModeError("succ/2: argument 1 must be non-negative")
        yield from yield_unify(args[1], Int(a + 1), s)
    elif b is not None:
        if b > 0:
            yield from yield_unify(args[0], Int(b - 1), s)
    else:
        raise CallModeError("succ/2: at least one argument must be bound")


@builtin("plus", 3)
def _plus(args, s):
    a = walk(args[0], s)
    b = walk(args[1], s)
    c = walk(args[2], s)
    if not isinstance(a, Var) and not isinstance(b, Var):
        yield from yield_unify(c, to_term(evaluate(a, s) + evaluate(b, s)), s)
    elif not isinstance(a, Var) and not isinstance(c, Var):
        yield from yield_unify(b, to_term(evaluate(c, s) - evaluate(a, s)), s)
    elif not isinstance(b, Var) and not isinstance(c, Var):
        yield from yield_unify(a, to_term(evaluate(c, s) - evaluate(b, s)), s)
    else:
        raise CallModeError("plus/3: at least two arguments must be bound")


# ---------------------------------------------------------------- type checks


def _type_check(name: str, test: Callable[[Term], bool]) -> None:
    def fn(args, s):
        if test(walk(args[0], s)):
            yield s

    BUILTINS[(name, 1)] = fn


_type_check("var", lambda t: isinstance(t, Var))
_type_check("nonvar", lambda t: not isinstance(t, Var))
_type_check("atom", lambda t: isinstance(t, Struct) and not t.args)
_type_check("number", lambda t: isinstance(t, (Int, Float)))
_type_check("integer", lambda t: isinstance(t, Int))
_type_check("float", lambda t: isinstance(t, Float))
_type_check("atomic", lambda t: isinstance(t, (Int, Float, Str)) or (isinstance(t, Struct) and not t.args))
_type_check("compound", lambda t: isinstance(t, Struct) and bool(t.args))
_type_check("callable", lambda t: isinstance(t, Struct))
_type_check("is_string", lambda t: isinstance(t, Str))


@builtin("ground", 1)
def _ground(args, s):
    if is_ground(resolve(args[0], s)):
        yield s


@builtin("is_list", 1)
def _is_list(args, s):
    # ProbLog 2.3 also accepts a partial list ending in a variable; we match it.
    items, tail = list_items(resolve(args[0], s))
    if tail == NIL or isinstance(tail, Var):
        yield s


# ---------------------------------------------------------------- term construction


@builtin("functor", 3)
def _functor(args, s):
    t = walk(args[0], s)
    if isinstance(t, Var):
        name = walk(args[1], s)
        n = int_arg(args[2], s, "functor/3", 3)
        if isinstance(name, Var) or n is None:
            raise CallModeError("functor/3: needs either a term or a name and an arity")
        if n == 0:
            yield from yield_unify(t, name, s)
            return
        if not (isinstance(name, Struct) and not name.args):
            raise CallModeError(f"functor/3: the name must be an atom, got {name}")
        yield from yield_unify(t, Struct(name.functor, tuple(fresh_var() for _ in range(n))), s)
        return
    if isinstance(t, Struct):
        s2 = unify(args[1], Struct(t.functor), s)
        if s2 is not None:
            yield from yield_unify(args[2], Int(len(t.args)), s2)
    else:
        s2 = unify(args[1], t, s)
        if s2 is not None:
            yield from yield_unify(args[2], Int(0), s2)


@builtin("arg", 3)
def _arg(args, s):
    n = int_arg(args[0], s, "arg/3", 1)
    t = walk(args[1], s)
    if not isinstance(t, Struct):
        raise CallModeError(f"arg/3: argument 2 must be a compound term, got {resolve(t, s)}")
    if n is None:
        for i, a in enumerate(t.args, 1):
            s2 = unify(args[0], Int(i), s)
            if s2 is not None:
                yield from yield_unify(args[2], a, s2)
    elif 1 <= n <= len(t.args):
        yield from yield_unify(args[2], t.args[n - 1], s)


@builtin("=..", 2)
def _univ(args, s):
    t = walk(args[0], s)
    if isinstance(t, Var):
        items, tail = list_items(resolve(args[1], s))
        if tail != NIL or not items:
            raise CallModeError("=../2: the right side must be a non-empty proper list when the left side is unbound")
        head = items[0]
        if len(items) == 1:
            yield from yield_unify(t, head, s)
            return
        if not (isinstance(head, Struct) and not head.args):
            raise CallModeError(f"=../2: the first list element must be an atom, got {head}")
        yield from yield_unify(t, Struct(head.functor, tuple(items[1:])), s)
        return
    if isinstance(t, Struct):
        yield from yield_unify(args[1], mk_list([Struct(t.functor), *t.args]), s)
    else:
        yield from yield_unify(args[1], mk_list([t]), s)


@builtin("copy_term", 2)
def _copy_term(args, s):
    from .unify import rename

    yield from yield_unify(args[1], rename(resolve(args[0], s), {}), s)


# ---------------------------------------------------------------- atoms and strings


def _text(t: Term, s: Subst, pred: str) -> str | None:
    t = walk(t, s)
    if isinstance(t, Var):
        return None
    if isinstance(t, Struct) and not t.args:
        return t.functor
    if isinstance(t, (Int, Float)):
        return str(t.value)
    if isinstance(t, Str):
        return t.value
    raise CallModeError(f"{pred}: expected an atom, number or string, got {resolve(t, s)}")


@builtin("atom_length", 2)
def _atom_length(args, s):
    a = _text(args[0], s, "atom_length/2")
    if a is None:
        raise CallModeError("atom_length/2: argument 1 must be bound")
    yield from yield_unify(args[1], Int(len(a)), s)


@builtin("atom_concat", 3)
def _atom_concat(args, s):
    a, b = _text(args[0], s, "atom_concat/3"), _text(args[1], s, "atom_concat/3")
    if a is not None and b is not None:
        yield from yield_unify(args[2], Struct(a + b), s)
        return
    c = _text(args[2], s, "atom_concat/3")
    if c is None:
        raise CallModeError("atom_concat/3: needs arguments 1 and 2, or argument 3, bound")
    for i in range(len(c) + 1):
        s2 = unify(args[0], Struct(c[:i]), s)
        if s2 is not None:
            yield from yield_unify(args[1], Struct(c[i:]), s2)


def _codes_like(name: str, make: Callable[[str], list[Term]], parse: Callable[[list[Term]], str]):
    def fn(args, s):
        a = _text(args[0], s, name)
        if a is not None:
            yield from yield_unify(args[1], mk_list(make(a)), s)
            return
        items, tail = list_items(resolve(args[1], s))
        if tail != NIL:
            raise CallModeError(f"{name}: one of the arguments must be bound")
        text = parse(items)
        yield from yield_unify(args[0], _atomic_from_text(text) if name.startswith("number") else Struct(text), s)

    return fn


def _atomic_from_text(text: str) -> Term:
    try:
        return Int(int(text))
    except ValueError:
        try:
            return Float(float(text))
        except ValueError:
            raise CallModeError(f"not a number: {text!r}") from None


def _codes_to_text(items: list[Term]) -> str:
    return "".join(chr(i.value) if isinstance(i, Int) else "?" for i in items)


def _chars_to_text(items: list[Term]) -> str:
    return "".join(i.functor if isinstance(i, Struct) else str(i) for i in items)


BUILTINS[("atom_codes", 2)] = _codes_like("atom_codes/2", lambda a: [Int(ord(c)) for c in a], _codes_to_text)
BUILTINS[("atom_chars", 2)] = _codes_like("atom_chars/2", lambda a: [Struct(c) for c in a], _chars_to_text)
BUILTINS[("number_codes", 2)] = _codes_like("number_codes/2", lambda a: [Int(ord(c)) for c in a], _codes_to_text)
BUILTINS[("number_chars", 2)] = _codes_like("number_chars/2", lambda a: [Struct(c) for c in a], _chars_to_text)


@builtin("atom_number", 2)
def _atom_number(args, s):
    a = _text(args[0], s, "atom_number/2")
    if a is None:
        n = walk(args[1], s)
        if isinstance(n, (Int, Float)):
            yield from yield_unify(args[0], Struct(str(n.value)), s)
            return
        raise CallModeError("atom_number/2: one argument must be bound")
    try:
        value = _atomic_from_text(a)
    except CallModeError:
        return
    yield from yield_unify(args[1], value, s)


@builtin("term_to_atom", 2)
def _term_to_atom(args, s):
    from ..syntax.printing import format_term

    t = walk(args[0], s)
    if isinstance(t, Var):
        raise CallModeError("term_to_atom/2: argument 1 must be bound")
    yield from yield_unify(args[1], Struct(format_term(resolve(t, s))), s)


# ---------------------------------------------------------------- output (accepted, silent)

for _name, _n in (("write", 1), ("writeln", 1), ("print", 1), ("nl", 0), ("debugprint", 1), ("write", 2)):

    def _silent(args, s):
        yield s

    BUILTINS[(_name, _n)] = _silent


# ---------------------------------------------------------------- lists (the rest are in library(lists))


def proper_list(t: Term, s: Subst, pred: str, pos: int) -> list[Term]:
    """The items of a list argument: NotAList if it is not a list, CallModeError if it is partial."""
    items, tail = list_items(resolve(t, s))
    if tail != NIL:
        if not isinstance(tail, Var):
            raise NotAList(pred)
        raise CallModeError(
            f"{pred}: argument {pos} must be a proper list, got the partial list {resolve(t, s)}",
            hint=f"bind argument {pos} of {pred} to a list of known length",
        )
    return items


def _list_arg(t: Term, s: Subst, pred: str, pos: int) -> list[Term]:
    """A list argument of a builtin (not a library predicate): anything else is an error."""
    try:
        return proper_list(t, s, pred, pos)
    except NotAList:
        raise CallModeError(
            f"{pred}: argument {pos} must be a list, got {resolve(t, s)}", hint=f"call {pred} with a list"
        ) from None


@builtin("length", 2)
def _length(args, s):
    items, tail = list_items(resolve(args[0], s))
    n = walk(args[1], s)
    if tail == NIL:
        yield from yield_unify(n, Int(len(items)), s)
        return
    if not isinstance(tail, Var):
        return
    if isinstance(n, Int):
        if n.value >= len(items):
            yield from yield_unify(tail, mk_list([fresh_var() for _ in range(n.value - len(items))]), s)
        return
    raise CallModeError(
        "length/2: the list is partial and the length unbound, so there are infinitely many answers",
        hint="bind the length or the list",
    )


@builtin("sort", 2)
def _sort(args, s):
    yield from yield_unify(args[1], mk_list(sort_unique(_list_arg(args[0], s, "sort/2", 1))), s)


@builtin("msort", 2)
def _msort(args, s):
    items = _list_arg(args[0], s, "msort/2", 1)
    yield from yield_unify(args[1], mk_list(sorted(items, key=standard_order)), s)
