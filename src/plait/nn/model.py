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
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..compile.variables import choice_weights
from ..compiled import CompiledQuery, compile_ground_program
from ..errors import InconsistentEvidenceError, InferenceError, NeuralError, PlaitError, SourceSpan
from ..ground.builtins import standard_order
from ..ground.database import ClauseDB, NeuralSpec, build_database
from ..ground.engine import Limits, ground_program
from ..ground.ground_program import NeuralSource
from ..ground.unify import resolve, unify
from ..program import Program
from ..syntax.parser import parse_term
from ..syntax.printing import format_term
from ..syntax.terms import Float, Int, Str, Struct, Term, Var, list_items, mk_list, term_vars

__all__ = ["Model", "Template", "compile_template", "show", "to_python"]

Inputs = Mapping[str, "torch.Tensor | Sequence[torch.Tensor]"]


def _placeholder(name: str, index: int | None = None) -> Struct:
    """The constant that stands for a template input while grounding (``'$A'`` or ``'$A'(0)``)."""
    return Struct("$" + name) if index is None else Struct("$" + name, (Int(index),))


def _display(t: Term) -> Term:
    """Placeholders ``'$A'`` / ``'$A'(0)`` shown as the template's variables ``A`` / ``A[0]``."""
    if isinstance(t, Struct):
        if t.functor == "$tensor" and len(t.args) == 2 and isinstance(t.args[0], Struct):
            return Struct(t.args[0].functor, (_display(t.args[1]),))  # an nn/3 output: net([inputs])
        if t.functor.startswith("$") and len(t.functor) > 1:
            if not t.args:
                return Var(t.functor[1:])
            if len(t.args) == 1 and isinstance(t.args[0], Int):
                return Var(f"{t.functor[1:]}[{t.args[0].value}]")
        if t.args:
            return Struct(t.functor, tuple(_display(a) for a in t.args))
    return t


def show(t: Term) -> str:
    """A term as text, with template placeholders shown as the template's variable names."""
    return format_term(_display(t))


def _slot_key(name: str, index: int | None) -> str:
    return name if index is None else f"{name}[{index}]"


@dataclass
class _NetCall:
    """All evaluations of one network in a template: which sources, and where their outputs go."""

    network: str
    sources: list[NeuralSource]
    targets: list[tuple[str, int]]  # ("ad", group position) or ("fact", column)
    widths: list[int]  # expected output width per source (domain size; 1 for a neural fact)


class Template:
    """A compiled query template: ``addition(A, B, Z)`` with inputs ``A``, ``B`` and answers over ``Z``.

    ``answers`` are the ground answer terms in the order of the output columns
    (the standard order of terms of the free variables' values); ``values``
    holds those values, one tuple per answer, in the order of ``outputs``.
    """

    def __init__(
        self,
        text: str,
        query: Term,
        inputs: dict[str, int | None],
        outputs: tuple[str, ...],
        compiled: CompiledQuery,
        order: list[int],
        answers: list[Term],
        values: list[tuple[Term, ...]],
        calls: list[_NetCall],
        params: list[tuple[str, int, str]],
    ) -> None:
        self.text = text
        self.query = query
        self.inputs = inputs  # name -> list length (None: a single tensor)
        self.outputs = outputs
        self.compiled = compiled
        self.answers = answers
        self.values = values
        self._order = torch.tensor(order, dtype=torch.long)
        self._identity_order = order == list(range(len(order)))
        self._calls = calls
        self._semiring: str | None = None  # set to "log" once linear space underflowed (semiring="auto")
        self._params = params  # (parameter name, target position, "ad"|"fact")
        self._index = {v: i for i, v in enumerate(values)}
        fact_cols = [col for c in calls for kind, col in c.targets if kind == "fact"]
        fact_cols += [pos for _, pos, kind in params if kind == "fact"]
        self._fact_cols = torch.tensor(fact_cols, dtype=torch.long)

    def __repr__(self) -> str:
        return f"Template({self.text!r}, inputs={list(self.inputs)}, outputs={list(self.outputs)}, answers={len(self.answers)})"

    @property
    def answer_names(self) -> list[str]:
        return [show(a) for a in self.answers]

    def index(self, *value: object) -> int:
        """The output column of an answer, given the free variables' values (Python values or terms).

        >>> # t.index(7) for addition(A, B, Z): the column of Z = 7
        """
        key = tuple(_to_term(v) for v in value)
        try:
            return self._index[key]
        except KeyError:
            shown = ", ".join(format_term(v) for v in key)
            raise InferenceError(
                f"({shown}) is not a possible answer of {self.text} for {', '.join(self.outputs) or 'the query'}",
                hint=f"it has {len(self.values)} answers, e.g. "
                + ", ".join("(" + ", ".join(format_term(x) for x in v) + ")" for v in self.values[:5]),
            ) from None

    def targets(self, values: Sequence[object] | torch.Tensor) -> torch.Tensor:
        """Column indices ``[batch]`` for a batch of answers (one free variable: its values)."""
        if isinstance(values, torch.Tensor):
            values = values.tolist()
        out = []
        for v in values:
            out.append(self.index(*v) if isinstance(v, tuple) else self.index(v))
        return torch.tensor(out, dtype=torch.long)

    def value_of(self, column: int) -> object:
        """The Python value of the free variables in answer ``column`` (see :func:`to_python`).

        One free variable gives its value, several a tuple of values, none ``True``
        (the only answer is the query itself).
        """
        py = [to_python(v) for v in self.values[column]]
        if not py:
            return True
        return py[0] if len(py) == 1 else tuple(py)

    @property
    def answer_values(self) -> list[object]:
        """:meth:`value_of` of every output column, in column order.

        >>> # model.template("addition(A, B, Z)", ["A", "B"]).answer_values  ->  [0, 1, ..., 18]
        """
        return [self.value_of(c) for c in range(len(self.values))]


def _check_inputs(query: str, inputs: Mapping[str, object]) -> None:
    """Every input is a tensor or a list of tensors (an int would be read as a list length)."""
    for name, v in inputs.items():
        items = v if isinstance(v, (list, tuple)) else [v]
        for x in items:
            if not isinstance(x, torch.Tensor):
                raise InferenceError(
                    f"the input {name} of {query} is a {type(x).__name__}, not a tensor",
                    hint="bind every input variable to a tensor whose dim 0 is the batch (or to a list of them)",
                )


def _to_term(v: object) -> Term:
    if isinstance(v, (Int, Float, Str, Struct, Var)):
        return v
    if isinstance(v, bool):
        return Struct("true" if v else "false")
    if isinstance(v, int):
        return Int(v)
    if isinstance(v, float):
        return Float(v)
    if isinstance(v, str):
        return parse_term(v)
    raise InferenceError(f"cannot turn {v!r} into a term", hint="use an int, a float, a string or a term")


def to_python(t: Term) -> object:
    """A ground term as a plain Python value.

    Integers become ``int``, floats ``float``, atoms and strings ``str``, proper
    lists ``list`` (item by item); other compound terms and partial lists become
    their text, as :func:`plait.format_term` writes them; ``[]`` is the empty list.

    >>> from plait import parse_term
    >>> to_python(parse_term('[1, 2.5, red, "s", [x], f(y), []]'))
    [1, 2.5, 'red', 's', ['x'], 'f(y)', []]
    """
    if isinstance(t, (Int, Float, Str)):
        return t.value
    if isinstance(t, Struct):
        if not t.args:
            return [] if t.functor == "[]" else t.functor
        items, tail = list_items(t)
        if items and tail == Struct("[]"):
            return [to_python(x) for x in items]
    return format_term(t)


def compile_template(
    db: ClauseDB,
    limits: Limits,
    text: str,
    shape: dict[str, int | None],
    dtype: torch.dtype = torch.float64,
    backend: str = "layered",
    strategy: str = "balanced-minimize",
) -> Template:
    """Ground and compile the query template ``text`` over a neural clause database (no networks needed).

    ``shape`` maps each input variable to None (a tensor) or a list length (a list
    of tensors). :meth:`Model.template` caches the result; ``plait check`` uses it
    to show the templates of a neural program without its networks.
    """
    try:
        query = parse_term(text)
    except PlaitError as e:
        raise type(e)(f"cannot parse the query template {text!r}: {e.message}", None, e.hint) from None
    names: dict[str, Var] = {}
    for v in term_vars(query):
        if not v.name.startswith("_"):
            names[v.name] = v
    subst: dict[Var, Term] = {}
    for name, n in shape.items():
        if name not in names:
            raise InferenceError(
                f"the input {name!r} is not a variable of the query template {text}",
                hint=f"its variables are {', '.join(names) or 'none'}",
            )
        subst[names[name]] = _placeholder(name) if n is None else mk_list([_placeholder(name, i) for i in range(n)])
    bound = resolve(query, subst)
    outputs = tuple(n for n in names if n not in shape)
    out_vars = [names[n] for n in outputs]
    gp = ground_program(db, limits, [bound])
    compiled = compile_ground_program(gp, dtype, backend, strategy=strategy)
    values: list[tuple[Term, ...]] = []
    for qterm, _neg in compiled.queries:
        s = unify(bound, qterm, {})
        if s is None:  # pragma: no cover - answers are instances of the query
            raise InferenceError(f"answer {format_term(qterm)} does not match the template {text}")
        values.append(tuple(resolve(v, s) for v in out_vars))
    if values and out_vars:
        order = sorted(range(len(values)), key=lambda i: standard_order(mk_list(list(values[i]))))
    else:
        order = list(range(len(values)))
    answers = [compiled.queries[i][0] for i in order]
    values = [values[i] for i in order]
    calls: dict[str, _NetCall] = {}
    params: list[tuple[str, int, str]] = []
    for kind, sources, widths in (
        ("ad", compiled.ad_sources, compiled.ad_domain_sizes),
        ("fact", compiled.fact_sources, [1] * len(compiled.fact_sources)),
    ):
        for pos, (src, width) in enumerate(zip(sources, widths)):
            if src is None:
                continue
            if src.kind == "t":
                params.append((src.name, pos, kind))
                continue
            call = calls.setdefault(src.name, _NetCall(src.name, [], [], []))
            call.sources.append(src)
            call.targets.append((kind, pos))
            call.widths.append(width)
    for call in calls.values():
        arities = {len(s.inputs) for s in call.sources}
        if len(arities) > 1:
            raise NeuralError(
                f"network {call.network!r} is called with {sorted(arities)} inputs by different predicates",
                call.sources[0].span,  # type: ignore[arg-type]
                "give each input arity its own network name",
            )
    return Template(text, bound, shape, outputs, compiled, order, answers, values, list(calls.values()), params)


class Model(nn.Module):
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
    ``dataset[3]`` a tensor. ``dtype`` is the circuit's (network outputs are cast
    to it; float64 keeps linear-space evaluation exact for long products), and
    ``semiring`` how it is evaluated (see below). The model is an ``nn.Module``: its parameters are the
    networks' plus one logit tensor per ``t(...)`` clause, and templates follow
    the device of the inputs they are given.
    """

    def __init__(
        self,
        program: Program | str | Path,
        networks: Mapping[str, nn.Module] | None = None,
        *,
        tensor_sources: Mapping[str, object] | None = None,
        dtype: torch.dtype = torch.float64,
        limits: Limits | None = None,
        backend: str = "layered",
        sdd_strategy: str = "balanced-minimize",
        semiring: str = "auto",
    ) -> None:
        super().__init__()
        if semiring not in ("auto", "log", "probability"):
            raise InferenceError(
                f"unknown semiring {semiring!r} for a model", hint="use 'auto', 'log' or 'probability'"
            )
        # "log" never underflows; "probability" (linear space, then the log of the
        # answer) takes about half the tensor ops per circuit layer and is exact
        # while answers stay above the dtype's smallest number. "auto" evaluates in
        # linear space and redoes a batch in log space when an answer comes out as
        # 0; a template whose zeros turn out to be underflow stays in log space.
        self.semiring = semiring
        # Templates are compiled once and evaluated on every batch, so the default
        # vtree strategy favours shallow circuits (balanced vtree + minimization:
        # 41 instead of 450 layers for 15-digit addition) over compile time.
        self.sdd_strategy = sdd_strategy
        if isinstance(program, Path):
            program = Program.from_file(program, limits)
        elif isinstance(program, str):
            program = Program.from_string(program, limits=limits)
        self.program = program
        self.dtype = dtype
        self.backend = backend
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
        # set to a list by plait.fit while a step runs: every network call of the step is
        # appended as (template, [(call, outputs)]), so a loss hook sees the outputs the
        # circuit used instead of running the networks a second time
        self._output_log: list | None = None

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
                if isinstance(v, (list, tuple)):
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
        return compile_template(self.db, self.limits, text, shape, self.dtype, self.backend, self.sdd_strategy)

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
        weights = self.leaf_weights(t, inputs)
        auto = self.semiring == "auto" and t._semiring is None
        semiring = "probability" if auto else (t._semiring or self.semiring)
        try:
            out = t.compiled(semiring=semiring, log=True, weights=weights)
            if not t._identity_order:
                out = out[:, t._order.to(out.device)]
            watched = out if targets is None else out.gather(1, targets.to(out.device).view(-1, 1))
            retry = auto and bool(torch.isneginf(watched).any())
        except InconsistentEvidenceError:
            if not auto:
                raise
            out, retry = None, True  # evidence 0 in linear space: underflow, or really impossible (log tells)
        if retry:
            exact = t.compiled(semiring="log", log=True, weights=weights)
            if not t._identity_order:
                exact = exact[:, t._order.to(exact.device)]
            if out is None or not torch.equal(torch.isneginf(exact), torch.isneginf(out)):
                t._semiring = "log"  # linear space underflowed: this template needs log space
            out = exact
        return out

    def leaf_probabilities(self, t: Template, inputs: Inputs) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The probabilities behind a batch: facts ``[B, n_facts]`` and, per used AD, every head of its domain.

        An AD's row is ``[B, domain]`` when a network gives it and ``[domain]``
        when it is the same for the whole batch. (The circuit itself takes
        :meth:`leaf_weights`.) Explanations need every head, also those the
        queries never reach.
        """
        results, batch, device = self._run_networks(t, inputs)
        cq = t.compiled
        ads = [torch.tensor(p, dtype=self.dtype, device=device) for p in cq.ad_all_probs]
        fact_cols: list[torch.Tensor] = []
        for call, outs in results:
            for (kind, pos), out in zip(call.targets, outs.unbind(0)):
                if kind == "ad":
                    ads[pos] = out
                else:
                    fact_cols.append(out)
        for name, pos, kind in t._params:
            logits = self.learnable[name].to(device=device, dtype=self.dtype)
            if kind == "ad":
                ads[pos] = torch.softmax(logits, -1)
            else:
                fact_cols.append(torch.sigmoid(logits).reshape(1).expand(batch))
        return self._fact_matrix(t, fact_cols, batch), ads

    def _run_networks(
        self, t: Template, inputs: Inputs
    ) -> tuple[list[tuple[_NetCall, torch.Tensor]], int, torch.device]:
        """Every network of the template on this batch; then the template follows the inputs' device."""
        bound = self._bind_inputs(t, inputs)
        batch, device = bound["$batch"], bound["$device"]
        # the networks run (and check their inputs' device) before the template moves
        results = [(call, self._run_network(call, bound, batch, device)) for call in t._calls]
        if self._output_log is not None:
            self._output_log.append((t, results))
        cq = t.compiled
        if cq.fact_probs.device != device:
            cq.to(device)
            t._order = t._order.to(device)
            t._fact_cols = t._fact_cols.to(device)
        return results, batch, device

    @staticmethod
    def _fact_matrix(t: Template, fact_cols: list[torch.Tensor], batch: int) -> torch.Tensor:
        """``[B, n_facts]``: the program's fact probabilities with the neural and learnable columns filled in."""
        facts = t.compiled.fact_probs
        if not fact_cols:
            return facts.expand(batch, facts.shape[-1])
        facts = facts.expand(batch, facts.shape[-1]).clone()
        facts[:, t._fact_cols] = torch.stack(fact_cols, dim=1)
        return facts

    def leaf_weights(self, t: Template, inputs: Inputs) -> torch.Tensor:
        """The circuit's variable weights ``[B, n_vars]`` for a batch (the training fast path).

        The numbers of :meth:`leaf_probabilities` turned into sequential AD
        coins, but with one coin conversion per network output (all its uses at
        once: coins are prefix-consistent, so an AD that uses only its first k
        heads takes the first k coins) instead of one per AD group.
        """
        results, batch, device = self._run_networks(t, inputs)
        cq = t.compiled
        group_vars = cq.variables.group_vars
        coins: list[torch.Tensor | None] = [None] * len(group_vars)
        fact_cols: list[torch.Tensor] = []
        for call, outs in results:
            if call.targets[0][0] == "ad":
                all_coins = choice_weights(outs)  # [n_uses, B, width]: one conversion for the network
                for i, (_kind, pos) in enumerate(call.targets):
                    coins[pos] = all_coins[i, :, : len(group_vars[pos])]
            else:
                fact_cols.extend(outs.unbind(0))
        for name, pos, kind in t._params:
            logits = self.learnable[name].to(device=device, dtype=self.dtype)
            if kind == "ad":
                c = choice_weights(torch.softmax(logits, -1))[: len(group_vars[pos])]
                coins[pos] = c.expand(batch, c.shape[-1])
            else:
                fact_cols.append(torch.sigmoid(logits).reshape(1).expand(batch))
        for pos, c in enumerate(coins):
            if c is None:
                fixed = choice_weights(getattr(cq, f"ad_probs{pos}"))
                coins[pos] = fixed.expand(batch, fixed.shape[-1])
        facts = self._fact_matrix(t, fact_cols, batch)
        return torch.cat([facts, *coins], dim=-1) if coins else facts

    def _bind_inputs(self, t: Template, inputs: Inputs) -> dict:
        missing = [n for n in t.inputs if n not in inputs]
        if missing:
            raise InferenceError(
                f"the template {t.text} needs the inputs {', '.join(missing)}", hint="pass them as keyword arguments"
            )
        _check_inputs(t.text, {name: inputs[name] for name in t.inputs})
        bound: dict = {}
        batch: int | None = None
        device: torch.device | None = None
        for name, n in t.inputs.items():
            value = inputs[name]
            items = [(None, value)] if n is None else list(enumerate(value))  # type: ignore[arg-type]
            for i, x in items:
                if x.dim() == 0:
                    raise InferenceError(
                        f"the input {_slot_key(name, i)} of {t.text} has no batch dimension",
                        hint="give a batch of one as x.unsqueeze(0)",
                    )
                if batch is None:
                    batch, device = x.shape[0], x.device
                elif x.shape[0] != batch:
                    raise InferenceError(
                        f"the inputs of {t.text} disagree on the batch size: {_slot_key(name, i)} has {x.shape[0]}, "
                        f"an earlier one {batch}",
                        hint="every input tensor carries the same batch along dim 0",
                    )
                bound[_placeholder(name, i)] = x
        if device is None:
            device = self._default_device()
        bound["$batch"] = batch if batch is not None else 1
        bound["$device"] = device
        return bound

    def _default_device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    def _input_tensor(self, term: Term, bound: dict, src: NeuralSource, batch: int) -> torch.Tensor:
        x = bound.get(term)
        if x is not None:
            return x
        if isinstance(term, Struct) and term.functor == "$tensor" and len(term.args) == 2:
            return self._tensor_term(term, bound, src, batch)
        if isinstance(term, (Int, Float)):
            # a number in the program (DeepProbLog's Forth models feed digits to networks): one per example
            dtype = torch.long if isinstance(term, Int) else self.dtype
            return torch.full((batch,), term.value, dtype=dtype, device=bound["$device"])
        if isinstance(term, Struct) and term.functor == "tensor" and len(term.args) == 1:
            ref = term.args[0]
            if isinstance(ref, Struct) and ref.functor in self.tensor_sources:
                source = self.tensor_sources[ref.functor]
                idx = tuple(to_python(a) for a in ref.args)
                try:
                    item = source[idx[0] if len(idx) == 1 else idx]  # type: ignore[index]
                except (IndexError, KeyError, TypeError) as e:
                    raise NeuralError(
                        f"tensor source {ref.functor!r} has no item {format_term(ref)} "
                        f"(input of neural predicate {src.predicate}, network {src.name!r})",
                        src.span,  # type: ignore[arg-type]
                    ) from e
                if not isinstance(item, torch.Tensor):
                    raise NeuralError(
                        f"tensor source {ref.functor!r} returned a {type(item).__name__} for {format_term(ref)}, "
                        f"not a tensor (input of {src.predicate}, network {src.name!r})",
                        src.span,  # type: ignore[arg-type]
                    )
                return item.unsqueeze(0).expand(batch, *item.shape)
        raise NeuralError(
            f"the input {format_term(term)} of neural predicate {src.predicate} (network {src.name!r}) "
            "is neither a template input, a number, nor a tensor(...) term of a known tensor source",
            src.span,  # type: ignore[arg-type]
            f"bind it in the query template, or register a source: tensor_sources={{name: dataset}} "
            f"(known: {', '.join(sorted(self.tensor_sources)) or 'none'})",
        )

    def _tensor_term(self, term: Struct, bound: dict, src: NeuralSource, batch: int) -> torch.Tensor:
        """The output of an ``nn(Net, Inputs, T)`` network, computed once per batch and shared."""
        memo = bound.setdefault("$tensors", {})
        out = memo.get(term)
        if out is not None:
            return out
        net_term, inputs_term = term.args
        name = net_term.functor if isinstance(net_term, Struct) else str(net_term)
        items, _ = list_items(inputs_term)
        inner = NeuralSource("nn", name, tuple(items or ()), f"tensor of {name}", src.span)
        xs = [self._input_tensor(x, bound, inner, batch) for x in inner.inputs]
        what = f"network {name!r} (a tensor-valued nn/3 predicate, input of {src.predicate})"
        try:
            out = self.networks[name](*xs)
        except PlaitError:
            raise
        except Exception as e:  # a user's network failed: say which predicate called it
            raise NeuralError(
                f"{what} raised {type(e).__name__}: {e}",
                src.span,  # type: ignore[arg-type]
                "the network's own error is chained below; check what it expects as input",
            ) from e
        if not isinstance(out, torch.Tensor) or out.dim() == 0 or out.shape[0] != batch:
            shape = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise NeuralError(
                f"{what} returned {shape}, expected a tensor with the batch ({batch}) along dim 0",
                src.span,  # type: ignore[arg-type]
            )
        memo[term] = out
        return out

    def _run_network(self, call: _NetCall, bound: dict, batch: int, device: torch.device) -> torch.Tensor:
        """One forward pass for every use of a network in the template, checked: ``[n_uses, B, width]``.

        (``[n_uses, B]`` for neural facts.)
        """
        net = self.networks[call.network]
        first = call.sources[0]
        what = f"network {call.network!r} of neural predicate {first.predicate}"
        n_inputs = len(first.inputs)
        columns: list[list[torch.Tensor]] = [[] for _ in range(n_inputs)]
        for src in call.sources:
            for j, term in enumerate(src.inputs):
                columns[j].append(self._input_tensor(term, bound, src, batch))
        net_device = next((p.device for p in net.parameters()), None)
        xs = []
        for col in columns:
            shapes = {tuple(c.shape[1:]) for c in col}
            if len(shapes) > 1:
                raise NeuralError(
                    f"{what}: its inputs have different shapes {sorted(shapes)}",
                    first.span,  # type: ignore[arg-type]
                    "all calls of one network are batched together: give them inputs of one shape",
                )
            for c in col:
                if net_device is not None and c.device != net_device:
                    raise NeuralError(
                        f"{what}: an input is on {c.device} but the network is on {net_device}",
                        first.span,  # type: ignore[arg-type]
                        "move the inputs and the model to one device (model.to(device), x.to(device))",
                    )
            xs.append(col[0] if len(col) == 1 else torch.cat(col, dim=0))
        try:
            out = net(*xs)
        except PlaitError:
            raise
        except Exception as e:  # a user's network failed: say which predicate called it
            raise NeuralError(
                f"{what} raised {type(e).__name__}: {e}",
                first.span,  # type: ignore[arg-type]
                "the network's own error is chained below; check what it expects as input",
            ) from e
        n = len(call.sources)
        if not isinstance(out, torch.Tensor):
            raise NeuralError(f"{what} returned a {type(out).__name__}, not a tensor", first.span)  # type: ignore[arg-type]
        width = call.widths[0]
        is_fact = call.targets[0][0] == "fact"
        kinds = {(k, w) for (k, _), w in zip(call.targets, call.widths)}
        if len(kinds) > 1:
            shown = ", ".join(f"{k} of width {w}" for k, w in sorted(kinds))
            raise NeuralError(
                f"network {call.network!r} serves predicates with different outputs ({shown})",
                first.span,  # type: ignore[arg-type]
                "one network has one output shape: give each predicate its own network name",
            )
        if is_fact and out.dim() == 1:
            out = out.unsqueeze(-1)
        if out.dim() != 2 or out.shape[0] != n * batch or out.shape[1] != width:
            expect = f"[{n * batch}, {width}]"
            domain = "one probability per example" if is_fact else f"one probability per domain value ({width})"
            raise NeuralError(
                f"{what} returned shape {list(out.shape)}, expected {expect}: {domain}"
                + (f" for {n} calls of batch {batch}" if n > 1 else ""),
                first.span,  # type: ignore[arg-type]
                "check the network's output layer against the predicate's domain",
            )
        out = out.to(self.dtype)
        # one fused check and one sync: NaN propagates through min/max, so it fails them too
        with torch.no_grad():
            lo, hi = torch.aminmax(out)
            checks = [lo, hi] if is_fact else [lo, hi, (out.sum(-1) - 1).abs().max()]
            values = torch.stack(checks).tolist()
        ok = values[0] >= 0 and values[1] <= 1 and (is_fact or values[2] <= 1e-3 * max(1, width))
        if not ok:
            if any(v != v for v in values):
                problem = "NaN"
            elif not (values[0] >= 0 and values[1] <= 1):
                problem = "values outside [0, 1]"
            else:
                problem = f"rows that do not sum to 1 (e.g. {float(out.sum(-1)[0]):.4g})"
            raise NeuralError(
                f"{what} returned {problem}",
                first.span,  # type: ignore[arg-type]
                "a neural annotated disjunction takes probabilities: end the network with softmax(dim=-1)"
                if not is_fact
                else "a neural fact takes a probability per example: end the network with a sigmoid",
            )
        if is_fact:
            return out[:, 0].reshape(n, batch)
        return out.reshape(n, batch, width)

    # ------------------------------------------------------------------ prediction

    def predict(self, query: str, **inputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """``[batch]`` column of the answer with the most probable world (so it always satisfies the program)."""
        from .explain import mpe_values

        _check_inputs(query, inputs)
        t = self.template(query, inputs)
        with eval_mode(self):
            values = mpe_values(self, t, inputs)[0]
        return values.argmax(dim=-1)

    def explain(self, query: str, answer: object | None = None, **inputs) -> list:
        """The most probable world behind each batch element's answer (the predicted one by default).

        Returns a list of :class:`~plait.nn.explain.Explanation`, one per batch
        element. The networks run in eval mode (dropout off, batch-norm statistics
        untouched), as for :meth:`predict`.
        """
        from .explain import explain

        _check_inputs(query, inputs)
        with eval_mode(self):
            return explain(self, query, answer, inputs)

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
