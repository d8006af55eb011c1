"""The rules of a ground program as index tensors, for evaluating them on a batch of values.

Used where a program is evaluated on its rules rather than on a compiled circuit:
fuzzy t-norms (:mod:`.fuzzy`) and sampled worlds (:mod:`.approx.sampling`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..ground.ground_program import GroundProgram

__all__ = ["RuleIndex"]


@dataclass(frozen=True, slots=True)
class RuleIndex:
    """Every body of the derived atoms ``nodes`` as a segment of literals.

    Literal ``k`` is node ``lit_node[k]`` (negated where ``lit_neg``) of body ``lit_body[k]``;
    ``pos_bodies``/``neg_bodies`` are the bodies that make their owner true / (for a negative
    head) false, and ``pos_owner``/``neg_owner`` their owners' positions in ``nodes``.
    """

    nodes: torch.Tensor
    lit_node: torch.Tensor
    lit_neg: torch.Tensor
    lit_body: torch.Tensor
    n_bodies: int
    pos_bodies: torch.Tensor
    pos_owner: torch.Tensor
    neg_bodies: torch.Tensor
    neg_owner: torch.Tensor

    @classmethod
    def build(cls, gp: GroundProgram, nodes: Sequence[int], device: torch.device | None = None) -> RuleIndex:
        lit_node, lit_neg, lit_body, owner_l, negative_l = [], [], [], [], []
        for local, nid in enumerate(nodes):
            for negative, bodies in ((False, gp.nodes[nid].bodies), (True, gp.nodes[nid].neg_bodies)):
                for body in sorted(bodies):
                    b = len(owner_l)
                    owner_l.append(local)
                    negative_l.append(negative)
                    for lit in body:
                        lit_node.append(abs(lit))
                        lit_neg.append(lit < 0)
                        lit_body.append(b)
        owner = torch.tensor(owner_l, dtype=torch.long, device=device)
        negative = torch.tensor(negative_l, dtype=torch.bool, device=device)
        return cls(
            torch.tensor(list(nodes), dtype=torch.long, device=device),
            torch.tensor(lit_node, dtype=torch.long, device=device),
            torch.tensor(lit_neg, dtype=torch.bool, device=device),
            torch.tensor(lit_body, dtype=torch.long, device=device),
            len(owner_l),
            torch.nonzero(~negative).flatten(),
            owner[~negative],
            torch.nonzero(negative).flatten(),
            owner[negative],
        )

    def literals(self, values: torch.Tensor) -> torch.Tensor:
        """``[batch, n_literals]``: each literal's value (``1 - x`` for a negated one)."""
        x = values[:, self.lit_node]
        return torch.where(self.lit_neg, 1 - x, x)
