"""Top-k proofs: a lower bound on each query's probability from its k most probable proofs.

A proof is a minimal assignment of choices under which the query is certainly
true (see :mod:`.proofs`; negation is proved by refutation, so it is sound). The
probability of the disjunction of any proofs is at most the query's, so the k
most probable proofs give a lower bound, exact once k covers every proof; with
k = 1 it is the probability of the most probable proof.

The bound is evaluated exactly on the program *restricted to the k proofs*: every
rule instance that one of the proofs makes certainly true is kept, the other
rule instances of the atoms that occur only positively under the query are
dropped (atoms under negation keep all theirs, so dropping rules can only make
the query less likely: the result stays a lower bound). That program has the
original program's shape, so it compiles as the original does, where the
disjunction of the proofs written out as one rule each (252 paths of the 6 x 6
grid) loses the sharing of their common parts and took minutes to compile; it
also counts the proofs that combine parts of the chosen ones (path prefixes and
suffixes), so the bound is at least the disjunction's and tighter.

The proofs are enumerated exhaustively while each atom has at most
:data:`EXHAUSTIVE_LIMIT` (or k) of them (then the k chosen are the k most
probable); past that the search keeps the k most probable proofs of every atom
(a beam): still proofs, so still a sound bound, found in time linear in k per
rule, but not necessarily the k most probable of the query.

The same applied to ``\\+q`` gives an upper bound ``1 - P(top-k refutations of q)``:
the two bound the exact answer from both sides and meet as k grows. Refutations
(cuts, for reachability) can be far more numerous than proofs, so the upper bound
is only computed while they stay under :data:`REFUTATION_LIMIT` (else it is 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..._deep import run_deep
from ...ground.ground_program import CHOICE, COIN, DERIVED, GroundProgram, GroundQuery, Node
from ...logic.cycles import break_cycles
from ...logic.lineage import build_lineage
from ...syntax.terms import Struct
from ..compiled import compile_ground_program
from ..options import InferenceOptions
from .proofs import Assign, Supports, TooManyProofsError

__all__ = ["TopK", "top_k_bounds", "REFUTATION_LIMIT", "EXHAUSTIVE_LIMIT"]

# the upper bound is cheap only while a query's refutations are few; past this many it is left at 1
REFUTATION_LIMIT = 500
# the exact k best proofs are looked for while every atom has at most this many (or k); past it, a beam
EXHAUSTIVE_LIMIT = 10_000


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
    sup = Supports(gp, limit=max(EXHAUSTIVE_LIMIT, k))
    beam = Supports(gp, beam=k)  # used past that many proofs of an atom
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
                lit = -q.literal if q.negated else q.literal
                try:
                    found = sup.supports(lit)
                except TooManyProofsError:
                    found = beam.supports(lit)
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
    step = 2 if upper else 1
    # a positive query's proofs are evaluated on the restricted program, which contains their
    # disjunction (so its bound is at least as tight); negated queries and refutations as a disjunction
    restrict = {step * i for i, q in enumerate(gp.queries) if q.literal and q.literal > 0 and not q.negated}
    restrict = {j for j in restrict if chosen[j]}
    rest = [j for j in range(len(chosen)) if j not in restrict]
    values = [0.0] * len(chosen)
    for j, v in zip(rest, _dnf_probabilities(gp, sup, [chosen[j] for j in rest]) if rest else [], strict=True):
        values[j] = v
    for j in restrict:
        values[j] = _restricted_probability(gp, gp.queries[j // step].literal, chosen[j])  # type: ignore[arg-type]
    out = []
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


def _restricted_probability(gp: GroundProgram, root: int, proofs: list[Assign]) -> float:
    """P(root) in ``gp`` with the rule instances of the atoms that occur only positively under
    ``root`` cut down to those that one of ``proofs`` makes certainly true (a lower bound)."""
    return run_deep(lambda: _restricted(gp, root, proofs), "top-k bound")


def _restricted(gp: GroundProgram, root: int, proofs: list[Assign]) -> float:
    only_positive = _only_positive(gp, root)
    kept: dict[int, set[tuple[int, ...]]] = {}
    # Every atom that occurs only positively keeps, for each proof, the rule instances that the
    # proof makes certainly true, also where the proof uses it under a negation (that it is true
    # makes a negated atom certainly false): then, by induction over the acyclic program, each
    # proof still proves the root, and nothing can make the root more likely than in ``gp``.
    for proof in proofs:
        truth = _Kleene(gp, proof)
        for nid in only_positive:
            if truth.node(nid) is True:
                for body in gp.nodes[nid].bodies:
                    if all(truth.value(x) is True for x in body):
                        kept.setdefault(nid, set()).add(body)
    nodes = list(gp.nodes)
    for nid in only_positive:
        nodes[nid] = Node(
            DERIVED, label=nodes[nid].label, bodies=kept.get(nid, set()), neg_bodies=nodes[nid].neg_bodies
        )
    restricted = GroundProgram(nodes, gp.groups, [GroundQuery(Struct("$topk"), root)], [])
    (value,) = compile_ground_program(restricted, InferenceOptions())()
    return float(value)


def _only_positive(gp: GroundProgram, root: int) -> set[int]:
    """The derived atoms under ``root`` reached only through positive literals of (positive) bodies:
    dropping their rule instances can only make ``root`` less likely."""
    polarity: dict[int, set[bool]] = {}
    stack = [(root, True)]
    while stack:
        nid, pos = stack.pop()
        seen = polarity.setdefault(nid, set())
        if pos in seen:
            continue
        seen.add(pos)
        node = gp.nodes[nid]
        if node.kind != DERIVED:
            continue
        stack.extend((abs(x), pos == (x > 0)) for b in node.bodies for x in b)
        stack.extend((abs(x), pos != (x > 0)) for b in node.neg_bodies for x in b)
    return {n for n, s in polarity.items() if s == {True} and gp.nodes[n].kind == DERIVED}


class _Kleene:
    """The three-valued truth of the program's literals under a partial assignment (None: unknown)."""

    def __init__(self, gp: GroundProgram, assign: Assign) -> None:
        self.gp = gp
        self.assign = dict(assign)
        self.memo: dict[int, bool | None] = {}

    def value(self, lit: int) -> bool | None:
        v = self.node(abs(lit))
        return v if v is None or lit > 0 else not v

    def node(self, nid: int) -> bool | None:
        if nid in self.memo:
            return self.memo[nid]
        node = self.gp.nodes[nid]
        if node.kind == COIN:
            v = self.assign.get(("c", nid))
        elif node.kind == CHOICE:
            got = self.assign.get(("g", node.group))
            v = None if got is None else got == node.index
        else:
            v = self._any_body(node.bodies)
            if v is not False and node.neg_bodies:
                blocked = self._any_body(node.neg_bodies)
                v = False if blocked is True else (None if blocked is None else v)
        self.memo[nid] = v  # type: ignore[assignment]
        return v  # type: ignore[return-value]

    def _any_body(self, bodies) -> bool | None:
        """Kleene disjunction of conjunctions, stopping at the first body certainly true
        (and a conjunction at its first literal certainly false)."""
        out: bool | None = False
        for body in bodies:
            v: bool | None = True
            for x in body:
                got = self.value(x)
                if got is False:
                    v = False
                    break
                if got is None:
                    v = None
            if v is True:
                return True
            if v is None:
                out = None
        return out


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
