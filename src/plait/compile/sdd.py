"""Knowledge compilation of the lineage into SDDs with PySDD.

Acyclic components get one SDD per atom (the disjunction of its bodies, minus
its negative-head bodies). Cyclic components are compiled by TP-compilation:
starting from false, every atom's SDD is recomputed from the current SDDs of
the component until none changes (SDDs are canonical in one manager, so
"unchanged" is a node-id comparison). This is the least fixpoint, hence correct
on positive cycles where Clark completion is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from pysdd.sdd import SddManager, SddNode

from ..errors import CompilationError
from ..ground.ground_program import CHOICE, COIN, DERIVED
from ..logic.lineage import Lineage
from .variables import VariableMap, assign_variables

__all__ = ["SddCompilation", "compile_sdd"]


@dataclass
class SddCompilation:
    manager: SddManager
    variables: VariableMap
    lit_sdd: dict[int, SddNode]  # node id -> SDD of its positive literal (derived, coins, choices)

    def literal(self, lit: int) -> SddNode:
        if lit == 0:
            return self.manager.false()
        node = self.lit_sdd[abs(lit)]
        return node if lit > 0 else ~node


def _used_leaves(lineage: Lineage) -> set[int]:
    prog = lineage.program
    used: set[int] = set()
    for comp in lineage.components:
        for nid in comp.nodes:
            n = prog.nodes[nid]
            for body in list(n.bodies) + list(n.neg_bodies):
                for lit in body:
                    if prog.nodes[abs(lit)].kind != DERIVED:
                        used.add(abs(lit))
    for r in lineage.roots:
        if prog.nodes[abs(r)].kind != DERIVED:
            used.add(abs(r))
    return used


def compile_sdd(lineage: Lineage, max_iterations: int = 100_000) -> SddCompilation:
    prog = lineage.program
    used = _used_leaves(lineage)
    vmap = assign_variables(prog, used)
    mgr = SddManager(max(1, vmap.n_vars), False)
    lit_sdd: dict[int, SddNode] = {}
    for nid, var in vmap.node_var.items():
        lit_sdd[nid] = mgr.literal(var + 1)
    for nid, (gpos, idx) in vmap.choice_of.items():
        vars_ = vmap.group_vars[gpos]
        f = mgr.literal(vars_[idx] + 1)
        for j in range(idx):
            f = f & mgr.literal(-(vars_[j] + 1))
        lit_sdd[nid] = f
    comp = SddCompilation(mgr, vmap, lit_sdd)
    false = mgr.false()

    def definition(nid: int) -> SddNode:
        n = prog.nodes[nid]
        pos = false
        for body in n.bodies:
            term = mgr.true()
            for lit in body:
                term = term & comp.literal(lit)
                if term.is_false():
                    break
            pos = pos | term
            if pos.is_true():
                break
        if n.neg_bodies:
            neg = false
            for body in n.neg_bodies:
                term = mgr.true()
                for lit in body:
                    term = term & comp.literal(lit)
                neg = neg | term
            pos = pos & ~neg
        return pos

    for c in lineage.components:
        if not c.cyclic:
            nid = c.nodes[0]
            lit_sdd[nid] = definition(nid)
            continue
        for nid in c.nodes:
            lit_sdd[nid] = false
        for _ in range(max_iterations):
            changed = False
            for nid in c.nodes:
                new = definition(nid)
                if new.id != lit_sdd[nid].id:
                    lit_sdd[nid] = new
                    changed = True
            if not changed:
                break
        else:
            raise CompilationError(f"TP-compilation of a recursive component did not converge in {max_iterations} steps")
    _ = (COIN, CHOICE)
    return comp
