"""Leaf weights: the one place where probabilities become the inputs of a circuit.

A compiled circuit has one variable per probabilistic fact, then the variables of
each used annotated disjunction (see :mod:`plait.compile.variables`). Every caller
(``CompiledQuery``, neural models, explanations, ``plait mpe``) builds its leaf
inputs here:

- :func:`circuit_weights` for sum-product evaluation: fact probabilities as they
  are, AD head probabilities turned into sequential-encoding coins;
- :func:`choice_literals` for the explanation circuit (max-log, max-min), whose AD
  groups carry an exactly-one constraint instead (see :class:`~plait.inference.mpe.MpeCircuit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..circuit.semiring import Semiring
from ..compile.variables import VariableMap, choice_weights
from ..errors import InferenceError

__all__ = ["SharedChoices", "circuit_weights", "choice_literals", "rest_outcome"]


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


def choice_literals(
    semiring: Semiring,
    variables: VariableMap,
    n_vars: int,
    rest_vars: Sequence[int],
    facts: torch.Tensor,
    heads: Sequence[torch.Tensor],
    rest: Sequence[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Literal values ``pos``, ``neg`` ``[B, n_vars]`` of an explanation circuit, and an offset ``[B]``.

    For a semiring of form ``"choices"`` (max-log, max-min): ``facts`` is ``[B, n_facts]``;
    ``heads[g]`` ``[B, k_g]`` the probabilities of the circuit's heads of used group ``g``
    (0 for a head that must not be chosen) and ``rest[g]`` ``[B]`` the probability of its
    "rest" outcome (the other heads or none). The semiring says what each becomes
    (``fact_literals``, ``ad_literals``); the offset is combined with a root by ``mul``.
    """
    batch = facts.shape[0]
    dtype, device = facts.dtype, facts.device
    # a head's negative literal (and any variable not set below) is neutral: the semiring's one
    pos = torch.full((batch, n_vars), semiring.one, dtype=dtype, device=device)
    neg = torch.full((batch, n_vars), semiring.one, dtype=dtype, device=device)
    offset = torch.full((batch,), semiring.one, dtype=dtype, device=device)
    if facts.shape[-1]:
        cols = torch.tensor(variables.coin_vars, device=device)
        pos[:, cols], neg[:, cols], off = semiring.fact_literals(facts)
        offset = semiring.mul(offset, off)
    for g, (h, r) in enumerate(zip(heads, rest)):
        cols = torch.tensor(variables.group_vars[g], device=device)
        pos[:, cols], pos[:, rest_vars[g]], off = semiring.ad_literals(h, r)
        offset = semiring.mul(offset, off)
    return pos, neg, offset


def rest_outcome(p: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The best world outside an AD's first ``k`` heads: ``(probability, head index or -1 for no head)``.

    The queries cannot tell the later heads apart, so the best of them is the
    most probable one (not their sum: that would be a set of worlds).
    """
    none = (1 - p.sum(-1)).clamp_min(0)
    if p.shape[-1] > k:
        best, idx = p[:, k:].max(-1)
        take = best >= none
        return torch.where(take, best, none), torch.where(take, idx + k, torch.full_like(idx, -1))
    return none, torch.full(none.shape, -1, dtype=torch.long, device=p.device)
