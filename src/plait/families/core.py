"""What the families share: a reasoner over given distributions, symbols from probabilities, a trainer.

* :class:`Passthrough` stands in for a network whose output is given: the
  "image" bound to the input already is the distribution over the domain.
* :func:`reasoner` builds a :class:`plait.Model` whose networks are all
  passthroughs, so a program reasons over distributions that came from
  anywhere (a frozen network, a neural layer before it, hard labels).
* :func:`symbolise` turns a distribution into the symbols a pipeline hands on:
  hard facts (one-hot), the top-k values (renormalised) or the distribution.
* :func:`train_classifier` trains a network that ends in a softmax on its own
  labels (hard or soft), as the sequential, cooperative, ensemble and distillation
  families do for their perception.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..ground.database import build_database
from ..nn.model import Model
from ..nn.train import seed_everything
from ..program import Program
from .errors import FamilyError

__all__ = ["Passthrough", "reasoner", "network_names", "symbolise", "train_classifier", "class_accuracy", "SYMBOLS"]

SYMBOLS = ("hard", "topk", "distribution")


class Passthrough(nn.Module):
    """A stand-in network: its input is already the distribution over the domain.

    >>> Passthrough()(torch.tensor([[0.2, 0.8]]))
    tensor([[0.2000, 0.8000]])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _as_program(program: Program | str | Path) -> Program:
    if isinstance(program, Program):
        return program
    return Program.from_file(program) if isinstance(program, Path) else Program.from_string(program)


def network_names(program: Program | str | Path) -> list[str]:
    """The network names the program's ``nn(...)`` clauses use, sorted.

    >>> network_names("nn(net, [X], Y, [0, 1]) :: bit(X, Y).")
    ['net']
    """
    p = _as_program(program)
    db = build_database(p.ast, p.base_dir, neural=True)
    return sorted({spec.name for spec, _ in db.neural_specs if spec.kind == "nn"})


def reasoner(program: Program | str | Path, **model_kwargs: object) -> Model:
    """A :class:`plait.Model` of ``program`` whose every network is a :class:`Passthrough`.

    Bind distributions (``[batch, domain]``, rows summing to 1) to the inputs:

    >>> m = reasoner('''nn(d, [X], Y, [0, 1]) :: bit(X, Y).
    ...                 both(A, B, S) :- bit(A, X), bit(B, Y), S is X + Y.''')
    >>> m("both(A, B, S)", A=torch.tensor([[0.5, 0.5]]), B=torch.tensor([[0.0, 1.0]])).tolist()
    [[0.0, 0.5, 0.5]]
    """
    p = _as_program(program)
    names = network_names(p)
    if not names:
        raise FamilyError(
            "the program has no nn(...) clauses, so nothing feeds it distributions",
            hint="declare the symbols a network gives, e.g. nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).",
        )
    return Model(p, {n: Passthrough() for n in names}, **model_kwargs)  # type: ignore[arg-type]


def symbolise(probs: torch.Tensor, symbols: str = "distribution", k: int = 2) -> torch.Tensor:
    """The symbols a perception hands on: ``"hard"`` (one-hot argmax), ``"topk"`` (the k most
    probable values, renormalised) or ``"distribution"`` (unchanged).

    >>> symbolise(torch.tensor([[0.1, 0.6, 0.3]]), "hard").tolist()
    [[0.0, 1.0, 0.0]]
    >>> symbolise(torch.tensor([[0.1, 0.6, 0.3]]), "topk", k=2).tolist()
    [[0.0, 0.6666666865348816, 0.3333333432674408]]
    """
    if symbols not in SYMBOLS:
        raise FamilyError(
            f"symbols must be 'hard', 'topk' or 'distribution', not {symbols!r}",
            hint="hard: the most probable value as a fact; topk: the k best, renormalised; distribution: all",
        )
    if probs.dim() != 2:
        raise FamilyError(f"symbolise takes [batch, domain] probabilities, got shape {list(probs.shape)}")
    if symbols == "distribution":
        return probs
    if symbols == "hard":
        return nn.functional.one_hot(probs.argmax(-1), probs.shape[-1]).to(probs.dtype)
    if not 1 <= k <= probs.shape[-1]:
        raise FamilyError(f"top-k symbols need 1 <= k <= {probs.shape[-1]} (the domain size), got k={k}")
    top = probs.topk(k, dim=-1)
    kept = torch.zeros_like(probs).scatter(-1, top.indices, top.values)
    return kept / kept.sum(-1, keepdim=True).clamp_min(torch.finfo(probs.dtype).tiny)


def train_classifier(
    net: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int = 10,
    lr: float = 1e-3,
    batch_size: int = 32,
    seed: int = 0,
    weight_decay: float = 0.0,
) -> list[float]:
    """Train a network that ends in a softmax on its own labels; returns the mean loss per epoch.

    ``labels`` are class indices ``[n]`` or soft targets ``[n, classes]`` (rows
    summing to 1; the loss is then the cross-entropy to them, as distillation
    needs).

    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softmax(-1))
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]] * 8)
    >>> losses = train_classifier(net, x, torch.tensor([0, 1] * 8), epochs=30, lr=0.1)
    >>> losses[-1] < losses[0]
    True
    """
    if len(images) != len(labels):
        raise FamilyError(
            f"{len(images)} inputs but {len(labels)} labels", hint="give one label (or soft target) per input"
        )
    if len(images) == 0:
        raise FamilyError("no labelled examples to train on", hint="give at least one input with its label")
    soft = labels.dim() == 2
    if not soft and labels.dtype.is_floating_point:
        raise FamilyError(f"labels must be class indices (int) or soft targets [n, classes], got {labels.dtype}")
    gen = seed_everything(seed)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)
    losses = []
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(images), generator=gen)
        total = 0.0
        for start in range(0, len(images), batch_size):
            rows = perm[start : start + batch_size]
            logp = net(images[rows]).clamp_min(1e-12).log()
            y = labels[rows]
            loss = -(y.to(logp.dtype) * logp).sum(-1).mean() if soft else nn.functional.nll_loss(logp, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(rows)
        losses.append(total / len(images))
    net.eval()
    return losses


def class_accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of ``images`` whose most probable class is the label (the network in eval mode)."""
    was = net.training
    net.eval()
    with torch.no_grad():
        pred = net(images).argmax(-1)
    net.train(was)
    return float((pred == labels).float().mean())


def ensure_list(x: Sequence[str] | str) -> list[str]:
    return [x] if isinstance(x, str) else list(x)
