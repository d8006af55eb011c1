"""What the modes share: reading a program, the relevant choices of a ground program, one world's weights."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..ground.ground_program import CHOICE, COIN, GroundProgram, GroundQuery
from ..inference import CompiledQuery, compile_ground_program
from ..program import Program
from ..syntax.printing import format_term
from ..syntax.terms import Struct

__all__ = ["as_program", "Choices", "relevant_choices", "compile_with_evidence_root", "world_weights"]

# a query that is always true: its root in a compiled program is the evidence alone
_TRUE_QUERY = GroundQuery(Struct("$evidence"), None)


def as_program(program: Program | str) -> Program:
    """``program`` itself, or the program written in the string."""
    return program if isinstance(program, Program) else Program.from_string(program)


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
