"""Monte Carlo inference: worlds drawn from the choices, the ground program evaluated on each.

Every probabilistic fact is drawn from its probability and every annotated
disjunction picks one head (or none); the relevant ground program is then
evaluated on a whole batch of worlds at once, without compiling anything, so
sampling runs where exact compilation would not finish. Strata are evaluated in
order (their dependencies first); a cyclic component is iterated to its least
fixpoint, which is the semantics of positive recursion (ProbLog's too). Evidence
is handled by rejection: only the worlds where it holds are counted.

``P(q)`` is estimated by the fraction of accepted worlds where ``q`` holds, with
a Wilson score interval (it stays inside [0, 1] and is well calibrated near 0
and 1, where the normal interval is not).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ...errors import InconsistentEvidenceError, InferenceError
from ...ground.ground_program import CHOICE, GroundProgram
from ...logic.lineage import build_lineage
from ..fuzzy import GODEL
from ..rules import RuleIndex
from .proofs import relevant_choices

__all__ = ["draw_choices", "WorldEvaluator", "sample_counts", "literal_values", "wilson_interval", "Z95"]

# the standard normal quantile of a two-sided 95% interval
Z95 = 1.959963984540054
# worlds per batch are capped so that one batch's node values stay below this many entries
_BATCH_ENTRIES = 1 << 22


def draw_choices(
    coin_probs: torch.Tensor, group_probs: Sequence[torch.Tensor], batch: int, gen: torch.Generator
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``batch`` independent draws of the choices: coin values ``[batch, n_coins]`` (bool) and, per
    group, the chosen head ``[batch]`` (-1: no head; the group's probabilities may add up to less than 1).

    >>> g = torch.Generator().manual_seed(0)
    >>> coins, heads = draw_choices(torch.tensor([1.0, 0.0]), [torch.tensor([0.0, 1.0])], 3, g)
    >>> coins.tolist(), heads[0].tolist()
    ([[True, False], [True, False], [True, False]], [1, 1, 1])
    """
    coin_values = torch.rand(batch, coin_probs.shape[0], generator=gen, dtype=torch.float64) < coin_probs
    heads = []
    for probs in group_probs:
        full = torch.cat([probs, (1 - probs.sum()).clamp_min(0).unsqueeze(0)])  # the last outcome: no head
        idx = torch.multinomial(full, batch, replacement=True, generator=gen)
        heads.append(torch.where(idx == len(probs), torch.full_like(idx, -1), idx))
    return coin_values, heads


class WorldEvaluator:
    """The truth of every relevant node of a ground program in a batch of worlds.

    Nodes are levelled (a derived atom one level above its highest dependency; the
    atoms of a cycle share a level, iterated to a fixpoint), and each level is a few
    batched tensor operations, as in :mod:`plait.inference.fuzzy` with 0/1 values.
    """

    def __init__(self, gp: GroundProgram) -> None:
        self.gp = gp
        lineage = build_lineage(gp)  # also rejects negation through recursion
        rel = relevant_choices(gp)
        self.coins = list(rel.coins)
        self.groups = [g for g, _ in rel.groups]
        # the CHOICE nodes of each used group: (node id, head index)
        self.choice_nodes = [
            [(c, gp.nodes[c].index) for c in gp.groups[g].choices if gp.nodes[c].kind == CHOICE] for g in self.groups
        ]
        level: dict[int, int] = {}
        by_level: dict[int, tuple[list[int], bool]] = {}
        for comp in lineage.components:
            members = set(comp.nodes)
            deps = [abs(d) for m in comp.nodes for b in (*gp.nodes[m].bodies, *gp.nodes[m].neg_bodies) for d in b]
            lv = 1 + max((level.get(d, 0) for d in deps if d not in members), default=0)
            for m in comp.nodes:
                level[m] = lv
            nodes, cyclic = by_level.get(lv, ([], False))
            by_level[lv] = (nodes + list(comp.nodes), cyclic or comp.cyclic)
        self.levels = [_Level(gp, *by_level[lv]) for lv in sorted(by_level)]

    def __call__(self, coin_values: torch.Tensor, heads: Sequence[torch.Tensor]) -> torch.Tensor:
        """``[batch, n_nodes + 1]`` 0/1 node values (float32) for coins in ``self.coins`` order and heads per used group."""
        batch = coin_values.shape[0]
        # stored node-major and returned as a [batch, nodes] view: the levels read and write
        # whole nodes (columns of the view), which are then contiguous rows (about 4x faster)
        rows = torch.zeros(len(self.gp.nodes), batch, dtype=torch.float32)
        values = rows.T
        if self.coins:
            rows[self.coins] = coin_values.T.to(torch.float32)
        for h, nodes in zip(heads, self.choice_nodes):
            for nid, index in nodes:
                values[:, nid] = (h == index).to(torch.float32)
        for lv in self.levels:
            lv.evaluate(values)
        return values


class _Level:
    """The derived atoms of one level, evaluated on a batch of 0/1 worlds.

    Boolean logic on 0/1 values is the Gödel t-norm (min, max, ``1 - x``), so the level
    uses its segment operations on the program's :class:`~plait.inference.rules.RuleIndex`.
    """

    def __init__(self, gp: GroundProgram, nodes: list[int], cyclic: bool) -> None:
        self.cyclic = cyclic
        self.rules = RuleIndex.build(gp, nodes)
        self.n = len(nodes)

    def evaluate(self, values: torch.Tensor) -> None:
        """Set this level's atoms in ``values`` (in place), to the least fixpoint if the level is cyclic."""
        r = self.rules
        while True:
            body = GODEL.segment_and(r.literals(values), r.lit_body, r.n_bodies)
            new = GODEL.segment_sum(body[:, r.pos_bodies], r.pos_owner, self.n)
            if len(r.neg_bodies):
                new = GODEL.mul(new, 1 - GODEL.segment_sum(body[:, r.neg_bodies], r.neg_owner, self.n))
            old = values[:, r.nodes]
            values[:, r.nodes] = new
            # positive recursion only grows from all-false; a level without cycles is done in one pass
            if not self.cyclic or torch.equal(old, new):
                return


def sample_counts(gp: GroundProgram, samples: int, seed: int | None) -> tuple[torch.Tensor, int]:
    """Draw ``samples`` worlds: how many of those where the evidence holds satisfy each query
    (``[n_queries]``, int64), and how many the evidence held in."""
    ev = WorldEvaluator(gp)
    gen = torch.Generator()
    if seed is None:
        gen.seed()  # a fresh seed for this generator only (torch's global one is left alone)
    else:
        gen.manual_seed(seed)
    for i in ev.coins:
        if gp.nodes[i].neural is not None:
            raise InferenceError(
                f"{gp.nodes[i].label} has a neural or learnable probability; sampling uses the program's numbers",
                hint="sample a program with plain probabilities, or use exact inference in a plait.Model",
            )
    coin_probs = torch.tensor([gp.nodes[i].prob for i in ev.coins], dtype=torch.float64)
    group_probs = [torch.tensor(gp.groups[g].probs, dtype=torch.float64) for g in ev.groups]
    chunk = max(1, min(samples, _BATCH_ENTRIES // max(1, len(gp.nodes))))
    hits = torch.zeros(len(gp.queries), dtype=torch.int64)
    accepted = 0
    done = 0
    while done < samples:
        batch = min(chunk, samples - done)
        done += batch
        values = ev(*draw_choices(coin_probs, group_probs, batch, gen))
        keep = torch.ones(batch, dtype=torch.bool)
        for e in gp.evidence:
            keep &= literal_values(values, e.literal) == e.value
        accepted += int(keep.sum())
        for i, q in enumerate(gp.queries):
            hits[i] += int((literal_values(values, q.literal)[keep] != q.negated).sum())
    if gp.evidence and accepted == 0:
        raise InconsistentEvidenceError(
            f"the evidence held in none of the {samples} sampled worlds, so no estimate can be made",
            hint="draw more samples, or use exact inference when the evidence is this unlikely",
        )
    return hits, accepted


def literal_values(values: torch.Tensor, lit: int | None) -> torch.Tensor:
    if lit is None:
        return torch.ones(values.shape[0], dtype=torch.bool)
    if lit == 0:
        return torch.zeros(values.shape[0], dtype=torch.bool)
    v = values[:, abs(lit)] > 0.5
    return v if lit > 0 else ~v


def wilson_interval(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion ``hits / n``.

    >>> [round(x, 4) for x in wilson_interval(50, 100)]
    [0.4038, 0.5962]
    """
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # the interval contains p; rounding would leave 1.0 (or 0.0) just outside it at all (or no) hits
    return max(0.0, min(centre - half, p)), min(1.0, max(centre + half, p))
