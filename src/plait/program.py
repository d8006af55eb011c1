"""The public entry point: :class:`Program`."""

from __future__ import annotations

from pathlib import Path

import torch

from .compile.sdd import DEFAULT_MAX_SDD_SIZE
from .compiled import CompiledQuery, compile_ground_program
from .errors import PlaitError, ProgramError
from .ground.database import ClauseDB, build_database
from .ground.engine import Limits, ground_program
from .ground.ground_program import GroundProgram
from .syntax.ast import ProgramAST
from .syntax.parser import parse_program, parse_term
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
        try:
            text = p.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise ProgramError(f"cannot read {p}: {e}") from e
        return cls(parse_program(text, str(p)), p.resolve().parent, limits)

    @property
    def database(self) -> ClauseDB:
        if self._db is None:
            self._db = build_database(self.ast, self.base_dir)
        return self._db

    def ground(self, queries: str | Term | list[str | Term] | None = None) -> GroundProgram:
        """The relevant ground program for ``queries`` (default: the program's query/1 facts)."""
        return ground_program(self.database, self.limits, _query_terms(queries))

    def compile(
        self,
        queries: str | Term | list[str | Term] | None = None,
        dtype: torch.dtype = torch.float64,
        backend: str = "layered",
        cycles: str = "break",
        max_sdd_size: int | None = DEFAULT_MAX_SDD_SIZE,
    ) -> CompiledQuery:
        """Ground and compile once; evaluate the result as often as you like.

        ``backend``: ``"layered"`` (plait's circuit evaluator, all semirings) or
        ``"klay"`` (needs ``pip install 'plait[klay]'``; probability and log only).
        ``cycles``: ``"break"`` (cycle breaking) or ``"tp"`` (TP-compilation).
        ``max_sdd_size``: a budget for the compiled SDDs in elements (``None``: none);
        past it :class:`~plait.errors.CompilationBudgetError` is raised instead of
        running out of memory.
        """
        return compile_ground_program(self.ground(queries), dtype, backend, cycles, max_sdd_size=max_sdd_size)

    def query(
        self,
        queries: str | Term | list[str | Term] | None = None,
        dtype: torch.dtype = torch.float64,
        backend: str = "layered",
        semiring: str = "log",
        max_sdd_size: int | None = DEFAULT_MAX_SDD_SIZE,
    ) -> dict[str, torch.Tensor]:
        """Probabilities of the queries (given the program's evidence), keyed by atom as ProbLog writes it.

        ``semiring`` is ``"log"`` (default: no underflow) or ``"probability"``;
        ``max_sdd_size`` as in :meth:`compile`.
        """
        compiled = self.compile(queries, dtype, backend, max_sdd_size=max_sdd_size)
        return compiled.as_dict(compiled(semiring=semiring))

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
