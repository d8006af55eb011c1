"""Deciding a plait translation: the query's answer under the closed-world assumption, with its proof.

A translation is a plait program with one ``query(...)``; predicates it never
defines are false (``:- unknown(fail).``), as the closed world says. The proof is
plait's explanation (:func:`plait.proofs`) of the query in a copy of the program
where every fact is uncertain: its first proof lists the facts the answer rests
on, and (``\\+``) the stated facts whose absence it needs; atoms no clause can
prove are simply false and not listed.

>>> d = decide_program("cat(tom).\\nbig(X) :- cat(X), \\\\+ small(X).\\nquery(big(tom)).")
>>> d.verdict.value, d.proof
('True', 'big(tom) :- cat(tom).')
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...errors import ParseError, SourceSpan
from ...modes.explain import proofs
from ...program import Program
from ...syntax.ast import Clause, ProgramAST
from ...syntax.parser import parse_program
from ...syntax.terms import TRUE, Float, Struct, is_ground
from .fol import Verdict

__all__ = ["HornDecision", "decide_program"]

_CLOSED_WORLD = ":- unknown(fail).\n"


@dataclass(frozen=True, slots=True)
class HornDecision:
    """``verdict`` (True or False: the closed world knows no Uncertain), the query's probability, the proof.

    ``probability`` is 0 or 1 unless the translation gave facts probabilities;
    the verdict is True when it is above one half. ``proof`` is None when the
    query is false (nothing proves it).
    """

    verdict: Verdict
    query: str
    probability: float
    proof: str | None


def _queries(ast: ProgramAST) -> list[Clause]:
    return [
        i
        for i in ast.items
        if isinstance(i, Clause) and isinstance(i.head, Struct) and i.head.functor == "query" and len(i.head.args) == 1
    ]


def decide_program(text: str, filename: str = "<translation>") -> HornDecision:
    """Parse and answer a translation with one query (a ParseError or other PlaitError if it cannot be).

    >>> decide_program("a.\\nquery(b).").verdict.value
    'False'
    """
    ast = parse_program(_CLOSED_WORLD + text, filename)
    queries = _queries(ast)
    if len(queries) != 1:
        # the target language asks for exactly one query: a program without one is not a translation
        raise ParseError(
            f"the translation has {len(queries)} queries, not one",
            SourceSpan(text, len(text), len(text), filename),
            "end the program with exactly one query(...)",
        )
    program = Program(ast)
    # a query with variables asks whether some instance holds (its answers are the true instances)
    answers = {atom: float(v) for atom, v in program.query().items()}
    query, p = max(answers.items(), key=lambda kv: kv[1], default=(str(queries[0].head.args[0]), 0.0))
    verdict = Verdict.TRUE if p > 0.5 else Verdict.FALSE
    proof = None
    if verdict is Verdict.TRUE:
        # every certain ground fact becomes a choice, so that the proof names the facts it uses (a
        # non-ground fact stays certain: an uncertain one would be one coin per instance, which plait refuses)
        items = tuple(
            replace(i, prob=Float(0.5))
            if isinstance(i, Clause) and i.body == TRUE and i.prob is None and i not in queries and is_ground(i.head)
            else i
            for i in ast.items
        )
        qp = next((q for q in proofs(Program(ProgramAST(items, ast.filename))) if q.query == query), None)
        if qp is not None and qp.proofs:
            body = ", ".join(qp.proofs[0].literals) or "true"
            proof = f"{query} :- {body}."
    return HornDecision(verdict, query, p, proof)
