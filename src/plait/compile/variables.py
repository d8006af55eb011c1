"""Which circuit variable stands for which probabilistic choice, and its weight.

Probabilistic facts get one variable each. An annotated disjunction with heads
h_1..h_n gets variables c_1..c_n with the sequential encoding

    h_i  =  c_i  and not c_1 ... and not c_{i-1},     P(c_i) = p_i / (1 - p_1 - ... - p_{i-1})

which keeps every variable an independent coin (so plain weighted model
counting is exact) and makes the weights differentiable functions of the p_i.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..ground.ground_program import CHOICE, COIN, GroundProgram

__all__ = ["VariableMap", "assign_variables", "choice_weights"]


@dataclass(frozen=True, slots=True)
class VariableMap:
    n_vars: int
    coin_nodes: tuple[int, ...]  # node id of each coin
    coin_vars: tuple[int, ...]  # its variable (0-based)
    coin_probs: tuple[float, ...]
    group_ids: tuple[int, ...]  # ground-program group index of each used group
    group_vars: tuple[tuple[int, ...], ...]  # variables c_1..c_k of each used group
    group_probs: tuple[tuple[float, ...], ...]  # p_1..p_k of each used group
    node_var: dict[int, int]  # coin node id -> variable
    choice_of: dict[int, tuple[int, int]]  # choice node id -> (used-group position, head index)


def assign_variables(program: GroundProgram, used: set[int]) -> VariableMap:
    """Give variables to the coins and choices in ``used`` (node ids)."""
    n = 0
    coin_nodes, coin_vars, coin_probs = [], [], []
    node_var: dict[int, int] = {}
    for nid in sorted(used):
        node = program.nodes[nid]
        if node.kind == COIN:
            node_var[nid] = n
            coin_nodes.append(nid)
            coin_vars.append(n)
            coin_probs.append(node.prob)
            n += 1
    groups_used: dict[int, int] = {}
    for nid in sorted(used):
        node = program.nodes[nid]
        if node.kind == CHOICE:
            groups_used[node.group] = max(groups_used.get(node.group, 0), node.index + 1)
    group_ids, group_vars, group_probs = [], [], []
    choice_of: dict[int, tuple[int, int]] = {}
    for g, k in sorted(groups_used.items()):
        group_ids.append(g)
        group_vars.append(tuple(range(n, n + k)))
        group_probs.append(program.groups[g].probs[:k])
        n += k
    group_pos = {g: i for i, g in enumerate(group_ids)}
    for nid in used:
        node = program.nodes[nid]
        if node.kind == CHOICE:
            choice_of[nid] = (group_pos[node.group], node.index)
    return VariableMap(
        n,
        tuple(coin_nodes),
        tuple(coin_vars),
        tuple(coin_probs),
        tuple(group_ids),
        tuple(group_vars),
        tuple(group_probs),
        node_var,
        choice_of,
    )


def choice_weights(probs: torch.Tensor) -> torch.Tensor:
    """Sequential-encoding coin probabilities ``q`` from head probabilities ``p`` (last dim).

    >>> choice_weights(torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64))
    tensor([0.2000, 0.3750, 1.0000], dtype=torch.float64)
    """
    before = torch.cumsum(probs, dim=-1) - probs
    rest = (1.0 - before).clamp_min(0.0)
    safe = torch.where(rest > 0, rest, torch.ones_like(rest))
    q = torch.where(rest > 0, probs / safe, torch.zeros_like(probs))
    return q.clamp(0.0, 1.0)
