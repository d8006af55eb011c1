"""Proofs of the queries (``problog explain``): mutually exclusive proofs, the most probable first.

A proof is a partial assignment of the probabilistic choices under which the
query is certainly true, in the three-valued (Kleene) reading of the ground
program that ProbLog's explain uses: a choice left out is unknown, an atom is
certainly true when one of its bodies is, certainly false when all of them are.
Each annotated disjunction is one many-valued choice: one of the heads the
program uses, or "none of them" (the other heads and no head, together).

As ProbLog, the proofs are found greedily: each is the most probable proof that
contradicts every proof found before (assigns some choice of it another value),
so the proofs are mutually exclusive and their probabilities add up to the
query's probability. The search is exact: a best-first search over partial
assignments, whose probability only shrinks as choices are added. Evidence is
not used (as in ProbLog: a proof explains the query, not the evidence).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from ..inference.approx.proofs import MAX_SUPPORTS, Assign, Supports, Var
from ..logic.cycles import break_cycles
from ..logic.lineage import build_lineage
from ..program import Program
from ..syntax.printing import format_term
from ._common import as_program

__all__ = ["Proof", "QueryProofs", "proofs", "MAX_SUPPORTS"]


@dataclass(frozen=True, slots=True)
class Proof:
    """A conjunction of choice literals (``\\+a`` for a false one) and its probability."""

    literals: tuple[str, ...]
    probability: float


@dataclass(frozen=True, slots=True)
class QueryProofs:
    """The proofs of one query, the most probable first; their probabilities add up to ``probability``."""

    query: str
    proofs: tuple[Proof, ...]

    @property
    def probability(self) -> float:
        return math.fsum(p.probability for p in self.proofs)

    @property
    def text(self) -> str:
        if not self.proofs:
            return f"{self.query} :- fail."
        lines = []
        for p in self.proofs:
            body = ", ".join(p.literals) if p.literals else "true"
            lines.append(f"{self.query} :- {body}.  % P={p.probability:.8g}")
        return "\n".join(lines)


def proofs(program: Program | str) -> list[QueryProofs]:
    """The mutually exclusive proofs of every query, the most probable first (as ``problog explain``).

    >>> import plait
    >>> (qp,) = plait.proofs("0.6::a. 0.3::b. q :- a. q :- b. query(q).")
    >>> [(p.literals, round(p.probability, 4)) for p in qp.proofs]
    [(('a',), 0.6), (('\\\\+a', 'b'), 0.12)]
    """
    prog = as_program(program)
    gp = prog.ground()
    if any(c.cyclic for c in build_lineage(gp).components):
        gp = break_cycles(gp)  # as ProbLog, which explains its acyclic ground program
    return [_Explainer(gp).proofs(i) for i in range(len(gp.queries))]


class _Explainer(Supports):
    def literals(self, assign: Assign) -> tuple[str, ...]:
        out: list[tuple[int, str]] = []
        for (kind, i), value in assign:
            if kind == "c":
                out.append((i, ("" if value else "\\+") + format_term(self.gp.nodes[i].label)))
                continue
            group = self.gp.groups[i]
            node_of = {self.gp.nodes[c].index: c for c in group.choices}
            if value == -1:
                out.extend((node_of.get(h, 0), "\\+" + format_term(group.labels[h])) for h in self.used.get(i, ()))
            else:
                out.append((node_of.get(value, 0), format_term(group.labels[value])))  # type: ignore[index]
        return tuple(text for _, text in sorted(out))

    # -- the greedy sequence of mutually exclusive best proofs
    def proofs(self, qi: int) -> QueryProofs:
        q = self.gp.queries[qi]
        name = ("\\+" if q.negated else "") + format_term(q.term)
        if q.literal is None or q.literal == 0:
            holds = (q.literal is None) != q.negated
            return QueryProofs(name, (Proof((), 1.0),) if holds else ())
        supports = self.supports(-q.literal if q.negated else q.literal)
        found: list[dict[Var, object]] = []
        proofs: list[Proof] = []
        while True:
            best = self._best(supports, found)
            if best is None:
                break
            found.append(dict(best))
            proofs.append(Proof(self.literals(best), self.probability(best)))
        return QueryProofs(name, tuple(proofs))

    def _best(self, supports: list[Assign], found: list[dict[Var, object]]) -> Assign | None:
        """The most probable assignment that contains a support and contradicts every proof in ``found``."""
        heap: list[tuple[float, int, Assign]] = []
        seen: set[Assign] = set()
        tick = 0
        for s in supports:
            p = self.probability(s)
            if p > 0 and s not in seen:
                seen.add(s)
                heapq.heappush(heap, (-p, tick, s))
                tick += 1
        while heap:
            neg_p, _, state = heapq.heappop(heap)
            values = dict(state)
            open_proof = next((f for f in found if not any(v in values and values[v] != o for v, o in f.items())), None)
            if open_proof is None:
                return state
            # contradict it: give one of its choices that this state leaves open another value
            for var, value in open_proof.items():
                if var in values:
                    continue
                for other in self.outcomes(var):
                    if other == value:
                        continue
                    nxt = state | {(var, other)}
                    p = -neg_p * self.weight(var, other)
                    if p > 0 and nxt not in seen:
                        seen.add(nxt)
                        heapq.heappush(heap, (-p, tick, nxt))
                        tick += 1
        return None
