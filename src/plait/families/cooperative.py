"""Family 3, cooperative (Neuro | Symbolic, iterating): abductive learning.

The network proposes; the reasoner abduces, per example, the most probable
labels of the network's inputs that are consistent with the program and the
observation (the MPE given the observed answer, e.g. the sum); the network
retrains on these pseudo-labels as if they were labels; repeat until the
pseudo-labels stop changing. No gradient passes through the reasoner.

The other way to train through a program, gradient through inference
(DeepProbLog's: the loss is ``-log P(observed answer)`` and its gradient
reaches the networks through the circuit), is :func:`gradient_through_inference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..nn.model import Model
from ..nn.templates import to_python
from ..nn.train import History, QueryData, fit
from ..syntax.parser import parse_term
from ..syntax.terms import Struct, Var
from .core import train_classifier
from .errors import FamilyError

__all__ = ["abduce", "AbductiveLearning", "AbductionRound", "gradient_through_inference"]


def gradient_through_inference(model: Model, query: str, train: QueryData, **fit_kwargs: object) -> History:
    """Train the networks through the circuit (DeepProbLog's form): :func:`plait.fit`, named for the families.

    >>> # gradient_through_inference(model, "addition(A, B, Z)", train, epochs=3)
    """
    return fit(model, query, train, **fit_kwargs)  # type: ignore[arg-type]


def abduce(
    model: Model,
    query: str,
    network: str,
    inputs: dict[str, torch.Tensor],
    observed: Sequence[object] | torch.Tensor,
    domain: Sequence[object] | None = None,
) -> dict[str, torch.Tensor]:
    """The most probable labels of ``network``'s inputs consistent with the observed answers.

    Returns, per input variable the network labels (``"A"``, ``"B"``), a
    ``[batch]`` tensor of class indices (positions in ``domain``, by default the
    values themselves: ``0..9``); -1 where the observation is impossible.

    >>> # abduce(model, "addition(A, B, Z)", "digit_net", {"A": a, "B": b}, sums)  ->  {"A": ..., "B": ...}
    """
    if isinstance(observed, torch.Tensor):
        observed = observed.tolist()
    observed = list(observed)
    batch = len(observed)
    index = {v: i for i, v in enumerate(domain)} if domain is not None else None
    out = {name: torch.full((batch,), -1, dtype=torch.long) for name in inputs}
    with torch.no_grad():
        explanations = model.explain(query, observed, **inputs)
    for b, why in enumerate(explanations):
        for c in why.choices:
            if c.source != network or not c.value:
                continue
            atom = parse_term(c.atom)
            if not isinstance(atom, Struct) or not atom.args:
                continue
            var = next((a.name for a in atom.args[:-1] if isinstance(a, Var)), None)
            if var not in out:
                continue
            value = to_python(atom.args[-1])
            if index is not None:
                if value not in index:
                    raise FamilyError(f"the abduced value {value!r} of {c.atom} is not in the domain {list(domain)}")
                value = index[value]
            elif not isinstance(value, int):
                raise FamilyError(
                    f"the abduced value {value!r} of {c.atom} is not a class index",
                    hint="give domain=[...], the network's output values in order",
                )
            out[var][b] = value
    return out


@dataclass
class AbductionRound:
    """One round: how many pseudo-labels changed, how many examples were consistent, the fit loss."""

    round: int
    changed: float
    abduced: float
    train_loss: float
    metrics: dict[str, float] = field(default_factory=dict)


class AbductiveLearning:
    """Network proposes, reasoner abduces pseudo-labels, network retrains; until they stop changing.

    >>> # abl = AbductiveLearning(model, "addition(A, B, Z)", "digit_net")
    >>> # rounds = abl.fit({"A": a_images, "B": b_images}, sums, rounds=6)

    ``fit`` stops early when at most ``tolerance`` of the pseudo-labels changed
    in a round (converged). ``epochs`` and the other keyword arguments of
    ``fit`` go to :func:`plait.families.core.train_classifier` per round.
    """

    def __init__(self, model: Model, query: str, network: str, domain: Sequence[object] | None = None) -> None:
        if network not in model.networks:
            raise FamilyError(
                f"the model has no network {network!r}", hint=f"its networks are {', '.join(model.networks)}"
            )
        self.model, self.query, self.network, self.domain = model, query, network, domain
        self.rounds: list[AbductionRound] = []

    def fit(
        self,
        inputs: dict[str, torch.Tensor],
        observed: Sequence[object] | torch.Tensor,
        *,
        rounds: int = 5,
        epochs: int = 3,
        tolerance: float = 0.0,
        metrics: dict | None = None,
        seed: int = 0,
        **train_kwargs: object,
    ) -> list[AbductionRound]:
        """Run up to ``rounds`` rounds of abduce-then-retrain; returns the rounds (also kept in ``rounds``)."""
        if rounds < 1:
            raise FamilyError(f"abductive learning needs at least one round, got rounds={rounds}")
        net = self.model.networks[self.network]
        previous: torch.Tensor | None = None
        for r in range(1, rounds + 1):
            labels = abduce(self.model, self.query, self.network, inputs, observed, self.domain)
            images = torch.cat([inputs[k] for k in labels])
            pseudo = torch.cat([labels[k] for k in labels])
            ok = pseudo >= 0
            if not bool(ok.any()):
                raise FamilyError(
                    "no example has an abducible explanation: every observed answer is impossible",
                    hint="check that the observations are answers of the query",
                )
            changed = 1.0 if previous is None else float((pseudo != previous).float().mean())
            losses = train_classifier(net, images[ok], pseudo[ok], epochs=epochs, seed=seed + r, **train_kwargs)  # type: ignore[arg-type]
            row = AbductionRound(r, changed, float(ok.float().mean()), losses[-1] if losses else float("nan"))
            for name, fn in (metrics or {}).items():
                row.metrics[name] = float(fn(self.model))
            self.rounds.append(row)
            if previous is not None and changed <= tolerance:
                break
            previous = pseudo
        return self.rounds
