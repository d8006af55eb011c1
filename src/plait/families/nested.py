"""Family 2, nested: a reasoner that calls networks (Symbolic[Neuro]) and a network with a logic layer
(Neuro[Symbolic]).

* :class:`SceneProgram` (Symbolic[Neuro]): a query is a program composed of
  modules, as in neural module networks, NS-CL and VISPROG. ``Filter("even")``
  keeps the objects of a scene for which a module holds, ``Relate("greater",
  "R")`` those related to a reference object, ``Count()`` / ``Exists()``
  answer. Modules are predicates of a plait program whose neural predicates
  call networks during inference; the composition is compiled exactly and trains
  end to end from answers alone.
* :class:`LogicLayer` (Neuro[Symbolic]): a compiled query as an ``nn.Module``.
  It takes distributions (the outputs of the layers before it) and returns the
  answers' probabilities, differentiable, for the layers after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..nn.model import Model
from ..program import Program
from .core import _as_program, reasoner
from .errors import FamilyError

__all__ = ["LogicLayer", "SceneProgram", "Filter", "Relate", "Count", "Exists", "compose"]


class LogicLayer(nn.Module):
    """A compiled query as a layer: distributions in, answer probabilities out, differentiable.

    >>> layer = LogicLayer('''nn(digit, [X], Y, [0, 1, 2]) :: d(X, Y).
    ...                       add(A, B, Z) :- d(A, X), d(B, Y), Z is X + Y.''', "add(A, B, Z)", ["A", "B"])
    >>> p = torch.tensor([[0.0, 1.0, 0.0]])
    >>> layer(p, p).tolist(), layer.answers
    ([[0.0, 0.0, 1.0, 0.0, 0.0]], [0, 1, 2, 3, 4])

    ``inputs`` name the query's input variables in the order :meth:`forward`
    takes them; each gets a ``[batch, domain]`` distribution (a softmax output).
    ``log=True`` returns log probabilities (what a loss after the layer wants).
    The layer has no parameters of its own; put it in an ``nn.Sequential``-like
    model between an encoder and a head and train the whole with any optimiser.
    """

    def __init__(
        self,
        program: Program | str | Path,
        query: str,
        inputs: Sequence[str],
        *,
        log: bool = False,
        **model_kwargs: object,
    ) -> None:
        super().__init__()
        if isinstance(inputs, str):
            raise FamilyError(
                f"inputs must be a list of variable names, not the string {inputs!r}",
                hint=f"LogicLayer(program, {query!r}, [{', '.join(repr(c) for c in inputs.split(','))}])",
            )
        self.reasoner = reasoner(program, **model_kwargs)
        self.query, self.inputs, self.log = query, list(inputs), log
        self.template = self.reasoner.template(query, self.inputs)
        self.answers = self.template.answer_values

    def forward(self, *dists: torch.Tensor) -> torch.Tensor:
        if len(dists) != len(self.inputs):
            raise FamilyError(
                f"the logic layer for {self.query} takes {len(self.inputs)} distributions "
                f"({', '.join(self.inputs)}), got {len(dists)}",
                hint="call it with one [batch, domain] tensor per input, in that order",
            )
        logp = self.reasoner.log_prob(self.query, **dict(zip(self.inputs, dists)))
        return logp if self.log else logp.exp()


# ----------------------------------------------------------------------------- module programs


@dataclass(frozen=True, slots=True)
class Filter:
    """Keep the objects ``X`` for which the module ``module(X)`` holds."""

    module: str


@dataclass(frozen=True, slots=True)
class Relate:
    """Keep the objects ``X`` with ``module(X, R)``, ``R`` the reference object bound to input ``ref``."""

    module: str
    ref: str = "R"


@dataclass(frozen=True, slots=True)
class Count:
    """Answer: how many objects are left."""


@dataclass(frozen=True, slots=True)
class Exists:
    """Answer: ``true`` when an object is left, else ``false``."""


Step = Filter | Relate | Count | Exists


def compose(steps: Sequence[Step], name: str = "scene_query") -> tuple[str, str]:
    """The clauses and the query template of a composition of modules over a scene ``S``.

    >>> clauses, query = compose([Filter("even"), Count()])
    >>> query
    'scene_query(S, N)'
    """
    steps = list(steps)
    if not steps or not isinstance(steps[-1], (Count, Exists)):
        raise FamilyError(
            "a module program ends with Count() or Exists(), which gives the answer",
            hint="e.g. [Filter('even'), Relate('greater', 'R'), Count()]",
        )
    for s in steps:
        if not isinstance(s, (Filter, Relate, Count, Exists)):
            raise FamilyError(f"{s!r} is not a module step", hint="use Filter, Relate, Count or Exists")
    if any(isinstance(s, (Count, Exists)) for s in steps[:-1]):
        raise FamilyError("Count() and Exists() can only be the last step of a module program")
    lines, body, refs = [], [], []
    current = "S"
    for i, s in enumerate(steps[:-1]):
        p, out = f"{name}_step{i}", f"O{i}"
        if isinstance(s, Filter):
            lines += [
                f"{p}([], []).",
                f"{p}([X|T], [X|O]) :- {s.module}(X), {p}(T, O).",
                f"{p}([X|T], O) :- \\+ {s.module}(X), {p}(T, O).",
            ]
            body.append(f"{p}({current}, {out})")
        else:
            if not s.ref[:1].isupper():
                raise FamilyError(f"the reference of {s!r} must be an input variable name (R, Ref, ...)")
            refs.append(s.ref)
            lines += [
                f"{p}([], _, []).",
                f"{p}([X|T], R, [X|O]) :- {s.module}(X, R), {p}(T, R, O).",
                f"{p}([X|T], R, O) :- \\+ {s.module}(X, R), {p}(T, R, O).",
            ]
            body.append(f"{p}({current}, {s.ref}, {out})")
        current = out
    last = f"{name}_answer"
    if isinstance(steps[-1], Count):
        lines += [f"{last}([], 0).", f"{last}([_|T], N) :- {last}(T, M), N is M + 1."]
    else:
        lines += [f"{last}([], false).", f"{last}([_|_], true)."]
    body.append(f"{last}({current}, N)")
    head_args = ", ".join(["S", *dict.fromkeys(refs), "N"])
    lines.append(f"{name}({head_args}) :- {', '.join(body)}.")
    return "\n".join(lines) + "\n", f"{name}({head_args})"


class SceneProgram:
    """Queries composed of modules over scenes of images; the modules' networks run inside inference.

    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(-1))
    >>> scenes = SceneProgram('''
    ...     nn(digit_net, [X], D, [0, 1, 2]) :: digit(X, D).
    ...     even(X) :- digit(X, D), D mod 2 =:= 0.''', {"digit_net": net})
    >>> probs = scenes([Filter("even"), Count()], S=[torch.rand(5, 4) for _ in range(3)])
    >>> probs.shape, scenes.answers([Filter("even"), Count()], 3)
    (torch.Size([5, 4]), [0, 1, 2, 3])

    ``modules`` is a program (neural predicates and rules over them); each
    composition becomes clauses of its own (:func:`compose`) in a model that
    shares the networks. :meth:`model` and :meth:`query` give what
    :func:`plait.fit` needs to train the networks from answers alone.
    """

    def __init__(self, modules: str, networks: Mapping[str, nn.Module], **model_kwargs: object) -> None:
        if not isinstance(modules, str):
            raise FamilyError("the modules of a scene program are program text", hint="pass the clauses as a string")
        self.modules, self.networks, self.model_kwargs = modules, dict(networks), model_kwargs
        Model(modules, self.networks, **model_kwargs)  # type: ignore[arg-type]  # fail now on a bad program
        self._models: dict[tuple, tuple[Model, str]] = {}

    def _compiled(self, steps: Sequence[Step]) -> tuple[Model, str]:
        key = tuple(steps)
        if key not in self._models:
            clauses, query = compose(steps)
            program = _as_program(self.modules + "\n" + clauses)
            self._models[key] = (Model(program, self.networks, **self.model_kwargs), query)  # type: ignore[arg-type]
        return self._models[key]

    def model(self, steps: Sequence[Step]) -> Model:
        """The :class:`plait.Model` that answers this composition (its networks are shared)."""
        return self._compiled(steps)[0]

    def query(self, steps: Sequence[Step]) -> str:
        """The query template of this composition, e.g. ``scene_query(S, R, N)``."""
        return self._compiled(steps)[1]

    def answers(self, steps: Sequence[Step], n_objects: int) -> list[object]:
        """The answer values of the composition over scenes of ``n_objects`` objects."""
        model, query = self._compiled(steps)
        shape: dict[str, int | None] = {"S": n_objects}
        shape.update({s.ref: None for s in steps if isinstance(s, Relate)})
        return model.template(query, shape).answer_values

    def __call__(self, steps: Sequence[Step], **inputs: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
        """``[batch, n_answers]`` probabilities; ``S`` is a list of image batches (one per object)."""
        if not isinstance(inputs.get("S"), (list, tuple)):
            raise FamilyError(
                "a scene program needs S=[objects]: a list with one image batch per object of the scene",
                hint="e.g. scenes(steps, S=[img0, img1, img2]) with each img [batch, ...]",
            )
        model, query = self._compiled(steps)
        return model(query, **inputs)
