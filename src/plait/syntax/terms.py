"""Terms: the immutable data every stage of plait passes around.

Constants are :class:`Struct` with no arguments, numbers are :class:`Int` and
:class:`Float` (kept apart, as in Prolog ``1 \\== 1.0``), double-quoted text is
:class:`Str`. All classes are frozen and slotted; the hash of a compound term is
computed once at construction because grounding hashes terms constantly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

__all__ = [
    "Term",
    "AGGREGATE",
    "Var",
    "Struct",
    "Int",
    "Float",
    "Str",
    "atom",
    "mk_list",
    "list_items",
    "NIL",
    "TRUE",
    "is_ground",
    "term_vars",
    "is_callable",
    "fresh_var",
]

_var_ids = itertools.count(1)

# How a Struct turns into text. The printer (printing.py, which needs these classes) installs
# format_term here when the syntax package is imported; terms do not import the printer.
_text_form: list = [lambda t: f"{t.functor}({','.join(map(str, t.args))})" if t.args else t.functor]


def set_text_form(fmt) -> None:  # noqa: ANN001 - a Struct -> str function
    """Install the function that ``str(struct)`` calls (done once by :mod:`.printing`)."""
    _text_form[0] = fmt


@dataclass(frozen=True, slots=True)
class Var:
    """A logic variable. ``uid`` makes renamed copies of one source variable distinct."""

    name: str
    uid: int = 0

    def __hash__(self) -> int:
        return hash(self.uid) if self.uid else hash(self.name)

    def __str__(self) -> str:
        return self.name if self.uid == 0 else f"_{self.uid}"


def fresh_var(name: str = "_") -> Var:
    return Var(name, next(_var_ids))


@dataclass(frozen=True, slots=True)
class Int:
    value: int

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Float:
    value: float

    def __str__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True, slots=True)
class Str:
    """A double-quoted string constant."""

    value: str

    def __str__(self) -> str:
        return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True, eq=False)
class Struct:
    """An atom (no args) or a compound term ``functor(args...)``."""

    functor: str
    args: tuple[Term, ...] = ()
    _hash: int = field(default=0, init=False, repr=False, compare=False)
    _ground: bool = field(default=True, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ground = True
        for a in self.args:  # a plain loop: this runs for every term grounding builds
            t = type(a)
            if t is Var or (t is Struct and not a._ground):
                ground = False
                break
        object.__setattr__(self, "_hash", hash((self.functor, self.args)))
        object.__setattr__(self, "_ground", ground)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Struct) or self._hash != other._hash:
            return False
        return self.functor == other.functor and self.args == other.args

    @property
    def arity(self) -> int:
        return len(self.args)

    @property
    def signature(self) -> tuple[str, int]:
        return (self.functor, len(self.args))

    def __str__(self) -> str:
        return _text_form[0](self)


Term = Var | Struct | Int | Float | Str

NIL = Struct("[]")
TRUE = Struct("true")
# Functor of an aggregate head argument: the parser reads avg<X> as $aggregate(avg, X).
AGGREGATE = "$aggregate"


def atom(name: str) -> Struct:
    return Struct(name)


def mk_list(items: list[Term] | tuple[Term, ...], tail: Term = NIL) -> Term:
    out = tail
    for item in reversed(items):
        out = Struct(".", (item, out))
    return out


def list_items(term: Term) -> tuple[list[Term], Term]:
    """Split a (partial) list into its items and its tail (``[]`` for a proper list)."""
    items: list[Term] = []
    while isinstance(term, Struct) and term.functor == "." and len(term.args) == 2:
        items.append(term.args[0])
        term = term.args[1]
    return items, term


def is_ground(term: Term) -> bool:
    if isinstance(term, Struct):
        return term._ground
    return not isinstance(term, Var)


def term_vars(term: Term, out: dict[Var, None] | None = None) -> dict[Var, None]:
    """Variables of ``term`` in order of first occurrence (as dict keys)."""
    if out is None:
        out = {}
    stack = [term]
    while stack:
        t = stack.pop()
        if isinstance(t, Var):
            out.setdefault(t, None)
        elif isinstance(t, Struct) and not t._ground:
            stack.extend(reversed(t.args))
    return out


def is_callable(term: Term) -> bool:
    return isinstance(term, Struct)
