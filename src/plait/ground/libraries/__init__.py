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

from ...syntax.ast import ProgramAST
from ...syntax.parser import parse_program
from ...syntax.terms import Struct

__all__ = ["LIBRARIES", "Library", "library_of", "library_program"]


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
