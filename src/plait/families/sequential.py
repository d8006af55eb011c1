"""Family 1, sequential (symbolic -> neural -> symbolic): perception trained on its own labels, then reasoning.

Each network is trained alone, on labelled examples of its own symbols (a few
labelled digits); the program then reasons over what the networks hand on:
hard facts, the top-k values or the whole distribution. No gradient flows
through the reasoner: the networks run under ``torch.no_grad`` inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ..nn.model import Model
from ..program import Program
from .core import SYMBOLS, class_accuracy, network_names, symbolise, train_classifier
from .errors import FamilyError

__all__ = ["Sequential", "Symbolised"]


class Symbolised(nn.Module):
    """A trained network as a pipeline stage: no gradient, its output turned into symbols."""

    def __init__(self, net: nn.Module, symbols: str = "distribution", k: int = 2) -> None:
        super().__init__()
        if symbols not in SYMBOLS:
            symbolise(torch.ones(1, 1), symbols)  # raises the FamilyError that says what is allowed
        self.net, self.symbols, self.k = net, symbols, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            was = self.net.training
            self.net.eval()
            out = self.net(x)
            self.net.train(was)
        return symbolise(out, self.symbols, self.k)


class Sequential:
    """Neural perception, trained on its own labels, feeding a program that reasons over its symbols.

    >>> import plait.families as fam
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(-1))
    >>> seq = fam.Sequential('''
    ...     nn(net, [X], Y, [0, 1, 2]) :: digit(X, Y).
    ...     add(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.''', {"net": net}, symbols="hard")
    >>> losses = seq.train_network("net", torch.eye(3, 4), torch.tensor([0, 1, 2]), epochs=50, lr=0.1)
    >>> seq.predict("add(A, B, Z)", A=torch.eye(3, 4)[:1], B=torch.eye(3, 4)[2:]).tolist()  # 0 + 2
    [2]

    ``symbols``: ``"hard"`` (each network's most probable value becomes a fact),
    ``"topk"`` (its ``k`` best values, renormalised) or ``"distribution"``.
    ``model`` is the :class:`plait.Model` that reasons; ``networks`` the trained
    networks themselves (reuse them, frozen, in another program).
    """

    def __init__(
        self,
        program: Program | str | Path,
        networks: Mapping[str, nn.Module],
        *,
        symbols: str = "distribution",
        k: int = 2,
        **model_kwargs: object,
    ) -> None:
        needed = network_names(program)
        missing = [n for n in needed if n not in networks]
        if missing:
            raise FamilyError(
                f"the program uses the networks {', '.join(missing)}, which were not given",
                hint=f"pass networks={{{', '.join(repr(n) + ': module' for n in needed)}}}",
            )
        self.networks = dict(networks)
        self.symbols, self.k = symbols, k
        stages = {n: Symbolised(net, symbols, k) for n, net in self.networks.items() if n in needed}
        self.model = Model(program, stages, **model_kwargs)  # type: ignore[arg-type]

    def train_network(self, name: str, images: torch.Tensor, labels: torch.Tensor, **kwargs: object) -> list[float]:
        """Train network ``name`` on its own labels (see :func:`plait.families.core.train_classifier`)."""
        if name not in self.networks:
            raise FamilyError(
                f"no network named {name!r} in this pipeline", hint=f"its networks are {', '.join(self.networks)}"
            )
        return train_classifier(self.networks[name], images, labels, **kwargs)  # type: ignore[arg-type]

    def accuracy(self, name: str, images: torch.Tensor, labels: torch.Tensor) -> float:
        """The symbol accuracy of network ``name`` on labelled images."""
        return class_accuracy(self.networks[name], images, labels)

    def __call__(self, query: str, **inputs: torch.Tensor) -> torch.Tensor:
        """``[batch, n_answers]`` answer probabilities given the symbols (no gradient reaches a network)."""
        return self.model(query, **inputs)

    def predict(self, query: str, **inputs: torch.Tensor) -> torch.Tensor:
        """The answer column per example (the most probable world's answer)."""
        return self.model.predict(query, **inputs)

    def explain(self, query: str, answer: object | None = None, **inputs: torch.Tensor) -> list:
        """One :class:`plait.Explanation` per example, over the symbols the networks handed on."""
        return self.model.explain(query, answer, **inputs)
