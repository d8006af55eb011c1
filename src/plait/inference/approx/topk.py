"""Top-k proofs: a lower bound on each query's probability from its k most probable proofs.

A proof is a minimal assignment of choices under which the query is certainly
true (see :mod:`.proofs`; negation is proved by refutation, so it is sound). The
probability of the disjunction of any proofs is at most the query's, so the k
most probable proofs give a lower bound, exact once k covers every proof; with
k = 1 it is the probability of the most probable proof. The disjunction is
evaluated exactly: it becomes a small ground program (one rule per proof over
the original choices) compiled with the ordinary compilation pipeline.

The same applied to ``\\+q`` gives an upper bound ``1 - P(top-k refutations of q)``:
the two bound the exact answer from both sides and meet as k grows. Refutations
(cuts, for reachability) can be far more numerous than proofs, so the upper bound
is only computed while they stay under :data:`REFUTATION_LIMIT` (else it is 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...ground.ground_program import DERIVED, GroundProgram, GroundQuery, Node
from ...logic.cycles import break_cycles
from ...logic.lineage import build_lineage
from ...syntax.terms import Struct
from ..compiled import compile_ground_program
from ..options import InferenceOptions
from .proofs import Assign, Supports, TooManyProofsError

__all__ = ["TopK", "top_k_bounds", "REFUTATION_LIMIT"]

# the upper bound is cheap only while a query's refutations are few; past this many it is left at 1
REFUTATION_LIMIT = 500


@dataclass(frozen=True, slots=True)
class TopK:
    """One query's top-k bounds: ``lower`` from its proofs, ``upper`` (``1 - `` the bound of its negation,
    when asked for), and the probability of its most probable proof (0 if it has none)."""

    lower: float
    upper: float
    best_proof: float
    proofs_used: int
    proofs_total: int


def top_k_bounds(gp: GroundProgram, k: int, upper: bool = False) -> list[TopK]:
    """Top-k bounds of every query of ``gp`` (no evidence: the caller checks).

    >>> import plait
    >>> gp = plait.Program.from_string("0.6::a. 0.3::b. q :- a. q :- b. query(q).").ground()
    >>> [round(b.lower, 4) for b in top_k_bounds(gp, 1)], [round(b.lower, 4) for b in top_k_bounds(gp, 2)]
    ([0.6], [0.72])
    """
    if any(c.cyclic for c in build_lineage(gp).components):
        gp = break_cycles(gp)  # proofs are read off the acyclic program, as ProbLog's explain does
    sup = Supports(gp)
    refuter = Supports(gp, limit=REFUTATION_LIMIT)
    chosen: list[list[Assign]] = []
    totals: list[int] = []
    best: list[float] = []
    for q in gp.queries:
        for sign in (1, -1) if upper else (1,):
            if q.literal is None or q.literal == 0:
                holds = ((q.literal is None) != q.negated) == (sign > 0)
                found = [frozenset()] if holds else []
            elif sign > 0:
                found = sup.supports(-q.literal if q.negated else q.literal)
            else:
                try:
                    found = refuter.supports(q.literal if q.negated else -q.literal)
                except TooManyProofsError:
                    found = []  # no refutation used: the trivial upper bound 1
            ranked = sorted(found, key=lambda a: (-sup.probability(a), len(a), sorted(map(repr, a))))
            chosen.append(ranked[:k])
            totals.append(len(found))
            if sign > 0:
                best.append(sup.probability(ranked[0]) if ranked else 0.0)
    values = _dnf_probabilities(gp, sup, chosen)
    out = []
    step = 2 if upper else 1
    for i in range(len(gp.queries)):
        j = step * i
        hi = 1.0 - values[j + 1] if upper else 1.0
        out.append(TopK(values[j], max(hi, values[j]), best[i], len(chosen[j]), totals[j]))
    return out


def _dnf_probabilities(gp: GroundProgram, sup: Supports, dnfs: list[list[Assign]]) -> list[float]:
    """The exact probability of each disjunction of assignments, compiled as one ground program."""
    nodes = list(gp.nodes)
    queries = []
    for i, dnf in enumerate(dnfs):
        bodies = {_body(gp, sup, a) for a in dnf}
        nodes.append(Node(DERIVED, label=Struct(f"$topk{i}"), bodies=bodies))
        queries.append(GroundQuery(Struct(f"$topk{i}"), len(nodes) - 1))
    cq = compile_ground_program(GroundProgram(nodes, gp.groups, queries, []), InferenceOptions())
    return [float(v) for v in cq()]


def _body(gp: GroundProgram, sup: Supports, assign: Assign) -> tuple[int, ...]:
    """An assignment as a rule body over the program's coin and choice nodes."""
    lits: list[int] = []
    for (kind, i), value in assign:
        if kind == "c":
            lits.append(i if value else -i)
            continue
        node_of = {gp.nodes[c].index: c for c in gp.groups[i].choices}
        if value == -1:  # none of the heads the program uses
            lits.extend(-node_of[h] for h in sup.used.get(i, ()))
        else:
            lits.append(node_of[value])  # type: ignore[index]
    return tuple(sorted(lits, key=abs))
