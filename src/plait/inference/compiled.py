"""A compiled query set: compile once, evaluate many times (batched, differentiable)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from pysdd.sdd import SddNode

from ..circuit.layered import from_sdd
from ..circuit.semiring import LOG_PROBABILITY, Semiring, get_semiring
from ..compile.sdd import SddCompilation, compile_sdd
from ..compile.variables import VariableMap
from ..errors import InferenceError
from ..ground.ground_program import GroundProgram, NeuralSource
from ..logic.cycles import break_cycles
from ..logic.lineage import build_lineage
from ..syntax.printing import format_term
from ..syntax.terms import Term, term_vars
from .evaluate import answers
from .mpe import MpeCircuit, build_mpe_circuit
from .options import InferenceOptions
from .weights import choice_literals, circuit_weights, rest_outcome

__all__ = [
    "CompiledQuery",
    "CompiledRoots",
    "compile_roots",
    "compile_ground_program",
    "query_probability",
    "query_name",
]


class CompiledQuery(torch.nn.Module):
    """The circuits of a set of queries (and the evidence), ready to evaluate.

    Leaf probabilities are inputs: ``forward(fact_probs, ad_probs)`` accepts a
    leading batch dimension and returns ``[batch, n_queries]`` conditional
    probabilities ``P(query | evidence)``. Without arguments the program's own
    probabilities are used.

    >>> import plait
    >>> cq = plait.Program.from_string("0.3::a. 0.5::b. q :- a; b. query(q).").compile()
    >>> cq().tolist()
    [0.65]
    """

    def __init__(
        self,
        circuit: torch.nn.Module,
        variables: VariableMap,
        queries: Sequence[tuple[Term, bool]],
        has_evidence: bool,
        labels: Sequence[Term | None],
        group_labels: Sequence[Sequence[Term]],
        dtype: torch.dtype = torch.float64,
        fact_sources: Sequence[NeuralSource | None] = (),
        ad_sources: Sequence[NeuralSource | None] = (),
        sdd: tuple[SddCompilation, list[SddNode]] | None = None,
        ad_all: Sequence[tuple[tuple[float, ...], tuple[Term, ...]]] = (),
    ) -> None:
        super().__init__()
        # every head of each used AD (also those the queries never reach), for explanations
        self.ad_all_probs = [p for p, _ in ad_all]
        self.ad_all_labels = [lbl for _, lbl in ad_all]
        # where neural and learnable probabilities come from (None: the program's number)
        self.fact_sources = list(fact_sources) or [None] * len(labels)
        self.ad_sources = list(ad_sources) or [None] * len(group_labels)
        # the SDDs stay alive so that explanation circuits can be built on demand
        self._sdd = sdd
        self._mpe: MpeCircuit | None = None
        self.circuit = circuit
        self.variables = variables
        self.queries = list(queries)
        self.has_evidence = has_evidence
        self.fact_labels = list(labels)
        self.ad_labels = [list(g) for g in group_labels]
        self.register_buffer("fact_probs", torch.tensor(variables.coin_probs, dtype=dtype))
        for i, probs in enumerate(variables.group_probs):
            self.register_buffer(f"ad_probs{i}", torch.tensor(probs, dtype=dtype))

    @property
    def query_names(self) -> list[str]:
        return [query_name(t, neg) for t, neg in self.queries]

    @property
    def ad_domain_sizes(self) -> list[int]:
        """The number of heads of each used AD (its whole domain, not only the heads the queries reach)."""
        return [len(labels) for labels in self.ad_all_labels]

    @property
    def ad_probs(self) -> list[torch.Tensor]:
        return [getattr(self, f"ad_probs{i}") for i in range(len(self.variables.group_probs))]

    def leaf_weights(
        self, fact_probs: torch.Tensor | None = None, ad_probs: Sequence[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Variable weights ``[..., n_vars]``: facts first, then each AD's sequential coins."""
        fp = self.fact_probs if fact_probs is None else fact_probs
        aps = self.ad_probs if ad_probs is None else list(ad_probs)
        return circuit_weights(self.variables, fp, aps)

    def forward(
        self,
        fact_probs: torch.Tensor | None = None,
        ad_probs: Sequence[torch.Tensor] | None = None,
        semiring: str | Semiring = LOG_PROBABILITY,
        log: bool = False,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``[batch, n_queries]`` probabilities (log probabilities with ``log=True``).

        ``weights`` (``[batch, n_vars]``, see :meth:`leaf_weights`) replaces
        ``fact_probs`` and ``ad_probs`` when the caller has built them already.
        """
        sr = get_semiring(semiring)
        if sr.form == "ground":
            raise InferenceError(
                f"the semiring {sr.name!r} is evaluated on the ground program, not on a compiled circuit",
                hint=f"use Program.query(semiring={sr.name!r}) or plait.inference.fuzzy.truth_values",
            )
        if sr.form == "choices":
            values = self._choice_values(fact_probs, ad_probs, sr)
        else:
            if not sr.sequential_ok and self.variables.group_vars:
                raise InferenceError(
                    f"the semiring {sr.name!r} is not exact on annotated disjunctions encoded as sequential coins",
                    hint="for the most probable world use plait.mpe or Model.explain (the 'max-log' semiring)",
                )
            w = self.leaf_weights(fact_probs, ad_probs) if weights is None else weights
            values = self.circuit(w, sr)
        return answers(values, len(self.queries), self.has_evidence, sr, log)

    def _choice_values(
        self, fact_probs: torch.Tensor | None, ad_probs: Sequence[torch.Tensor] | None, sr: Semiring
    ) -> torch.Tensor:
        """Root values on the explanation circuit (each AD an exactly-one choice), for ``"choices"`` semirings.

        ``ad_probs`` rows cover each used AD's whole domain (default: the program's numbers).
        """
        facts = self.fact_probs if fact_probs is None else fact_probs
        rows = (
            list(ad_probs)
            if ad_probs is not None
            else [torch.tensor(p, dtype=facts.dtype, device=facts.device) for p in self.ad_all_probs]
        )
        batch = max([facts.shape[0] if facts.dim() > 1 else 1] + [r.shape[0] for r in rows if r.dim() > 1])
        facts = facts if facts.dim() > 1 else facts.expand(batch, facts.shape[-1])
        heads, rest = [], []
        for g, row in enumerate(rows):
            row = row if row.dim() > 1 else row.expand(batch, row.shape[-1])
            k = len(self.variables.group_vars[g])
            heads.append(row[:, :k])
            rest.append(rest_outcome(row, k)[0])
        mpe = self.mpe_circuit()
        pos, neg, offset = choice_literals(sr, self.variables, mpe.circuit.n_vars, mpe.rest_vars, facts, heads, rest)
        buf = mpe.circuit.evaluate_literals(pos, neg, sr)
        return sr.mul(buf[:, mpe.circuit.roots], offset.unsqueeze(-1))

    def mpe_circuit(self) -> MpeCircuit:
        """The circuit for most probable worlds (built on first use, then cached)."""
        if self._mpe is None:
            if self._sdd is None:
                raise InferenceError("this compiled query kept no SDDs, so it cannot explain its answers")
            comp, roots = self._sdd
            self._mpe = build_mpe_circuit(comp, roots)
            self._mpe.to(self.fact_probs.device)
        return self._mpe

    def as_dict(self, values: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        values = self() if values is None else values
        return {name: values[..., i] for i, name in enumerate(self.query_names)}


def query_name(term: Term, negated: bool = False) -> str:
    """How an answer is keyed in results: the atom as ProbLog 2.3 writes it, ``\\+`` in front if negated.

    ProbLog numbers the n variables of an answer after its own n call arguments,
    X{n+1}, ..., X{2n} by first occurrence; writing them the same way lets outputs be
    compared line by line.

    >>> from plait.syntax.parser import parse_term
    >>> query_name(parse_term("q(A, f(B), A)"))
    'q(X3,f(X4),X3)'
    """
    vs = term_vars(term)
    return ("\\+" if negated else "") + format_term(term, {v: f"X{len(vs) + 1 + i}" for i, v in enumerate(vs)})


@dataclass(frozen=True, slots=True)
class CompiledRoots:
    """A ground program's queries (and evidence) as SDDs in one manager: what every route evaluates.

    ``roots`` holds one SDD per query (``query and evidence`` when there is evidence),
    then the evidence's SDD when ``has_evidence``.
    """

    program: GroundProgram  # after cycle breaking, if any
    sdd: SddCompilation
    roots: tuple[SddNode, ...]
    queries: tuple[tuple[Term, bool], ...]
    has_evidence: bool


def compile_roots(program: GroundProgram, options: InferenceOptions | None = None) -> CompiledRoots:
    """Lineage -> SDDs of the queries and the evidence, as ``options`` say (cycles, vtree strategy, budget).

    ``cycles="break"`` compiles positive recursion by cycle breaking (as ProbLog),
    ``"tp"`` by TP-compilation (a fixpoint on SDDs); both are exact.

    >>> import plait
    >>> r = compile_roots(plait.Program.from_string("0.3::a. query(a).").ground())
    >>> len(r.roots), r.has_evidence
    (1, False)
    """
    options = options or InferenceOptions()
    lineage = build_lineage(program)  # also rejects negation through recursion
    if options.cycles == "break" and any(c.cyclic for c in lineage.components):
        program = break_cycles(program)
        lineage = build_lineage(program)
    comp = compile_sdd(lineage, strategy=options.strategy, max_size=options.max_sdd_size)
    mgr = comp.manager
    evidence = mgr.true()
    has_evidence = bool(program.evidence)
    for ev in program.evidence:
        lit = ev.literal
        node = mgr.true() if lit is None else comp.literal(lit)
        evidence = evidence & (node if ev.value else ~node)
        comp.check_budget(program, "the evidence {}", ev.term)
    roots = []
    queries = []
    for q in program.queries:
        lit = q.literal
        node = mgr.true() if lit is None else comp.literal(lit)
        if q.negated:
            node = ~node
        roots.append(node & evidence if has_evidence else node)
        comp.check_budget(program, "the query {} with the evidence", q.term)
        queries.append((q.term, q.negated))
    if has_evidence:
        roots.append(evidence)
    return CompiledRoots(program, comp, tuple(roots), tuple(queries), has_evidence)


def compile_ground_program(program: GroundProgram, options: InferenceOptions | None = None) -> CompiledQuery:
    """Lineage -> SDD -> tensor circuit, as ``options`` say (backend, cycles, vtree strategy, dtype, budget).

    ``cycles="break"`` compiles positive recursion by cycle breaking (as ProbLog),
    ``"tp"`` by TP-compilation (a fixpoint on SDDs); both are exact.
    """
    options = options or InferenceOptions()
    compiled = compile_roots(program, options)
    program, comp, roots = compiled.program, compiled.sdd, list(compiled.roots)
    vmap = comp.variables
    if options.backend == "klay":
        from ..circuit.klay_backend import KlayCircuit

        circuit = KlayCircuit(roots, vmap.n_vars)
    else:
        circuit = from_sdd(roots, vmap.n_vars, options.circuit_eval)
    labels = [program.nodes[n].label for n in vmap.coin_nodes]
    group_labels = [program.groups[g].labels[: len(vars_)] for g, vars_ in zip(vmap.group_ids, vmap.group_vars)]
    fact_sources = [program.nodes[n].neural for n in vmap.coin_nodes]
    ad_sources = [program.groups[g].neural for g in vmap.group_ids]
    return CompiledQuery(
        circuit,
        vmap,
        compiled.queries,
        compiled.has_evidence,
        labels,
        group_labels,
        options.dtype,
        fact_sources,
        ad_sources,
        (comp, roots),
        [(program.groups[g].probs, program.groups[g].labels) for g in vmap.group_ids],
    )


def query_probability(program: GroundProgram) -> float:
    """The probability of a ground program's first query: what ``subquery/2..5`` needs during grounding.

    Grounding sits below inference, so the callers of :func:`plait.ground.grounding.ground_program`
    pass this function down.
    """
    return float(compile_ground_program(program)()[0])
