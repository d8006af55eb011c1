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
        """The relevant ground program as a program text that means the same (``plait ground``).

        Reading the text back gives the same answers: every node is printed under
        a name of its own (its atom where that is unambiguous and definable, else
        ``node_<id>(atom)``), choices of one annotated disjunction as one AD, and
        queries or evidence whose atom is not a node name get a defining clause.
        Probabilities are printed exactly (``repr`` of the float).
        """
        from ..syntax.printing import format_term
        from ..syntax.terms import Float, Struct, is_ground
        from .builtins import BUILTINS
        from .database import PROTECTED
        from .libraries.native import NATIVE

        reserved = {("query", 1), ("evidence", 1), ("evidence", 2), ("call", 1), ("findall", 3), ("forall", 2)}

        def definable(t: Term | None) -> bool:
            """A term that is a user predicate's atom when read back (no builtin, operator or control)."""
            if not isinstance(t, Struct) or not t.functor[:1].isalpha() or not t.functor.isidentifier():
                return False
            if not is_ground(t):  # a tabled call's answer with variables stands for one node, not for all instances
                return False
            key = (t.functor, len(t.args))
            return key not in BUILTINS and key not in NATIVE and key not in PROTECTED and key not in reserved

        # generated names must not collide with an atom of the program
        functors = {n.label.functor for n in self.nodes[1:] if isinstance(n.label, Struct)}
        functors |= {x.term.functor for x in [*self.queries, *self.evidence] if isinstance(x.term, Struct)}
        base = "node"
        while any(f.startswith(base + "_") for f in functors):
            base = "x" + base
        uses: dict[Term, int] = {}
        for n in self.nodes[1:]:
            if n.label is not None:
                uses[n.label] = uses.get(n.label, 0) + 1
        derived_uses: dict[Term, int] = {}
        for n in self.nodes[1:]:
            if n.kind == DERIVED and n.label is not None:
                derived_uses[n.label] = derived_uses.get(n.label, 0) + 1
        names: list[str] = [""]
        for i, n in enumerate(self.nodes[1:], start=1):
            # an atom names one node: a derived atom keeps it, a coin or choice behind it gets another
            if n.kind == DERIVED:
                own = definable(n.label) and derived_uses[n.label] == 1
            else:
                own = definable(n.label) and uses[n.label] == 1 and n.label not in derived_uses
            if own:
                names.append(format_term(n.label))
            elif n.label is not None:  # the atom stays visible, as an argument (quoted when it has variables)
                shown = n.label if is_ground(n.label) else Struct(format_term(n.label))
                names.append(f"{base}_{i}({format_term(shown)})")
            else:
                names.append(f"{base}_{i}")

        def lit_text(lit: int) -> str:
            return ("\\+" if lit < 0 else "") + names[abs(lit)]

        def prob_text(p: float) -> str:
            return format_term(Float(float(p)))  # exact: the shortest text that reads back as the same float

        lines: list[str] = []
        for i, n in enumerate(self.nodes):
            if i == 0:
                continue
            if n.kind == COIN:
                lines.append(f"{prob_text(n.prob)}::{names[i]}.")
            elif n.kind == DERIVED:
                if not n.bodies:
                    lines.append(f"{names[i]} :- fail.")  # defined, and false (unless a body below)
                for body in sorted(n.bodies):
                    lines.append(f"{names[i]} :- {', '.join(lit_text(x) for x in body)}." if body else f"{names[i]}.")
                for body in sorted(n.neg_bodies):
                    lines.append(f"\\+{names[i]} :- {', '.join(lit_text(x) for x in body) or 'true'}.")
        for g in self.groups:
            used = sorted(set(g.choices), key=lambda c: self.nodes[c].index)
            if used:
                lines.append("; ".join(f"{prob_text(g.probs[self.nodes[c].index])}::{names[c]}" for c in used) + ".")
        # a query or evidence atom that is not the name of its node: define it as that node
        aliases: dict[Term, int | None] = {}
        for x in [*self.queries, *self.evidence]:
            if x.literal is not None and x.literal > 0 and names[x.literal] == format_term(x.term):
                continue
            if x.term not in aliases:
                aliases[x.term] = x.literal
                body = "true" if x.literal is None else "fail" if x.literal == 0 else lit_text(x.literal)
                lines.append(f"{format_term(x.term)} :- {body}.")
        neg = "\\+"
        for q in self.queries:
            lines.append(f"query({neg if q.negated else ''}{format_term(q.term)}).")
        for e in self.evidence:
            lines.append(f"evidence({format_term(e.term)}, {'true' if e.value else 'false'}).")
        return "\n".join(lines)
