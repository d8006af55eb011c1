"""Sampling possible worlds (``problog sample``): the queries that hold in each sampled world.

Every probabilistic fact is drawn from its probability and every annotated
disjunction picks one head (or none) from its distribution; the compiled
circuit of the queries and the evidence, evaluated in the boolean semiring on
a whole batch of drawn worlds at once, says which queries hold and whether the
evidence does. Worlds that violate the evidence are rejected, as ProbLog's
sampler does, so the accepted ones follow ``P(world | evidence)``.
"""

from __future__ import annotations

import math

import torch

from ..circuit.semiring import BOOLEAN, LOG_PROBABILITY
from ..errors import InconsistentEvidenceError, InferenceError
from ..inference import CompiledQuery
from ..program import Program
from ._common import as_program, compile_with_evidence_root, world_weights

__all__ = ["sample"]

# give up when the evidence is this unlikely: rejection would need more draws than is sensible
_MIN_EVIDENCE = 1e-7


def sample(program: Program | str, n: int = 1, seed: int | None = None) -> list[dict[str, bool]]:
    """``n`` worlds drawn from the program's distribution given its evidence: each maps every query to its truth.

    ``seed`` makes the draw reproducible (a ``torch.Generator`` is seeded with it).

    >>> import plait
    >>> worlds = plait.sample("0.3::rain. wet :- rain. query(wet). query(rain).", n=1000, seed=0)
    >>> 0.25 < sum(w["wet"] for w in worlds) / 1000 < 0.35  # P(wet) = 0.3
    True
    """
    if n < 0:
        raise InferenceError(f"cannot draw {n} samples", hint="give a number of samples >= 0")
    prog = as_program(program)
    gp = prog.ground()
    cq = compile_with_evidence_root(gp)
    nq = len(gp.queries)
    names = cq.query_names[:nq]
    gen = torch.Generator()
    if seed is None:
        gen.seed()  # a fresh, nondeterministic seed for this generator only (torch's global one is left alone)
    else:
        gen.manual_seed(seed)
    p_evidence = 1.0
    if gp.evidence:
        with torch.no_grad():
            p_evidence = math.exp(float(cq.circuit(cq.leaf_weights().unsqueeze(0), LOG_PROBABILITY)[0, nq]))
        if p_evidence == 0.0:
            raise InconsistentEvidenceError(
                "the evidence has probability 0, so no world can be sampled",
                hint="check that the evidence atoms can be true together",
            )
        if p_evidence < _MIN_EVIDENCE:
            raise InferenceError(
                f"the evidence has probability {p_evidence:.3g}: rejection sampling would need "
                f"about {1 / p_evidence:.3g} draws per sample",
                hint="sample without evidence, or compute exact probabilities with `plait query`",
            )
    out: list[dict[str, bool]] = []
    while len(out) < n:
        missing = n - len(out)
        batch = min(max(64, math.ceil(missing / p_evidence * 1.2)), 1 << 16)
        values = _draw(cq, batch, gen)
        accepted = values[:, nq] > 0
        for row in values[accepted][:missing].tolist():
            out.append({name: row[i] > 0 for i, name in enumerate(names)})
    return out


def _draw(cq: CompiledQuery, batch: int, gen: torch.Generator) -> torch.Tensor:
    """``[batch, n_queries + 1]`` 0/1 root values of ``batch`` independent worlds (the last root: the evidence)."""
    vm = cq.variables
    facts = torch.tensor(vm.coin_probs, dtype=torch.float64)
    coin_values = torch.rand(batch, len(vm.coin_probs), generator=gen, dtype=torch.float64) < facts
    heads = []
    for gid_pos in range(len(vm.group_ids)):
        probs = torch.tensor(cq.ad_all_probs[gid_pos], dtype=torch.float64)
        full = torch.cat([probs, (1 - probs.sum()).clamp_min(0).unsqueeze(0)])  # the last outcome: no head
        idx = torch.multinomial(full, batch, replacement=True, generator=gen)
        heads.append(torch.where(idx == len(probs), torch.full_like(idx, -1), idx))
    w = world_weights(cq, coin_values, heads)
    with torch.no_grad():
        return cq.circuit(w, BOOLEAN)
