"""First-order logic in ASCII, parsed into Z3 formulas and decided.

The syntax (the grammar :func:`~plait.llm.translate.grammars.fol_grammar` lets a
model write)::

    all X. (cat(X) -> ~dog(X))       exists X. (cat(X) & big(X))
    f -> g   f <-> g   f | g   f & g   ~f   p(a, X)   p   (f)

Lower-case names are predicates and constants, upper-case names variables,
which a quantifier must bind. Binding strength, loosest first: quantifiers
(they reach as far right as possible), ``->``/``<->`` (to the right), ``|``,
``&``, ``~``. Constants are objects of one uninterpreted sort, so two names
may denote the same object (as in LINC, which used Prover9).

:func:`decide` answers whether the premises entail the conclusion (``True``), its
negation (``False``), or neither (``Uncertain``); with the premises that the
entailment needs (Z3's unsat core) or a model where the conclusion fails.

>>> d = decide(["all X. (cat(X) -> big(X))", "cat(tom)"], "big(tom)")
>>> d.verdict.value, d.premises_used
('True', (0, 1))
>>> decide(["all X. (cat(X) -> big(X))"], "big(tom)").verdict.value
'Uncertain'
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from lark import Lark, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ...errors import ParseError, SourceSpan
from ..local import require
from .errors import TranslationError

__all__ = [
    "Verdict",
    "Atom",
    "Not",
    "BinOp",
    "Quant",
    "Formula",
    "parse_formula",
    "parse_fol_problem",
    "format_formula",
    "FolDecision",
    "decide",
]


class Verdict(StrEnum):
    """The answer to a question: the conclusion follows, its negation follows, or neither."""

    TRUE = "True"
    FALSE = "False"
    UNCERTAIN = "Uncertain"


@dataclass(frozen=True, slots=True)
class Atom:
    """``pred(args)``; upper-case arguments are variables."""

    pred: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Not:
    arg: Formula


@dataclass(frozen=True, slots=True)
class BinOp:
    """``left op right`` with ``op`` one of ``& | -> <->``."""

    op: str
    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Quant:
    """``all X. body`` or ``exists X. body``."""

    kind: str
    var: str
    body: Formula


Formula = Atom | Not | BinOp | Quant

_GRAMMAR = r"""
?start: formula
?formula: quant
        | disj "->" formula   -> implies
        | disj "<->" formula  -> iff
        | disj
quant: QUANT VAR "." formula
?disj: disj "|" conj          -> or_
     | conj
?conj: conj "&" unary         -> and_
     | unary
?unary: "~" unary             -> not_
      | atom
      | "(" formula ")"
atom: NAME ("(" term ("," term)* ")")?
?term: NAME | VAR
QUANT.2: /(all|exists)(?![A-Za-z0-9_])/
NAME: /[a-z][A-Za-z0-9_]*/
VAR: /[A-Z][A-Za-z0-9_]*/
%ignore " "
"""


@v_args(inline=True)
class _ToFormula(Transformer):
    def implies(self, a, b):
        return BinOp("->", a, b)

    def iff(self, a, b):
        return BinOp("<->", a, b)

    def or_(self, a, b):
        return BinOp("|", a, b)

    def and_(self, a, b):
        return BinOp("&", a, b)

    def not_(self, a):
        return Not(a)

    def quant(self, kind, var, body):
        return Quant(str(kind), str(var), body)

    def atom(self, name, *args):
        return Atom(str(name), tuple(str(a) for a in args))


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", transformer=_ToFormula())


def parse_formula(text: str, filename: str = "<formula>", offset: int = 0, source: str | None = None) -> Formula:
    """One formula; a :class:`~plait.errors.ParseError` with its place if it is not one.

    >>> parse_formula("all X. cat(X) -> big(X)")
    Quant(kind='all', var='X', body=BinOp(op='->', left=Atom(pred='cat', args=('X',)), right=Atom(pred='big', args=('X',))))
    """
    source = text if source is None else source
    try:
        return _parser().parse(text)
    except UnexpectedInput as err:
        pos = offset + (err.pos_in_stream if err.pos_in_stream is not None else len(text))
        if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
            what = "the formula ends too early"
        elif isinstance(err, UnexpectedCharacters):
            what = f"unexpected character {text[err.pos_in_stream]!r}"
        else:
            what = f"unexpected {err.token!s:.20}"
        raise ParseError(
            f"{what} in first-order formula {text!r}",
            SourceSpan(source, pos, min(pos + 1, len(source)), filename),
            "write formulas as 'all X. (p(X) -> q(X))', with & | ~ -> <-> and parentheses",
        ) from None


def parse_fol_problem(text: str, filename: str = "<translation>") -> tuple[tuple[Formula, ...], Formula]:
    """``premise: ...`` lines and one ``conclusion: ...`` line (what :func:`fol_grammar` describes).

    >>> premises, conclusion = parse_fol_problem("premise: cat(tom)\\nconclusion: ~cat(tom)")
    >>> format_formula(conclusion)
    '~cat(tom)'
    """
    premises: list[Formula] = []
    conclusion: Formula | None = None
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        for label in ("premise:", "conclusion:"):
            if body.startswith(label):
                if conclusion is not None:
                    raise ParseError(
                        "a line after the conclusion",
                        SourceSpan(text, pos, pos + max(1, len(body)), filename),
                        "end with the conclusion",
                    )
                f = parse_formula(body[len(label) :], filename, pos + len(label), text)
                if label == "premise:":
                    premises.append(f)
                else:
                    conclusion = f
                break
        else:
            if body.strip():
                raise ParseError(
                    f"line {body[:40]!r} is neither 'premise: ...' nor 'conclusion: ...'",
                    SourceSpan(text, pos, pos + len(body), filename),
                    "start every line with 'premise:' or 'conclusion:'",
                )
        pos += len(line)
    if conclusion is None:
        raise ParseError(
            "the translation has no 'conclusion:' line",
            SourceSpan(text, len(text), len(text), filename),
            "end it with 'conclusion: <formula>'",
        )
    return tuple(premises), conclusion


def format_formula(f: Formula) -> str:
    """The formula in the ASCII syntax, fully parenthesised below the top."""
    if isinstance(f, Atom):
        return f"{f.pred}({', '.join(f.args)})" if f.args else f.pred
    if isinstance(f, Not):
        inner = format_formula(f.arg)
        return "~" + (inner if isinstance(f.arg, (Atom, Not)) else f"({inner})")
    if isinstance(f, BinOp):
        sides = [
            format_formula(s) if isinstance(s, (Atom, Not)) else f"({format_formula(s)})" for s in (f.left, f.right)
        ]
        return f" {f.op} ".join(sides)
    return f"{f.kind} {f.var}. {format_formula(f.body)}"


# ----------------------------------------------------------------------------- Z3


@dataclass(frozen=True, slots=True)
class FolDecision:
    """The verdict; for True/False the premises used (Z3's unsat core), for Uncertain a counter-model.

    ``counter_model`` lists, in a model of the premises where the conclusion is
    false, every atom over the named constants (``~`` marks false ones).
    """

    verdict: Verdict
    premises_used: tuple[int, ...] = ()
    counter_model: str | None = None


class _Signature:
    """Z3 symbols of one problem: objects of one sort, predicates of fixed arity."""

    def __init__(self, z3) -> None:  # noqa: ANN001 - the z3 module
        self.z3 = z3
        self.sort = z3.DeclareSort("Obj")
        self.consts: dict[str, object] = {}
        self.preds: dict[str, object] = {}
        self.arity: dict[str, int] = {}

    def const(self, name: str):
        if name not in self.consts:
            self.consts[name] = self.z3.Const(name, self.sort)
        return self.consts[name]

    def pred(self, name: str, arity: int):
        if self.arity.setdefault(name, arity) != arity:
            raise TranslationError(
                f"predicate {name} is used with {self.arity[name]} and with {arity} arguments",
                hint="give each predicate one arity",
            )
        if name not in self.preds:
            z3 = self.z3
            self.preds[name] = z3.Bool(name) if arity == 0 else z3.Function(name, *[self.sort] * arity, z3.BoolSort())
        return self.preds[name]

    def formula(self, f: Formula, env: dict[str, object]):
        z3 = self.z3
        if isinstance(f, Atom):
            p = self.pred(f.pred, len(f.args))
            if not f.args:
                return p
            args = []
            for a in f.args:
                if a[0].isupper():
                    if a not in env:
                        raise TranslationError(
                            f"variable {a} in {format_formula(f)} is not bound by a quantifier",
                            hint=f"bind it: 'all {a}. ...' or 'exists {a}. ...'",
                        )
                    args.append(env[a])
                else:
                    args.append(self.const(a))
            return p(*args)
        if isinstance(f, Not):
            return z3.Not(self.formula(f.arg, env))
        if isinstance(f, BinOp):
            a, b = self.formula(f.left, env), self.formula(f.right, env)
            return {"&": z3.And, "|": z3.Or, "->": z3.Implies, "<->": lambda x, y: x == y}[f.op](a, b)
        v = z3.Const(f.var, self.sort)
        body = self.formula(f.body, {**env, f.var: v})
        return (z3.ForAll if f.kind == "all" else z3.Exists)([v], body)


def _model_text(sig: _Signature, model) -> str:  # noqa: ANN001 - a z3 model
    z3 = sig.z3
    consts = sorted(sig.consts)
    parts = []
    for name in sorted(sig.preds):
        arity = sig.arity[name]
        for args in itertools.product(consts, repeat=arity) if arity else [()]:
            if arity and len(args) and len(consts) ** arity > 200:
                break  # a readable model, not a dump
            term = sig.preds[name](*[sig.consts[a] for a in args]) if arity else sig.preds[name]
            value = z3.is_true(model.eval(term, model_completion=True))
            text = f"{name}({', '.join(args)})" if arity else name
            parts.append(text if value else "~" + text)
    size = model.get_universe(sig.sort)
    domain = "objects" if size is None else f"{len(size)} object{'s' if len(size) != 1 else ''}"
    return f"{domain}: " + ", ".join(parts) if parts else domain


def decide(premises: Sequence[str | Formula], conclusion: str | Formula, *, timeout_ms: int = 10_000) -> FolDecision:
    """Whether the premises entail the conclusion (True), its negation (False), or neither (Uncertain).

    Raises :class:`TranslationError` when the premises contradict each other
    (everything would follow), when a symbol is used with two arities or a
    variable is free, and when Z3 gives up within ``timeout_ms``.
    """
    z3 = require("z3", "deciding first-order translations")

    ps = [parse_formula(p) if isinstance(p, str) else p for p in premises]
    c = parse_formula(conclusion) if isinstance(conclusion, str) else conclusion
    sig = _Signature(z3)
    zs = [sig.formula(p, {}) for p in ps]
    zc = sig.formula(c, {})

    def check(goal):
        s = z3.Solver()
        s.set("timeout", timeout_ms)
        s.set("unsat_core", True)
        marks = [z3.Bool(f"__premise_{i}") for i in range(len(zs))]
        for m, z in zip(marks, zs, strict=True):
            s.assert_and_track(z, m)
        if goal is not None:
            s.add(goal)
        result = s.check()
        if result == z3.unknown:
            raise TranslationError(
                f"Z3 could not decide the problem within {timeout_ms} ms ({s.reason_unknown()})",
                hint="raise timeout_ms, or simplify the translation",
            )
        core = tuple(sorted(int(str(m).rsplit("_", 1)[1]) for m in s.unsat_core())) if result == z3.unsat else ()
        return result == z3.unsat, core, (s.model() if result == z3.sat else None)

    consistent, _, _ = check(None)
    if consistent:  # check(None) says unsat: the premises alone are contradictory
        raise TranslationError(
            "the premises contradict each other, so every conclusion would follow",
            hint="check the translation of the premises (a negation too many?)",
        )
    entails, core, counter = check(z3.Not(zc))
    if entails:
        return FolDecision(Verdict.TRUE, core)
    refutes, core, _ = check(zc)
    if refutes:
        return FolDecision(Verdict.FALSE, core)
    return FolDecision(Verdict.UNCERTAIN, (), _model_text(sig, counter))
