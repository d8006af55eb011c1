"""Cycle breaking: an acyclic ground program with the same query probabilities.

Positive cycles (``path/2`` on a cyclic graph) make the Clark completion wrong.
Following ProbLog, we expand the program from the queries and evidence and, when
an atom is reached again below itself, replace that occurrence by false: in the
least model an atom is never needed to derive itself. The expansion of an atom
depends on which of its ancestors were cut, so an atom can get several copies;
a copy is reused wherever it is valid (the cycles it cut are still ancestors and
none of the atoms it expanded is an ancestor now). The alternative,
TP-compilation (fixpoint iteration on SDDs, :mod:`plait.compile.sdd`), computes
the same probabilities; the tests compare the two.
"""

from __future__ import annotations

from dataclasses import replace

from .._deep import run_deep
from ..ground.ground_program import DERIVED, GroundEvidence, GroundProgram, GroundQuery, Node

__all__ = ["break_cycles"]

FALSE = 0


def break_cycles(program: GroundProgram) -> GroundProgram:
    """Return an equivalent acyclic program (new derived nodes are appended)."""
    return run_deep(lambda: _break(program), "cycle breaking")


def _break(program: GroundProgram) -> GroundProgram:
    nodes = list(program.nodes)
    n_orig = len(program.nodes)
    translation: dict[int, list[tuple[int, frozenset[int], frozenset[int]]]] = {}

    def tr(nid: int, ancestors: set[int]) -> tuple[int, set[int], set[int]]:
        """(new literal for nid, cut atoms below, expanded atoms below)"""
        node = nodes[nid]
        if node.kind != DERIVED or nid >= n_orig:
            return nid, set(), set()
        if nid in ancestors:
            return FALSE, {nid}, set()
        if node.certain:
            return nid, set(), set()
        here = ancestors | {nid}
        for new_id, cb, cn in translation.get(nid, ()):
            if cb <= here and not (cn & here):
                return new_id, set(cb), set(cn)
        ancestors.add(nid)
        cut: set[int] = set()
        content: set[int] = set()

        def bodies_of(src: set[tuple[int, ...]]) -> set[tuple[int, ...]]:
            out: set[tuple[int, ...]] = set()
            for body in src:
                new_body: list[int] = []
                alive = True
                for lit in body:
                    sub, cb, cn = tr(abs(lit), ancestors)
                    cut.update(cb)
                    content.update(cn)
                    if nodes[abs(lit)].kind == DERIVED and sub != FALSE:
                        content.add(abs(lit))
                    if sub == FALSE:
                        if lit > 0:
                            alive = False
                            break
                        continue  # not(false) is true
                    new_body.append(sub if lit > 0 else -sub)
                if alive:
                    out.add(tuple(sorted(set(new_body))))
            return out

        pos = bodies_of(node.bodies)
        neg = bodies_of(node.neg_bodies)
        ancestors.discard(nid)
        cut.discard(nid)
        content.discard(nid)
        if not pos:
            new_id = FALSE
        elif not cut and not (content & ancestors) and pos == node.bodies and neg == node.neg_bodies:
            new_id = nid  # nothing changed below: keep the original atom
        else:
            nodes.append(Node(DERIVED, node.label, bodies=pos, neg_bodies=neg))
            new_id = len(nodes) - 1
        translation.setdefault(nid, []).append((new_id, frozenset(cut), frozenset(content)))
        return new_id, cut, content

    def root(lit: int | None) -> int | None:
        if lit is None or lit == 0:
            return lit
        new, _, _ = tr(abs(lit), set())
        if new == FALSE:
            return 0
        return new if lit > 0 else -new

    queries = [GroundQuery(q.term, root(q.literal), q.negated) for q in program.queries]
    evidence = [GroundEvidence(e.term, root(e.literal), e.value) for e in program.evidence]
    return replace(program, nodes=nodes, queries=queries, evidence=evidence)
