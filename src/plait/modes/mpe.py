"""Most probable explanation (``problog mpe``): the best assignment to the relevant choices given the evidence.

The choices are those the queries and the evidence depend on (as ProbLog's
relevant ground program). The evidence is compiled to an SDD, conjoined with an
exactly-one constraint per annotated disjunction (see
:class:`plait.inference.MpeCircuit`) and evaluated in the max-log semiring; the
best world is read back down the circuit. As in ProbLog, the heads of an
annotated disjunction that nothing depends on are one outcome ("another head or
none", probability ``1 - sum`` of the used heads), and a choice the evidence
does not constrain takes its more probable value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..circuit.semiring import BOOLEAN, MAX_LOG
from ..errors import InconsistentEvidenceError
from ..ground.ground_program import ADGroup, GroundProgram
from ..inference import CompiledQuery, choice_literals
from ..program import Program
from ..syntax.printing import format_term
from ._common import as_program, compile_with_evidence_root, label, relevant_choices, world_weights

__all__ = ["Assignment", "MostProbableWorld", "mpe"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """One choice of a world: ``atom`` is ``value`` with ``probability``.

    For an annotated disjunction whose used heads are all false, ``atom`` is one
    of those heads with ``value`` False (one entry per head) and ``probability``
    is that of the remaining outcome.
    """

    atom: str
    value: bool
    probability: float

    @property
    def literal(self) -> str:
        return self.atom if self.value else "\\+" + self.atom


@dataclass(frozen=True, slots=True)
class MostProbableWorld:
    """The result of :func:`mpe`: the world's ``probability`` (joint with the evidence), its choices, the queries in it."""

    probability: float
    choices: tuple[Assignment, ...]
    queries: tuple[tuple[str, bool], ...] = ()

    @property
    def text(self) -> str:
        lines = [c.literal for c in self.choices]
        if self.queries:
            lines.append("% Queries:")
            lines += [q if v else "\\+" + q for q, v in self.queries]
        lines.append(f"% Probability: {self.probability:.10g}")
        return "\n".join(lines)


def mpe(program: Program | str) -> MostProbableWorld:
    """The most probable assignment to the choices that the queries and evidence depend on.

    >>> import plait
    >>> w = plait.mpe("0.6::a. 0.3::b. 0.2::c. q :- a, \\\\+b. r :- b. r :- c. evidence(r). query(q).")
    >>> [c.literal for c in w.choices], round(w.probability, 4), w.queries
    (['a', 'b', '\\\\+c'], 0.144, (('q', False),))

    Raises :class:`plait.InconsistentEvidenceError` when no world satisfies the evidence.
    """
    prog = as_program(program)
    gp = prog.ground()
    rel = relevant_choices(gp)
    cq = compile_with_evidence_root(gp)
    vm = cq.variables
    mpe_c = cq.mpe_circuit()
    n = mpe_c.circuit.n_vars
    used_heads = dict(rel.groups)
    heads, rest = [], []
    for gid in vm.group_ids:
        probs = gp.groups[gid].probs
        used = used_heads.get(gid, ())
        k = len(vm.group_vars[len(heads)])
        heads.append(torch.tensor([[probs[i] if i in used else 0.0 for i in range(k)]], dtype=torch.float64))
        rest.append(torch.tensor([_rest(probs, used)], dtype=torch.float64))
    facts = torch.tensor([vm.coin_probs], dtype=torch.float64)
    with torch.no_grad():
        pos, neg, offsets = choice_literals(MAX_LOG, vm, n, mpe_c.rest_vars, facts, heads, rest)
        offset = float(offsets[0])
        buf = mpe_c.circuit.evaluate_literals(pos, neg, MAX_LOG)
    root = int(mpe_c.circuit.roots[len(gp.queries)])
    value = float(buf[0, root]) + offset
    if value == -math.inf:
        raise InconsistentEvidenceError(
            "no world satisfies the evidence, so there is no most probable one",
            hint="check that the evidence atoms can be true together",
        )
    row = buf[0].tolist()
    var_value: dict[int, bool] = {}
    for lit in mpe_c.best_literals(row, root):
        if lit < 2 * n:
            var_value[lit % n] = lit < n
    # facts: the circuit's value, or the more probable one where the evidence leaves them free
    coin_var = dict(zip(vm.coin_nodes, vm.coin_vars))
    choices: list[Assignment] = []
    fact_value: dict[int, bool] = {}
    for nid in rel.coins:
        p = gp.nodes[nid].prob
        v = var_value.get(coin_var[nid], p >= 0.5) if nid in coin_var else p >= 0.5
        fact_value[nid] = v
        choices.append(Assignment(label(gp, nid), v, p if v else 1 - p))
    group_pos = {gid: g for g, gid in enumerate(vm.group_ids)}
    chosen: dict[int, int] = {}
    for gid, used in rel.groups:
        group = gp.groups[gid]
        head = -1
        if gid in group_pos:
            g = group_pos[gid]
            for i, v in enumerate(vm.group_vars[g]):
                if var_value.get(v):
                    head = i
        else:  # nothing constrains it: its most probable outcome
            rest = _rest(group.probs, used)
            best = max(used, key=lambda i: group.probs[i])
            head = best if group.probs[best] >= rest else -1
        chosen[gid] = head
        if head >= 0:
            choices.append(Assignment(_head_label(group, head), True, group.probs[head]))
        else:
            rest = _rest(group.probs, used)
            choices.extend(Assignment(_head_label(group, i), False, rest) for i in used)
    probability = math.exp(value)
    queries = _query_values(cq, gp, fact_value, chosen)
    return MostProbableWorld(probability, tuple(choices), queries)


def _query_values(
    cq: CompiledQuery, gp: GroundProgram, fact_value: dict[int, bool], chosen: dict[int, int]
) -> tuple[tuple[str, bool], ...]:
    """The truth of each query in the world (the boolean circuit on its 0/1 weights)."""
    if not gp.queries:
        return ()
    vm = cq.variables
    facts = torch.tensor([[float(fact_value.get(nid, False)) for nid in vm.coin_nodes]], dtype=torch.float64)
    heads = [torch.tensor([chosen.get(gid, -1)]) for gid in vm.group_ids]
    w = world_weights(cq, facts, heads)
    with torch.no_grad():
        values = cq.circuit(w, BOOLEAN)[0]
    return tuple((name, bool(values[i] > 0)) for i, name in enumerate(cq.query_names[: len(gp.queries)]))


def _head_label(group: ADGroup, i: int) -> str:
    return format_term(group.labels[i])


def _rest(probs: tuple[float, ...], used: tuple[int, ...]) -> float:
    """The probability of "none of the used heads" (the other heads and no head at all)."""
    return max(0.0, 1.0 - sum(probs[i] for i in used))


def _log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf
