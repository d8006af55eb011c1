"""Deductive reasoning problems in the style of ProofWriter, answered by plait.

A problem is a small theory in English (facts such as "Bob is big." and rules
such as "If someone is big and not red then they are kind.") and a statement to
judge. Its answer is computed by plait from the theory's program, never written
by hand:

- closed world (``world="closed"``): the theory states positive facts; rules may
  ask that something is *not* known (negation as failure, ``\\+``). A statement
  is True if plait proves it, False otherwise (``Bob is not big.`` is True when
  ``big(bob)`` cannot be proved).
- open world (``world="open"``): facts and rule conclusions may be negative
  ("Bob is not big.", "... then they are not kind."), read as literals of their
  own (``neg_big(bob)``), as ProofWriter's forward chaining does; a statement is
  True if it is proved, False if its negation is proved, Uncertain (ProofWriter's
  "Unknown") if neither.

The depth of a problem is the number of rule applications its answer needs: for
a provable statement, the fewest in any derivation, which plait computes with a
copy of the program that counts levels (``lvl_big(bob, 2)``); for an unprovable
one, the length of the rule chain that was built towards it and broken at its
start. The generator builds a chain of the requested depth, adds distracting
facts and rules, and draws again until plait's depth is the requested one.

>>> ps = generate(3, depth=2, world="closed", seed=0)
>>> [p.depth for p in ps], all(p.answer.value in ("True", "False") for p in ps)
([2, 2, 2], True)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..program import Program
from .translate.fol import Verdict

__all__ = ["Literal", "Rule", "Theory", "Problem", "generate", "ENTITIES", "ATTRIBUTES"]

ENTITIES = ("Anne", "Bob", "Charlie", "Dave", "Erin", "Fiona", "Gary", "Harry")
ATTRIBUTES = (
    "big", "blue", "cold", "furry", "green", "kind", "nice", "red",
    "rough", "round", "smart", "white", "young", "quiet", "sad", "tall",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Literal:
    """``attr(X)`` or, with ``negated``, its negation (by failure when closed, a stated one when open)."""

    attr: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """``head :- body`` over one variable: everyone who is all of ``body`` is ``head``."""

    head: Literal
    body: tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class Theory:
    """Facts ``(entity, literal)`` and rules; ``world`` is ``"closed"`` or ``"open"``."""

    facts: tuple[tuple[str, Literal], ...]
    rules: tuple[Rule, ...]
    world: str

    def pred(self, lit: Literal) -> str:
        """The plait predicate of a literal: ``neg_big`` for an open-world negation."""
        return f"neg_{lit.attr}" if lit.negated and self.world == "open" else lit.attr

    def _body(self, lit: Literal, leveled: bool, var: str) -> str:
        if lit.negated and self.world == "closed":
            return f"\\+ {lit.attr}(X)"
        return f"lvl_{self.pred(lit)}(X, {var})" if leveled else f"{self.pred(lit)}(X)"

    def program(self) -> str:
        """The theory as a plait program (no query)."""
        lines = [f"{self.pred(lit)}({e.lower()})." for e, lit in self.facts]
        for r in self.rules:
            lines.append(f"{self.pred(r.head)}(X) :- {', '.join(self._body(b, False, '') for b in r.body)}.")
        return "\n".join(lines) + "\n"

    def leveled_program(self) -> str:
        """The program with a level argument: ``lvl_p(e, L)`` holds when L rule steps derive ``p(e)``."""
        lines = [":- unknown(fail)."]
        lines += [f"lvl_{self.pred(lit)}({e.lower()}, 0)." for e, lit in self.facts]
        for r in self.rules:
            pos = [i for i, b in enumerate(r.body) if not (b.negated and self.world == "closed")]
            body = [self._body(b, True, f"L{i}") for i, b in enumerate(r.body)]
            levels = [f"L{i}" for i in pos]
            level = levels[0] if len(levels) == 1 else f"max({levels[0]}, {levels[1]})"
            for extra in levels[2:]:
                level = f"max({level}, {extra})"
            lines.append(f"lvl_{self.pred(r.head)}(X, L) :- {', '.join(body)}, L is {level} + 1.")
        preds = {self.pred(lit) for _, lit in self.facts} | {self.pred(r.head) for r in self.rules}
        lines += [f"{p}(X) :- lvl_{p}(X, _)." for p in sorted(preds)]  # the plain predicates, for \+
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Problem:
    """One question: the theory in English, a statement, plait's answer and the depth it needs.

    ``program`` is a correct plait translation (the theory and the statement's
    query); for the open world, ``fol`` is one in the first-order syntax of
    :mod:`plait.llm.translate.fol`.
    """

    premises: tuple[str, ...]
    statement: str
    answer: Verdict
    depth: int
    world: str
    theory: Theory
    entity: str
    literal: Literal

    @property
    def context(self) -> str:
        """The premises as one paragraph."""
        return " ".join(self.premises)

    @property
    def program(self) -> str:
        query = self.theory.pred(Literal(self.literal.attr, self.literal.negated and self.world == "open"))
        atom = f"{query}({self.entity.lower()})"
        if self.literal.negated and self.world == "closed":
            atom = f"\\+ {atom}"
        return self.theory.program() + f"query({atom}).\n"

    @property
    def fol(self) -> str:
        """The open-world theory and statement in first-order logic (a closed world has none: ``\\+`` is not ``~``)."""
        if self.world != "open":
            raise ValueError("a closed-world problem has no first-order translation: negation as failure is not '~'")

        def lit(x: Literal, arg: str) -> str:
            return f"~{x.attr}({arg})" if x.negated else f"{x.attr}({arg})"

        lines = [f"premise: {lit(x, e.lower())}" for e, x in self.theory.facts]
        for r in self.theory.rules:
            body = " & ".join(lit(b, "X") for b in r.body)
            lines.append(f"premise: all X. ({body} -> {lit(r.head, 'X')})")
        return "\n".join(lines) + f"\nconclusion: {lit(self.literal, self.entity.lower())}\n"


def _sentence_fact(entity: str, lit: Literal) -> str:
    return f"{entity} is {'not ' if lit.negated else ''}{lit.attr}."


def _sentence_rule(rule: Rule, rng: random.Random) -> str:
    words = [("not " if b.negated else "") + b.attr for b in rule.body]
    head = ("not " if rule.head.negated else "") + rule.head.attr
    if not any(b.negated for b in rule.body) and not rule.head.negated and rng.random() < 0.4:
        adjectives = ", ".join(words)
        return f"All {adjectives} people are {head}."
    return f"If someone is {' and '.join(words)} then they are {head}."


def _answer(theory: Theory, entity: str, attr: str, negated: bool) -> tuple[Verdict, int | None]:
    """plait's answer to 'entity is (not) attr' and the fewest rule steps that prove the literal it rests on."""
    e = entity.lower()
    leveled = theory.leveled_program()
    pos, neg = f"lvl_{attr}({e}, L)", f"lvl_neg_{attr}({e}, L)"
    queries = [pos] + ([neg] if theory.world == "open" else [])
    if theory.world == "open":  # no one may be proved both big and not big
        attrs = {lit.attr for _, lit in theory.facts} | {r.head.attr for r in theory.rules}
        leveled += "".join(f"clash :- lvl_{a}(X, _), lvl_neg_{a}(X, _).\n" for a in sorted(attrs))
        queries.append("clash")
    result = Program.from_string(leveled + "".join(f"query({q}).\n" for q in queries)).query()
    if float(result.get("clash", 0.0)) > 0.5:
        raise ValueError("inconsistent theory")  # the generator draws again
    levels: dict[str, list[int]] = {"pos": [], "neg": []}
    for atom, p in result.items():
        if atom != "clash" and float(p) > 0.5:
            kind = "neg" if atom.startswith("lvl_neg_") else "pos"
            levels[kind].append(int(atom.rsplit(",", 1)[1].rstrip(")")))
    proved_pos = bool(levels["pos"])
    if theory.world == "closed":
        holds = proved_pos != negated
        depth = min(levels["pos"]) if proved_pos else None
        return (Verdict.TRUE if holds else Verdict.FALSE), depth
    want, other = ("neg", "pos") if negated else ("pos", "neg")
    if levels[want]:
        return Verdict.TRUE, min(levels[want])
    if levels[other]:
        return Verdict.FALSE, min(levels[other])
    return Verdict.UNCERTAIN, None


def _draw(rng: random.Random, depth: int, world: str) -> Problem | None:
    n_entities = rng.randint(2, 4)
    entities = rng.sample(ENTITIES, n_entities)
    attrs = rng.sample(ATTRIBUTES, min(len(ATTRIBUTES), depth + 6))  # their order stratifies the rules
    target = entities[0]
    chain = sorted(rng.sample(range(len(attrs)), depth + 1))
    facts: list[tuple[str, Literal]] = []
    rules: list[Rule] = []
    broken = rng.random() < 0.5  # leave out the chain's first fact: the statement cannot be proved
    if not broken:
        facts.append((target, Literal(attrs[chain[0]])))
    for k in range(1, depth + 1):
        prev, head = chain[k - 1], chain[k]
        body = [Literal(attrs[prev])]
        extra = [i for i in range(head) if i not in chain]
        if extra and rng.random() < 0.5:
            other = attrs[rng.choice(extra)]
            if rng.random() < 0.5:
                body.append(Literal(other, negated=True))  # a fact about the target must be absent (or negated)
                if world == "open":
                    facts.append((target, Literal(other, negated=True)))
            else:
                body.append(Literal(other))
                facts.append((target, Literal(other)))
        neg_head = world == "open" and k == depth and rng.random() < 0.3
        rules.append(Rule(Literal(attrs[head], neg_head), tuple(body)))
    # distractors: facts about others and about the target, rules from lower to higher attributes
    for _ in range(rng.randint(2, 4)):
        lit = Literal(rng.choice(attrs), world == "open" and rng.random() < 0.3)
        facts.append((rng.choice(entities[1:] if rng.random() < 0.7 else entities), lit))
    for _ in range(rng.randint(1, 3)):
        h = rng.randrange(1, len(attrs))
        size = min(h, rng.randint(1, 2))
        body = tuple(Literal(attrs[i], world == "closed" and rng.random() < 0.2) for i in rng.sample(range(h), size))
        if all(b.negated for b in body):
            continue  # a rule needs something positive to hold of someone
        rules.append(Rule(Literal(attrs[h], world == "open" and rng.random() < 0.2), body))
    facts = list(dict.fromkeys(facts))
    rng.shuffle(facts)
    rng.shuffle(rules)
    theory = Theory(tuple(facts), tuple(rules), world)
    negated = rng.random() < 0.5
    attr = attrs[chain[-1]]
    try:
        answer, proved_depth = _answer(theory, target, attr, negated)
    except ValueError:
        return None
    if proved_depth is not None and proved_depth != depth:
        return None  # a distractor gave a shortcut: draw again
    if proved_depth is None and not broken:
        return None  # an extra fact was blocked by a distractor; the stated depth would not be the chain's
    premises = [_sentence_fact(e, lit) for e, lit in facts] + [_sentence_rule(r, rng) for r in rules]
    lit = Literal(attr, negated)
    return Problem(tuple(premises), _sentence_fact(target, lit), answer, depth, world, theory, target, lit)


def generate(n: int, *, depth: int, world: str = "closed", seed: int = 0) -> list[Problem]:
    """``n`` problems of the given depth (0 to 5 or more), reproducible from ``seed``.

    >>> p = generate(1, depth=1, world="open", seed=3)[0]
    >>> p.answer in (Verdict.TRUE, Verdict.FALSE, Verdict.UNCERTAIN), p.depth
    (True, 1)
    """
    if world not in ("closed", "open"):
        raise ValueError(f"world must be 'closed' or 'open', not {world!r}")
    if depth < 0:
        raise ValueError(f"depth must be 0 or more, not {depth}")
    rng = random.Random(f"{seed}:{depth}:{world}")
    out: list[Problem] = []
    while len(out) < n:
        p = _draw(rng, depth, world)
        if p is not None:
            out.append(p)
    return out
