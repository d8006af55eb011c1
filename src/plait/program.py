"""The public entry point: :class:`Program`."""

from __future__ import annotations

from pathlib import Path

import torch

from .errors import PlaitError
from .ground.database import ClauseDB, build_database
from .ground.engine import Limits
from .ground.ground_program import GroundProgram
from .ground.grounding import ground_program
from .inference import CompiledQuery, InferenceOptions, compile_ground_program, program_answers, query_probability
from .inference.approx import Estimate, estimate
from .syntax.ast import ProgramAST
from .syntax.parser import parse_program, parse_term
from .syntax.source import read_source
from .syntax.terms import Struct, Term

__all__ = ["Program"]


class Program:
    """A plait (ProbLog-dialect) program.

    >>> import plait
    >>> p = plait.Program.from_string('''
    ...     0.6::edge(a,b). 0.5::edge(b,c). 0.2::edge(a,c).
    ...     path(X,Y) :- edge(X,Y).
    ...     path(X,Y) :- edge(X,Z), path(Z,Y).
    ... ''')
    >>> {k: round(float(v), 4) for k, v in p.query("path(a,X)").items()}
    {'path(a,b)': 0.6, 'path(a,c)': 0.44}
    """

    def __init__(self, ast: ProgramAST, base_dir: Path | None = None, limits: Limits | None = None) -> None:
        self.ast = ast
        self.base_dir = base_dir
        self.limits = limits or Limits()
        self._db: ClauseDB | None = None

    @classmethod
    def from_string(cls, text: str, filename: str = "<string>", limits: Limits | None = None) -> Program:
        return cls(parse_program(text, filename), None, limits)

    @classmethod
    def from_file(cls, path: str | Path, limits: Limits | None = None) -> Program:
        p = Path(path)
        return cls(parse_program(read_source(p), str(p)), p.resolve().parent, limits)

    @property
    def database(self) -> ClauseDB:
        if self._db is None:
            self._db = build_database(self.ast, self.base_dir)
        return self._db

    def ground(self, queries: str | Term | list[str | Term] | None = None) -> GroundProgram:
        """The relevant ground program for ``queries`` (default: the program's query/1 facts)."""
        return ground_program(self.database, self.limits, _query_terms(queries), query_probability)

    def compile(
        self, queries: str | Term | list[str | Term] | None = None, options: InferenceOptions | None = None, **changes
    ) -> CompiledQuery:
        """Ground and compile once; evaluate the result as often as you like.

        ``options`` (or single options as keywords, e.g. ``cycles="tp"``, ``backend="klay"``):
        see :class:`plait.InferenceOptions`.
        """
        options = (options or InferenceOptions()).replace(**changes)
        return compile_ground_program(self.ground(queries), options)

    def query(
        self, queries: str | Term | list[str | Term] | None = None, options: InferenceOptions | None = None, **changes
    ) -> dict[str, torch.Tensor]:
        """Probabilities of the queries (given the program's evidence), keyed by atom as ProbLog writes it.

        The semiring defaults to ``"log"`` (no underflow); ``semiring="probability"`` is
        linear space, ``"auto"`` linear space with a log-space redo on underflow;
        ``"max-min"`` possibility degrees, ``"godel"``, ``"product-tnorm"`` and
        ``"lukasiewicz"`` fuzzy truth degrees (see docs/inference.md).
        """
        options = (options or InferenceOptions()).replace(**changes)
        return program_answers(self.ground(queries), options)

    def estimate(
        self, queries: str | Term | list[str | Term] | None = None, options: InferenceOptions | None = None, **changes
    ) -> dict[str, Estimate]:
        """Approximate answers with their intervals (``method="sample"`` or ``"topk"``), keyed as :meth:`query`.

        >>> p = Program.from_string("0.6::a. 0.3::b. q :- a. q :- b. query(q).")
        >>> e = p.estimate(method="topk", k=1)["q"]
        >>> round(e.low, 2), round(e.high, 2)
        (0.6, 0.72)
        """
        options = (options or InferenceOptions()).replace(**changes)
        return estimate(self.ground(queries), options)

    def check(self) -> GroundProgram:
        """Parse and ground (raising the first problem found) without evaluating."""
        return self.ground()


def _query_terms(queries: str | Term | list[str | Term] | None) -> list[Term] | None:
    if queries is None:
        return None
    if isinstance(queries, (str, Struct)) or not isinstance(queries, list):
        queries = [queries]  # type: ignore[list-item]
    out: list[Term] = []
    for q in queries:
        if isinstance(q, str):
            try:
                out.append(parse_term(q))
            except PlaitError as e:
                raise type(e)(f"cannot parse the query {q!r}: {e.message}", None, e.hint) from None
        else:
            out.append(q)
    return out
