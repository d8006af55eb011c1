"""Fused evaluation of layered circuits: node-major buffers and one scatter per layer.

:class:`~plait.circuit.layered.LayeredCircuit` keeps its node values batch-major,
``[B, size]``; gathering an element's prime and sub is then an index into dim 1
(a strided copy per element), and the backward pass's ``index_add_`` along dim 1
runs one small kernel per index on CPU. This module keeps the values node-major,
``[size, B]``: a node's values for the whole batch are one contiguous row, so

- the forward pass of a layer is two row gathers (``index_select``), one
  product (or sum in log space) and **one** ``scatter_add_`` of the elements
  into their nodes (log space: a segment log-sum-exp, dense where the layer's
  nodes have similar fan-in);
- the backward pass of a layer is one row gather of the nodes' gradients and
  two ``scatter_add_`` into the primes and subs.

So a circuit of L layers costs about 4 L tensor operations forward and 5 L
backward, each over all the layer's elements at once, instead of per-index
work. On the digit-addition templates this is 2-4 times faster than the
batch-major layout (``docs/benchmarks.md``). Gradients are exact (the same
formulas as the layered evaluator; checked against finite differences in the
tests). Only the probability and log semirings are evaluated here; the others
(max-product, boolean, max-log for explanations) stay with the layered evaluator.

The circuit is duck-typed (any object with ``n_vars``, ``size``, ``roots``,
``n_layers``, ``_layer(i)``, ``_dense``, the ``node{i}``, ``ps{i}``, ``sp{i}`` and
``dps{i}`` index buffers, and a ``_fused_plans`` dict that it clears when it moves), so this module does not import :mod:`~plait.circuit.layered`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["fused_values", "fused_roots", "FusedProbCircuit", "FusedLogCircuit"]


@dataclass(frozen=True, slots=True)
class _Layer:
    """One layer's index tensors, with the scatter indices already expanded to the batch (views)."""

    start: int
    n_out: int
    dense: bool
    ps: torch.Tensor  # [2E] primes then subs (dense: [2 * n_out * width], padded)
    sp: torch.Tensor  # [2E] subs then primes (prob backward)
    node: torch.Tensor  # [E] each element's node position
    segs: torch.Tensor  # [E] each element's node within the layer
    node_rows: torch.Tensor  # [E, B] node, expanded (prob forward)
    seg_rows: torch.Tensor  # [E, B] segs, expanded (log forward, sparse)
    ps_rows: torch.Tensor  # [2E, B] ps, expanded (backward scatter)
    dps: torch.Tensor | None  # [2 * n_out * width] dense primes then subs
    dps_rows: torch.Tensor | None  # its expansion


def _plan(c, batch: int) -> list[_Layer]:  # noqa: ANN001
    """The layers' index tensors for a batch size, cached on the circuit (cleared when it moves)."""
    cache = c._fused_plans
    plan = cache.get(batch)
    if plan is not None:
        return plan
    plan = []
    for i in range(c.n_layers):
        _p, _s, segs, start, n_out = c._layer(i)
        ps, sp, node = getattr(c, f"ps{i}"), getattr(c, f"sp{i}"), getattr(c, f"node{i}")
        dense = c._dense[i]
        dps = getattr(c, f"dps{i}") if dense else None
        plan.append(
            _Layer(
                start,
                n_out,
                dense,
                ps,
                sp,
                node,
                segs,
                _rows(node, batch),
                _rows(segs, batch),
                _rows(ps, batch),
                dps,
                _rows(dps, batch) if dps is not None else None,
            )  # fmt: skip
        )
    if len(cache) > 8:  # a few batch sizes (the last batch of an epoch is often shorter)
        cache.clear()
    cache[batch] = plan
    return plan


def _leaves(pos: torch.Tensor, neg: torch.Tensor, c, one: float, zero: float) -> torch.Tensor:  # noqa: ANN001
    """A node-major buffer ``[size, B]`` with the literals and constants filled in, the rest zero."""
    n = c.n_vars
    buf = pos.new_zeros(c.size, pos.shape[0])
    buf[:n] = pos.T
    buf[n : 2 * n] = neg.T
    buf[2 * n] = one
    buf[2 * n + 1] = zero
    return buf


def _rows(index: torch.Tensor, batch: int) -> torch.Tensor:
    """``index`` as a scatter index for ``[E, batch]`` rows (a view, nothing copied)."""
    return index.unsqueeze(1).expand(index.shape[0], batch)


def fused_values(pos: torch.Tensor, neg: torch.Tensor, c, log: bool) -> torch.Tensor:  # noqa: ANN001
    """The value of every node, node-major ``[size, B]``, in the log (``log``) or probability semiring."""
    batch = pos.shape[0]
    plan = _plan(c, batch)
    if not log:
        buf = _leaves(pos, neg, c, 1.0, 0.0)
        for layer in plan:
            # primes and subs in one gather: [2, E, B]
            pair = buf.index_select(0, layer.ps).view(2, -1, batch)
            buf.scatter_add_(0, layer.node_rows, torch.mul(pair[0], pair[1]))
        return buf
    buf = _leaves(pos, neg, c, 0.0, float("-inf"))
    for layer in plan:
        start, n_out = layer.start, layer.n_out
        if layer.dense:
            # element k of node j at [j, k] (padding reads the constant -inf): logsumexp over k
            pair = buf.index_select(0, layer.dps).view(2, n_out, -1, batch)
            x = torch.add(pair[0], pair[1])
            m = x.amax(dim=1)
            m.nan_to_num_(neginf=0.0)  # a node of probability 0: its sum is 0 and its log stays -inf
            buf[start : start + n_out] = x.sub_(m.unsqueeze(1)).exp_().sum(1).log_().add_(m)
            continue
        pair = buf.index_select(0, layer.ps).view(2, -1, batch)
        x = torch.add(pair[0], pair[1])
        m = x.new_full((n_out, batch), float("-inf")).scatter_reduce_(0, layer.seg_rows, x, "amax")
        m.nan_to_num_(neginf=0.0)
        total = x.new_zeros(n_out, batch).scatter_add_(0, layer.seg_rows, x.sub_(m.index_select(0, layer.segs)).exp_())
        buf[start : start + n_out] = total.log_().add_(m)
    return buf


def fused_roots(pos: torch.Tensor, neg: torch.Tensor, c, log: bool) -> torch.Tensor:  # noqa: ANN001
    """Root values ``[B, n_roots]`` without recording a graph (inference, no gradient)."""
    return fused_values(pos, neg, c, log).index_select(0, c.roots).T.contiguous()


def _forward(ctx, pos: torch.Tensor, neg: torch.Tensor, c, log: bool) -> torch.Tensor:  # noqa: ANN001
    with torch.no_grad():
        buf = fused_values(pos, neg, c, log)
    ctx.save_for_backward(buf)
    ctx.circuit = c
    return buf.index_select(0, c.roots).T.contiguous()


def _seed(ctx, g_roots: torch.Tensor):  # noqa: ANN202
    (buf,) = ctx.saved_tensors
    c = ctx.circuit
    g = torch.zeros_like(buf)
    g.index_add_(0, c.roots, g_roots.T)  # (index_add: a root listed twice gets both gradients)
    return buf, c, g, _plan(c, buf.shape[1])


def _literal_gradients(g: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return g[:n].T, g[n : 2 * n].T


class FusedProbCircuit(torch.autograd.Function):
    """Probability-semiring evaluation as one autograd node: a node is the sum of its elements,
    an element the product of its prime and sub, so the prime receives the node's gradient times
    the sub's value and vice versa."""

    @staticmethod
    def forward(ctx, pos: torch.Tensor, neg: torch.Tensor, circuit) -> torch.Tensor:  # noqa: ANN001
        return _forward(ctx, pos, neg, circuit, False)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_roots: torch.Tensor):  # noqa: ANN205
        buf, c, g, plan = _seed(ctx, g_roots)
        batch = buf.shape[1]
        for layer in reversed(plan):
            go = g.index_select(0, layer.node)
            # the prime's gradient is the node's times the sub's value, and vice versa: the values
            # gathered as [subs; primes] times the node gradients, scattered into [primes; subs]
            other = buf.index_select(0, layer.sp).view(2, -1, batch).mul_(go).view(-1, batch)
            g.scatter_add_(0, layer.ps_rows, other)
        return (*_literal_gradients(g, c.n_vars), None)


class FusedLogCircuit(torch.autograd.Function):
    """Log-semiring evaluation as one autograd node: each element gets its node's gradient times
    its share ``exp(x - v)`` of the node and passes it to its prime and its sub (a product in log
    space is a sum). Shares in nodes of probability 0 (``v = -inf``) are 0, not NaN."""

    @staticmethod
    def forward(ctx, pos: torch.Tensor, neg: torch.Tensor, circuit) -> torch.Tensor:  # noqa: ANN001
        return _forward(ctx, pos, neg, circuit, True)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_roots: torch.Tensor):  # noqa: ANN205
        buf, c, g, plan = _seed(ctx, g_roots)
        batch = buf.shape[1]
        for layer in reversed(plan):
            start, n_out = layer.start, layer.n_out
            g_out, v_out = g[start : start + n_out], buf[start : start + n_out]
            if layer.dense:
                pair = buf.index_select(0, layer.dps).view(2, n_out, -1, batch)
                share = torch.add(pair[0], pair[1]).sub_(v_out.unsqueeze(1)).exp_().nan_to_num_(nan=0.0)
                ge = share.mul_(g_out.unsqueeze(1)).view(1, -1, batch).expand(2, -1, batch).reshape(-1, batch)
                # (padding points at the constant zero, whose gradient is never read)
                g.scatter_add_(0, layer.dps_rows, ge)
                continue
            pair = buf.index_select(0, layer.ps).view(2, -1, batch)
            share = torch.add(pair[0], pair[1]).sub_(v_out.index_select(0, layer.segs)).exp_().nan_to_num_(nan=0.0)
            ge = share.mul_(g_out.index_select(0, layer.segs)).view(1, -1, batch).expand(2, -1, batch)
            g.scatter_add_(0, layer.ps_rows, ge.reshape(-1, batch))
        return (*_literal_gradients(g, c.n_vars), None)
