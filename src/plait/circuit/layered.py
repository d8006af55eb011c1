"""Compiled circuits as layered tensor programs.

An SDD is a DAG of decision nodes ``OR_i (prime_i AND sub_i)``. We assign every
node a layer (one more than its deepest child) and store, per layer, three index
vectors: the prime and the sub of each element and the node it belongs to.
Evaluation is then one gather-multiply and one segment-sum per layer, batched
over dim 0 of the leaf weights, on whatever device the weights live on: the
work per layer is a handful of tensor ops, never a Python loop over nodes.

Value buffer layout: ``[0, n)`` positive literals, ``[n, 2n)`` negative
literals, ``2n`` the constant one, ``2n+1`` zero, then the layers in order.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from pysdd.sdd import SddNode

from .semiring import PROBABILITY, Semiring, get_semiring

__all__ = ["LayeredCircuit", "from_sdd"]


class LayeredCircuit(torch.nn.Module):
    """A multi-rooted circuit: ``forward(weights [B, n_vars]) -> [B, n_roots]``."""

    def __init__(
        self,
        n_vars: int,
        layers: Sequence[tuple[list[int], list[int], list[int], int]],
        roots: Sequence[int],
        size: int,
    ) -> None:
        super().__init__()
        self.n_vars = n_vars
        self.size = size
        self.n_layers = len(layers)
        self._layer_sizes: list[int] = []
        self._layer_starts: list[int] = []
        for i, (primes, subs, segs, n_out) in enumerate(layers):
            self.register_buffer(f"prime{i}", torch.tensor(primes, dtype=torch.long), persistent=False)
            self.register_buffer(f"sub{i}", torch.tensor(subs, dtype=torch.long), persistent=False)
            self.register_buffer(f"seg{i}", torch.tensor(segs, dtype=torch.long), persistent=False)
            self._layer_sizes.append(n_out)
        start = 2 * n_vars + 2
        for n_out in self._layer_sizes:
            self._layer_starts.append(start)
            start += n_out
        self.register_buffer("roots", torch.tensor(list(roots), dtype=torch.long), persistent=False)

    @property
    def n_edges(self) -> int:
        return sum(int(getattr(self, f"prime{i}").numel()) for i in range(self.n_layers))

    def forward(self, weights: torch.Tensor, semiring: str | Semiring = PROBABILITY) -> torch.Tensor:
        sr = get_semiring(semiring)
        squeeze = weights.dim() == 1
        w = weights.unsqueeze(0) if squeeze else weights
        if w.shape[-1] != self.n_vars:
            from ..errors import InferenceError

            raise InferenceError(
                f"the circuit has {self.n_vars} variables but got weights of shape {tuple(weights.shape)}"
            )
        buf = self.evaluate_literals(sr.positive(w), sr.negative(w), sr)
        res = buf[:, self.roots]
        return res.squeeze(0) if squeeze else res

    def evaluate_literals(self, pos: torch.Tensor, neg: torch.Tensor, semiring: str | Semiring) -> torch.Tensor:
        """The value of every node, ``[B, size]``, from explicit literal values ``pos``/``neg`` ``[B, n_vars]``.

        Used directly for most probable explanations, whose literal weights are not
        ``p`` and ``1 - p``, and which walk the node values back down from a root.
        """
        sr = get_semiring(semiring)
        w = pos
        batch = w.shape[0]
        consts = w.new_tensor([sr.one, sr.zero]).expand(batch, 2)
        pieces = [pos, neg, consts]
        total = self.size
        rest = total - (2 * self.n_vars + 2)
        if rest:
            pieces.append(w.new_zeros(batch, rest))
        buf = torch.cat(pieces, dim=1)
        # Layer values are written in place; gather does not save its input for
        # backward, so autograd stays correct (checked by gradcheck in the tests).
        for i in range(self.n_layers):
            primes = getattr(self, f"prime{i}")
            subs = getattr(self, f"sub{i}")
            segs = getattr(self, f"seg{i}")
            prod = sr.mul(buf[:, primes], buf[:, subs])
            out = sr.segment_sum(prod, segs, self._layer_sizes[i])
            start = self._layer_starts[i]
            buf[:, start : start + self._layer_sizes[i]] = out
        return buf

    def elements(self) -> dict[int, list[tuple[int, int]]]:
        """Node position -> its (prime, sub) element positions (for walking down a circuit)."""
        out: dict[int, list[tuple[int, int]]] = {}
        for i in range(self.n_layers):
            start = self._layer_starts[i]
            primes = getattr(self, f"prime{i}").tolist()
            subs = getattr(self, f"sub{i}").tolist()
            segs = getattr(self, f"seg{i}").tolist()
            for p, s, g in zip(primes, subs, segs):
                out.setdefault(start + g, []).append((p, s))
        return out


def from_sdd(roots: Sequence[SddNode], n_vars: int) -> LayeredCircuit:
    """Layer the SDD DAG below ``roots`` (shared nodes are evaluated once)."""
    one, zero = 2 * n_vars, 2 * n_vars + 1
    level: dict[int, int] = {}
    pos: dict[int, int] = {}
    elems: dict[int, list[tuple[SddNode, SddNode]]] = {}
    nodes: dict[int, SddNode] = {}

    def leaf_pos(node: SddNode) -> int | None:
        if node.is_true():
            return one
        if node.is_false():
            return zero
        if node.is_literal():
            lit = node.literal
            return (lit - 1) if lit > 0 else (n_vars + (-lit) - 1)
        return None

    # post-order traversal to compute levels
    for root in roots:
        if root.id in level:
            continue
        stack: list[tuple[SddNode, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            nid = node.id
            if nid in level:
                continue
            lp = leaf_pos(node)
            if lp is not None:
                level[nid] = 0
                pos[nid] = lp
                continue
            if not expanded:
                es = elems.get(nid)
                if es is None:
                    es = elems[nid] = list(node.elements())
                    nodes[nid] = node
                stack.append((node, True))
                for p, s in es:
                    if p.id not in level:
                        stack.append((p, False))
                    if s.id not in level:
                        stack.append((s, False))
            else:
                es = elems[nid]
                level[nid] = 1 + max(max(level[p.id], level[s.id]) for p, s in es)
    by_level: dict[int, list[int]] = {}
    for nid, lv in level.items():
        if lv > 0:
            by_level.setdefault(lv, []).append(nid)
    start = 2 * n_vars + 2
    layers = []
    for lv in sorted(by_level):
        ids = by_level[lv]
        for k, nid in enumerate(ids):
            pos[nid] = start + k
        primes, subs, segs = [], [], []
        for k, nid in enumerate(ids):
            for p, s in elems[nid]:
                primes.append(pos[p.id])
                subs.append(pos[s.id])
                segs.append(k)
        layers.append((primes, subs, segs, len(ids)))
        start += len(ids)
    root_pos = [pos[r.id] for r in roots]
    return LayeredCircuit(n_vars, layers, root_pos, start)
