"""Differentiable Monte Carlo estimates: training through sampled worlds.

A query's probability is an expectation ``P = E_{x ~ p_theta}[f(x)]`` over
independent categorical choices ``x_1..x_n`` (the outputs of neural annotated
disjunctions, probabilistic facts as two-way choices) of a 0/1 function ``f``
(does the query hold in world ``x``?). Both estimators here return a tensor
whose *value* is the plain Monte Carlo estimate ``1/S sum_s f(x_s)`` and whose
*gradient* is an unbiased estimate of ``dP/dtheta``, so any loss built on it
trains with ordinary autograd:

- :func:`indecater` (IndeCateR, De Smet et al., NeurIPS 2023): for each choice
  ``i`` and each of its values ``d``, ``f`` is re-evaluated on the sampled worlds
  with ``x_i`` set to ``d``; the gradient is
  ``sum_i sum_d dp_i(d)/dtheta * 1/S sum_s f(x_s[i := d])``. It is
  Rao-Blackwellised over each choice (the exact sum over the choice's values
  replaces sampling it), so its variance is far below REINFORCE's, at the cost of
  ``n * d`` evaluations of ``f`` per sample.
- :func:`rloo` (REINFORCE leave-one-out, Kool et al., 2019): ``1/S sum_s
  (f(x_s) - b_s) dlog p(x_s)/dtheta`` with the baseline ``b_s`` the mean of the
  other samples' ``f``; unbiased, ``S`` evaluations of ``f``, higher variance.

``f`` takes the sampled values ``[N, B, n]`` (long; ``N`` worlds for each of
``B`` examples) and returns ``[N, B, A]`` 0/1 values (one column per answer).
Everything is batched over worlds, examples and answers; there is no Python loop
over examples or samples.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...errors import InferenceError
from ..options import ESTIMATORS

__all__ = ["sample_values", "indecater", "rloo", "estimate_with_gradient", "log_estimate"]

WorldFunction = Callable[[torch.Tensor], torch.Tensor]

# IndeCateR re-evaluates f on n * d * S worlds per example; they are evaluated in chunks of at most
# this many worlds (times the batch) so that memory stays bounded on large programs
_CHUNK_WORLDS = 4096


def sample_values(probs: torch.Tensor, samples: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """``samples`` draws ``[S, B, n]`` (long) of ``n`` independent categoricals with probabilities ``[B, n, d]``.

    >>> g = torch.Generator().manual_seed(0)
    >>> sample_values(torch.tensor([[[0.0, 1.0], [1.0, 0.0]]]), 2, g).tolist()
    [[[1, 0]], [[1, 0]]]
    """
    b, n, d = probs.shape
    flat = probs.detach().reshape(b * n, d).to(torch.float64).clamp_min(0)
    draws = torch.multinomial(flat, samples, replacement=True, generator=gen)  # [b * n, S]
    return draws.T.reshape(samples, b, n).to(probs.device)


def _check(probs: torch.Tensor, samples: int, minimum: int) -> None:
    if probs.dim() != 3:
        raise InferenceError(
            f"the choice probabilities must be [batch, n_choices, n_values], not {list(probs.shape)}",
            hint="stack the choices of one example along dim 1 (pad shorter domains with probability 0)",
        )
    if samples < minimum:
        raise InferenceError(
            f"the estimator needs at least {minimum} samples per example, not {samples}",
            hint="e.g. samples=8",
        )


def indecater(probs: torch.Tensor, f: WorldFunction, samples: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """``[B, A]``: a Monte Carlo estimate of ``E[f(x)]`` with IndeCateR's gradient with respect to ``probs``.

    The value is the Rao-Blackwellised estimate ``1/n sum_i sum_d p_i(d) m_{i,d}``, where
    ``m_{i,d}`` is the mean of ``f`` over the sampled worlds with choice ``i`` set to ``d``
    (unbiased, and nonzero whenever changing one choice of a sample satisfies ``f``).

    ``probs`` is ``[B, n, d]`` (rows sum to 1; pad smaller domains with zeros, which
    are never drawn and carry no gradient). Cost: ``S * (1 + n * d)`` evaluations of
    ``f`` per example.

    >>> p = torch.tensor([[[0.3, 0.7], [0.6, 0.4]]], requires_grad=True)
    >>> both = lambda x: (x.sum(-1, keepdim=True) == 2).float()   # P = 0.7 * 0.4
    >>> est = indecater(p, both, 64, torch.Generator().manual_seed(0))
    >>> est.backward(torch.ones_like(est)); [round(v, 2) for v in p.grad[0, :, 1].tolist()]   # exact: 0.4, 0.7
    [0.38, 0.72]
    """
    _check(probs, samples, 1)
    x = sample_values(probs, samples, gen)  # [S, B, n]
    s, b, n = x.shape
    d = probs.shape[2]
    value = f(x).to(probs.dtype).mean(0)  # [B, A]
    # every (choice i, value v) pair's worlds: x with x_i := v, evaluated in chunks of choices
    per_choice = s * d
    step = max(1, _CHUNK_WORLDS // per_choice)
    means = []
    values = torch.arange(d, device=x.device)
    for start in range(0, n, step):
        idx = torch.arange(start, min(n, start + step), device=x.device)
        k = len(idx)
        which = (torch.arange(n, device=x.device) == idx[:, None]).view(k, 1, 1, 1, n)  # choice i of each chunk row
        xs = torch.where(which, values.view(1, d, 1, 1, 1), x.view(1, 1, s, b, n))  # [k, d, S, B, n]
        out = f(xs.reshape(k * d * s, b, n)).to(probs.dtype)  # [k * d * S, B, A]
        means.append(out.reshape(k, d, s, b, -1).mean(2))  # [k, d, B, A]
    m = torch.cat(means, 0).permute(2, 0, 1, 3).detach()  # [B, n, d, A]
    if n:
        # Rao-Blackwellised value: sum_d p_i(d) m_{i,d} estimates P for every choice i (x_i summed out
        # exactly); their mean is unbiased too, and it is rarely 0 where the plain mean is (a log loss needs that)
        value = (probs.detach().unsqueeze(-1) * m).sum(2).mean(1)
    delta = (probs - probs.detach()).unsqueeze(-1)  # zero in value, dp in gradient
    return value + (delta * m).sum((1, 2))


def rloo(probs: torch.Tensor, f: WorldFunction, samples: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """``[B, A]``: the Monte Carlo estimate of ``E[f(x)]`` with the REINFORCE leave-one-out gradient.

    ``S`` evaluations of ``f`` per example (``samples`` at least 2: each sample's
    baseline is the mean of the others).

    >>> p = torch.tensor([[[0.3, 0.7]]], requires_grad=True)
    >>> est = rloo(p, lambda x: (x == 1).float(), 4000, torch.Generator().manual_seed(0))
    >>> est.backward(torch.ones_like(est)); round(float(p.grad[0, 0, 1] - p.grad[0, 0, 0]), 1)   # exact: 1
    1.0
    """
    _check(probs, samples, 2)
    x = sample_values(probs, samples, gen)  # [S, B, n]
    fx = f(x).to(probs.dtype)  # [S, B, A]
    s = fx.shape[0]
    value = fx.mean(0)
    baseline = (fx.sum(0, keepdim=True) - fx) / (s - 1)
    logp = torch.log(probs.clamp_min(torch.finfo(probs.dtype).tiny))  # [B, n, d]
    logp_x = logp.unsqueeze(0).expand(s, *logp.shape).gather(3, x.unsqueeze(-1)).squeeze(-1).sum(-1)  # [S, B]
    score = (logp_x - logp_x.detach()).unsqueeze(-1)  # zero in value, dlog p(x) in gradient
    return value + ((fx - baseline).detach() * score).mean(0)


def estimate_with_gradient(
    probs: torch.Tensor, f: WorldFunction, samples: int, estimator: str, gen: torch.Generator | None = None
) -> torch.Tensor:
    """:func:`indecater` or :func:`rloo` by name (one of :data:`ESTIMATORS`).

    >>> p = torch.tensor([[[0.5, 0.5]]])
    >>> estimate_with_gradient(p, lambda x: x.float(), 8, "rloo", torch.Generator().manual_seed(1)).shape
    torch.Size([1, 1])
    """
    if estimator == "indecater":
        return indecater(probs, f, samples, gen)
    if estimator == "rloo":
        return rloo(probs, f, samples, gen)
    raise InferenceError(f"unknown estimator {estimator!r}", hint=f"choose one of {', '.join(map(repr, ESTIMATORS))}")


def log_estimate(estimate: torch.Tensor, samples: int) -> torch.Tensor:
    """``log`` of an estimate from :func:`indecater`/:func:`rloo`, finite when no sample hit.

    The value is ``log((S * P + 1/2) / (S + 1))`` (the estimate smoothed by half a
    hit, so that an answer no sample reached gets a finite loss) and the gradient is
    the estimate's gradient divided by that smoothed value: the gradient of
    ``log P`` with ``P`` estimated.

    >>> [round(v, 4) for v in log_estimate(torch.tensor([0.0, 1.0]), 9).exp().tolist()]
    [0.05, 0.95]
    """
    smooth = (estimate.detach() * samples + 0.5) / (samples + 1)
    return torch.log(smooth) + (estimate - estimate.detach()) / smooth
