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

import numpy as np
import torch
from pysdd.sdd import SddNode

from .fused import FusedLogCircuit, FusedProbCircuit, fused_roots
from .sdd_reader import DECISION, FALSE, LITERAL, TRUE, read_sdd
from .semiring import LOG_PROBABILITY, PROBABILITY, Semiring, get_semiring

__all__ = ["LayeredCircuit", "from_sdd", "EVALUATIONS"]

# How the probability and log semirings are evaluated (the others always go layer by layer):
# "fused" node-major with one scatter per layer (plait.circuit.fused), "layered" batch-major
# (below), "auto" the one that measured faster on the digit-addition templates: fused, on CPU.
# On CUDA it is fused too (fewer, larger kernels), which no GPU run has measured yet.
EVALUATIONS = ("auto", "fused", "layered")


class LayeredCircuit(torch.nn.Module):
    """A multi-rooted circuit: ``forward(weights [B, n_vars]) -> [B, n_roots]``.

    ``evaluation`` (one of :data:`EVALUATIONS`) says how the probability and log
    semirings are evaluated; every choice gives the same values and exact gradients.
    """

    def __init__(
        self,
        n_vars: int,
        layers: Sequence[
            tuple[Sequence[int] | np.ndarray, Sequence[int] | np.ndarray, Sequence[int] | np.ndarray, int]
        ],
        roots: Sequence[int],
        size: int,
        evaluation: str = "auto",
    ) -> None:
        super().__init__()
        if evaluation not in EVALUATIONS:
            from ..errors import InferenceError

            raise InferenceError(
                f"unknown circuit evaluation {evaluation!r}", hint=f"choose one of {', '.join(map(repr, EVALUATIONS))}"
            )
        self.evaluation = evaluation
        self.n_vars = n_vars
        self.size = size
        self.n_layers = len(layers)
        self._layer_sizes: list[int] = []
        self._layer_starts: list[int] = []
        self._dense: list[bool] = []
        zero = 2 * n_vars + 1
        for i, (primes, subs, segs, n_out) in enumerate(layers):
            primes = np.asarray(primes, dtype=np.int64)
            subs = np.asarray(subs, dtype=np.int64)
            segs = np.asarray(segs, dtype=np.int64)
            self.register_buffer(f"prime{i}", torch.from_numpy(primes.copy()), persistent=False)
            self.register_buffer(f"sub{i}", torch.from_numpy(subs.copy()), persistent=False)
            self.register_buffer(f"seg{i}", torch.from_numpy(segs.copy()), persistent=False)
            # for the fused evaluator: primes then subs (and subs then primes), one gather for both
            self.register_buffer(f"ps{i}", torch.from_numpy(np.concatenate((primes, subs))), persistent=False)
            self.register_buffer(f"sp{i}", torch.from_numpy(np.concatenate((subs, primes))), persistent=False)
            self._layer_sizes.append(n_out)
            # Dense layout for the log and max-log semirings: element k of node j at
            # [j, k], short nodes padded with the constant "zero" (-inf). A layer is
            # then two gathers, an add and one logsumexp/amax over the last dim.
            # Skipped when padding would more than double the work of a big layer.
            counts = np.bincount(segs, minlength=n_out)
            width = int(counts.max()) if len(segs) else 0
            # (small layers are always dense: there the cost is per op, not per element)
            dense = width * n_out <= max(2 * len(segs), 4096)
            self._dense.append(dense)
            if dense:
                # the k-th element of each node, in element order (stable sort by node)
                order = np.argsort(segs, kind="stable")
                seg_sorted = segs[order]
                rank = np.arange(len(segs)) - (np.cumsum(counts) - counts)[seg_sorted]
                pp = np.full((n_out, width), zero, dtype=np.int64)
                ps = np.full((n_out, width), zero, dtype=np.int64)
                pp[seg_sorted, rank] = primes[order]
                ps[seg_sorted, rank] = subs[order]
                self.register_buffer(f"dprime{i}", torch.from_numpy(pp), persistent=False)
                self.register_buffer(f"dsub{i}", torch.from_numpy(ps), persistent=False)
                self.register_buffer(f"dps{i}", torch.from_numpy(np.concatenate((pp, ps)).ravel()), persistent=False)
        start = 2 * n_vars + 2
        for i, n_out in enumerate(self._layer_sizes):
            self._layer_starts.append(start)
            # each element's node as a position in the value buffer (the fused evaluator's scatter index)
            self.register_buffer(f"node{i}", getattr(self, f"seg{i}") + start, persistent=False)
            start += n_out
        self.register_buffer("roots", torch.tensor(list(roots), dtype=torch.long), persistent=False)
        self._fused_plans: dict = {}  # batch size -> the fused evaluator's per-layer index views

    def _apply(self, fn, recurse: bool = True):  # noqa: ANN001, ANN202
        self._fused_plans = {}  # the cached views point at the old buffers (another device)
        return super()._apply(fn, recurse)

    @property
    def n_edges(self) -> int:
        return sum(int(getattr(self, f"prime{i}").numel()) for i in range(self.n_layers))

    def forward(self, weights: torch.Tensor, semiring: str | Semiring = PROBABILITY) -> torch.Tensor:
        sr = get_semiring(semiring)
        squeeze = weights.dim() == 1
        w = weights.unsqueeze(0) if squeeze else weights
        if w.dim() != 2 or w.shape[-1] != self.n_vars:
            from ..errors import InferenceError

            raise InferenceError(
                f"the circuit has {self.n_vars} variables but got weights of shape {tuple(weights.shape)}",
                hint="pass [n_vars] or [batch, n_vars] (one batch dimension)",
            )
        if self.evaluation != "layered" and (sr is LOG_PROBABILITY or sr is PROBABILITY):
            log = sr is LOG_PROBABILITY
            pos, neg = sr.positive(w), sr.negative(w)
            if torch.is_grad_enabled() and (pos.requires_grad or neg.requires_grad):
                res = (FusedLogCircuit if log else FusedProbCircuit).apply(pos, neg, self)
            else:
                res = fused_roots(pos, neg, self, log)
        elif sr is LOG_PROBABILITY and torch.is_grad_enabled():
            # the training path: one autograd node for the whole circuit, with a
            # hand-written backward (a few tensor ops per layer instead of ~40
            # recorded ones), see _LogCircuit
            res = _LogCircuit.apply(sr.positive(w), sr.negative(w), self)
        elif sr is PROBABILITY and torch.is_grad_enabled():
            res = _ProbCircuit.apply(sr.positive(w), sr.negative(w), self)
        else:
            buf = self.evaluate_literals(sr.positive(w), sr.negative(w), sr)
            res = buf[:, self.roots]
        return res.squeeze(0) if squeeze else res

    def _layer(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int, int]:
        return (
            getattr(self, f"prime{i}"),
            getattr(self, f"sub{i}"),
            getattr(self, f"seg{i}"),
            self._layer_starts[i],
            self._layer_sizes[i],
        )

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
        dense_op = None
        if not torch.is_grad_enabled() or not (pos.requires_grad or neg.requires_grad):
            if sr.name == "log":
                dense_op = _logsumexp_last
            elif sr.name == "max-log":
                dense_op = torch.amax

        for i in range(self.n_layers):
            start, n_out = self._layer_starts[i], self._layer_sizes[i]
            if dense_op is not None and self._dense[i]:
                x = sr.mul(buf[:, getattr(self, f"dprime{i}")], buf[:, getattr(self, f"dsub{i}")])
                buf[:, start : start + n_out] = dense_op(x, dim=-1)
                continue
            primes = getattr(self, f"prime{i}")
            subs = getattr(self, f"sub{i}")
            segs = getattr(self, f"seg{i}")
            prod = sr.mul(buf[:, primes], buf[:, subs])
            out = sr.segment_sum(prod, segs, n_out)
            buf[:, start : start + n_out] = out
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


def _logsumexp_last(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log-sum-exp over the last dim, without autograd (cheaper than torch.logsumexp on small tensors)."""
    m = x.amax(dim=-1)
    m.nan_to_num_(neginf=0.0)  # all -inf: the sum is 0 and stays -inf after the log
    return (x - m.unsqueeze(-1)).exp_().sum(-1).log_().add_(m)


def _forward_once(ctx, pos: torch.Tensor, neg: torch.Tensor, circuit: LayeredCircuit, sr: Semiring) -> torch.Tensor:
    """Evaluate every node without recording the layers; keep the values for the backward pass."""
    with torch.no_grad():
        buf = circuit.evaluate_literals(pos, neg, sr)
    ctx.save_for_backward(buf)
    ctx.circuit = circuit
    return buf[:, circuit.roots]


def _gradient_buffer(ctx, g_roots: torch.Tensor) -> tuple[torch.Tensor, LayeredCircuit, torch.Tensor]:
    """The saved node values, the circuit, and a gradient per node seeded at the roots."""
    (buf,) = ctx.saved_tensors
    c: LayeredCircuit = ctx.circuit
    g = torch.zeros_like(buf)
    g.index_add_(1, c.roots, g_roots)  # index_add: a root listed twice gets both gradients
    return buf, c, g


class _LogCircuit(torch.autograd.Function):
    """Log-space circuit evaluation as a single autograd node.

    Forward runs the layers without recording them. Backward walks the layers
    in reverse: a node's value is the log-sum-exp of its elements' values, so
    each element gets its node's gradient times its share ``exp(x - v)`` of
    the node, and passes it on to its prime and its sub (an AND in log space is a
    sum, whose gradient goes to both). Shares of nodes whose value is ``-inf``
    (probability 0) are 0, not NaN.
    """

    @staticmethod
    def forward(ctx, pos: torch.Tensor, neg: torch.Tensor, circuit: LayeredCircuit) -> torch.Tensor:
        return _forward_once(ctx, pos, neg, circuit, LOG_PROBABILITY)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_roots: torch.Tensor):
        buf, c, g = _gradient_buffer(ctx, g_roots)
        for i in reversed(range(c.n_layers)):
            primes, subs, segs, start, n_out = c._layer(i)
            g_out = g[:, start : start + n_out]
            v_out = buf[:, start : start + n_out]
            if c._dense[i]:
                dp, ds = getattr(c, f"dprime{i}"), getattr(c, f"dsub{i}")
                share = torch.exp(buf[:, dp] + buf[:, ds] - v_out.unsqueeze(-1)).nan_to_num_(nan=0.0)
                ge = (g_out.unsqueeze(-1) * share).flatten(1)
                # padding points at the constant zero, whose gradient is never read
                g.index_add_(1, dp.flatten(), ge)
                g.index_add_(1, ds.flatten(), ge)
                continue
            share = torch.exp(buf[:, primes] + buf[:, subs] - v_out[:, segs]).nan_to_num_(nan=0.0)
            ge = g_out[:, segs] * share
            g.index_add_(1, primes, ge)
            g.index_add_(1, subs, ge)
        n = c.n_vars
        return g[:, :n], g[:, n : 2 * n], None


class _ProbCircuit(torch.autograd.Function):
    """Linear-space circuit evaluation as a single autograd node (see :class:`_LogCircuit`).

    A node is the sum of its elements and an element the product of its prime
    and sub, so the element's prime receives the node's gradient times the sub's
    value and vice versa.
    """

    @staticmethod
    def forward(ctx, pos: torch.Tensor, neg: torch.Tensor, circuit: LayeredCircuit) -> torch.Tensor:
        return _forward_once(ctx, pos, neg, circuit, PROBABILITY)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_roots: torch.Tensor):
        buf, c, g = _gradient_buffer(ctx, g_roots)
        for i in reversed(range(c.n_layers)):
            primes, subs, segs, start, n_out = c._layer(i)
            # (no dense layout here: in linear space the segment sum is a single
            # index_add already, and padding would only add work)
            go = g[:, start : start + n_out][:, segs]
            g.index_add_(1, primes, go * buf[:, subs])
            g.index_add_(1, subs, go * buf[:, primes])
        n = c.n_vars
        return g[:, :n], g[:, n : 2 * n], None


def from_sdd(roots: Sequence[SddNode], n_vars: int, evaluation: str = "auto") -> LayeredCircuit:
    """Layer the SDD DAG below ``roots`` (shared nodes are evaluated once); ``evaluation`` as
    :class:`LayeredCircuit` takes it.

    A node's layer is one more than its deepest child's (longest path from the
    leaves), computed for all nodes at once by peeling the DAG from the leaves
    upwards; the SDD is read in bulk (:func:`~plait.circuit.sdd_reader.read_sdd`),
    so no step loops over nodes in Python.

    >>> from pysdd.sdd import SddManager
    >>> m = SddManager(2)
    >>> c = from_sdd([m.literal(1) & m.literal(2)], 2)
    >>> c(torch.tensor([0.5, 0.4], dtype=torch.float64)).tolist()
    [0.2]
    """
    dag = read_sdd(roots)
    n_nodes = len(dag.kind)
    pos = np.full(n_nodes, -1, dtype=np.int64)
    lit = dag.literal
    is_lit = dag.kind == LITERAL
    pos[is_lit & (lit > 0)] = lit[is_lit & (lit > 0)] - 1
    pos[is_lit & (lit < 0)] = n_vars - lit[is_lit & (lit < 0)] - 1
    pos[dag.kind == TRUE] = 2 * n_vars
    pos[dag.kind == FALSE] = 2 * n_vars + 1
    is_dec = dag.kind == DECISION
    level = _levels(is_dec, dag.elem_node, dag.elem_prime, dag.elem_sub)
    dec = np.flatnonzero(is_dec)
    order = dec[np.argsort(level[dec], kind="stable")]
    start = 2 * n_vars + 2
    pos[order] = start + np.arange(len(order))
    sizes = np.bincount(level[order] - 1) if len(order) else np.zeros(0, np.int64)
    # elements in node position order: grouped by layer, and by node inside a layer
    parent = pos[dag.elem_node]
    eo = np.argsort(parent, kind="stable")
    parent, primes, subs = parent[eo], pos[dag.elem_prime[eo]], pos[dag.elem_sub[eo]]
    layer_start = start + np.concatenate(([0], np.cumsum(sizes)))
    cut = np.searchsorted(parent, layer_start)
    layers = []
    for i, n_out in enumerate(sizes.tolist()):
        a, b = cut[i], cut[i + 1]
        layers.append((primes[a:b], subs[a:b], parent[a:b] - layer_start[i], n_out))
    return LayeredCircuit(n_vars, layers, pos[dag.roots].tolist(), start + len(order), evaluation)


def _levels(is_dec: np.ndarray, elem_node: np.ndarray, elem_prime: np.ndarray, elem_sub: np.ndarray) -> np.ndarray:
    """Longest path from the leaves to each node (leaves 0), by peeling layers (Kahn's algorithm)."""
    n = len(is_dec)
    level = np.zeros(n, dtype=np.int64)
    child = np.concatenate((elem_prime, elem_sub))
    parent = np.concatenate((elem_node, elem_node))
    inner = is_dec[child]  # only decision children have to be placed first
    child, parent = child[inner], parent[inner]
    waiting = np.bincount(parent, minlength=n)
    by_child = np.argsort(child, kind="stable")
    child_sorted, parent_by_child = child[by_child], parent[by_child]
    frontier = np.flatnonzero(is_dec & (waiting == 0))
    depth = 1
    while len(frontier):
        level[frontier] = depth
        lo = np.searchsorted(child_sorted, frontier, "left")
        hi = np.searchsorted(child_sorted, frontier, "right")
        count = hi - lo
        if not count.sum():
            break
        idx = np.repeat(lo - np.concatenate(([0], np.cumsum(count)[:-1])), count) + np.arange(int(count.sum()))
        users, k = np.unique(parent_by_child[idx], return_counts=True)
        waiting[users] -= k
        frontier = users[waiting[users] == 0]
        depth += 1
    return level
