"""Fuzzy (t-norm) semantics, evaluated on the ground program's rules.

A t-norm semantics gives every atom a truth degree in [0, 1]: a rule body is the
t-norm of its literals, an atom the t-conorm of its bodies, ``not x`` is ``1 - x``.
Unlike probability, the degree depends on the formula's form (``a and a`` is not
``a`` under the product t-norm), so plait evaluates it on the form the program is
written in: the relevant ground program, one rule instance per body, as Logic
Tensor Networks evaluate their formulas. A compiled SDD is a different (equivalent
in Boolean logic) formula and would give other degrees.

A probabilistic fact's degree is its probability; an annotated-disjunction head's
degree is its own probability (no sequential encoding: that is a device of
probabilistic model counting). Recursion is evaluated as the least fixpoint from 0,
iterated until no degree changes by more than ``tol``.

>>> import plait
>>> p = plait.Program.from_string("0.5::a; 0.3::b. q :- a. q :- b. query(q).")
>>> round(float(p.query(semiring="godel")["q"]), 3)
0.5
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from ..circuit.semiring import SEMIRINGS, Semiring, safe_log
from ..errors import InferenceError
from ..ground.ground_program import CHOICE, COIN, DERIVED, GroundProgram
from .rules import RuleIndex

__all__ = ["TNorm", "GODEL", "PRODUCT_TNORM", "LUKASIEWICZ", "truth_values"]


@dataclass(frozen=True)
class TNorm:
    """A t-norm semantics as a semiring of form ``"ground"``: ``mul`` is the t-norm, ``segment_sum`` the t-conorm.

    ``kind`` is ``"godel"`` (min / max), ``"product"`` (a*b / a+b-a*b) or
    ``"lukasiewicz"`` (max(0, a+b-1) / min(1, a+b)).
    """

    name: str
    kind: str
    one: float = 1.0
    zero: float = 0.0
    form: str = "ground"
    sequential_ok: bool = False

    def positive(self, p: torch.Tensor) -> torch.Tensor:
        return p

    def negative(self, p: torch.Tensor) -> torch.Tensor:
        return 1.0 - p

    def mul(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.kind == "godel":
            return torch.minimum(a, b)
        if self.kind == "product":
            return a * b
        return (a + b - 1).clamp_min(0.0)

    def segment_and(self, x: torch.Tensor, seg: torch.Tensor, n: int) -> torch.Tensor:
        """The t-norm of each segment (1 for an empty one)."""
        idx = seg.unsqueeze(0).expand_as(x)
        if self.kind == "godel":
            return x.new_ones(x.shape[0], n).scatter_reduce(1, idx, x, "amin", include_self=True)
        if self.kind == "product":
            return x.new_ones(x.shape[0], n).scatter_reduce(1, idx, x, "prod", include_self=True)
        return (1 + x.new_zeros(x.shape[0], n).index_add(1, seg, x - 1)).clamp_min(0.0)

    def segment_sum(self, x: torch.Tensor, seg: torch.Tensor, n: int) -> torch.Tensor:
        """The t-conorm of each segment (0 for an empty one)."""
        idx = seg.unsqueeze(0).expand_as(x)
        if self.kind == "godel":
            return x.new_zeros(x.shape[0], n).scatter_reduce(1, idx, x, "amax", include_self=True)
        if self.kind == "product":
            return 1 - x.new_ones(x.shape[0], n).scatter_reduce(1, idx, 1 - x, "prod", include_self=True)
        return x.new_zeros(x.shape[0], n).index_add(1, seg, x).clamp_max(1.0)

    def to_probability(self, x: torch.Tensor) -> torch.Tensor:
        return x  # a truth degree

    def to_log(self, x: torch.Tensor) -> torch.Tensor:
        return safe_log(x)  # a degree of exactly 0 gets gradient 0, not NaN

    def is_zero(self, x: torch.Tensor) -> torch.Tensor:
        return x <= 0

    def normalize(self, q: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        raise InferenceError(
            f"evidence has no meaning under the {self.name!r} t-norm semantics (it is not a probability)",
            hint="remove the evidence, or use a probability semiring",
        )


GODEL: Semiring = TNorm("godel", "godel")
PRODUCT_TNORM: Semiring = TNorm("product-tnorm", "product")
LUKASIEWICZ: Semiring = TNorm("lukasiewicz", "lukasiewicz")
for _s in (GODEL, PRODUCT_TNORM, LUKASIEWICZ):
    SEMIRINGS.setdefault(_s.name, _s)


def truth_values(
    program: GroundProgram,
    tnorm: TNorm,
    degrees: Mapping[int, torch.Tensor] | None = None,
    dtype: torch.dtype = torch.float64,
    tol: float = 1e-12,
    max_iterations: int = 10_000,
) -> torch.Tensor:
    """Truth degrees ``[batch, n_queries]`` of the ground program's queries under ``tnorm``.

    ``degrees`` maps node ids of coins and AD heads to ``[batch]`` degrees (a neural
    model's network outputs); the other choices keep the program's probabilities, and
    without it the batch is one. Differentiable in ``degrees``.
    """
    if program.evidence:
        tnorm.normalize(torch.zeros(1), torch.zeros(1))  # raises: evidence is meaningless here
    nodes = program.nodes
    n = len(nodes)
    base = torch.zeros(n, dtype=dtype)
    for i, node in enumerate(nodes[1:], start=1):
        if node.kind == COIN:
            base[i] = node.prob
        elif node.kind == CHOICE:
            base[i] = program.groups[node.group].probs[node.index]
    if degrees:
        some = next(iter(degrees.values()))
        values = base.to(some.device).expand(some.shape[0], n).clone()
        ids = torch.tensor(list(degrees), dtype=torch.long, device=some.device)
        values = values.index_copy(1, ids, torch.stack([d.to(dtype) for d in degrees.values()], dim=1))
    else:
        values = base.unsqueeze(0)
    derived = [i for i, node in enumerate(nodes) if i and node.kind == DERIVED]
    rules = RuleIndex.build(program, derived, values.device)
    nd = len(derived)
    has_neg = torch.zeros(nd, dtype=torch.bool, device=values.device)
    has_neg[rules.neg_owner] = True
    # least fixpoint from 0: derived atoms start false
    values = values.index_fill(1, rules.nodes, 0.0) if derived else values
    for _ in range(max_iterations):
        body = tnorm.segment_and(rules.literals(values), rules.lit_body, rules.n_bodies)
        pos = tnorm.segment_sum(body[:, rules.pos_bodies], rules.pos_owner, nd)
        neg = tnorm.segment_sum(body[:, rules.neg_bodies], rules.neg_owner, nd)
        new = torch.where(has_neg, tnorm.mul(pos, 1 - neg), pos)
        change = (new - values[:, rules.nodes]).detach().abs().max() if derived else torch.zeros(())
        values = values.index_copy(1, rules.nodes, new) if derived else values
        if float(change) <= tol:
            break
    else:
        raise InferenceError(
            f"the {tnorm.name!r} degrees did not reach a fixpoint in {max_iterations} iterations",
            hint="recursion under this t-norm converges only in the limit; raise max_iterations or loosen tol",
        )
    batch = values.shape[0]
    cols = []
    for q in program.queries:
        if q.literal is None:
            col = values.new_ones(batch)
        elif q.literal == 0:
            col = values.new_zeros(batch)
        else:
            col = values[:, abs(q.literal)]
            col = 1 - col if q.literal < 0 else col
        cols.append(1 - col if q.negated else col)
    return torch.stack(cols, dim=-1) if cols else values.new_zeros(batch, 0)
