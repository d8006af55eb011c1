"""A ground program answered by sampling, differentiably: what a neural model trains on with ``method="sample"``.

:class:`SampledQuery` stands where a :class:`~plait.inference.CompiledQuery`
stands in a model's query template, but nothing is compiled: the relevant ground
program is evaluated on batches of sampled worlds
(:class:`~plait.inference.approx.sampling.WorldEvaluator`), and the answers'
probabilities come with an unbiased gradient estimate
(:mod:`plait.inference.approx.gradient`: IndeCateR or RLOO). It reaches the
programs whose compilation does not finish (a 9x9 sudoku's all-different
constraints), at the price of Monte Carlo noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...compile.variables import assign_variables
from ...errors import InferenceError
from ...ground.ground_program import GroundProgram
from ..options import InferenceOptions
from .gradient import estimate_with_gradient, sample_values
from .proofs import relevant_choices
from .sampling import WorldEvaluator, literal_values

__all__ = ["SampledQuery"]

# worlds per evaluation of the ground program are capped so that one batch's node values stay below this
_BATCH_ENTRIES = 1 << 21


class SampledQuery(torch.nn.Module):
    """The queries of a ground program, estimated from sampled worlds with a gradient estimator.

    It has the attributes of :class:`~plait.inference.CompiledQuery` that a model's
    templates read (``variables``, ``queries``, ``fact_sources``, ``ad_sources``,
    ``ad_all_probs``, ``fact_probs``, ...); :meth:`estimate` replaces the circuit.

    >>> import plait
    >>> gp = plait.Program.from_string("0.3::a. 0.6::b. q :- a, b. query(q).").ground()
    >>> sq = SampledQuery(gp, InferenceOptions(method="sample", samples=2000, seed=0))
    >>> round(float(sq.estimate(sq.fact_probs[None], sq.ad_probs)[0, 0]), 1)
    0.2
    """

    def __init__(self, gp: GroundProgram, options: InferenceOptions) -> None:
        super().__init__()
        if gp.evidence:
            raise InferenceError(
                "method='sample' in a neural model estimates P(query) without evidence",
                hint="state the observation as the query (or its answer) instead of evidence, or use method='exact'",
            )
        self.options = options
        self.ground = gp
        self.evaluator = WorldEvaluator(gp)
        rel = relevant_choices(gp)
        used = set(rel.coins) | {c for g, _ in rel.groups for c in gp.groups[g].choices}
        self.variables = assign_variables(gp, used)
        vm = self.variables
        # the evaluator's coin and group orders are the variable map's (both sorted by node / group id)
        assert list(vm.coin_nodes) == self.evaluator.coins and list(vm.group_ids) == self.evaluator.groups
        self.queries = [(q.term, q.negated) for q in gp.queries]
        self.has_evidence = False
        self.fact_labels = [gp.nodes[n].label for n in vm.coin_nodes]
        self.ad_labels = [list(gp.groups[g].labels[: len(v)]) for g, v in zip(vm.group_ids, vm.group_vars)]
        self.fact_sources = [gp.nodes[n].neural for n in vm.coin_nodes]
        self.ad_sources = [gp.groups[g].neural for g in vm.group_ids]
        self.ad_all_probs = [gp.groups[g].probs for g in vm.group_ids]
        self.ad_all_labels = [gp.groups[g].labels for g in vm.group_ids]
        self._literals = [q.literal for q in gp.queries]
        self._negated = torch.tensor([q.negated for q in gp.queries], dtype=torch.bool)
        self.register_buffer("fact_probs", torch.tensor(vm.coin_probs, dtype=options.dtype))
        for i, probs in enumerate(vm.group_probs):
            self.register_buffer(f"ad_probs{i}", torch.tensor(probs, dtype=options.dtype))
        # the "no head" outcome is needed only by groups whose probabilities can add up to less than 1
        self._none = [src is None and sum(p) < 1 - 1e-9 for src, p in zip(self.ad_sources, self.ad_all_probs)]

    @property
    def ad_domain_sizes(self) -> list[int]:
        return [len(labels) for labels in self.ad_all_labels]

    @property
    def ad_probs(self) -> list[torch.Tensor]:
        return [getattr(self, f"ad_probs{i}") for i in range(len(self.variables.group_probs))]

    def choice_probabilities(self, facts: torch.Tensor, ads: Sequence[torch.Tensor]) -> torch.Tensor:
        """``[B, n_choices, width]``: each fact as a two-way choice (false, true), then each AD's heads
        (and "no head" where it can happen, as the value after the domain), zero-padded."""
        batch = facts.shape[0]
        rows = [torch.stack([1 - facts, facts], dim=-1)] if facts.shape[-1] else []
        widths = [2] if rows else []
        for g, p in enumerate(ads):
            p = p.to(facts.dtype)
            if p.dim() == 1:
                p = p.expand(batch, p.shape[0])
            if self._none[g]:
                p = torch.cat([p, (1 - p.sum(-1, keepdim=True)).clamp_min(0)], dim=-1)
            rows.append(p.unsqueeze(1))
            widths.append(p.shape[-1])
        width = max(widths, default=1)
        padded = [torch.nn.functional.pad(r, (0, width - r.shape[-1])) for r in rows]
        return torch.cat(padded, dim=1) if padded else facts.new_zeros(batch, 0, 1)

    def holds(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, B, n_queries]`` 0/1: whether each query holds in the worlds ``x`` (``[N, B, n_choices]``)."""
        n_worlds, batch, _ = x.shape
        flat = x.reshape(n_worlds * batch, -1)
        n_coins = len(self.variables.coin_nodes)
        sizes = self.ad_domain_sizes
        out = []
        step = max(1, _BATCH_ENTRIES // max(1, len(self.ground.nodes)))
        for start in range(0, flat.shape[0], step):
            chunk = flat[start : start + step].cpu()
            coins = chunk[:, :n_coins] == 1
            # a head index past the domain (the "no head" value) reads as -1, as the world sampler's
            heads = [torch.where(h >= sizes[g], -1, h) for g, h in enumerate(chunk[:, n_coins:].unbind(1))]
            values = self.evaluator(coins, heads)
            cols = [literal_values(values, lit) for lit in self._literals]
            out.append(torch.stack(cols, dim=1) != self._negated)
        return torch.cat(out).reshape(n_worlds, batch, -1).to(device=x.device, dtype=torch.float32)

    def estimate(
        self, facts: torch.Tensor, ads: Sequence[torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``[B, n_queries]`` Monte Carlo estimates of ``P(query)``, with the gradient of ``options.estimator``.

        Without gradients (``torch.no_grad()``, or inputs that need none) only the
        ``samples`` worlds of the plain estimate are drawn.
        """
        probs = self.choice_probabilities(facts, ads)
        samples = self.options.samples
        if not (torch.is_grad_enabled() and probs.requires_grad):
            return self.holds(sample_values(probs, samples, generator)).to(probs.dtype).mean(0)
        return estimate_with_gradient(probs, self.holds, samples, self.options.estimator, generator)
