"""Leaf weights: the one place where probabilities become the inputs of a circuit.

A compiled circuit has one variable per probabilistic fact, then the variables of
each used annotated disjunction (see :mod:`plait.compile.variables`). Every caller
(``CompiledQuery``, neural models, explanations, ``plait mpe``) builds its leaf
inputs here:

- :func:`circuit_weights` for sum-product evaluation: fact probabilities as they
  are, AD head probabilities turned into sequential-encoding coins;
- :func:`mpe_literals` for the max-log explanation circuit, whose AD groups carry
  an exactly-one constraint instead (see :class:`~plait.inference.mpe.MpeCircuit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..compile.variables import VariableMap, choice_weights
from ..errors import InferenceError

__all__ = ["SharedChoices", "circuit_weights", "mpe_literals"]


@dataclass(frozen=True, slots=True)
class SharedChoices:
    """Head probabilities of several AD groups from one network call: ``probs[i]`` is group ``groups[i]``'s.

    ``probs`` is ``[n_uses, batch, width]``; the coin conversion runs once for all
    uses (coins are prefix-consistent, so a group that uses only its first k heads
    takes the first k coins).
    """

    groups: tuple[int, ...]
    probs: torch.Tensor


def circuit_weights(
    variables: VariableMap,
    facts: torch.Tensor,
    ads: Sequence[torch.Tensor | SharedChoices | None],
    defaults: Sequence[torch.Tensor] = (),
) -> torch.Tensor:
    """Variable weights ``[..., n_vars]``: fact probabilities, then each used AD's sequential coins.

    ``facts`` is ``[..., n_facts]``; ``ads`` has one entry per used AD group (its head
    probabilities ``[..., domain]`` or ``[domain]``), or :class:`SharedChoices` blocks
    that fill several groups, or None where ``defaults[g]`` (the program's numbers)
    applies. A leading batch shape is broadcast over the entries that lack it.

    >>> from plait.compile.variables import VariableMap
    >>> vm = VariableMap(3, (0,), (0,), (0.5,), (0,), ((1, 2),), ((0.2, 0.3),), {}, {})
    >>> circuit_weights(vm, torch.tensor([0.5]), [torch.tensor([0.2, 0.3, 0.5])]).tolist()
    [0.5, 0.2, 0.375]
    """
    n_groups = len(variables.group_vars)
    coins: list[torch.Tensor | None] = [None] * n_groups
    plain = [a for a in ads if not isinstance(a, SharedChoices)]
    if plain and len(plain) != n_groups:
        raise InferenceError(f"expected {n_groups} AD probability tensors, got {len(plain)}")
    pos = 0
    for a in ads:
        if isinstance(a, SharedChoices):
            block = choice_weights(a.probs)  # [n_uses, B, width]: one conversion for the network
            for i, g in enumerate(a.groups):
                coins[g] = block[i, :, : len(variables.group_vars[g])]
            continue
        if a is not None:
            coins[pos] = choice_weights(a)[..., : len(variables.group_vars[pos])]
        pos += 1
    for g, c in enumerate(coins):
        if c is None:
            if g >= len(defaults):
                raise InferenceError(f"no probabilities for annotated disjunction {g} of the circuit")
            coins[g] = choice_weights(defaults[g])
    parts = [facts, *coins]
    batch_shapes = {tuple(p.shape[:-1]) for p in parts if p.dim() > 1}
    if len(batch_shapes) > 1:
        raise InferenceError(f"inconsistent batch shapes of leaf probabilities: {sorted(batch_shapes)}")
    if batch_shapes:
        shape = batch_shapes.pop()
        parts = [p if p.dim() > 1 else p.expand(*shape, p.shape[-1]) for p in parts]
    return torch.cat(parts, dim=-1)


def mpe_literals(
    variables: VariableMap,
    n_vars: int,
    rest_vars: Sequence[int],
    facts: torch.Tensor,
    heads: Sequence[torch.Tensor],
    rest: Sequence[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Max-log literal values ``pos``, ``neg`` ``[B, n_vars]`` of an explanation circuit, and an offset ``[B]``.

    ``facts`` is ``[B, n_facts]``; ``heads[g]`` ``[B, k_g]`` the probabilities of the
    circuit's heads of used group ``g`` (0 for a head that must not be chosen) and
    ``rest[g]`` ``[B]`` the probability of its "rest" outcome (the other heads or
    none). A fact weighs ``p / max(p, 1 - p)``, so a fact the circuit leaves out
    counts as its more likely value; ``offset`` adds ``log max(p, 1 - p)`` back.
    """
    batch = facts.shape[0]
    dtype, device = facts.dtype, facts.device
    pos = torch.zeros(batch, n_vars, dtype=dtype, device=device)
    neg = torch.zeros(batch, n_vars, dtype=dtype, device=device)
    offset = torch.zeros(batch, dtype=dtype, device=device)
    if facts.shape[-1]:
        best = torch.maximum(facts, 1 - facts)
        cols = torch.tensor(variables.coin_vars, device=device)
        pos[:, cols] = torch.log(facts) - torch.log(best)
        neg[:, cols] = torch.log1p(-facts) - torch.log(best)
        offset = offset + torch.log(best).sum(-1)
    for g, (h, r) in enumerate(zip(heads, rest)):
        cols = torch.tensor(variables.group_vars[g], device=device)
        pos[:, cols] = torch.log(h)
        pos[:, rest_vars[g]] = torch.log(r)
    return pos, neg, offset
