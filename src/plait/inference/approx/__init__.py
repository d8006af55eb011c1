"""Approximate inference: top-k proofs (bounds) and Monte Carlo sampling (estimates with intervals).

Selected with ``InferenceOptions(method=...)`` (or ``Program.query(method=...)``):

- ``"topk"``: the exact probability of the disjunction of each query's ``k`` most
  probable proofs, a lower bound (``k=1``: the most probable proof);
- ``"sample"``: the fraction of ``samples`` drawn worlds (``seed``) where the query
  holds, given the evidence by rejection.

:func:`estimate` returns an :class:`Estimate` per query: the value and its interval
(a 95% Wilson interval for sampling; for top-k the lower bound and the upper bound
``1 - `` the top-k bound of the query's negation).

Training through sampling: a neural model with ``method="sample"`` answers its
templates with a :class:`SampledQuery` (nothing compiled), whose estimates carry
an unbiased gradient (:func:`indecater` or :func:`rloo`, chosen by
``InferenceOptions.estimator``); :func:`indecater` and :func:`rloo` also take any
batched 0/1 function of independent categorical choices.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ...circuit.semiring import get_semiring
from ...errors import InferenceError
from ...ground.ground_program import GroundProgram
from ..compiled import query_name
from ..options import AUTO, InferenceOptions
from .gradient import indecater, log_estimate, rloo
from .sampling import sample_counts, wilson_interval
from .topk import top_k_bounds
from .trainable import SampledQuery

__all__ = ["Estimate", "estimate", "approximate_answers", "SampledQuery", "indecater", "rloo", "log_estimate"]

# the semirings whose answers are probabilities, which the approximations approximate
_PROBABILITY_SEMIRINGS = (AUTO, "log", "probability")


@dataclass(frozen=True, slots=True)
class Estimate:
    """An approximate answer: ``value`` lies in ``[low, high]``.

    ``method="sample"``: ``value`` is the fraction of accepted worlds where the query
    holds and ``[low, high]`` its 95% Wilson interval; ``samples`` is the number of
    accepted worlds (all of them without evidence). ``method="topk"``: ``value == low``
    is the lower bound from the top-k proofs and ``high`` the upper bound; the true
    probability is certainly inside; ``samples`` is the number of proofs used.
    """

    value: float
    low: float
    high: float
    method: str
    samples: int


def estimate(program: GroundProgram, options: InferenceOptions) -> dict[str, Estimate]:
    """An :class:`Estimate` of every query of a ground program under ``options.method``.

    >>> import plait
    >>> gp = plait.Program.from_string("0.6::a. 0.3::b. q :- a. q :- b. query(q).").ground()
    >>> e = estimate(gp, InferenceOptions(method="topk", k=1))["q"]
    >>> round(e.low, 4), round(e.high, 4)
    (0.6, 0.72)
    """
    _check(program, options)
    names = [query_name(q.term, q.negated) for q in program.queries]
    if options.method == "topk":
        bounds = top_k_bounds(program, options.k, upper=True)
        return {
            n: Estimate(b.lower, b.lower, b.upper, "topk", b.proofs_used) for n, b in zip(names, bounds, strict=True)
        }
    hits, accepted = sample_counts(program, options.samples, options.seed)
    out = {}
    for n, h in zip(names, hits.tolist(), strict=True):
        low, high = wilson_interval(h, accepted)
        out[n] = Estimate(h / accepted if accepted else 0.0, low, high, "sample", accepted)
    return out


def approximate_answers(program: GroundProgram, options: InferenceOptions) -> dict[str, torch.Tensor]:
    """The approximate probabilities of the queries, keyed as :func:`plait.inference.program_answers` keys them."""
    _check(program, options)
    names = [query_name(q.term, q.negated) for q in program.queries]
    if options.method == "topk":
        values = [b.lower for b in top_k_bounds(program, options.k)]
    else:
        hits, accepted = sample_counts(program, options.samples, options.seed)
        values = [h / accepted for h in hits.tolist()]
    return {n: torch.tensor(v, dtype=options.dtype) for n, v in zip(names, values, strict=True)}


def _check(program: GroundProgram, options: InferenceOptions) -> None:
    if options.method not in ("topk", "sample"):
        raise InferenceError(
            f"method {options.method!r} is not an approximation", hint="use method='topk' or method='sample'"
        )
    sr = options.semiring
    if not (isinstance(sr, str) and sr in _PROBABILITY_SEMIRINGS or get_semiring(sr).name in ("log", "probability")):
        name = sr if isinstance(sr, str) else get_semiring(sr).name
        raise InferenceError(
            f"method={options.method!r} approximates probabilities, not the semiring {name!r}",
            hint="use semiring='log' (the default) with an approximate method, or method='exact' for other semirings",
        )
    if options.method == "topk" and program.evidence:
        raise InferenceError(
            "method='topk' bounds P(query) without evidence: the proofs of a query say nothing about P(evidence)",
            hint="use method='sample' (rejection sampling) or method='exact' for a program with evidence",
        )
