"""ProbLog's libraries as plait ships them, loaded by ``:- use_module(library(Name)).``

As in ProbLog 2.3, a program sees a library's predicates only after it loads the
library. Each library is Prolog text shipped with plait (``<name>.pl``, adapted from
ProbLog's own library, Apache-2.0) plus predicates written in Python
(:data:`plait.ground.builtins.LIBRARY`, tagged with the library's name). Loading a
library loads the libraries it uses first.

>>> sorted(LIBRARIES)
['aggregate', 'apply', 'collect', 'cut', 'db', 'lists', 'scope', 'string']
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from ...errors import ProgramError, SourceSpan
from ...syntax.ast import ProgramAST
from ...syntax.parser import parse_program
from ...syntax.terms import AGGREGATE, Struct, Term, fresh_var, mk_list

__all__ = ["LIBRARIES", "Library", "aggregate_clause", "library_of", "library_program"]


@dataclass(frozen=True, slots=True)
class Library:
    """A library: the libraries it loads first, and whether it has a Prolog part."""

    uses: tuple[str, ...] = ()
    prolog: bool = True


LIBRARIES: dict[str, Library] = {
    "lists": Library(),
    "apply": Library(),
    "string": Library(prolog=False),
    "aggregate": Library(uses=("lists", "apply")),
    "collect": Library(uses=("lists", "apply", "string")),
    "cut": Library(),
    "scope": Library(uses=("lists",)),
    # ProbLog's library(db) provides csv_load/2 and sqlite_load/1, which plait always has
    "db": Library(prolog=False),
}


@functools.cache
def library_program(name: str) -> ProgramAST:
    """The parsed Prolog part of library ``name`` (its spans name the file ``library(name)``)."""
    text = resources.files(__name__).joinpath(f"{name}.pl").read_text()
    return parse_program(text, f"library({name})")


@functools.cache
def _prolog_predicates() -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    for name, lib in LIBRARIES.items():
        if not lib.prolog:
            continue
        for item in library_program(name).items:
            head = getattr(item, "head", None)
            if isinstance(head, Struct) and not head.functor.startswith("$"):
                out.setdefault((head.functor, len(head.args)), name)
    return out


def library_of(name: str, arity: int) -> str | None:
    """The library whose Prolog part defines ``name/arity`` (for hints), or None.

    >>> library_of("foldl", 4)
    'apply'
    """
    return _prolog_predicates().get((name, arity))


def _is_aggregate(t: Term) -> bool:
    return isinstance(t, Struct) and t.functor == AGGREGATE and len(t.args) == 2


def aggregate_clause(head: Term, body: Term, span: SourceSpan | None) -> tuple[Term, Term]:
    """ProbLog's aggregate head syntax: ``p(G1, ..., Gn, avg<X>) :- Body.`` becomes

    ``p(G1, ..., Gn, R) :- aggregate(avg, X, [G1, ..., Gn], Body, ([G1, ..., Gn], R)).``
    (also under a scope, ``s:p(..., avg<X>)``); ``aggregate/5`` is in library(aggregate).

    >>> from plait.syntax.parser import parse_program
    >>> (c,) = parse_program("d(D, avg<S>) :- s(D, S).").items
    >>> head, body = aggregate_clause(c.head, c.body, None)
    >>> body.functor, [str(a) for a in body.args[:3]]
    ('aggregate', ['avg', 'S', '[D]'])
    """
    scope, term = None, head
    if isinstance(head, Struct) and head.functor == ":" and len(head.args) == 2:
        scope, term = head.args
    if not (isinstance(term, Struct) and any(_is_aggregate(a) for a in term.args)):
        return head, body
    *groups, last = term.args
    if not _is_aggregate(last) or any(_is_aggregate(a) for a in groups):
        raise ProgramError(
            f"an aggregate such as avg<X> must be the last argument of the head {term.functor}/{len(term.args)}",
            span,
            "write the aggregated argument last: p(Group, ..., avg<X>) :- Body.",
        )
    assert isinstance(last, Struct)
    func, var = last.args
    result = fresh_var("R")
    group = mk_list(groups)
    new_body = Struct("aggregate", (func, var, group, body, Struct(",", (group, result))))
    new_term = Struct(term.functor, (*groups, result))
    return (new_term if scope is None else Struct(":", (scope, new_term))), new_body
