"""Family 5, ensemble (Neuro -> Symbolic <- Neuro): several networks feed one program that arbitrates.

* :class:`Ensemble` is a :class:`plait.Model` with several expert networks
  (views, modalities, granularities such as a coarse and a fine classifier, or
  independent experts) whose program decides what holds. The experts train on
  their own labels (:meth:`Ensemble.train_experts`), jointly through the program
  (:func:`plait.fit`), or both.
* :class:`EDCR` (error detection and correction rules): rules learned from data
  that flag a network's prediction when it contradicts another network's under
  the program's constraint (a fine class outside the predicted super-class),
  kept when they were right often enough, and that then correct it (the most
  probable fine class consistent with the other network).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..nn.model import Model
from ..program import Program
from .core import class_accuracy, network_names, train_classifier
from .errors import FamilyError

__all__ = ["Ensemble", "EDCR", "Rule", "coarse_fine_program"]


def coarse_fine_program(fine_to_coarse: Sequence[int]) -> str:
    """The program of a fine and a coarse classifier that must agree: ``label(X, F)`` holds when the fine
    network says F and the coarse one says F's super-class.

    >>> print(coarse_fine_program([0, 0, 1]).splitlines()[-1])
    label(X, F) :- fine(X, F), coarse(X, C), super(F, C).
    """
    n_fine, n_coarse = len(fine_to_coarse), max(fine_to_coarse) + 1
    facts = " ".join(f"super({f}, {c})." for f, c in enumerate(fine_to_coarse))
    return (
        f"nn(fine_net, [X], F, [0..{n_fine - 1}]) :: fine(X, F).\n"
        f"nn(coarse_net, [X], C, [0..{n_coarse - 1}]) :: coarse(X, C).\n"
        f"{facts}\n"
        "label(X, F) :- fine(X, F), coarse(X, C), super(F, C).\n"
    )


class Ensemble(Model):
    """Several expert networks feeding one program.

    >>> fine = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(-1))
    >>> coarse = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.Softmax(-1))
    >>> ens = Ensemble(coarse_fine_program([0, 0, 1]), {"fine_net": fine, "coarse_net": coarse})
    >>> ens.experts, ens("label(X, F)", X=torch.rand(5, 4)).shape
    (['coarse_net', 'fine_net'], torch.Size([5, 3]))
    """

    def __init__(self, program: Program | str | Path, experts: Mapping[str, nn.Module], **model_kwargs: object):
        needed = network_names(program)
        if len(needed) < 2:
            raise FamilyError(
                f"an ensemble needs a program fed by at least two networks; this one uses {needed or 'none'}",
                hint="for one network use plait.Model; an ensemble arbitrates between experts",
            )
        super().__init__(program, experts, **model_kwargs)  # type: ignore[arg-type]

    @property
    def experts(self) -> list[str]:
        return sorted(self.networks.keys())

    def train_experts(
        self, data: Mapping[str, tuple[torch.Tensor, torch.Tensor]], **train_kwargs: object
    ) -> dict[str, list[float]]:
        """Train each named expert on its own ``(inputs, labels)``; returns the loss curves by name."""
        unknown = [n for n in data if n not in self.networks]
        if unknown:
            raise FamilyError(
                f"no expert named {', '.join(unknown)}", hint=f"the experts are {', '.join(self.experts)}"
            )
        return {n: train_classifier(self.networks[n], x, y, **train_kwargs) for n, (x, y) in data.items()}  # type: ignore[arg-type]

    def expert_accuracy(self, name: str, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        return class_accuracy(self.networks[name], inputs, labels)


@dataclass(frozen=True, slots=True)
class Rule:
    """``fine predicts `fine` and coarse predicts `coarse` (inconsistent) -> the fine prediction is wrong``.

    ``precision``: the share of training cases under this condition where the fine
    prediction was wrong; ``support``: how many cases there were.
    """

    fine: int
    coarse: int
    precision: float
    support: int

    @property
    def text(self) -> str:
        return (
            f"error if fine={self.fine} and coarse={self.coarse} "
            f"(precision {self.precision:.2f} on {self.support} cases) -> best fine class of super-class {self.coarse}"
        )


class EDCR:
    """Error detection and correction rules between a fine and a coarse classifier, learned from data.

    >>> edcr = EDCR([0, 0, 1], min_precision=0.5)
    >>> fine = torch.tensor([[0.6, 0.1, 0.3]] * 4)   # says class 0 (super-class 0) ...
    >>> coarse = torch.tensor([[0.2, 0.8]] * 4)      # ... but the coarse net says super-class 1
    >>> edcr.learn(fine, coarse, torch.tensor([2, 2, 2, 0])).rules[0].text
    'error if fine=0 and coarse=1 (precision 0.75 on 4 cases) -> best fine class of super-class 1'
    >>> edcr.apply(fine, coarse).tolist()            # corrected to class 2, the fine net's best in super-class 1
    [2, 2, 2, 2]
    """

    def __init__(self, fine_to_coarse: Sequence[int], min_precision: float = 0.5, min_support: int = 3) -> None:
        if not 0.0 <= min_precision <= 1.0:
            raise FamilyError(f"min_precision must lie in [0, 1], got {min_precision}")
        self.fine_to_coarse = torch.tensor(list(fine_to_coarse), dtype=torch.long)
        self.n_coarse = int(self.fine_to_coarse.max()) + 1
        self.min_precision, self.min_support = min_precision, min_support
        self.rules: list[Rule] = []

    def _check(self, fine: torch.Tensor, coarse: torch.Tensor) -> None:
        if fine.dim() != 2 or fine.shape[1] != len(self.fine_to_coarse):
            raise FamilyError(
                f"fine probabilities must be [n, {len(self.fine_to_coarse)}], got {list(fine.shape)}",
                hint="one column per fine class, in the order of fine_to_coarse",
            )
        if coarse.dim() != 2 or coarse.shape[1] != self.n_coarse or len(coarse) != len(fine):
            raise FamilyError(f"coarse probabilities must be [{len(fine)}, {self.n_coarse}], got {list(coarse.shape)}")

    def learn(self, fine: torch.Tensor, coarse: torch.Tensor, fine_labels: torch.Tensor) -> EDCR:
        """Keep the conditions (fine f, coarse c, inconsistent) under which the fine net was wrong often enough."""
        self._check(fine, coarse)
        f, c = fine.argmax(-1), coarse.argmax(-1)
        wrong = f != fine_labels
        self.rules = []
        for fi in range(len(self.fine_to_coarse)):
            for ci in range(self.n_coarse):
                if int(self.fine_to_coarse[fi]) == ci:
                    continue
                cond = (f == fi) & (c == ci)
                n = int(cond.sum())
                if n < self.min_support:
                    continue
                precision = float(wrong[cond].float().mean())
                if precision >= self.min_precision:
                    self.rules.append(Rule(fi, ci, precision, n))
        return self

    def detect(self, fine: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        """``[n]`` bool: the predictions a learned rule flags as errors."""
        self._check(fine, coarse)
        f, c = fine.argmax(-1), coarse.argmax(-1)
        flagged = torch.zeros(len(f), dtype=torch.bool)
        for r in self.rules:
            flagged |= (f == r.fine) & (c == r.coarse)
        return flagged

    def apply(self, fine: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        """The fine predictions, corrected where a rule flags them: the best fine class of the coarse one."""
        flagged = self.detect(fine, coarse)
        pred = fine.argmax(-1)
        c = coarse.argmax(-1)
        allowed = self.fine_to_coarse[None, :] == c[:, None]
        corrected = fine.masked_fill(~allowed, -1.0).argmax(-1)
        return torch.where(flagged, corrected, pred)
