"""The hand-off from grounding to the logic stage: a propositional program.

Every node has an integer id (1-based); a literal is ``+id`` or ``-id``.
Node kinds:

* ``COIN`` — an independent probabilistic choice (a probabilistic fact or rule
  instance) with probability ``prob``.
* ``CHOICE`` — head ``index`` of an annotated-disjunction group (the groups
  carry the probabilities; the encoding into independent coins happens later).
* ``DERIVED`` — an atom defined by rule bodies: true iff some body in
  ``bodies`` holds and no body in ``neg_bodies`` holds (negative heads).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..syntax.terms import Term

__all__ = [
    "COIN",
    "CHOICE",
    "DERIVED",
    "NeuralSource",
    "Node",
    "ADGroup",
    "GroundQuery",
    "GroundEvidence",
    "GroundProgram",
]

COIN, CHOICE, DERIVED = "coin", "choice", "derived"


@dataclass(frozen=True, slots=True)
class NeuralSource:
    """Where the probability of a coin or an AD group comes from at evaluation time.

    ``kind`` is ``"nn"`` (the network ``name`` applied to the ground ``inputs``)
    or ``"t"`` (the learnable parameter ``name``, shared by every grounding of
    its clause). ``predicate`` (``digit/2``) and ``span`` are for error messages.
    """

    kind: str
    name: str
    inputs: tuple[Term, ...] = ()
    predicate: str = ""
    span: object = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class Node:
    kind: str
    label: Term | None = None  # what the node stands for, for printing and explanations
    prob: float = 0.0  # COIN
    group: int = -1  # CHOICE: index into GroundProgram.groups
    index: int = 0  # CHOICE: head position in its group
    bodies: set[tuple[int, ...]] = field(default_factory=set)  # DERIVED
    neg_bodies: set[tuple[int, ...]] = field(default_factory=set)  # DERIVED
    certain: bool = False  # DERIVED with an empty body and no negative body
    neural: NeuralSource | None = None  # COIN whose probability comes from a network or parameter


@dataclass(slots=True)
class ADGroup:
    """One ground annotated disjunction: ``probs[i]`` for head ``labels[i]``."""

    probs: tuple[float, ...]
    labels: tuple[Term, ...]
    choices: list[int] = field(default_factory=list)  # node ids of the heads used
    neural: NeuralSource | None = None  # probabilities from a network or parameter (probs are placeholders)


@dataclass(frozen=True, slots=True)
class GroundQuery:
    """A query answer: ``literal`` is a node literal, or 0 for false, or None for true."""

    term: Term
    literal: int | None
    negated: bool = False


@dataclass(frozen=True, slots=True)
class GroundEvidence:
    term: Term
    literal: int | None
    value: bool


@dataclass(slots=True)
class GroundProgram:
    nodes: list[Node]  # nodes[0] is unused so that ids start at 1
    groups: list[ADGroup]
    queries: list[GroundQuery]
    evidence: list[GroundEvidence]

    def node(self, lit: int) -> Node:
        return self.nodes[abs(lit)]

    def describe(self) -> str:
        """The relevant ground program as text (used by ``plait ground``)."""
        from ..syntax.printing import format_term

        def lit_text(lit: int) -> str:
            n = self.nodes[abs(lit)]
            name = format_term(n.label) if n.label is not None else f"node{abs(lit)}"
            return ("\\+" if lit < 0 else "") + name

        lines: list[str] = []
        for i, n in enumerate(self.nodes):
            if i == 0:
                continue
            label = format_term(n.label) if n.label is not None else f"node{i}"
            if n.kind == COIN:
                lines.append(f"{n.prob:.10g}::{label}.")
            elif n.kind == DERIVED:
                for body in sorted(n.bodies):
                    if body:
                        lines.append(f"{label} :- {', '.join(lit_text(x) for x in body)}.")
                    else:
                        lines.append(f"{label}.")
                for body in sorted(n.neg_bodies):
                    lines.append(f"\\+{label} :- {', '.join(lit_text(x) for x in body) or 'true'}.")
        for g in self.groups:
            heads = "; ".join(f"{p:.10g}::{format_term(lbl)}" for p, lbl in zip(g.probs, g.labels))
            lines.append(f"{heads}.")
        neg = "\\+"
        for q in self.queries:
            lines.append(f"query({neg if q.negated else ''}{format_term(q.term)}).")
        for e in self.evidence:
            lines.append(f"evidence({format_term(e.term)}, {'true' if e.value else 'false'}).")
        return "\n".join(lines)
