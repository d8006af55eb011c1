"""Answers counted inside the SDD library: the route of plain queries, without a tensor circuit.

A query that needs no gradients and no batch (``Program.query`` with the program's
own probabilities, semiring ``"log"``, ``"probability"`` or ``"auto"``) is one
weighted model count per root. The SDD library counts on the SDD itself (PySDD's
``WmcManager``, in C), which is several times faster than extracting the SDD into
a layered tensor circuit first when the SDD has hundreds of thousands of
elements (smokers, see docs/benchmarks.md). The leaf weights are the circuit
path's (:func:`~plait.inference.weights.circuit_weights` and the semiring's literal
values), and conditioning on evidence goes through the same
:func:`~plait.inference.evaluate.answers`, so both routes agree to rounding.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from pysdd.sdd import SddNode, WmcManager

from ..circuit.semiring import LOG_PROBABILITY, PROBABILITY, Semiring, get_semiring
from ..ground.ground_program import GroundProgram
from .compiled import CompiledRoots, compile_roots, query_name
from .evaluate import answers
from .options import AUTO, InferenceOptions
from .weights import circuit_weights

__all__ = ["counts_in_sdd", "sdd_answers"]


def counts_in_sdd(options: InferenceOptions) -> bool:
    """Whether ``options`` allow answering by model counting in the SDD library.

    Only the probability semirings (linear, log, or automatic) on the default
    backend: every other semiring needs plait's own circuits, and ``backend="klay"``
    is an explicit request for KLay's.

    >>> counts_in_sdd(InferenceOptions()), counts_in_sdd(InferenceOptions(semiring="max-log"))
    (True, False)
    """
    if options.backend != "layered":
        return False
    return options.semiring == AUTO or _count_semiring(options.semiring) is not None


def _count_semiring(semiring: str | Semiring) -> Semiring | None:
    if semiring == AUTO:
        return LOG_PROBABILITY  # log space never underflows; "auto" would end there when linear space does
    sr = get_semiring(semiring)
    return sr if sr is LOG_PROBABILITY or sr is PROBABILITY else None


def sdd_answers(program: GroundProgram, options: InferenceOptions) -> dict[str, torch.Tensor]:
    """The answers of a ground program's queries by weighted model counting on their SDDs, keyed by atom.

    ``options`` must pass :func:`counts_in_sdd`.

    >>> import plait
    >>> gp = plait.Program.from_string("0.3::a. 0.5::b. q :- a; b. e :- a. evidence(e). query(q).").ground()
    >>> round(float(sdd_answers(gp, InferenceOptions())["q"]), 12)
    1.0
    """
    sr = _count_semiring(options.semiring)
    if sr is None or options.backend != "layered":
        raise ValueError(f"the SDD library counts models for the probability semirings only, not {options.semiring}")
    compiled = compile_roots(program, options)
    values = torch.tensor(_root_counts(compiled, sr), dtype=torch.float64)
    out = answers(values, len(compiled.queries), compiled.has_evidence, sr, log=False).to(options.dtype)
    return {query_name(t, neg): out[i] for i, (t, neg) in enumerate(compiled.queries)}


def _root_counts(compiled: CompiledRoots, sr: Semiring) -> list[float]:
    """The weighted model count of every root, as a value of ``sr`` (a log probability in log space).

    In log space each root is counted in linear space first (about half the time of
    the library's log mode) and recounted in log mode only when its count is below
    ``_LINEAR_FLOOR``: above it, what linear space loses to underflow is below a
    relative 1e-50 (each lost term is under the smallest normal double, 2.2e-308).
    """
    comp = compiled.sdd
    vmap = comp.variables
    mgr = comp.manager
    weights = circuit_weights(
        vmap,
        torch.tensor(vmap.coin_probs, dtype=torch.float64),
        [torch.tensor(p, dtype=torch.float64) for p in vmap.group_probs],
    )
    linear = _literal_weights(PROBABILITY, weights, mgr.var_count())
    counts = [_count(root, linear, False) for root in compiled.roots]
    if sr is LOG_PROBABILITY:
        logw = None
        for i, (root, c) in enumerate(zip(compiled.roots, counts)):
            if c >= _LINEAR_FLOOR:
                counts[i] = math.log(c)
            else:
                logw = _literal_weights(sr, weights, mgr.var_count()) if logw is None else logw
                counts[i] = _count(root, logw, True)
    # the WMC managers forbid vtree changes while they live; they are gone now
    mgr.set_prevent_transformation(prevent=False)
    return counts


# below this a linear-space count is redone in log space
_LINEAR_FLOOR = 1e-200


def _literal_weights(sr: Semiring, weights: torch.Tensor, var_count: int) -> np.ndarray:
    """Literal values in PySDD's layout: the literals -n..-1, then 1..n."""
    pos = np.full(var_count, sr.one)
    neg = np.full(var_count, sr.zero)  # a variable no coin uses (the 1-variable manager of none) counts once
    pos[: weights.shape[-1]] = sr.positive(weights).numpy()
    neg[: weights.shape[-1]] = sr.negative(weights).numpy()
    return np.ascontiguousarray(np.concatenate([neg[::-1], pos]), dtype=np.float64)


def _count(root: SddNode, lit_weights: np.ndarray, log_mode: bool) -> float:
    if root.is_false():
        return -math.inf if log_mode else 0.0
    wmc = WmcManager(root, log_mode=log_mode)
    wmc.set_literal_weights_from_array(lit_weights)
    return float(wmc.propagate())
