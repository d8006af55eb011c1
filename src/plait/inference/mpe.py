"""The explanation circuit: most probable worlds of compiled queries (max-log semiring)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from pysdd.sdd import SddNode

from ..circuit.layered import from_sdd
from ..compile.sdd import SddCompilation

__all__ = ["MpeCircuit", "build_mpe_circuit"]


class MpeCircuit(torch.nn.Module):
    """Circuits whose max-log value is the log probability of the most probable world of each query.

    The sequential AD encoding cannot be maximised directly: a head chosen early
    leaves the later coins of its group free, and a maximum (unlike a sum) does
    not add their weights up to one. So each used AD group gets an exactly-one
    constraint over its coins plus a "rest" variable (the unused heads and "no
    head"); under that constraint a coin is true iff its head is chosen, and the
    literal weights ``c_i: p_i, not c_i: 1, rest: 1 - sum p`` give every world the
    product of its chosen heads. Fact weights are divided by ``max(p, 1 - p)`` so
    that a fact the circuit leaves out counts as its more likely value; the
    offset is added back (see :func:`plait.inference.weights.choice_literals`).
    """

    def __init__(self, circuit: torch.nn.Module, rest_vars: list[int]) -> None:
        super().__init__()
        self.circuit = circuit
        self.rest_vars = rest_vars
        self._elements: dict[int, list[tuple[int, int]]] | None = None

    def elements(self) -> dict[int, list[tuple[int, int]]]:
        """Node position -> its (prime, sub) positions, computed once."""
        if self._elements is None:
            self._elements = self.circuit.elements()
        return self._elements

    def best_literals(self, values: Sequence[float], root: int) -> list[int]:
        """The literal positions of the best world below ``root``, given max-log node ``values`` of one example.

        Decision nodes take their best element; a position ``< n_vars`` is a positive
        literal, ``< 2 * n_vars`` a negative one, the rest are the constants.
        """
        elements = self.elements()
        out: list[int] = []
        stack = [root]
        while stack:
            node = stack.pop()
            es = elements.get(node)
            if es is None:
                out.append(node)
                continue
            best, best_v = es[0], float("-inf")
            for p, s in es:
                v = values[p] + values[s]
                if v > best_v:
                    best, best_v = (p, s), v
            stack.extend(best)
        return out


def build_mpe_circuit(comp: SddCompilation, roots: Sequence[SddNode]) -> MpeCircuit:
    """Conjoin each query root with one exactly-one constraint per used AD group (see :class:`MpeCircuit`)."""
    mgr = comp.manager
    vmap = comp.variables
    constraint = mgr.true()
    rest_vars: list[int] = []
    for vars_ in vmap.group_vars:
        mgr.add_var_after_last()
        rest = mgr.var_count()  # 1-based SDD variable
        rest_vars.append(rest - 1)
        lits = [v + 1 for v in vars_] + [rest]
        eo = mgr.false()
        for i in lits:
            term = mgr.literal(i)
            for j in lits:
                if j != i:
                    term = term & mgr.literal(-j)
            eo = eo | term
        constraint = constraint & eo
    mpe_roots = [r & constraint for r in roots]
    circuit = from_sdd(mpe_roots, mgr.var_count())
    return MpeCircuit(circuit, rest_vars)
