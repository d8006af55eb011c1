"""Knowledge compilation of the lineage into SDDs with PySDD.

Acyclic components get one SDD per atom (the disjunction of its bodies, minus
its negative-head bodies). Cyclic components are compiled by TP-compilation:
starting from false, every atom's SDD is recomputed from the current SDDs of
the component until none changes (SDDs are canonical in one manager, so
"unchanged" is a node-id comparison). This is the least fixpoint, hence correct
on positive cycles where Clark completion is not.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pysdd.sdd import SddManager, SddNode, Vtree

from ..errors import CompilationBudgetError, CompilationError
from ..ground.ground_program import DERIVED, GroundProgram
from ..logic.lineage import Lineage
from ..syntax.printing import format_term
from ..syntax.terms import Term
from .order import ORDERS, variable_order
from .variables import VariableMap, assign_variables

__all__ = ["DEFAULT_MAX_SDD_SIZE", "SddCompilation", "compile_sdd"]

# The default budget in SDD elements (the size the SDD library reports), checked
# after every operation: about 0.6 GB of memory per million elements went into
# compiling and evaluating (measured on smokers, peak resident memory).
DEFAULT_MAX_SDD_SIZE = 10_000_000


@dataclass
class SddCompilation:
    manager: SddManager
    variables: VariableMap
    lit_sdd: dict[int, SddNode]  # node id -> SDD of its positive literal (derived, coins, choices)
    max_size: int | None = DEFAULT_MAX_SDD_SIZE

    def literal(self, lit: int) -> SddNode:
        if lit == 0:
            return self.manager.false()
        node = self.lit_sdd[abs(lit)]
        return node if lit > 0 else ~node

    def check_budget(self, program: GroundProgram, what: str, term: Term | None = None) -> None:
        """Raise :class:`~plait.errors.CompilationBudgetError` if the SDDs have grown past the budget.

        ``what`` names the step; ``{}`` in it is replaced by ``term`` (printed only for the error).
        """
        if self.max_size is not None and self.manager.size() > self.max_size:
            raise budget_error(program, what.format(format_term(term)) if term is not None else what, self.max_size)


def budget_error(program: GroundProgram, what: str, max_size: int) -> CompilationBudgetError:
    """The error for an SDD that outgrew ``max_size``; it names the queries and how to go on."""
    names = [("\\+" if q.negated else "") + format_term(q.term) for q in program.queries]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    n_ev = len(program.evidence)
    given = f" given {n_ev} evidence atom{'s' if n_ev != 1 else ''}" if n_ev else ""
    return CompilationBudgetError(
        f"compiling the queries {shown or '(none)'}{given} grew the SDD past the budget of "
        f"{max_size:,} elements (while compiling {what})",
        hint="raise the budget with Program.compile(..., max_sdd_size=N) or Program.query(..., max_sdd_size=N) "
        "(about 0.6 GB of memory per million elements), or simplify the program: fewer queries at once, "
        "less evidence, smaller domains",
    )


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


class _OverBudget(Exception):
    pass


def compile_sdd(
    lineage: Lineage,
    max_iterations: int = 10_000,
    strategy: str = "auto",
    max_size: int | None = DEFAULT_MAX_SDD_SIZE,
    order: str = "grounding",
) -> SddCompilation:
    """Compile every atom of ``lineage`` to an SDD.

    ``strategy="auto"`` first tries a right-linear vtree without vtree search
    (fastest on reachability-like programs); if that grows past a node budget it
    starts again with a balanced vtree and dynamic minimization (which wins on
    densely connected programs such as social networks). ``"right"`` and
    ``"balanced-minimize"`` force one of the two. ``order`` is the variable
    order of the vtree (see :mod:`plait.compile.order`). ``max_size`` bounds the
    SDDs (in elements; ``None``: no bound): past it,
    :class:`~plait.errors.CompilationBudgetError` names the queries.
    """
    if order not in ORDERS:
        raise CompilationError(f"unknown variable order {order!r}", hint=f"use one of {', '.join(ORDERS)}")
    if strategy == "right":
        return _compile_sdd(lineage, max_iterations, vtree="right", minimize=False, max_size=max_size, order=order)
    if strategy == "balanced-minimize":
        return _compile_sdd(
            lineage, max_iterations, vtree="balanced", minimize=True, minimize_above=0, max_size=max_size, order=order
        )
    if strategy != "auto":
        raise CompilationError(f"unknown SDD strategy {strategy!r}", hint="use auto, right or balanced-minimize")
    first = 1_000_000 if max_size is None else min(1_000_000, max_size)
    try:
        return _compile_sdd(lineage, max_iterations, vtree="right", minimize=False, budget=first, order=order)
    except _OverBudget:
        return _compile_sdd(
            lineage, max_iterations, vtree="balanced", minimize=True, minimize_above=0, max_size=max_size, order=order
        )


def _compile_sdd(
    lineage: Lineage,
    max_iterations: int = 10_000,
    minimize: bool = True,
    minimize_above: int = 200_000,
    vtree: str = "right",
    budget: int | None = None,
    max_size: int | None = DEFAULT_MAX_SDD_SIZE,
    order: str = "grounding",
) -> SddCompilation:
    """Compile every atom of ``lineage`` to an SDD.

    ``vtree`` is the initial vtree type ("right", "balanced", "left", ...).
    With ``minimize``, once the manager holds more than ``minimize_above`` live
    nodes the SDD library's dynamic vtree search is switched on (it can shrink
    large SDDs by orders of magnitude but costs time on small ones). Every node
    we keep or are still combining is reference-counted, because with garbage
    collection on, unreferenced nodes may be freed by any later operation.
    ``budget`` (quietly, to try another strategy) and ``max_size`` (with
    :class:`~plait.errors.CompilationBudgetError`) bound the manager's size.
    """
    prog = lineage.program
    used = _used_leaves(lineage)
    vmap = assign_variables(prog, used)
    # A right-linear vtree over the variables in grounding order (an OBDD-like
    # order that follows the program's structure) compiles reachability and
    # social-network programs far smaller than a balanced one; see
    # docs/benchmarks.md. ``vtree`` may be any PySDD vtree type.
    var_order = variable_order(lineage, vmap, order) if vmap.n_vars > 1 else None
    mgr = SddManager.from_vtree(Vtree(max(1, vmap.n_vars), var_order, vtree))
    lit_sdd: dict[int, SddNode] = {}
    for nid, var in vmap.node_var.items():
        lit_sdd[nid] = mgr.literal(var + 1)
    for nid, (gpos, idx) in vmap.choice_of.items():
        vars_ = vmap.group_vars[gpos]
        f = mgr.literal(vars_[idx] + 1)
        for j in range(idx):
            f = f & mgr.literal(-(vars_[j] + 1))
        lit_sdd[nid] = f
    for node in lit_sdd.values():
        node.ref()
    if minimize and (minimize_above == 0 or any(c.cyclic and len(c.nodes) >= 4 for c in lineage.components)):
        # fixpoint iteration over large recursive components builds big SDDs
        # repeatedly; there the vtree search pays for itself from the start
        mgr.auto_gc_and_minimize_on()
    comp = SddCompilation(mgr, vmap, lit_sdd, max_size)
    current = [0]  # the atom being compiled, for the budget error

    def combine(a: SddNode, b: SddNode, conj: bool) -> SddNode:
        """a op b, referenced; releases a (the running result) but not b."""
        # (the size is a counter in the manager: checking it costs ~0.1 us)
        size = mgr.size()
        if budget is not None and size > budget:
            raise _OverBudget
        if max_size is not None and size > max_size:
            label = prog.nodes[current[0]].label
            raise budget_error(prog, format_term(label) if label is not None else "an atom", max_size)
        r = (a & b) if conj else (a | b)
        r.ref()
        a.deref()
        return r

    def literal_ref(lit: int) -> tuple[SddNode, bool]:
        node = lit_sdd[abs(lit)]
        if lit > 0:
            return node, False
        neg = ~node
        neg.ref()
        return neg, True

    def disjunction(bodies) -> SddNode:
        acc = mgr.false()
        acc.ref()
        for body in bodies:
            term = mgr.true()
            term.ref()
            for lit in body:
                if lit == 0:
                    x, tmp = mgr.false(), False
                else:
                    x, tmp = literal_ref(lit)
                term = combine(term, x, True)
                if tmp:
                    x.deref()
                if term.is_false():
                    break
            acc = combine(acc, term, False)
            term.deref()
            if acc.is_true():
                break
        return acc

    def definition(nid: int) -> SddNode:
        current[0] = nid
        n = prog.nodes[nid]
        pos = disjunction(n.bodies)
        if n.neg_bodies:
            neg = disjunction(n.neg_bodies)
            nneg = ~neg
            nneg.ref()
            neg.deref()
            pos = combine(pos, nneg, True)
            nneg.deref()
        return pos

    try:
        for c in lineage.components:
            if not c.cyclic:
                nid = c.nodes[0]
                lit_sdd[nid] = definition(nid)
                if minimize and not mgr.is_auto_gc_and_minimize_on() and mgr.live_size() > minimize_above:
                    mgr.auto_gc_and_minimize_on()
                continue
            # semi-naive TP iteration: recompute an atom only when an atom of
            # this component that it uses has changed (worklist, FIFO)
            members = set(c.nodes)
            users: dict[int, list[int]] = {m: [] for m in c.nodes}
            for m in c.nodes:
                n = prog.nodes[m]
                for body in list(n.bodies) + list(n.neg_bodies):
                    for lit in body:
                        if abs(lit) in members and m not in users[abs(lit)]:
                            users[abs(lit)].append(m)
            for nid in c.nodes:
                f = mgr.false()
                f.ref()
                lit_sdd[nid] = f
            # only atoms with a body outside the component can become true first
            start = [m for m in c.nodes if any(all(abs(x) not in members for x in b) for b in prog.nodes[m].bodies)]
            queue = deque(start)
            queued = set(start)
            steps = 0
            while queue:
                steps += 1
                if steps > max_iterations * len(c.nodes):
                    raise CompilationError(
                        f"TP-compilation of a recursive component did not converge in {max_iterations} rounds"
                    )
                nid = queue.popleft()
                queued.discard(nid)
                new = definition(nid)
                old = lit_sdd[nid]
                if new.id == old.id:
                    new.deref()
                    continue
                lit_sdd[nid] = new
                old.deref()
                for u in users[nid]:
                    if u not in queued:
                        queued.add(u)
                        queue.append(u)
            if minimize and not mgr.is_auto_gc_and_minimize_on() and mgr.live_size() > minimize_above:
                mgr.auto_gc_and_minimize_on()
    finally:
        # later operations (queries, evidence, circuit extraction) run without
        # garbage collection, so their temporaries need no reference counting
        if mgr.is_auto_gc_and_minimize_on():
            mgr.auto_gc_and_minimize_off()
    return comp
