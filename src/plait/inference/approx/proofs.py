"""Proofs of a ground program's literals: the minimal choice assignments that make them certainly true.

A proof (support) is a partial assignment of the probabilistic choices under which
a literal is certainly true in the three-valued (Kleene) reading of the ground
program, as ProbLog's explain reads it: a choice left out is unknown, an atom is
certainly true when one of its bodies is, certainly false when all of them are.
Each annotated disjunction is one many-valued choice: one of the heads the
program uses, or "none of them" (``-1``: the other heads and no head, together).

Every proof implies its literal in every world that extends it, so the probability
of a disjunction of some proofs is a lower bound on the literal's probability, and
negation is sound (a negated atom is proved by refuting each of its bodies).
``plait.proofs`` (explanations) and top-k inference both build on this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...errors import InferenceError
from ...ground.ground_program import CHOICE, COIN, GroundProgram

__all__ = ["Choices", "relevant_choices", "Supports", "Var", "Assign", "MAX_SUPPORTS", "TooManyProofsError"]

# the number of minimal supports one atom may have before the search gives up
MAX_SUPPORTS = 100_000

# a choice: ("c", coin node id) or ("g", AD group index); a value: True/False, or a head index (-1: none)
Var = tuple[str, int]
Assign = frozenset[tuple[Var, object]]


class TooManyProofsError(InferenceError):
    """A literal has more minimal proofs than the enumeration's limit."""


@dataclass(frozen=True, slots=True)
class Choices:
    """The probabilistic choices that the queries and the evidence depend on.

    ``coins``: node ids of probabilistic facts (and rule instances).
    ``groups``: for each AD group used, its index and the head indices that the
    program uses; the other heads and "no head" form one outcome, as in ProbLog.
    """

    coins: tuple[int, ...]
    groups: tuple[tuple[int, tuple[int, ...]], ...]


def relevant_choices(gp: GroundProgram) -> Choices:
    """The coins and AD heads reachable from the queries and the evidence (grounding may leave dead ones)."""
    seen: set[int] = set()
    stack = [abs(q.literal) for q in gp.queries if q.literal] + [abs(e.literal) for e in gp.evidence if e.literal]
    while stack:
        nid = stack.pop()
        if nid in seen:
            continue
        seen.add(nid)
        node = gp.nodes[nid]
        for body in list(node.bodies) + list(node.neg_bodies):
            stack.extend(abs(x) for x in body)
    coins = tuple(sorted(n for n in seen if gp.nodes[n].kind == COIN))
    heads: dict[int, set[int]] = {}
    for n in seen:
        node = gp.nodes[n]
        if node.kind == CHOICE:
            heads.setdefault(node.group, set()).add(node.index)
    return Choices(coins, tuple((g, tuple(sorted(h))) for g, h in sorted(heads.items())))


class Supports:
    """The minimal supports of the literals of an acyclic ground program (memoised per literal).

    >>> import plait
    >>> gp = plait.Program.from_string("0.6::a. 0.3::b. q :- a. q :- b. query(q).").ground()
    >>> s = Supports(gp)
    >>> sorted(round(s.probability(a), 2) for a in s.supports(gp.queries[0].literal))
    [0.3, 0.6]
    """

    def __init__(self, gp: GroundProgram, limit: int = MAX_SUPPORTS, beam: int | None = None) -> None:
        self.gp = gp
        self.limit = limit  # the most minimal supports one literal may have (TooManyProofsError past it)
        # with a beam, every literal keeps only its ``beam`` most probable supports: no limit is
        # reached, every support kept is still a proof, but they need not be the most probable ones
        self.beam = beam
        self.used = dict(relevant_choices(gp).groups)
        self.memo: dict[int, list[Assign]] = {}

    def weight(self, var: Var, value: object) -> float:
        """The probability of one choice taking one value."""
        kind, i = var
        if kind == "c":
            p = self.gp.nodes[i].prob
            return p if value else 1 - p
        probs = self.gp.groups[i].probs
        if value == -1:
            return max(0.0, 1.0 - sum(probs[h] for h in self.used.get(i, ())))
        return probs[value]  # type: ignore[index]

    def outcomes(self, var: Var) -> list[object]:
        if var[0] == "c":
            return [True, False]
        return [*self.used.get(var[1], ()), -1]

    def probability(self, assign: Assign) -> float:
        """The probability of a partial assignment (its choices are independent)."""
        return math.prod(self.weight(v, o) for v, o in assign)

    def supports(self, lit: int) -> list[Assign]:
        """The minimal assignments under which node literal ``lit`` is certainly true."""
        if lit not in self.memo:
            self.memo[lit] = self._supports(lit)
        return self.memo[lit]

    def _supports(self, lit: int) -> list[Assign]:
        node = self.gp.nodes[abs(lit)]
        positive = lit > 0
        if node.kind == COIN:
            return [frozenset({(("c", abs(lit)), positive)})]
        if node.kind == CHOICE:
            var = ("g", node.group)
            if positive:
                return [frozenset({(var, node.index)})]
            return [frozenset({(var, o)}) for o in self.outcomes(var) if o != node.index]
        bodies = [self._all(body) for body in node.bodies]
        blockers = [self._any([-x for x in body]) for body in node.neg_bodies]
        if positive:  # some body certainly true, every negative body certainly false
            return self._product([self._union(bodies), *blockers])
        # every body certainly false, or some negative body certainly true
        refuted = self._product([self._any([-x for x in body]) for body in node.bodies])
        return self._minimal(refuted + self._union([self._all(body) for body in node.neg_bodies]))

    def _all(self, body: tuple[int, ...]) -> list[Assign]:
        return self._product([self.supports(x) for x in body])

    def _any(self, lits: list[int]) -> list[Assign]:
        return self._union([self.supports(x) for x in lits])

    def _minimal(self, sets: list[Assign]) -> list[Assign]:
        """Drop duplicates and the assignments that contain another one (with a beam: keep the most probable)."""
        unique = set(sets)
        if self.beam is not None:
            return self._best(unique)
        # minimising is quadratic at worst: refuse hopeless inputs before starting
        if len(unique) > 4 * self.limit:
            self._too_many()
        out = _minimal_sets(sorted(unique, key=len))
        if len(out) > self.limit:
            self._too_many()
        return out

    def _best(self, unique: set[Assign]) -> list[Assign]:
        """The ``beam`` most probable minimal assignments among ``unique`` (a superset is never more
        probable than its subset, and comes after it in this order, so one greedy pass is minimal)."""
        ranked = sorted(unique, key=lambda a: (-self.probability(a), len(a)))
        return _minimal_sets(ranked, self.beam)

    def _too_many(self) -> None:
        raise TooManyProofsError(
            f"a query has more than {self.limit} minimal proofs, too many to enumerate",
            hint="ask a more specific query, use method='sample', or compute its probability exactly",
        )

    def _union(self, alternatives: list[list[Assign]]) -> list[Assign]:
        """The minimal sets of the union of minimal lists.

        A set of one list can only be contained in a set of another list, and only if it contains
        every element that all the sets of that other list share: on grids and chains, where
        the alternatives start with different choices, no pair needs a comparison.
        """
        lists = [alt for alt in alternatives if alt]
        if len(lists) <= 1:
            return self._cut(list(lists[0]) if lists else [])
        if sum(map(len, lists)) > 4 * self.limit and self.beam is None:
            self._too_many()
        commons = [frozenset.intersection(*alt) for alt in lists]
        out: list[Assign] = []
        seen: set[Assign] = set()
        for i, alt in enumerate(lists):
            others = [j for j in range(len(lists)) if j != i]
            for a in alt:
                if a in seen:
                    continue
                if any(commons[j] <= a and any(t < a for t in lists[j]) for j in others):
                    continue
                seen.add(a)
                out.append(a)
        return self._cut(out)

    def _product(self, factors: list[list[Assign]]) -> list[Assign]:
        acc: list[Assign] = [frozenset()]
        for f in factors:
            if _variables(acc).isdisjoint(_variables(f)):
                # sets over disjoint choices: every union is consistent, and minimal when both factors are
                acc = self._cut([a | b for a in acc for b in f])
            else:
                acc = self._minimal([a | b for a in acc for b in f if _consistent(a | b)])
            if not acc:
                break
        return acc

    def _cut(self, sets: list[Assign]) -> list[Assign]:
        """A minimal list checked against the limit, or cut down to the beam's most probable sets."""
        if self.beam is not None:
            if len(sets) > self.beam:
                sets = sorted(sets, key=lambda a: (-self.probability(a), len(a)))[: self.beam]
            return sets
        if len(sets) > self.limit:
            self._too_many()
        return sets


def _variables(sets: list[Assign]) -> set[Var]:
    return {v for a in sets for v, _ in a}


def _minimal_sets(ordered: list[Assign], most: int | None = None) -> list[Assign]:
    """The sets of ``ordered`` that contain no earlier kept set (the first ``most`` of them).

    A subset has a rarest element, which the superset contains too: each kept set is filed
    under its rarest element, and a candidate is compared only with the sets filed under
    one of its own elements (on grids and chains these buckets are small, where comparing
    every pair is quadratic in the number of proofs).
    """
    if any(not a for a in ordered):  # the empty assignment is contained in every other one
        return [frozenset()]
    freq: dict[object, int] = {}
    for a in ordered:
        for x in a:
            freq[x] = freq.get(x, 0) + 1
    buckets: dict[object, list[Assign]] = {}
    out: list[Assign] = []
    for a in ordered:
        if any(t <= a for x in a for t in buckets.get(x, ())):
            continue
        out.append(a)
        if most is not None and len(out) >= most:
            break
        buckets.setdefault(min(a, key=lambda x: freq[x]), []).append(a)
    return out


def _consistent(a: Assign) -> bool:
    return len({v for v, _ in a}) == len(a)
