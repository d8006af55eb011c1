"""Learning from interpretations (``problog lfi``): expectation-maximisation of the ``t(...)`` probabilities.

Each example is a partial interpretation: a set of ``evidence(Atom, true|false)``
observations. For every example the program is grounded for its evidence and
compiled once; each iteration then evaluates every example's circuit with the
current parameters.

E-step: for each ground instance of a learnable clause ``t(P)::h :- body`` the
circuit gives ``P(h-chosen and body | example)`` and ``P(body | example)``
(1 for a fact). M-step, as ProbLog's lfi: a parameter becomes the sum of the
first over all instances in all examples divided by the sum of the second; an
annotated disjunction's heads are then normalised to sum to 1; a parameter no
example says anything about keeps its value. The log-likelihood
``sum log P(example)`` is recorded per iteration; iteration stops when ProbLog's
convergence score (the sum of the logs of the updated parameters) improves by
at most ``min_improvement``, or after ``max_iterations``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..circuit.semiring import LOG_PROBABILITY
from ..errors import ProgramError
from ..ground.database import build_database
from ..ground.ground_program import CHOICE, COIN, DERIVED, GroundProgram, GroundQuery, Node
from ..ground.grounding import ground_program
from ..inference import CompiledQuery, compile_ground_program, query_probability
from ..program import Program
from ..syntax.ast import ADClause, Clause, Directive, NeuralClause, ProgramAST
from ..syntax.parser import parse_program, parse_term
from ..syntax.printing import format_term
from ..syntax.terms import TRUE, Int, Struct, Term, Var
from ._common import as_program, relevant_choices

__all__ = ["LearnedProgram", "lfi", "read_examples", "Example"]

Example = Sequence[tuple[Term | str, bool]]


@dataclass(frozen=True, slots=True)
class LearnedProgram:
    """The result of :func:`lfi`.

    ``parameters`` maps each learnable clause (as written) to its learned
    probability, or the tuple of its heads' probabilities for an annotated
    disjunction; ``program`` is the program with the learned numbers in place
    of ``t(...)``; ``log_likelihoods[i]`` is the log-likelihood of the examples
    under the parameters before iteration ``i + 1``'s update.
    """

    program: str
    parameters: tuple[tuple[str, float | tuple[float, ...]], ...]
    log_likelihoods: tuple[float, ...] = field(default=())

    @property
    def iterations(self) -> int:
        return len(self.log_likelihoods)

    @property
    def log_likelihood(self) -> float:
        return self.log_likelihoods[-1] if self.log_likelihoods else 0.0


def read_examples(path: str | Path) -> list[list[tuple[Term, bool]]]:
    """The examples in a ProbLog lfi evidence file: ``evidence(a, true).`` lines, examples separated by ``---``.

    ``evidence(a).`` and ``evidence(\\+a).`` are accepted too; other clauses are ignored, as ProbLog does.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ProgramError(f"cannot read {p}: {e}") from e
    examples: list[list[tuple[Term, bool]]] = []
    chunk: list[str] = []
    lines = text.splitlines(keepends=True)
    for line in [*lines, "---"]:
        if line.strip().startswith("---"):
            # blank lines keep the line numbers of the chunk right in error messages
            source = "".join(chunk)
            ex = _evidence_of(parse_program(source, str(p)))
            if ex:
                examples.append(ex)
            chunk = ["\n"] * (len(chunk) + 1)
        else:
            chunk.append(line)
    return examples


def _evidence_of(ast: ProgramAST) -> list[tuple[Term, bool]]:
    out: list[tuple[Term, bool]] = []
    for item in ast.items:
        if not isinstance(item, Clause) or item.prob is not None or item.body != TRUE:
            continue
        h = item.head
        if isinstance(h, Struct) and h.functor == "evidence" and len(h.args) == 1:
            a = h.args[0]
            if isinstance(a, Struct) and a.functor in ("\\+", "not") and len(a.args) == 1:
                out.append((a.args[0], False))
            else:
                out.append((a, True))
        elif isinstance(h, Struct) and h.functor == "evidence" and len(h.args) == 2:
            v = h.args[1]
            if v not in (Struct("true"), Struct("false")):
                raise ProgramError(f"evidence/2 takes true or false, not {format_term(v)}", item.span)
            out.append((h.args[0], v == Struct("true")))
    return out


@dataclass
class _Instance:
    """One ground instance of a learnable clause: which parameter (and head), and its two query columns."""

    name: str
    head: int  # head index for an AD, -1 for a fact or rule
    n_heads: int
    both: int  # query column of P(chosen and body | example)
    par: int | None  # query column of P(body | example); None: the body is true


@dataclass
class _CompiledExample:
    compiled: CompiledQuery
    instances: list[_Instance]


def lfi(
    program: Program | str,
    examples: Sequence[Example],
    max_iterations: int = 10000,
    min_improvement: float = 1e-10,
    seed: int | None = None,
) -> LearnedProgram:
    """Learn the ``t(...)`` probabilities of ``program`` from partial interpretations by EM, as ``problog lfi``.

    ``examples``: one list of ``(atom, observed value)`` pairs per example.
    ``t(_)`` starts from a random value (``seed`` makes it reproducible).

    >>> import plait
    >>> learned = plait.lfi("t(0.5)::coin.", [[("coin", True)], [("coin", True)], [("coin", False)]])
    >>> round(dict(learned.parameters)["t(0.5)::coin"], 4)
    0.6667
    """
    prog = as_program(program)
    rng = random.Random(seed)
    params: dict[str, list[float]] = {}
    name_at: dict[int, str] = {}  # id of a learnable clause's span -> its parameter's name
    for spec, span in build_database(prog.ast, prog.base_dir, neural=True).neural_specs:
        name_at[id(span)] = spec.name
        if spec.kind != "t":
            raise ProgramError(
                f"lfi learns t(...) probabilities; the neural predicate {spec.predicate} needs a network",
                span,
                "train neural predicates with plait.fit",
            )
        params[spec.name] = _initial(spec.init, rng)
    if not params:
        raise ProgramError(
            "the program has no learnable t(...) probabilities",
            None,
            "mark the probabilities to learn, e.g. t(0.5)::a. or t(_)::a.",
        )
    compiled = [_compile_example(prog, ex) for ex in examples if len(ex)]
    lls: list[float] = []
    prev_score = -1e10
    delta = 1000.0
    while len(lls) < max_iterations and (delta < 0 or delta > min_improvement):
        ll, score = _step(compiled, params)
        lls.append(ll)
        delta = score - prev_score
        prev_score = score
    names = {name: _clause_text(item, None)[:-1] for item in prog.ast.items if (name := name_at.get(id(item.span)))}
    parameters = tuple(
        (names.get(name, name), tuple(_round(v) for v in vs) if len(vs) > 1 else _round(vs[0]))
        for name, vs in params.items()
    )
    return LearnedProgram(_learned_text(prog, params, name_at), parameters, tuple(lls))


def _initial(init: tuple[float | None, ...], rng: random.Random) -> list[float]:
    """Initial values; ``t(_)`` heads share what the given ones leave, at random (as ProbLog)."""
    free = [i for i, v in enumerate(init) if v is None]
    values = [0.0 if v is None else v for v in init]
    if free:
        draws = [rng.random() for _ in range(len(free) + 1)]  # one more: the remaining "no head"
        left = 1.0 - sum(values)
        for i, r in zip(free, draws):
            values[i] = r * left / sum(draws)
    return values


def _round(x: float) -> float:
    return round(x, 8)


def _compile_example(prog: Program, example: Example) -> _CompiledExample:
    """Ground the program for one example's evidence; add one query pair per learnable instance; compile."""
    ev_items = []
    for atom, value in example:
        term = _term(atom)
        ev_items.append(Clause(Struct("evidence", (term, Struct("true" if value else "false")))))
    ast = ProgramAST(prog.ast.items + tuple(ev_items), prog.ast.filename)
    db = build_database(ast, prog.base_dir, neural=True)
    gp = ground_program(db, prog.limits, [], query_probability)
    rel = relevant_choices(gp)
    nodes = list(gp.nodes)
    # the body of the rule instance each coin or AD head belongs to (a fact's is empty): the
    # grounder writes a probabilistic rule instance as "head :- body, coin" with the coin labelled as the head
    body_of: dict[int, tuple[int, ...]] = {}
    for node in gp.nodes[1:]:
        if node.kind == DERIVED:
            for body in node.bodies:
                for lit in body:
                    own = gp.nodes[abs(lit)]
                    if lit > 0 and own.kind in (COIN, CHOICE) and own.label == node.label:
                        body_of.setdefault(lit, tuple(x for x in body if x != lit))
    queries: list[GroundQuery] = []
    instances: list[_Instance] = []

    def query_of(body: tuple[int, ...]) -> int:
        nodes.append(Node(DERIVED, Struct("$lfi", (Int(len(nodes)),)), bodies={body}))
        queries.append(GroundQuery(Struct("$lfi", (Int(len(queries)),)), len(nodes) - 1))
        return len(queries) - 1

    for nid in rel.coins:
        src = gp.nodes[nid].neural
        if src is None or src.kind != "t":
            continue
        body = body_of.get(nid, ())
        both = query_of((*body, nid))
        par = query_of(body) if body else None
        instances.append(_Instance(src.name, -1, 1, both, par))
    for gid, used in rel.groups:
        group = gp.groups[gid]
        src = group.neural
        if src is None or src.kind != "t":
            continue
        head_node = {gp.nodes[c].index: c for c in group.choices}
        body = body_of.get(head_node[used[0]], ())
        par = query_of(body) if body else None
        for i in range(len(group.labels)):
            if i not in head_node:  # a head nothing in this example uses: its own choice node
                nodes.append(Node(CHOICE, group.labels[i], group=gid, index=i))
                head_node[i] = len(nodes) - 1
            both = query_of((*body, head_node[i]))
            instances.append(_Instance(src.name, i, len(group.labels), both, par))
    program = GroundProgram(nodes, gp.groups, queries, gp.evidence)
    return _CompiledExample(compile_ground_program(program), instances)


def _term(atom: Term | str) -> Term:
    return parse_term(atom) if isinstance(atom, str) else atom


def _step(examples: list[_CompiledExample], params: dict[str, list[float]]) -> tuple[float, float]:
    """One EM iteration: update ``params`` in place; return the log-likelihood before it and the convergence score."""
    body_sum: dict[tuple[str, int], float] = {}
    par_sum: dict[tuple[str, int], float] = {}
    ll = 0.0
    for ex in examples:
        cq = ex.compiled
        fp = cq.fact_probs.clone()
        for i, src in enumerate(cq.fact_sources):
            if src is not None and src.kind == "t":
                fp[i] = params[src.name][0]
        aps = []
        for g, src in enumerate(cq.ad_sources):
            ap = cq.ad_probs[g]
            if src is not None and src.kind == "t":
                ap = torch.tensor(params[src.name][: ap.shape[-1]], dtype=ap.dtype)
            aps.append(ap)
        with torch.no_grad():
            roots = cq.circuit(cq.leaf_weights(fp, aps).unsqueeze(0), LOG_PROBABILITY)[0]
        log_e = float(roots[-1])
        if log_e == -math.inf:
            continue  # this example is impossible under the current parameters: ProbLog ignores it too
        ll += log_e
        # as ProbLog: conditional probabilities below 1e-6 count as 0 (this speeds up convergence to 0)
        cond = [0.0 if c < 1e-6 else c for c in torch.exp(roots[:-1] - log_e).tolist()]
        for inst in ex.instances:
            key = (inst.name, max(inst.head, 0))
            body_sum[key] = body_sum.get(key, 0.0) + cond[inst.both]
            # ProbLog counts an AD instance's body once per head (this cancels in the normalisation)
            par_sum[key] = par_sum.get(key, 0.0) + (1.0 if inst.par is None else cond[inst.par]) * inst.n_heads
    score = 0.0
    for (name, head), b in body_sum.items():
        par = par_sum[(name, head)]
        if par <= 1e-15:
            continue  # no example says anything about it: keep its value
        if b <= 1e-15:
            p = 0.0
        else:
            p = b / par
            score += math.log(p)
        params[name][head] = p
    for values in params.values():
        if len(values) > 1:
            total = sum(values)
            if total != 0:
                values[:] = [v / total for v in values]
    return ll, score


def _learned_text(prog: Program, params: dict[str, list[float]], name_at: dict[int, str]) -> str:
    """The program as written, with the learned numbers in place of ``t(...)``."""
    lines = []
    for item in prog.ast.items:
        if isinstance(item, Directive):
            lines.append(f":- {format_term(item.goal)}.")
            continue
        name = name_at.get(id(item.span))
        lines.append(_clause_text(item, params.get(name) if name else None))
    return "\n".join(lines)


def _clause_text(item, learned: list[float] | None) -> str:
    def prob(i: int, p: Term | None) -> str:
        if learned is not None:
            return f"{_round(learned[i])!r}::"
        if isinstance(p, Struct) and p.functor == "t" and isinstance(p.args[0], Var):
            return "t(_)::"  # not the parser's name for the anonymous variable
        return "" if p is None else f"{format_term(p)}::"

    if isinstance(item, ADClause):
        head = "; ".join(prob(i, p) + format_term(h) for i, (p, h) in enumerate(item.heads))
    elif isinstance(item, NeuralClause):
        head = prob(0, item.spec) + format_term(item.head)
    else:
        head = prob(0, item.prob) + format_term(item.head)
    if item.body == TRUE:
        return head + "."
    return f"{head} :- {', '.join(format_term(g) for g in _conjuncts(item.body))}."


def _conjuncts(t: Term) -> list[Term]:
    out: list[Term] = []
    while isinstance(t, Struct) and t.functor == "," and len(t.args) == 2:
        out.append(t.args[0])
        t = t.args[1]
    out.append(t)
    return out
