"""Family 4, compiled: the program becomes a loss (Neuro_{Symbolic}) or a teacher (Neuro:Symbolic -> Neuro).

* :class:`SemanticLoss`: ``-log`` of the exact probability that the networks'
  outputs satisfy the constraint (a query, with its observed answer), computed
  by the compiled circuit. A term for :func:`plait.fit`'s ``extra_loss`` or any
  training loop; at test time the network runs alone.
* :class:`FuzzyLoss`: the same constraint in fuzzy logic (Logic Tensor
  Networks): a t-norm for "and", its t-conorm for "or" (``"godel"``,
  ``"product"``, ``"lukasiewicz"``), over the constraint's satisfying
  assignments, given as a Python function of the symbols.
* :class:`Distillation`: the program and its networks label inputs with soft
  targets (the answers' probabilities); a student network learns them and then
  answers alone, without the program.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from ..nn.model import Model
from ..program import Program
from .core import train_classifier
from .errors import FamilyError
from .nested import LogicLayer

__all__ = ["SemanticLoss", "FuzzyLoss", "TNORMS", "Distillation", "soft_targets"]

TNORMS = ("godel", "product", "lukasiewicz")


class SemanticLoss(nn.Module):
    """``-log P(constraint)`` of the given distributions, exact (the semantic loss of Xu et al.).

    >>> sl = SemanticLoss('''nn(d, [X], Y, [0, 1]) :: bit(X, Y).
    ...                      sum(A, B, S) :- bit(A, X), bit(B, Y), S is X + Y.''', "sum(A, B, S)", ["A", "B"])
    >>> p = torch.tensor([[0.5, 0.5]])
    >>> round(float(sl(p, p, target=[1])), 4)  # -log 0.5
    0.6931

    ``target`` holds the observed answer per example (values of the query's
    free variables); for a query without free variables (a constraint that must
    hold) leave it out. The result is the batch mean.
    """

    def __init__(self, program: Program | str | Path, query: str, inputs: Sequence[str], **model_kwargs: object):
        super().__init__()
        self.layer = LogicLayer(program, query, inputs, log=True, **model_kwargs)

    def forward(self, *dists: torch.Tensor, target: Sequence[object] | torch.Tensor | None = None) -> torch.Tensor:
        logp = self.layer(*dists)
        if target is None:
            if logp.shape[1] != 1:
                raise FamilyError(
                    f"{self.layer.query} has {logp.shape[1]} answers: the semantic loss needs target=[...]",
                    hint="give the observed answer per example, or use a query without free variables",
                )
            return -logp[:, 0].mean()
        cols = self.layer.template.targets(target).to(logp.device)  # type: ignore[arg-type]
        return -logp.gather(1, cols[:, None]).mean()


class FuzzyLoss(nn.Module):
    """A constraint in fuzzy logic: ``1 - truth`` (``"one_minus"``) or ``-log truth`` (``"log"``).

    >>> add = FuzzyLoss(lambda a, b: a + b, domains=[range(2), range(2)], tnorm="product")
    >>> p = torch.tensor([[0.5, 0.5]])
    >>> float(add(p, p, target=[1]))  # or(and(0.5, 0.5), and(0.5, 0.5)) = 1 - 0.75 * 0.75
    0.5625

    ``answer(*values)`` maps one assignment of the symbols (one value per input,
    from ``domains``) to the answer it entails; the constraint "the answer is
    t" is the disjunction of the conjunctions ``input_i = v_i`` over the
    assignments whose answer is t (enumerated once, so keep the domains small).
    The truth of "input_i = v" is the network's probability of v.
    """

    def __init__(
        self,
        answer: Callable[..., object],
        domains: Sequence[Sequence[object]],
        tnorm: str = "product",
        loss: str = "one_minus",
    ) -> None:
        super().__init__()
        if tnorm not in TNORMS:
            raise FamilyError(f"unknown t-norm {tnorm!r}", hint=f"use one of {', '.join(TNORMS)}")
        if loss not in ("one_minus", "log"):
            raise FamilyError(f"unknown fuzzy loss {loss!r}", hint="use 'one_minus' (1 - truth) or 'log' (-log truth)")
        self.tnorm, self.loss = tnorm, loss
        self.domains = [list(d) for d in domains]
        rows, answers = [], []
        for idx in itertools.product(*(range(len(d)) for d in self.domains)):
            rows.append(idx)
            answers.append(answer(*(d[i] for d, i in zip(self.domains, idx))))
        self._assign = torch.tensor(rows, dtype=torch.long)  # [n_assignments, n_inputs]
        self._answers = answers
        self._answer_ids = {a: i for i, a in enumerate(dict.fromkeys(answers))}
        self._answer_of = torch.tensor([self._answer_ids[a] for a in answers])

    def truth(self, *dists: torch.Tensor, target: Sequence[object]) -> torch.Tensor:
        """``[batch]`` fuzzy truth of "the answer is ``target``"."""
        if len(dists) != len(self.domains):
            raise FamilyError(f"the fuzzy constraint takes {len(self.domains)} distributions, got {len(dists)}")
        try:
            want = torch.tensor([self._answer_ids[t] for t in target])
        except KeyError as e:
            raise FamilyError(f"{e.args[0]!r} is not an answer any assignment of the symbols entails") from None
        lits = torch.stack([d[:, self._assign[:, i]] for i, d in enumerate(dists)], dim=-1)  # [B, n_assign, n_in]
        if self.tnorm == "godel":
            conj = lits.min(-1).values
        elif self.tnorm == "product":
            conj = lits.prod(-1)
        else:
            conj = (lits.sum(-1) - (lits.shape[-1] - 1)).clamp_min(0)
        mask = (self._answer_of[None, :] == want[:, None]).to(conj.dtype)
        if self.tnorm == "godel":
            return (conj * mask).max(-1).values
        if self.tnorm == "product":
            return 1 - torch.exp((torch.log1p(-(conj * mask).clamp_max(1 - 1e-7))).sum(-1))
        return (conj * mask).sum(-1).clamp_max(1)

    def forward(self, *dists: torch.Tensor, target: Sequence[object] | torch.Tensor) -> torch.Tensor:
        t = target.tolist() if isinstance(target, torch.Tensor) else list(target)
        truth = self.truth(*dists, target=t)
        if self.loss == "log":
            return -truth.clamp_min(1e-12).log().mean()
        return (1 - truth).mean()


def soft_targets(teacher: Model, query: str, inputs: dict[str, torch.Tensor], batch_size: int = 512) -> torch.Tensor:
    """``[n, n_answers]``: the teacher's answer probabilities for every input row (no gradient)."""
    n = len(next(iter(inputs.values())))
    out = []
    was = teacher.training
    teacher.eval()
    with torch.no_grad():
        for s in range(0, n, batch_size):
            out.append(teacher(query, **{k: v[s : s + batch_size] for k, v in inputs.items()}))
    teacher.train(was)
    return torch.cat(out).float()


class Distillation:
    """The reasoner teaches: a program with its networks gives soft targets; a student learns them.

    >>> # d = Distillation(teacher_model, "addition(A, B, Z)", student, join=lambda A, B: torch.cat([A, B], 1))
    >>> # d.fit({"A": a, "B": b}, epochs=10); d.student(torch.cat([a2, b2], 1))  # no program at test time

    ``join(**inputs)`` makes the student's one input from the template inputs
    (by default they are concatenated along dim 1, the channels of images).
    The student ends in a softmax over the template's answers, in column order
    (``teacher.template(query, inputs).answer_values``).
    """

    def __init__(
        self,
        teacher: Model,
        query: str,
        student: nn.Module,
        join: Callable[..., torch.Tensor] | None = None,
    ) -> None:
        self.teacher, self.query, self.student = teacher, query, student
        self.join = join or (lambda **xs: torch.cat(list(xs.values()), dim=1))

    def fit(self, inputs: dict[str, torch.Tensor], *, hard: bool = False, **train_kwargs: object) -> list[float]:
        """Label ``inputs`` (unlabelled, or synthetic) with the teacher and train the student on them.

        ``hard=True`` trains on the teacher's most probable answers instead of its distribution.
        """
        targets = soft_targets(self.teacher, self.query, inputs)
        x = self.join(**inputs)
        with torch.no_grad():
            width = self.student(x[:1]).shape[-1]
        if width != targets.shape[1]:
            raise FamilyError(
                f"the student gives {width} outputs but {self.query} has {targets.shape[1]} answers",
                hint="end the student in a softmax over the template's answers, in column order",
            )
        labels = targets.argmax(-1) if hard else targets
        return train_classifier(self.student, x, labels, **train_kwargs)  # type: ignore[arg-type]

    def predict(self, **inputs: torch.Tensor) -> torch.Tensor:
        """The student's answer column per example (no program runs)."""
        with torch.no_grad():
            return self.student(self.join(**inputs)).argmax(-1)
