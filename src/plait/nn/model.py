"""Neural predicates: a program plus PyTorch networks, evaluated and trained end to end.

A :class:`Model` holds the program (with ``nn(...)`` and ``t(...)`` clauses), the
networks and the learnable probabilities. A query *template* such as
``addition(A, B, Z)`` with tensors bound to ``A`` and ``B`` is grounded and
compiled once (the inputs become placeholder constants) and cached as a
:class:`Template`; every batch then costs one forward pass per network and one
batched circuit evaluation. The result is ``[batch, n_answers]``: one column per
answer of the free variables (here the 19 possible sums).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from ..circuit.semiring import get_semiring, safe_log
from ..errors import InferenceError, NeuralError, SourceSpan
from ..ground.database import ClauseDB, NeuralSpec, build_database
from ..ground.engine import Limits
from ..inference import (
    InferenceOptions,
)
from ..inference.approx import log_estimate
from ..inference.fuzzy import truth_values
from ..program import Program
from . import explain as explanations
from .running import NetworkRunner
from .templates import MODEL_DEFAULTS, Inputs, Template, _check_inputs, compile_template, is_term_batch

__all__ = ["Model", "eval_mode"]


class Model(NetworkRunner, nn.Module):
    """A plait program whose neural predicates are PyTorch networks.

    >>> import torch, plait
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3), torch.nn.Softmax(-1))
    >>> model = plait.Model('''
    ...     nn(net, [X], Y, [0, 1, 2]) :: digit(X, Y).
    ...     add(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.
    ... ''', {"net": net})
    >>> model("add(A, B, Z)", A=torch.rand(8, 4), B=torch.rand(8, 4)).shape   # 5 sums: 0..4
    torch.Size([8, 5])

    ``networks`` maps the names used in ``nn(Name, ...)`` to modules that return
    probabilities (a softmax over the domain for ``nn/4``; one probability per
    example for ``nn/2``). ``tensor_sources`` resolves DeepProbLog-style
    ``tensor(train(3))`` input terms: ``{"train": dataset}`` with
    ``dataset[3]`` a tensor. ``options`` (:class:`plait.InferenceOptions`, or single
    options as keywords such as ``dtype=torch.float32``, ``semiring="log"``) say how
    templates are compiled and evaluated; see :data:`MODEL_DEFAULTS`. The model is an
    ``nn.Module``: its parameters are the networks' plus one logit tensor per ``t(...)``
    clause, and templates follow the device of the inputs they are given.
    """

    def __init__(
        self,
        program: Program | str | Path,
        networks: Mapping[str, nn.Module] | None = None,
        *,
        tensor_sources: Mapping[str, object] | None = None,
        limits: Limits | None = None,
        options: InferenceOptions | None = None,
        **changes: object,
    ) -> None:
        super().__init__()
        self.options = (options or MODEL_DEFAULTS).replace(**changes)
        if self.options.semiring in ("max-product", "boolean", "max-log"):
            raise InferenceError(
                f"the semiring {self.options.semiring!r} gives no answer distribution to train or query a model on",
                hint="use 'auto', 'log' or 'probability'; for the most probable world use model.explain",
            )
        sr = self.options.semiring
        if self.options.method == "sample" and not (isinstance(sr, str) and sr in ("auto", "log", "probability")):
            name = sr if isinstance(sr, str) else get_semiring(sr).name
            raise InferenceError(
                f"method='sample' estimates probabilities, not degrees of the semiring {name!r}",
                hint="use semiring='auto', 'log' or 'probability' with method='sample', or method='exact'",
            )
        if isinstance(program, Path):
            program = Program.from_file(program, limits)
        elif isinstance(program, str):
            program = Program.from_string(program, limits=limits)
        self.program = program
        self.limits = limits or program.limits
        self.networks = nn.ModuleDict(dict(networks or {}))
        self.tensor_sources: dict[str, object] = dict(tensor_sources or {})
        self.db: ClauseDB = build_database(program.ast, program.base_dir, neural=True)
        self.learnable = nn.ParameterDict()
        self._spec_of: dict[str, NeuralSpec] = {}
        self._clause_of: dict[str, str] = {}  # parameter name -> "file:line: clause text"
        for spec, span in self.db.neural_specs:
            if spec.kind == "nn":
                if spec.name not in self.networks:
                    given = ", ".join(sorted(self.networks)) or "none"
                    raise NeuralError(
                        f"neural predicate {spec.predicate} uses the network {spec.name!r}, which was not given",
                        span,
                        f"pass networks={{'{spec.name}': module}} (networks given: {given})",
                    )
            else:
                self.learnable[spec.name] = nn.Parameter(_initial_logits(spec))
                self._spec_of[spec.name] = spec
                self._clause_of[spec.name] = _clause_label(spec, span)
        self._templates: dict[tuple, Template] = {}

    @classmethod
    def from_file(cls, path: str | Path, networks: Mapping[str, nn.Module] | None = None, **kwargs) -> Model:
        """A model from a program file (DeepProbLog model files load unmodified)."""
        return cls(Path(path), networks, **kwargs)

    # ------------------------------------------------------------------ templates

    def template(self, query: str, inputs: Inputs | Mapping[str, int | None] | Sequence[str]) -> Template:
        """Ground and compile ``query`` with the variables in ``inputs`` as tensor inputs (cached).

        ``inputs`` names the input variables; a mapping from names to tensors (or
        to lists of tensors, for a variable bound to a list of images) also works,
        and only the names and list lengths are used.
        """
        shape: dict[str, int | None] = {}
        if isinstance(inputs, Mapping):
            for k, v in inputs.items():
                if is_term_batch(v):
                    shape[k] = None  # one term per example, like one tensor
                elif isinstance(v, (list, tuple)):
                    shape[k] = len(v)
                elif isinstance(v, int) and not isinstance(v, bool):
                    shape[k] = v
                else:
                    shape[k] = None  # a tensor (or a lazy column of one)
        else:
            shape = {k: None for k in inputs}
        key = (query, tuple(sorted(shape.items())))
        t = self._templates.get(key)
        if t is None:
            t = self._templates[key] = self._compile_template(query, shape)
        return t

    def _compile_template(self, text: str, shape: dict[str, int | None]) -> Template:
        return compile_template(self.db, self.limits, text, shape, self.options)

    @property
    def dtype(self) -> torch.dtype:
        """The circuits' dtype (network outputs are cast to it)."""
        return self.options.dtype

    # ------------------------------------------------------------------ evaluation

    def forward(self, query: str, **inputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """``[batch, n_answers]`` probabilities of the template's answers, given the bound inputs."""
        return self.log_prob(query, **inputs).exp()

    def log_prob(self, query: str, **inputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """``[batch, n_answers]`` log probabilities (the numerically safe input of a loss)."""
        return self.answer_log_probs(query, inputs)

    def answer_log_probs(self, query: str, inputs: Inputs, targets: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`log_prob` with the inputs as a mapping; with ``targets`` (one column per example) only
        those answers decide whether semiring ``"auto"`` redoes the batch in log space.

        Training needs only the observed answers: an answer far from the target that
        is exactly 0 in linear space (a confident network's softmax gives exact
        zeros) changes neither the loss nor its gradient, so it triggers no redo.
        """
        _check_inputs(query, inputs)
        t = self.template(query, inputs)
        order = None if t._identity_order else t._order
        if self.options.method == "sample":  # a Monte Carlo estimate with an unbiased gradient (IndeCateR/RLOO)
            facts, ads = self.leaf_probabilities(t, inputs)
            estimate = t.compiled.estimate(facts, ads, self._sample_generator())
            return _select(log_estimate(estimate, self.options.samples), order)
        form = "circuit" if self.options.semiring == "auto" else get_semiring(self.options.semiring).form
        if form != "circuit":  # possibilistic or fuzzy degrees from the networks' outputs
            return _select(self._degrees(t, inputs, form), order)
        weights = self.leaf_weights(t, inputs)

        def select(x: torch.Tensor) -> torch.Tensor:
            return _select(x, order)

        def watch(x: torch.Tensor) -> torch.Tensor:
            return x.gather(1, targets.to(x.device).view(-1, 1))

        return t.evaluator.answers(t.compiled, weights, True, select, None if targets is None else watch)

    def _sample_generator(self) -> torch.Generator | None:
        """The generator of sampled worlds: seeded once from ``options.seed``; None (torch's own) without a seed."""
        if self.options.seed is None:
            return None
        gen = getattr(self, "_worlds_gen", None)
        if gen is None:
            gen = self._worlds_gen = torch.Generator().manual_seed(self.options.seed)
        return gen

    def _degrees(self, t: Template, inputs: Inputs, form: str) -> torch.Tensor:
        """Log degrees ``[B, n_answers]`` (template order) under a ``"choices"`` or ``"ground"`` semiring."""
        sr = get_semiring(self.options.semiring)
        facts, ads = self.leaf_probabilities(t, inputs)
        if form == "choices":
            return t.compiled(facts, ads, semiring=sr, log=True)
        vm, gp = t.compiled.variables, t.ground
        degrees = {nid: facts[:, j] for j, nid in enumerate(vm.coin_nodes)}
        for g, gid in enumerate(vm.group_ids):
            row = ads[g] if ads[g].dim() > 1 else ads[g].expand(facts.shape[0], ads[g].shape[-1])
            for nid in gp.groups[gid].choices:
                degrees[nid] = row[:, gp.nodes[nid].index]
        return safe_log(truth_values(gp, sr, degrees, dtype=self.dtype))  # no NaN gradient at degree 0

    # ------------------------------------------------------------------ prediction

    def predict(self, query: str, **inputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """``[batch]`` column of the answer with the most probable world (so it always satisfies the program)."""
        _check_inputs(query, inputs)
        t = self.template(query, inputs)
        with eval_mode(self):
            if self.options.method == "sample":  # no circuit to search: the answer with the largest estimate
                with torch.no_grad():
                    return self.log_prob(query, **inputs).argmax(dim=-1)
            values = explanations.mpe_values(self, t, inputs)[0]
        return values.argmax(dim=-1)

    def explain(self, query: str, answer: object | None = None, **inputs) -> list:
        """The most probable world behind each batch element's answer (the predicted one by default).

        Returns a list of :class:`~plait.nn.explain.Explanation`, one per batch
        element. The networks run in eval mode (dropout off, batch-norm statistics
        untouched), as for :meth:`predict`.
        """
        _check_inputs(query, inputs)
        with eval_mode(self):
            return explanations.explain(self, query, answer, inputs)

    def parameter_probabilities(self) -> dict[str, list[float]]:
        """The current probabilities of the ``t(...)`` clauses, keyed by ``FILE:LINE: clause``.

        One probability for a learnable fact, one per head for a learnable
        annotated disjunction, in the order of its heads.

        >>> # {'<string>:1: t(0.2)::a; t(0.5)::b; t(0.3)::c.': [0.2, 0.5, 0.3]}
        """
        out = {}
        for name, p in self.learnable.items():
            probs = torch.sigmoid(p) if p.dim() == 0 else torch.softmax(p, -1)
            out[self._clause_of[name]] = probs.detach().reshape(-1).tolist()
        return out


class eval_mode:
    """Switch a module to eval mode for a block, then restore its mode."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def __enter__(self) -> None:
        self.was_training = self.module.training
        self.module.eval()

    def __exit__(self, *exc: object) -> None:
        self.module.train(self.was_training)


def _clause_label(spec: NeuralSpec, span: SourceSpan | None) -> str:
    """``FILE:LINE: clause text`` (whitespace collapsed, long clauses cut) for a learnable clause."""
    if span is None:  # pragma: no cover - clauses from source text always carry a span
        return f"{spec.predicate} ({spec.name})"
    text = " ".join(span.text[span.start : span.end].split())
    if not text.endswith("."):
        text += "."
    if len(text) > 120:
        text = text[:100] + " ... " + text[-15:]
    return f"{span.filename}:{span.line}: {text}"


def _initial_logits(spec: NeuralSpec) -> torch.Tensor:
    """Logits for ``t(P)`` (a sigmoid for a fact, a softmax over an AD); ``t(_)`` starts at random."""
    if len(spec.init) == 1:
        p = spec.init[0]
        if p is None:
            p = float(torch.rand(()).clamp(0.05, 0.95))
        p = min(max(p, 1e-6), 1 - 1e-6)
        return torch.tensor(math.log(p / (1 - p)))
    init = [v if v is not None else float(torch.rand(()).clamp(0.05, 0.95)) for v in spec.init]
    total = sum(init)
    probs = [max(v / total, 1e-6) for v in init] if total > 0 else [1.0 / len(init)] * len(init)
    return torch.log(torch.tensor(probs))


def _select(x: torch.Tensor, order: torch.Tensor | None) -> torch.Tensor:
    """Answer columns in the template's order."""
    return x if order is None else x[:, order.to(x.device)]
