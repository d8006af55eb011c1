"""The abstract syntax of a plait program: one frozen node per top-level clause.

Spans are kept out of equality and hashing (``compare=False``) so that two
programs with the same clauses compare equal wherever they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import SourceSpan
from .terms import TRUE, Term

__all__ = ["Clause", "ADClause", "NeuralClause", "Directive", "Item", "ProgramAST"]


@dataclass(frozen=True, slots=True)
class Clause:
    """``head :- body`` with an optional probability: ``p::head :- body`` / ``p::fact``."""

    head: Term
    body: Term = TRUE
    prob: Term | None = None
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ADClause:
    """An annotated disjunction ``p1::h1; ...; pn::hn :- body``."""

    heads: tuple[tuple[Term, Term], ...]
    body: Term = TRUE
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NeuralClause:
    """``nn(net, Inputs, Output, Domain) :: head`` or ``t(P) :: head`` (learnable)."""

    spec: Term
    head: Term
    body: Term = TRUE
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Directive:
    """``:- goal.``"""

    goal: Term
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


Item = Clause | ADClause | NeuralClause | Directive


@dataclass(frozen=True, slots=True)
class ProgramAST:
    items: tuple[Item, ...]
    filename: str = field(default="<string>", compare=False)
