"""Most probable explanations: the best world behind an answer, as text and as JSON.

For each batch element and answer, the max-log semiring over the template's
explanation circuit (see :class:`plait.inference.MpeCircuit`) gives the log
probability of the most probable world in which the answer holds; the
prediction is the answer with the best such world, so it always satisfies the
program. Walking back down from that answer's root, taking the best element
at every decision node, yields the choices of that world: the chosen head of
every annotated disjunction (neural ones included) and the value of every
probabilistic fact the answer depends on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import torch

from ..circuit.semiring import MAX_LOG
from ..errors import InferenceError
from ..inference.weights import choice_literals, rest_outcome
from .templates import Template, show

__all__ = ["Choice", "Explanation", "explain", "mpe_values"]


@dataclass(frozen=True, slots=True)
class Choice:
    """One probabilistic choice of a world: ``atom`` is true (or false) with ``probability``.

    ``source`` names the network (``nn``), ``"t"`` for a learnable probability,
    or None for a number written in the program.
    """

    atom: str
    value: bool
    probability: float
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why ``answer`` holds: the most probable world in which it does.

    ``probability`` is the answer's probability (all worlds), ``world_probability``
    the probability of the world shown, ``choices`` its relevant choices.
    """

    query: str
    answer: str
    probability: float
    world_probability: float
    choices: tuple[Choice, ...] = field(default=())

    @property
    def text(self) -> str:
        if self.world_probability <= 0:
            return f"{self.answer} is impossible (P={self.probability:.3f}): no world makes it true"
        parts = []
        for c in self.choices:
            src = f" [{c.source}]" if c.source else ""
            parts.append(f"{'' if c.value else 'not '}{c.atom} (p={c.probability:.3f}){src}")
        because = ", ".join(parts) if parts else "it holds in every world"
        return (
            f"{self.answer} (P={self.probability:.3f}) because {because}; "
            f"most probable world p={self.world_probability:.3f}"
        )

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict:
        d = asdict(self)
        d["choices"] = [asdict(c) for c in self.choices]
        d["text"] = self.text
        return d

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)


def _literal_values(
    t: Template, facts: torch.Tensor, ads: list[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Max-log literal values ``pos``, ``neg`` ``[B, n_vars]`` and the constant offset ``[B]``."""
    cq = t.compiled
    mpe = cq.mpe_circuit()
    vm = cq.variables
    batch = facts.shape[0]
    heads, rest = [], []
    for g, probs in enumerate(ads):
        p = probs if probs.dim() > 1 else probs.expand(batch, probs.shape[-1])
        k = len(vm.group_vars[g])
        heads.append(p[:, :k])
        rest.append(rest_outcome(p, k)[0])
    return choice_literals(MAX_LOG, vm, mpe.circuit.n_vars, mpe.rest_vars, facts, heads, rest)


def mpe_values(
    model, t: Template, inputs: Mapping, leaves: tuple[torch.Tensor, list[torch.Tensor]] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, n_answers]`` log probability of each answer's most probable world, and the node values.

    ``leaves`` is :meth:`Model.leaf_probabilities` of ``inputs`` when the caller has it already.
    """
    mpe = t.compiled.mpe_circuit()
    with torch.no_grad():
        facts, ads = model.leaf_probabilities(t, inputs) if leaves is None else leaves
        if t.compiled.fact_probs.device != mpe.circuit.roots.device:
            mpe.to(t.compiled.fact_probs.device)
        pos, neg, offset = _literal_values(t, facts, ads)
        buf = mpe.circuit.evaluate_literals(pos, neg, MAX_LOG)
        roots = buf[:, mpe.circuit.roots] + offset.unsqueeze(-1)
    order = t._order.to(roots.device)
    return roots[:, order], buf


def explain(model, query: str, answer: object | None, inputs: Mapping) -> list[Explanation]:
    """One :class:`Explanation` per batch element (see :meth:`plait.Model.explain`)."""
    t = model.template(query, inputs)
    cq = t.compiled
    if not t.answers:
        return []
    with torch.no_grad():
        probs = model(query, **inputs)
        facts, ads = model.leaf_probabilities(t, inputs)
    values, buf = mpe_values(model, t, inputs, (facts, ads))
    batch = values.shape[0]
    if isinstance(answer, torch.Tensor) and answer.dim() == 0:
        answer = answer.item()
    if answer is None:
        cols = values.argmax(dim=-1).tolist()
    elif isinstance(answer, (list, torch.Tensor)):
        if len(answer) != batch:
            raise InferenceError(
                f"explain got {len(answer)} answers for a batch of {batch}",
                hint="give one answer for the whole batch, or a list with one per example",
            )
        cols = t.targets(answer).tolist()
    else:
        cols = [t.index(*answer) if isinstance(answer, tuple) else t.index(answer)] * batch
    mpe = cq.mpe_circuit()
    n = mpe.circuit.n_vars
    vm = cq.variables
    var_info: dict[int, tuple[str, object]] = {}
    for i, v in enumerate(vm.coin_vars):
        var_info[v] = ("fact", i)
    for g, vars_ in enumerate(vm.group_vars):
        for k, v in enumerate(vars_):
            var_info[v] = ("ad", (g, k))
    rest_group = {v: g for g, v in enumerate(mpe.rest_vars)}
    roots = mpe.circuit.roots.tolist()
    out: list[Explanation] = []
    for b, col in enumerate(cols):
        row = buf[b].tolist()
        world = float(values[b, col].exp())
        orig = int(t._order[col])
        choices: list[Choice] = []
        if world > 0:
            for lit_pos in mpe.best_literals(row, roots[orig]):
                if lit_pos >= 2 * n:
                    continue  # the constants true/false
                positive = lit_pos < n
                var = lit_pos if positive else lit_pos - n
                info = var_info.get(var)
                if info is None:
                    g = rest_group.get(var)
                    if g is not None and positive:
                        # none of the heads the queries use: the best other head, or no head at all
                        heads = _row(ads[g], b).unsqueeze(0)
                        p, head = (float(x[0]) for x in rest_outcome(heads, len(vm.group_vars[g])))
                        if head >= 0:
                            atom = show(cq.ad_all_labels[g][int(head)])
                        else:
                            atom = "no head of " + " ; ".join(show(x) for x in cq.ad_all_labels[g])
                        choices.append(Choice(atom, True, p, _source_name(cq.ad_sources[g])))
                    continue
                kind, where = info
                if kind == "fact":
                    i = where  # type: ignore[assignment]
                    f = facts[b, i]
                    p = float(f) if positive else 1.0 - float(f)
                    src = cq.fact_sources[i]
                    choices.append(Choice(show(cq.fact_labels[i]), positive, p, _source_name(src)))
                elif positive:
                    g, k = where  # type: ignore[misc]
                    p = float(_row(ads[g], b)[k])
                    choices.append(Choice(show(cq.ad_labels[g][k]), True, p, _source_name(cq.ad_sources[g])))
        choices.sort(key=lambda c: c.atom)
        out.append(
            Explanation(
                query=show(t.query),
                answer=show(t.answers[col]),
                probability=float(probs[b, col]),
                world_probability=world,
                choices=tuple(choices),
            )
        )
    return out


def _row(probs: torch.Tensor, b: int) -> torch.Tensor:
    """Example ``b``'s head probabilities of an AD (``[B, k]`` from a network, ``[k]`` when shared)."""
    return probs[b] if probs.dim() > 1 else probs


def _source_name(src) -> str | None:
    if src is None:
        return None
    return "t" if src.kind == "t" else src.name
