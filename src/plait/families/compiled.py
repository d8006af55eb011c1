"""Family 4, compiled: the program becomes a loss (Neuro_{Symbolic}) or a teacher (Neuro:Symbolic -> Neuro).

* :class:`SemanticLoss`: ``-log`` of the exact probability that the networks'
  outputs satisfy the constraint (a query, with its observed answer), computed
  by the compiled circuit. A term for :func:`plait.fit`'s ``extra_loss`` or any
  training loop; at test time the network runs alone.
* :class:`FuzzyLoss`: the same constraint in fuzzy logic (Logic Tensor
  Networks): a t-norm for "and", its t-conorm for "or" (``"godel"``,
  ``"product"``, ``"lukasiewicz"``), evaluated by plait's fuzzy semirings on
  the program's ground rules.
* :class:`Distillation`: the program and its networks label inputs with soft
  targets (the answers' probabilities); a student network learns them and then
  answers alone, without the program.
"""

from __future__ import annotations

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

#: the t-norms by their family name, and plait's fuzzy semiring for each
TNORMS = {"godel": "godel", "product": "product-tnorm", "lukasiewicz": "lukasiewicz"}


class SemanticLoss(nn.Module):
    """``-log P(constraint)`` of the given distributions, exact (the semantic loss of Xu et al.).

    >>> sl = SemanticLoss('''nn(d, [X], Y, [0, 1]) :: bit(X, Y).
    ...                      sum(A, B, S) :- bit(A, X), bit(B, Y), S is X + Y.''', "sum(A, B, S)", ["A", "B"])
    >>> p = torch.tensor([[0.5, 0.5]])
    >>> round(float(sl(p, p, target=[1])), 4)  # -log 0.5
    0.6931

    ``target`` holds the observed answer per example (values of the query's
    free variables); for a query without free variables (a constraint that must
    hold) leave it out. The result is the batch mean over the examples whose
    observed answer is possible (one with probability exactly 0 is left out).
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
            return _finite_mean(-logp[:, 0])
        cols = self.layer.template.targets(target).to(logp.device)  # type: ignore[arg-type]
        return _finite_mean(-logp.gather(1, cols[:, None])[:, 0])


def _finite_mean(nll: torch.Tensor) -> torch.Tensor:
    """The mean over the examples whose observed answer is possible.

    An answer with probability exactly 0 (a saturated float32 softmax rules out
    every proof, or a wrong label) has no gradient to give; it is left out, as
    :func:`plait.fit` does, instead of turning the loss into inf and the weights
    into NaN. All impossible: a zero loss that still has a graph.
    """
    finite = torch.isfinite(nll)
    if bool(finite.all()):
        return nll.mean()
    if not bool(finite.any()):
        return nll.nan_to_num(0.0, 0.0, 0.0).sum() * 0.0
    return nll[finite].mean()


class FuzzyLoss(nn.Module):
    """The constraint in fuzzy logic (Logic Tensor Networks): ``1 - degree`` (``"one_minus"``) or ``-log degree``.

    >>> fl = FuzzyLoss('''nn(d, [X], Y, [0, 1]) :: bit(X, Y).
    ...                   sum(A, B, S) :- bit(A, X), bit(B, Y), S is X + Y.''', "sum(A, B, S)", ["A", "B"], tnorm="godel")
    >>> p = torch.tensor([[0.5, 0.5]])
    >>> float(fl(p, p, target=[1]))  # 1 - max(min(0.5, 0.5), min(0.5, 0.5))
    0.5

    The program is evaluated by plait's fuzzy semirings (``plait.inference``) on its
    ground rules as written: a rule body is the t-norm of its literals, an atom the
    t-conorm of its bodies, a network's value its degree. ``tnorm`` is ``"godel"``
    (min / max), ``"product"`` (product / probabilistic sum) or ``"lukasiewicz"``
    (bounded sum). ``target`` as for :class:`SemanticLoss`; with ``loss="log"`` an
    observation of degree exactly 0 is left out, as in :class:`SemanticLoss`. Under
    Łukasiewicz a conjunction of two probabilities that sum to at most 1 is exactly
    0, and so is its gradient: that t-norm gives a network little to learn from.
    """

    def __init__(
        self,
        program: Program | str | Path,
        query: str,
        inputs: Sequence[str],
        tnorm: str = "product",
        loss: str = "one_minus",
        **model_kwargs: object,
    ) -> None:
        super().__init__()
        if tnorm not in TNORMS:
            raise FamilyError(f"unknown t-norm {tnorm!r}", hint=f"use one of {', '.join(TNORMS)}")
        if loss not in ("one_minus", "log"):
            raise FamilyError(f"unknown fuzzy loss {loss!r}", hint="use 'one_minus' (1 - truth) or 'log' (-log truth)")
        self.tnorm, self.loss = tnorm, loss
        self.layer = LogicLayer(program, query, inputs, log=True, semiring=TNORMS[tnorm], **model_kwargs)

    def log_truth(self, *dists: torch.Tensor, target: Sequence[object] | torch.Tensor | None = None) -> torch.Tensor:
        """``[batch]`` log of the fuzzy degree of the observed answer (of the query, without ``target``)."""
        log_degree = self.layer(*dists)  # a degree of exactly 0 comes back as log 0 = -inf with gradient 0
        if target is None:
            if log_degree.shape[1] != 1:
                raise FamilyError(
                    f"{self.layer.query} has {log_degree.shape[1]} answers: the fuzzy loss needs target=[...]",
                    hint="give the observed answer per example, or use a query without free variables",
                )
            return log_degree[:, 0]
        cols = self.layer.template.targets(target).to(log_degree.device)  # type: ignore[arg-type]
        return log_degree.gather(1, cols[:, None])[:, 0]

    def truth(self, *dists: torch.Tensor, target: Sequence[object] | torch.Tensor | None = None) -> torch.Tensor:
        """``[batch]`` fuzzy degree of the observed answer (of the query, without ``target``)."""
        return self.log_truth(*dists, target=target).exp()

    def forward(self, *dists: torch.Tensor, target: Sequence[object] | torch.Tensor | None = None) -> torch.Tensor:
        if self.loss == "log":
            return _finite_mean(-self.log_truth(*dists, target=target))
        return (1 - self.truth(*dists, target=target)).mean()


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
