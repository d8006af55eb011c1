"""The two target languages of a translation, as grammars for constrained decoding.

- :func:`horn_grammar`: the subset of plait a translation needs: facts, Horn rules
  whose body literals may be negated (``\\+``), optional fact probabilities, and
  one closing ``query(...)``. Its tokens are derived from plait's own lexer
  (:mod:`plait.syntax.lexer`: which characters start a name or a variable, how
  negation is spelled) and its names exclude every word the lexer reads as an
  operator and every predicate plait defines itself (:mod:`plait.ground`), so
  every string of the grammar is a plait program that parses and means what it
  says; the tests check this on random strings of the grammar.
- :func:`fol_grammar`: first-order logic in ASCII (``all X. (cat(X) -> ~dog(X))``)
  for :mod:`.fol`, which parses it into Z3 formulas.

>>> g = horn_grammar()
>>> g.accepts("cat(tom).\\nbig(X) :- cat(X), \\\\+ small(X).\\nquery(big(tom)).")
True
>>> g.accepts("big(X) :- not small(X).\\nquery(big(tom)).")
False
"""

from __future__ import annotations

import re
from functools import cache

from ...ground.builtins import BUILTINS
from ...ground.database import PROTECTED
from ...syntax.lexer import ALNUM, INFIX_TYPES, LOWER, PREFIX_TYPES, UPPER
from .gbnf import Alt, Chars, Grammar, Lit, Ref, Repeat, Seq, excluding_words, opt

__all__ = ["horn_grammar", "fol_grammar", "RESERVED_NAMES", "FOL_KEYWORDS"]

_NAME = re.compile(r"[a-z][A-Za-z0-9_]*")

# Names a translation may not use for its own predicates and constants: words the
# lexer reads as operators ('not' before a term is negation, 'is' between terms is
# arithmetic), predicates plait implements, and the directives of a program.
RESERVED_NAMES: frozenset[str] = frozenset(
    {w for w in (*INFIX_TYPES, *PREFIX_TYPES) if _NAME.fullmatch(w)}
    | {name for name, _ in BUILTINS if _NAME.fullmatch(name)}
    | {name for name, _ in PROTECTED if _NAME.fullmatch(name)}
    | {"query", "evidence", "nn", "t", "true", "fail", "false", "call", "findall", "forall", "unknown"}
)

NEGATION = next(op for op, kind in PREFIX_TYPES.items() if kind == "NEG" and not _NAME.fullmatch(op))  # '\+'

FOL_KEYWORDS = ("all", "exists")

_LOWER = "".join(sorted(LOWER))
_UPPER = "".join(sorted(UPPER))
_ALNUM = "".join(sorted(ALNUM))
_SPACE = opt(Lit(" "))


@cache
def horn_grammar(max_clauses: int = 40, max_arity: int = 3, max_body: int = 6, probabilities: bool = False) -> Grammar:
    """Ground facts and rules (at most ``max_clauses``), then one ground ``query(...)`` line.

    ``probabilities=True`` allows ``0.7::fact`` annotations. The bounds keep
    every derivation finite, so a model that never stops writing clauses runs
    into the end of the grammar rather than into ``max_tokens``.

    >>> "query ::= " in horn_grammar().gbnf()
    True
    """
    comma = Seq(Lit(","), _SPACE)
    fact_head = Seq(opt(Seq(Ref("prob"), Lit("::"))), Ref("fact")) if probabilities else Ref("fact")
    rule_head = Seq(opt(Seq(Ref("prob"), Lit("::"))), Ref("atom")) if probabilities else Ref("atom")
    rules = {
        "root": Seq(Repeat(Seq(Ref("clause"), Lit("\n")), 0, max_clauses), Ref("query"), opt(Lit("\n"))),
        # facts are ground (a capitalised name would make a fact about everyone); rules have variables.
        # ':-' is followed by a space: the lexer would read ':-\+' as one symbol token
        "clause": Alt(Seq(fact_head, Lit(".")), Seq(rule_head, _SPACE, Lit(":- "), Ref("body"), Lit("."))),
        "body": Seq(Ref("literal"), Repeat(Seq(comma, Ref("literal")), 0, max_body - 1)),
        "literal": Seq(opt(Seq(Lit(NEGATION), _SPACE)), Ref("atom")),
        "query": Seq(Lit("query("), opt(Seq(Lit(NEGATION), _SPACE)), Ref("fact"), Lit(").")),  # about named things
        "atom": Seq(
            Ref("name"), opt(Seq(Lit("("), Ref("arg"), Repeat(Seq(comma, Ref("arg")), 0, max_arity - 1), Lit(")")))
        ),
        "arg": Alt(Ref("name"), Ref("var")),
        "fact": Seq(
            Ref("name"), opt(Seq(Lit("("), Ref("name"), Repeat(Seq(comma, Ref("name")), 0, max_arity - 1), Lit(")")))
        ),
        "name": excluding_words(_LOWER, _ALNUM, RESERVED_NAMES),
        # as the lexer reads them: an upper-case letter or '_' (anonymous), then letters, digits, '_'
        "var": Seq(Chars(_UPPER + "_"), Repeat(Chars(_ALNUM), 0, None)),
    }
    if probabilities:
        rules["prob"] = Alt(
            Seq(Lit("0."), Repeat(Chars("0123456789"), 1, 17)), Lit("1.0")
        )  # 17: any float as Python prints it
    return Grammar(rules)


@cache
def fol_grammar(max_premises: int = 40) -> Grammar:
    """``premise: <formula>`` lines, then one ``conclusion: <formula>`` line.

    Formulas: ``all X. f``, ``exists X. f``, ``f -> g``, ``f <-> g``, ``f | g``,
    ``f & g``, ``~f``, ``p(a, X)``, ``p`` and parentheses; quantifiers reach as far
    right as possible (as in :mod:`.fol`).

    >>> fol_grammar().accepts("premise: all X. (cat(X) -> big(X))\\npremise: cat(tom)\\nconclusion: big(tom)")
    True
    """
    rules = {
        "root": Seq(
            Repeat(Seq(Lit("premise: "), Ref("formula"), Lit("\n")), 1, max_premises),
            Lit("conclusion: "),
            Ref("formula"),
            opt(Lit("\n")),
        ),
        "formula": Alt(Ref("quant"), Ref("impl")),
        "quant": Seq(Alt(*(Lit(k) for k in FOL_KEYWORDS)), Lit(" "), Ref("var"), Lit("."), _SPACE, Ref("formula")),
        "impl": Seq(Ref("disj"), opt(Seq(_SPACE, Alt(Lit("->"), Lit("<->")), _SPACE, Alt(Ref("quant"), Ref("impl"))))),
        "disj": Seq(Ref("conj"), Repeat(Seq(_SPACE, Lit("|"), _SPACE, Ref("conj")), 0, None)),
        "conj": Seq(Ref("unary"), Repeat(Seq(_SPACE, Lit("&"), _SPACE, Ref("unary")), 0, None)),
        "unary": Alt(
            Seq(Lit("~"), _SPACE, Ref("unary")),
            Ref("atom"),
            Seq(Lit("("), _SPACE, Ref("formula"), _SPACE, Lit(")")),
        ),
        "atom": Seq(
            Ref("name"), opt(Seq(Lit("("), Ref("term"), Repeat(Seq(Lit(","), _SPACE, Ref("term")), 0, None), Lit(")")))
        ),
        "term": Alt(Ref("name"), Ref("var")),
        "name": excluding_words(_LOWER, _ALNUM, FOL_KEYWORDS),
        "var": Seq(Chars(_UPPER), Repeat(Chars(_ALNUM), 0, None)),
    }
    return Grammar(rules)
