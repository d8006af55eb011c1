"""Few-shot prompts for translating English premises into plait or first-order logic.

The examples are written by hand (not drawn from the benchmark's generator) and
show each construction a translation needs once: facts, rules with several
conditions, negated conditions, and a negated statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Shot", "HORN_SHOTS", "FOL_SHOTS", "HORN_INSTRUCTION", "FOL_INSTRUCTION", "few_shot_prompt"]


@dataclass(frozen=True, slots=True)
class Shot:
    """One worked example: premises, the statement to judge, and its translation."""

    premises: str
    statement: str
    translation: str


HORN_INSTRUCTION = (
    "Translate the premises into a logic program: one fact or rule per line, "
    "facts like big(bob). and rules like kind(X) :- big(X), \\+ red(X). "
    "Then end with a query for the statement."
)

HORN_SHOTS = (
    Shot(
        "Bob is big. Anne is red. If someone is big and not red then they are kind.",
        "Bob is kind.",
        "big(bob).\nred(anne).\nkind(X) :- big(X), \\+ red(X).\nquery(kind(bob)).",
    ),
    Shot(
        "Dave is cold. All cold people are round. If someone is round and cold then they are quiet.",
        "Dave is not quiet.",
        "cold(dave).\nround(X) :- cold(X).\nquiet(X) :- round(X), cold(X).\nquery(\\+ quiet(dave)).",
    ),
)

FOL_INSTRUCTION = (
    "Translate the premises and the conclusion into first-order logic, one formula per line: "
    "all X. (p(X) -> q(X)), with & for and, | for or, ~ for not."
)

FOL_SHOTS = (
    Shot(
        "Bob is big. Anne is not red. If someone is big and not red then they are kind.",
        "Bob is kind.",
        "premise: big(bob)\npremise: ~red(anne)\npremise: all X. (big(X) & ~red(X) -> kind(X))\nconclusion: kind(bob)",
    ),
    Shot(
        "Dave is cold. All cold people are round. If someone is round then they are not quiet.",
        "Dave is quiet.",
        "premise: cold(dave)\npremise: all X. (cold(X) -> round(X))\npremise: all X. (round(X) -> ~quiet(X))\n"
        "conclusion: quiet(dave)",
    ),
)


def few_shot_prompt(instruction: str, shots: Sequence[Shot], premises: str, statement: str, label: str) -> str:
    """The instruction, the worked examples, then the problem, ending where the translation starts.

    >>> print(few_shot_prompt("Translate.", [Shot("A is b.", "A is b.", "b(a).")], "C is d.", "C is d.", "Program"))
    Translate.
    <BLANKLINE>
    Premises: A is b.
    Statement: A is b.
    Program:
    b(a).
    <BLANKLINE>
    Premises: C is d.
    Statement: C is d.
    Program:
    <BLANKLINE>
    """
    parts = [instruction, ""]
    for s in shots:
        parts += [f"Premises: {s.premises}", f"Statement: {s.statement}", f"{label}:", s.translation, ""]
    parts += [f"Premises: {premises}", f"Statement: {statement}", f"{label}:", ""]
    return "\n".join(parts)
