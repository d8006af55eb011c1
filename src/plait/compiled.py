"""A compiled query set: compile once, evaluate many times (batched, differentiable)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from pysdd.sdd import SddNode

from .circuit.layered import from_sdd
from .circuit.semiring import LOG_PROBABILITY, PROBABILITY, Semiring, get_semiring, safe_log
from .compile.sdd import DEFAULT_MAX_SDD_SIZE, SddCompilation, compile_sdd
from .compile.variables import VariableMap, choice_weights
from .errors import InconsistentEvidenceError, InferenceError
from .ground.ground_program import GroundProgram, NeuralSource
from .logic.cycles import break_cycles
from .logic.lineage import build_lineage
from .syntax.printing import format_term
from .syntax.terms import Term

__all__ = ["CompiledQuery", "MpeCircuit", "compile_ground_program", "build_mpe_circuit", "BACKENDS"]


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
        return [("\\+" if neg else "") + format_term(t) for t, neg in self.queries]

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
        if len(aps) != len(self.variables.group_probs):
            raise InferenceError(f"expected {len(self.variables.group_probs)} AD probability tensors, got {len(aps)}")
        parts = [fp] + [choice_weights(p) for p in aps]
        batch_shapes = {tuple(p.shape[:-1]) for p in parts if p.dim() > 1}
        if len(batch_shapes) > 1:
            raise InferenceError(f"inconsistent batch shapes of leaf probabilities: {sorted(batch_shapes)}")
        if batch_shapes:
            shape = batch_shapes.pop()
            parts = [p if p.dim() > 1 else p.expand(*shape, p.shape[-1]) for p in parts]
        return torch.cat(parts, dim=-1)

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
        w = self.leaf_weights(fact_probs, ad_probs) if weights is None else weights
        values = self.circuit(w, sr)
        if sr not in (PROBABILITY, LOG_PROBABILITY):
            return values[..., : len(self.queries)]
        q = values[..., : len(self.queries)]
        if not self.has_evidence:
            if log and sr is PROBABILITY:
                return safe_log(q)  # linear-space circuit (faster): exact unless it underflows
            return q if log else sr.to_probability(q)
        e = values[..., len(self.queries) :]
        # in log space test for -inf, not exp(e) == 0: tiny evidence is fine there
        zero = torch.isneginf(e) if sr is LOG_PROBABILITY else e <= 0
        if bool(zero.any()):
            raise InconsistentEvidenceError(
                "the evidence has probability 0, so the conditional probabilities are undefined",
                hint="check that the evidence atoms can be true together",
            )
        if sr is LOG_PROBABILITY:
            return (q - e) if log else torch.exp(q - e)
        if log:
            return safe_log(q) - safe_log(e)
        return q / e

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


BACKENDS = ("layered", "klay")


CYCLE_METHODS = ("break", "tp")


def compile_ground_program(
    program: GroundProgram,
    dtype: torch.dtype = torch.float64,
    backend: str = "layered",
    cycles: str = "break",
    strategy: str = "auto",
    max_sdd_size: int | None = DEFAULT_MAX_SDD_SIZE,
) -> CompiledQuery:
    """Lineage -> SDD -> tensor circuit.

    ``backend`` is ``"layered"`` (plait's own) or ``"klay"``; ``cycles`` chooses how
    positive recursion is compiled: ``"break"`` (cycle breaking, as ProbLog) or
    ``"tp"`` (TP-compilation, a fixpoint on SDDs). Both are exact. ``strategy`` is
    the SDD vtree strategy (see :func:`plait.compile.sdd.compile_sdd`).
    ``max_sdd_size`` bounds the SDDs in elements (``None``: unbounded); past it a
    :class:`~plait.errors.CompilationBudgetError` names the queries.
    """
    if backend not in BACKENDS:
        raise InferenceError(f"unknown backend {backend!r}", hint=f"choose one of {', '.join(BACKENDS)}")
    if cycles not in CYCLE_METHODS:
        raise InferenceError(f"unknown cycle method {cycles!r}", hint=f"choose one of {', '.join(CYCLE_METHODS)}")
    lineage = build_lineage(program)  # also rejects negation through recursion
    if cycles == "break" and any(c.cyclic for c in lineage.components):
        program = break_cycles(program)
        lineage = build_lineage(program)
    comp = compile_sdd(lineage, strategy=strategy, max_size=max_sdd_size)
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
    vmap = comp.variables
    if backend == "klay":
        from .circuit.klay_backend import KlayCircuit

        circuit = KlayCircuit(roots, vmap.n_vars)
    else:
        circuit = from_sdd(roots, vmap.n_vars)
    labels = [program.nodes[n].label for n in vmap.coin_nodes]
    group_labels = [program.groups[g].labels[: len(vars_)] for g, vars_ in zip(vmap.group_ids, vmap.group_vars)]
    fact_sources = [program.nodes[n].neural for n in vmap.coin_nodes]
    ad_sources = [program.groups[g].neural for g in vmap.group_ids]
    return CompiledQuery(
        circuit,
        vmap,
        queries,
        has_evidence,
        labels,
        group_labels,
        dtype,
        fact_sources,
        ad_sources,
        (comp, roots[: len(queries)]),
        [(program.groups[g].probs, program.groups[g].labels) for g in vmap.group_ids],
    )


class MpeCircuit(torch.nn.Module):
    """Circuits whose max-log value is the log probability of the most probable world of each query.

    The sequential AD encoding cannot be maximised directly: a head chosen early
    leaves the later coins of its group free, and a maximum (unlike a sum) does
    not add their weights up to one. So each used AD group gets an exactly-one
    constraint over its coins plus a "rest" variable (the unused heads and "no
    head"); under that constraint a coin is true iff its head is chosen, and the
    literal weights ``c_i: p_i, not c_i: 1, rest: 1 - sum p`` give every world the
    product of its chosen heads. Fact weights are divided by ``max(p, 1 - p)`` so
    that a fact the circuit leaves out counts as its more likely value; the
    offset is added back by ``plait.nn.explain``.
    """

    def __init__(self, circuit: torch.nn.Module, rest_vars: list[int]) -> None:
        super().__init__()
        self.circuit = circuit
        self.rest_vars = rest_vars
        self._elements: dict[int, list[tuple[int, int]]] | None = None

    def elements(self) -> dict[int, list[tuple[int, int]]]:
        """Node position -> its (prime, sub) positions, computed once."""
        if self._elements is None:
            self._elements = self.circuit.elements()
        return self._elements


def build_mpe_circuit(comp: SddCompilation, roots: Sequence[SddNode]) -> MpeCircuit:
    """Conjoin each query root with one exactly-one constraint per used AD group (see :class:`MpeCircuit`)."""
    mgr = comp.manager
    vmap = comp.variables
    constraint = mgr.true()
    rest_vars: list[int] = []
    for vars_ in vmap.group_vars:
        mgr.add_var_after_last()
        rest = mgr.var_count()  # 1-based SDD variable
        rest_vars.append(rest - 1)
        lits = [v + 1 for v in vars_] + [rest]
        eo = mgr.false()
        for i in lits:
            term = mgr.literal(i)
            for j in lits:
                if j != i:
                    term = term & mgr.literal(-j)
            eo = eo | term
        constraint = constraint & eo
    mpe_roots = [r & constraint for r in roots]
    circuit = from_sdd(mpe_roots, mgr.var_count())
    return MpeCircuit(circuit, rest_vars)
