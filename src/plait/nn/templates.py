"""Query templates of neural models: ``addition(A, B, Z)`` grounded and compiled once, with tensor inputs.

The inputs of a template become placeholder constants while grounding; the
compiled circuit is then the same for every batch, and only its leaf weights
change (see :mod:`plait.nn.running`). :func:`compile_template` needs no networks,
so ``plait check`` uses it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from ..errors import InferenceError, NeuralError, PlaitError
from ..ground.builtins import standard_order
from ..ground.database import ClauseDB
from ..ground.engine import Limits
from ..ground.ground_program import NeuralSource
from ..ground.grounding import ground_program
from ..ground.unify import resolve, unify
from ..inference import (
    AutoLogSpace,
    CompiledQuery,
    InferenceOptions,
    compile_ground_program,
    query_probability,
)
from ..inference.approx import SampledQuery
from ..syntax.parser import parse_term
from ..syntax.printing import format_term
from ..syntax.terms import Float, Int, Str, Struct, Term, Var, list_items, mk_list, term_vars

__all__ = [
    "Template",
    "compile_template",
    "show",
    "to_python",
    "MODEL_DEFAULTS",
    "Inputs",
    "is_term_batch",
    "term_batch",
]

Inputs = Mapping[str, "torch.Tensor | Sequence[torch.Tensor] | Sequence[object]"]

# A model's options unless it is given others. Templates are compiled once and evaluated on every
# batch, so the vtree strategy favours shallow circuits (balanced vtree + minimization: 41 instead
# of 450 layers for 15-digit addition) over compile time. The semiring "auto" evaluates in linear
# space (about half the tensor ops per layer of log space, exact while answers stay above the
# dtype's smallest number) and redoes a batch in log space when an answer comes out as 0; float64
# keeps linear space exact for long products.
MODEL_DEFAULTS = InferenceOptions(semiring="auto", strategy="balanced-minimize")


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
        evaluator: AutoLogSpace,
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
        self.evaluator = evaluator  # its state: whether linear space has underflowed (semiring "auto")
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


def is_term_batch(value: object) -> bool:
    """Whether a template input is a batch of terms (strings, atoms) rather than tensors.

    A non-empty list or tuple of strings and terms is one term per example
    (networks that read text, such as LLM predicates, take these); a list of
    tensors binds a list variable, as before. Numbers stay tensors: a list of
    bare numbers is an error, as it was.

    >>> is_term_batch(["a cat", "a dog"]), is_term_batch([torch.zeros(2, 3)]), is_term_batch([1.0, 2.0])
    (True, False, False)
    """
    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(x, (str, Int, Float, Str, Struct)) for x in value)
    )


def term_batch(values: Sequence[object]) -> list[Term]:
    """A batch of terms from Python values: a ``str`` is a string term (text), not parsed; terms stay as they are.

    >>> [format_term(t) for t in term_batch(["a cat", Struct("red")])]
    ['"a cat"', 'red']
    """
    return [Str(v) if isinstance(v, str) else _to_term(v) for v in values]


def _check_inputs(query: str, inputs: Mapping[str, object]) -> None:
    """Every input is a tensor, a list of tensors (an int would be read as a list length), or a batch of terms."""
    for name, v in inputs.items():
        if is_term_batch(v):
            continue
        items = v if isinstance(v, (list, tuple)) else [v]
        for x in items:
            if not isinstance(x, torch.Tensor):
                raise InferenceError(
                    f"the input {name} of {query} is a {type(x).__name__}, not a tensor",
                    hint="bind every input variable to a tensor whose dim 0 is the batch (or to a list of them), "
                    "or to a list of strings or terms, one per example",
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
    options: InferenceOptions | None = None,
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
    gp = ground_program(db, limits, [bound], query_probability)
    opts = options or MODEL_DEFAULTS
    compiled: CompiledQuery | SampledQuery
    if opts.method == "sample":  # nothing compiled: the answers are estimated from sampled worlds
        compiled = SampledQuery(gp, opts)
    elif opts.method == "topk":
        raise InferenceError(
            "a neural model cannot train on method='topk' (its bound has no gradient here)",
            hint="use method='sample' (a sampled estimate with an unbiased gradient) or method='exact'",
        )
    else:
        compiled = compile_ground_program(gp, opts)
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
    evaluator = AutoLogSpace((options or MODEL_DEFAULTS).semiring)
    template = Template(
        text, bound, shape, outputs, compiled, order, answers, values, list(calls.values()), params, evaluator
    )
    template.ground = gp  # fuzzy semirings are evaluated on the rules, not on the circuit
    return template
