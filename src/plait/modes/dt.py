"""Decision-theoretic ProbLog (``problog dt``): the decisions that maximise the expected utility.

``?::a.`` (or ``?::a(X) :- body.``) declares a decision: a fact the decision
maker sets true or false. ``utility(U, V).`` gives the reward ``V`` for each
world in which the literal ``U`` (an atom or ``\\+atom``) holds. The expected
utility of a strategy is ``sum V * P(U | evidence, strategy)``.

As ``problog dt`` (its default, exhaustive search), every strategy is
evaluated: the program is grounded and compiled once with the decisions as
ordinary facts, and all ``2^n`` strategies are one batched circuit pass (their
facts are 0 or 1). Ties go to the strategy enumerated first (all decisions
false first, the first decision as the most significant bit), as in ProbLog.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import InferenceError, ProgramError
from ..ground.database import build_database
from ..ground.grounding import ground_program
from ..inference import compile_ground_program, query_probability
from ..program import Program
from ..syntax.ast import Clause, NeuralClause, ProgramAST
from ..syntax.printing import format_term
from ..syntax.terms import Float, Int, Struct, Term, Var
from ._common import as_program

__all__ = ["Strategy", "dt", "MAX_DECISIONS"]

# exhaustive search evaluates 2^n strategies in one batch
MAX_DECISIONS = 20

_DECISION = Struct("?")


@dataclass(frozen=True, slots=True)
class Strategy:
    """The best strategy: each ground decision atom with its value, and the expected utility it achieves."""

    decisions: tuple[tuple[str, bool], ...]
    expected_utility: float

    @property
    def text(self) -> str:
        lines = [f"{atom}: {int(v)}" for atom, v in self.decisions]
        lines.append(f"SCORE: {self.expected_utility!r}")
        return "\n".join(lines)


def dt(program: Program | str) -> Strategy:
    """The decisions (``?::a.``) that maximise the expected utility (``utility(U, V).``), by exhaustive search.

    >>> import plait
    >>> s = plait.dt('''
    ...     0.3::rain. ?::umbrella.
    ...     dry :- \\\\+rain. dry :- rain, umbrella.
    ...     utility(dry, 10). utility(umbrella, -2).
    ... ''')
    >>> s.decisions, round(s.expected_utility, 6)
    ((('umbrella', True),), 8.0)
    """
    prog = as_program(program)
    items = []
    decision_spans = []
    for item in prog.ast.items:
        if isinstance(item, NeuralClause):
            raise ProgramError(
                f"{format_term(item.spec)} :: {format_term(item.head)} has no value in a decision problem",
                item.span,
                "give the fact a number, e.g. 0.5::" + format_term(item.head),
            )
        if isinstance(item, Clause) and item.prob == _DECISION:
            # a decision is a learnable-style fact: its probability comes from outside the program
            item = NeuralClause(Struct("t", (Float(0.5),)), item.head, item.body, item.span)
            decision_spans.append(item.span)
        items.append(item)
    ast = ProgramAST(tuple(items), prog.ast.filename)
    db = build_database(ast, prog.base_dir, neural=True)
    names = {ns.name for ns, span in db.neural_specs if any(span is s for s in decision_spans)}
    utilities = _utilities(db, prog)
    if not utilities:
        raise ProgramError(
            "the program has no utility/2 facts, so there is nothing to optimise",
            None,
            "add utility(Atom, Value) facts, e.g. utility(dry, 60)",
        )
    gp = ground_program(db, prog.limits, [u for u, _ in utilities], query_probability)
    cq = compile_ground_program(gp)
    cols = [i for i, src in enumerate(cq.fact_sources) if src is not None and src.name in names]
    n = len(cols)
    if n > MAX_DECISIONS:
        raise InferenceError(
            f"{n} decisions make {2**n} strategies, too many to evaluate exhaustively",
            hint=f"exhaustive search handles at most {MAX_DECISIONS} decisions",
        )
    values = torch.tensor([v for _, v in utilities], dtype=torch.float64)
    bits = (torch.arange(2**n).unsqueeze(1) >> torch.arange(n - 1, -1, -1)) & 1  # first decision: top bit
    probs = cq.fact_probs.expand(2**n, -1).clone()
    probs[:, cols] = bits.to(torch.float64)
    with torch.no_grad():
        p = cq(probs)  # [strategies, utilities]: P(U | evidence, strategy)
    scores = p @ values
    best = int(torch.argmax(scores))  # the first maximum, as ProbLog's strict '>'
    decisions = tuple((format_term(cq.fact_labels[c]), bool(bits[best, i])) for i, c in enumerate(cols))
    return Strategy(decisions, float(scores[best]))


def _utilities(db, prog: Program) -> list[tuple[Term, float]]:
    """The ground ``utility(U, V)`` facts: (literal term, value); of several for one literal the last counts, as in ProbLog."""
    if db.get("utility", 2) is None:
        return []
    gp = ground_program(db, prog.limits, [Struct("utility", (Var("U"), Var("V")))], query_probability)
    out: dict[Term, float] = {}
    for q in gp.queries:
        if q.literal == 0:
            continue
        if q.literal is not None:
            raise ProgramError(
                f"{format_term(q.term)} is probabilistic; utilities must be certain facts",
                None,
                "write utility(Atom, Value) as a plain fact",
            )
        atom, value = q.term.args  # type: ignore[union-attr]
        if not isinstance(value, (Int, Float)):
            raise ProgramError(
                f"the utility of {format_term(atom)} is {format_term(value)}, not a number",
                None,
                "write utility(Atom, Value) with a number Value",
            )
        out[atom] = float(value.value)  # as ProbLog: the last one counts
    return list(out.items())
