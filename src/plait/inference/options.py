"""The one options object of compilation and inference.

Every entry point (``Program.compile``/``query``, ``plait.Model``, the command line)
builds one :class:`InferenceOptions` and hands it down unchanged; nothing below
takes these settings as loose parameters.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from ..circuit.layered import EVALUATIONS
from ..circuit.semiring import SEMIRINGS, Semiring
from ..compile.sdd import DEFAULT_MAX_SDD_SIZE
from ..errors import InferenceError

__all__ = ["InferenceOptions", "BACKENDS", "CYCLE_METHODS", "METHODS", "ESTIMATORS", "AUTO", "EVALUATIONS"]

BACKENDS = ("layered", "klay")
CYCLE_METHODS = ("break", "tp")
METHODS = ("exact", "topk", "sample")
# the gradient estimators of method="sample" in neural models (see plait.inference.approx.gradient)
ESTIMATORS = ("indecater", "rloo")
# linear space first, log space for a template once a watched answer underflows to 0
AUTO = "auto"


@dataclass(frozen=True, slots=True)
class InferenceOptions:
    """How a program is compiled and evaluated.

    - ``semiring``: a semiring name (``"log"``, ``"probability"``, ...), a
      :class:`~plait.circuit.semiring.Semiring` object, or ``"auto"`` (linear space,
      redone in log space when an answer underflows; the default of neural models).
    - ``backend``: ``"layered"`` (plait's circuits, every semiring) or ``"klay"``
      (``pip install 'plait[klay]'``; probability and log only).
    - ``cycles``: ``"break"`` (cycle breaking, as ProbLog) or ``"tp"`` (TP-compilation).
    - ``strategy``: the SDD vtree strategy (checked by :func:`plait.compile.sdd.compile_sdd`).
    - ``dtype``: the circuit's floating point type.
    - ``max_sdd_size``: a budget for the compiled SDDs in elements (``None``: none); past it a
      :class:`~plait.errors.CompilationBudgetError` names the queries, instead of running out of memory.
    - ``method``: ``"exact"`` (knowledge compilation), ``"topk"`` (a lower bound from each query's
      ``k`` most probable proofs) or ``"sample"`` (a Monte Carlo estimate from ``samples`` worlds
      drawn with ``seed``; ``None``: a fresh seed); see :mod:`plait.inference.approx`.
    - ``circuit_eval``: how the layered backend evaluates the probability and log semirings:
      ``"fused"`` (node-major values, one scatter per layer, :mod:`plait.circuit.fused`),
      ``"layered"`` (batch-major, the evaluator of the other semirings) or ``"auto"`` (the faster
      one: fused, on CPU and CUDA). Same values and gradients either way.
    - ``estimator``: how a neural model trained with ``method="sample"`` gets its gradient:
      ``"indecater"`` (IndeCateR, low variance, ``samples * (1 + choices * values)`` worlds per
      example) or ``"rloo"`` (REINFORCE with a leave-one-out baseline, ``samples`` worlds); see
      :mod:`plait.inference.approx.gradient`.

    >>> opts = InferenceOptions(semiring="probability")
    >>> opts.replace(cycles="tp").cycles
    'tp'
    """

    semiring: str | Semiring = "log"
    backend: str = "layered"
    cycles: str = "break"
    strategy: str = "auto"
    dtype: torch.dtype = torch.float64
    max_sdd_size: int | None = DEFAULT_MAX_SDD_SIZE
    method: str = "exact"
    k: int = 10
    samples: int = 10_000
    seed: int | None = None
    circuit_eval: str = "auto"
    estimator: str = "indecater"

    def __post_init__(self) -> None:
        _check("backend", self.backend, BACKENDS)
        _check("circuit_eval", self.circuit_eval, EVALUATIONS)
        _check("method", self.method, METHODS)
        _check("estimator", self.estimator, ESTIMATORS)
        _positive("k", self.k, "the number of proofs per query, e.g. k=10")
        _positive("samples", self.samples, "the number of worlds to draw, e.g. samples=10_000")
        if self.seed is not None and (not isinstance(self.seed, int) or isinstance(self.seed, bool)):
            raise InferenceError(
                f"seed must be an integer or None, not {self.seed!r}", hint="e.g. seed=0 for a reproducible draw"
            )
        _check("cycles", self.cycles, CYCLE_METHODS)
        if isinstance(self.semiring, str):
            _check("semiring", self.semiring, (AUTO, *SEMIRINGS))
        if self.max_sdd_size is not None and (not isinstance(self.max_sdd_size, int) or self.max_sdd_size <= 0):
            raise InferenceError(
                f"max_sdd_size must be a positive number of SDD elements or None, not {self.max_sdd_size!r}",
                hint=f"the default is {DEFAULT_MAX_SDD_SIZE:,}",
            )
        if not isinstance(self.dtype, torch.dtype) or not self.dtype.is_floating_point:
            raise InferenceError(
                f"dtype must be a floating point torch dtype, not {self.dtype!r}", hint="e.g. torch.float64"
            )

    def replace(self, **changes: object) -> InferenceOptions:
        """A copy with some options changed (unknown names are an error that lists the known ones)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InferenceError(
                f"unknown inference option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                hint=f"the options are {', '.join(sorted(known))}",
            )
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _positive(what: str, value: object, hint: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InferenceError(f"{what} must be a positive integer, not {value!r}", hint=hint)


def _check(what: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InferenceError(f"unknown {what} {value!r}", hint=f"choose one of {', '.join(map(repr, allowed))}")
