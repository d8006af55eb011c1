"""Grounding a whole program: its queries and evidence, relevant ground rules, one :class:`GroundProgram`.

The entry point of the grounding stage (``ground_program``); the tabled
evaluation itself is :class:`plait.ground.engine.Grounder`.
"""

from __future__ import annotations

from .._deep import run_deep
from ..errors import GroundingError, NonGroundError, PlaitError, SourceSpan
from ..syntax.terms import Struct, Term, Var, is_ground
from .database import ClauseDB
from .engine import Evaluate, Grounder, Limits
from .ground_program import GroundEvidence, GroundProgram, GroundQuery
from .unify import variant_key

__all__ = ["ground_program"]


def _query_terms(
    g: Grounder,
) -> tuple[list[tuple[Term, SourceSpan | None]], list[tuple[Term, bool, SourceSpan | None]]]:
    queries = [(args[0], span) for args, span in g.directive_terms("query", 1)]
    evidence: list[tuple[Term, bool, SourceSpan | None]] = []
    for args, span in g.directive_terms("evidence", 1):
        e = args[0]
        if isinstance(e, Struct) and e.functor in ("\\+", "not") and len(e.args) == 1:
            evidence.append((e.args[0], False, span))
        else:
            evidence.append((e, True, span))
    for args, span in g.directive_terms("evidence", 2):
        e, v = args
        if v in (Struct("true"),):
            value = True
        elif v in (Struct("false"),):
            value = False
        else:
            raise GroundingError(f"evidence/2 takes true or false as its second argument, not {v}", span)
        evidence.append((e, value, span))
    return queries, evidence


def _ground(db: ClauseDB, limits: Limits, queries: list[Term] | None, evaluate: Evaluate | None) -> GroundProgram:
    g = Grounder(db, limits, evaluate)
    if queries is None:
        query_terms, evidence_terms = _query_terms(g)
    else:
        query_terms = [(q, None) for q in queries]
        _, evidence_terms = _query_terms(g)
    ground_queries: list[GroundQuery] = []
    seen: set[tuple[Term, bool]] = set()
    for q, span in query_terms:
        negated = False
        if isinstance(q, Struct) and q.functor in ("\\+", "not") and len(q.args) == 1:
            negated, q = True, q.args[0]
        if isinstance(q, Var):
            raise NonGroundError("query/1 of an unbound variable", span, "write query(p(X)), not query(X)")
        try:
            answers = g.ground_goal(q)
        except PlaitError as e:
            raise e.with_span(span) from None
        if not answers:
            key = (variant_key(q), negated)
            if key not in seen:
                seen.add(key)
                ground_queries.append(GroundQuery(q, 0, negated))
            continue
        for ans, lit in answers:
            if not is_ground(ans) and lit is not None:
                raise NonGroundError(
                    f"query {q} has the non-ground probabilistic answer {ans}",
                    span,
                    "bind the query's arguments so that every answer is ground",
                )
            key = (variant_key(ans), negated)
            if key in seen:
                continue
            seen.add(key)
            ground_queries.append(GroundQuery(ans, lit, negated))
    ground_evidence: list[GroundEvidence] = []
    for e, value, span in evidence_terms:
        if not is_ground(e):
            raise NonGroundError(f"evidence on the non-ground atom {e}", span, "evidence must be ground")
        try:
            answers = g.ground_goal(e)
        except PlaitError as err:
            raise err.with_span(span) from None
        lit = answers[0][1] if answers else 0
        ground_evidence.append(GroundEvidence(e, lit, value))
    # attach negative heads
    for t in g.tables.values():
        for akey, bodies in t.neg.items():
            nid = t.answers.get(akey)
            if nid is not None:
                g.nodes[nid].neg_bodies |= bodies
    return GroundProgram(g.nodes, g.groups, ground_queries, ground_evidence)


def ground_program(
    db: ClauseDB, limits: Limits | None = None, queries: list[Term] | None = None, evaluate: Evaluate | None = None
) -> GroundProgram:
    """Ground ``db`` for its queries and evidence (or for ``queries`` if given).

    ``evaluate`` answers ``subquery/2..5`` during grounding: the probability of the
    one query of a ground program. Inference lives above grounding, so the caller
    (``plait.Program``) passes it down.

    Runs in a worker thread with a large stack: grounding recursion follows the
    program's recursion, which can be deeper than Python's default stack allows.
    """
    limits = limits or Limits()
    return run_deep(lambda: _ground(db, limits, queries, evaluate), "grounding")
