"""What the modes share: reading a program, the relevant choices of a ground program, one world's weights."""

from __future__ import annotations

import torch

from ..ground.ground_program import GroundProgram, GroundQuery
from ..inference import CompiledQuery, compile_ground_program
from ..inference.approx.proofs import Choices, relevant_choices
from ..program import Program
from ..syntax.printing import format_term
from ..syntax.terms import Struct

__all__ = ["as_program", "Choices", "relevant_choices", "compile_with_evidence_root", "world_weights"]

# a query that is always true: its root in a compiled program is the evidence alone
_TRUE_QUERY = GroundQuery(Struct("$evidence"), None)


def as_program(program: Program | str) -> Program:
    """``program`` itself, or the program written in the string."""
    return program if isinstance(program, Program) else Program.from_string(program)


def compile_with_evidence_root(gp: GroundProgram) -> CompiledQuery:
    """Compile the queries plus one always-true query, whose root is the evidence alone (the last query)."""
    program = GroundProgram(gp.nodes, gp.groups, [*gp.queries, _TRUE_QUERY], gp.evidence)
    return compile_ground_program(program)


def label(gp: GroundProgram, nid: int) -> str:
    lbl = gp.nodes[nid].label
    return format_term(lbl) if lbl is not None else f"node{nid}"


def world_weights(cq: CompiledQuery, coin_values: torch.Tensor, heads: list[torch.Tensor]) -> torch.Tensor:
    """0/1 variable weights ``[B, n_vars]`` of worlds for the circuit of ``cq``.

    ``coin_values`` is ``[B, n_facts]`` (0/1, in ``cq.fact_labels`` order); ``heads[g]``
    is ``[B]``, the chosen head of used group ``g`` (-1 or an index past the heads the
    circuit has for "another head or none"). In the sequential encoding head ``i``
    is ``c_i`` and not ``c_j`` for ``j < i``, so setting only ``c_i`` selects it.
    """
    vm = cq.variables
    batch = coin_values.shape[0]
    w = torch.zeros(batch, vm.n_vars, dtype=torch.float64)
    if vm.coin_vars:
        w[:, list(vm.coin_vars)] = coin_values.to(torch.float64)
    for g, vars_ in enumerate(vm.group_vars):
        h = heads[g]
        for i, v in enumerate(vars_):
            w[:, v] = (h == i).to(torch.float64)
    return w
