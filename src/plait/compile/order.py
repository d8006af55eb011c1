"""The left-to-right order of the variables in the vtree.

The order decides the size of the SDD (exponentially, in the worst case). Two
orders from the program's structure:

* ``"grounding"``: the order in which grounding created the coins and AD heads
  (node ids). Grounding works top-down from the queries and evidence, so atoms
  that are used together are created together. An AD's variables stay together
  and go where its first used head was created: putting all AD variables after
  all coins (the order of the variable numbers) made a 10-choice program with
  evidence compile to 2.5 million SDD nodes instead of a few hundred, because
  every coin had to be remembered until the choices came at the end.
* ``"dfs"``: first use in a depth-first walk of the definitions from the
  queries and evidence (the classic BDD heuristic for circuits).

>>> from plait import Program
>>> from plait.logic.lineage import build_lineage
>>> from plait.compile.sdd import _used_leaves
>>> from plait.compile.variables import assign_variables
>>> g = Program.from_string("0.5::a. 0.2::c; 0.8::d. q :- a, c. query(q).").ground()
>>> lin = build_lineage(g)
>>> vm = assign_variables(g, _used_leaves(lin))
>>> variable_order(lin, vm, "grounding")
[1, 2]
"""

from __future__ import annotations

from ..ground.ground_program import COIN, DERIVED
from ..logic.lineage import Lineage
from .variables import VariableMap

__all__ = ["ORDERS", "variable_order"]

ORDERS = ("grounding", "dfs")


def variable_order(lineage: Lineage, variables: VariableMap, order: str = "grounding") -> list[int]:
    """The SDD variables (1-based) from left to right in the vtree."""
    if order == "dfs":
        return _dfs_order(lineage, variables)
    # a variable's key: the node id of its coin, or of the first used head of its AD
    # (the AD's variables stay in head order right there)
    key: dict[int, tuple[int, int]] = {v: (nid, 0) for nid, v in variables.node_var.items()}
    first_head: dict[int, int] = {}
    for nid, (g, _) in variables.choice_of.items():
        first_head[g] = min(first_head.get(g, nid), nid)
    for g, nid in first_head.items():
        for j, v in enumerate(variables.group_vars[g]):
            key[v] = (nid, j)
    return [v + 1 for v in sorted(range(variables.n_vars), key=lambda v: key.get(v, (1 << 62, v)))]


def _dfs_order(lineage: Lineage, variables: VariableMap) -> list[int]:
    prog = lineage.program
    order: list[int] = []
    placed: set[int] = set()
    seen: set[int] = set()

    def place(vars_: tuple[int, ...] | list[int]) -> None:
        for v in vars_:
            if v not in placed:
                placed.add(v)
                order.append(v + 1)

    for root in lineage.roots:
        work = [abs(root)]
        while work:
            nid = work.pop()
            if nid in seen:
                continue
            seen.add(nid)
            node = prog.nodes[nid]
            if node.kind == DERIVED:
                kids = [abs(x) for body in sorted(node.bodies) + sorted(node.neg_bodies) for x in body]
                work.extend(reversed(kids))
            elif node.kind == COIN:
                if nid in variables.node_var:
                    place([variables.node_var[nid]])
            elif nid in variables.choice_of:
                place(variables.group_vars[variables.choice_of[nid][0]])
    place(range(variables.n_vars))  # anything the walk did not reach
    return order
