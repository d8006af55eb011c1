"""Parsing plait / ProbLog text into a :class:`~plait.syntax.ast.ProgramAST`.

The grammar lives in ``grammar.lark``; tokens come from :mod:`.lexer`. The lark
parser is built once (LALR) and reused.
"""

from __future__ import annotations

import functools
import threading
from importlib import resources

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from ..errors import ParseError, ProgramError, SourceSpan
from .ast import ADClause, Clause, Directive, Item, NeuralClause, ProgramAST
from .lexer import CLAUSE_BOUNDS, PrologLexer
from .terms import NIL, TRUE, Float, Int, Str, Struct, Term, Var, mk_list

__all__ = ["parse_program", "parse_term", "classify"]


@functools.lru_cache(maxsize=1)
def _grammar() -> str:
    return resources.files("plait.syntax").joinpath("grammar.lark").read_text()


_per_thread = threading.local()


def _parser() -> Lark:
    """An LALR parser that builds terms while parsing (no parse tree), one per thread.

    The term builder keeps per-clause state (variable names), hence one per thread.
    """
    parser = getattr(_per_thread, "parser", None)
    if parser is None:
        parser = _per_thread.parser = Lark(
            _grammar(), parser="lalr", lexer=PrologLexer, transformer=_ToTerm(), maybe_placeholders=False
        )
    return parser


@v_args(inline=True)
class _ToTerm(Transformer):
    """Turns the parse tree of one clause into a :class:`Term`."""

    def __init__(self) -> None:
        super().__init__()
        self.vars: dict[str, Var] = {}
        self.anon = 0

    def int(self, tok):
        return Int(int(tok))

    def float(self, tok):
        return Float(float(tok))

    def string(self, tok):
        return Str(str(tok))

    def var(self, tok):
        name = str(tok)
        if name == "_":
            self.anon += 1
            return Var(f"_{self.anon}")
        v = self.vars.get(name)
        if v is None:
            v = self.vars[name] = Var(name)
        return v

    def name(self, tok):
        return Struct(str(tok))

    def clause(self, term, _end):
        # variables are local to a clause: start afresh for the next one
        self.vars = {}
        self.anon = 0
        return term

    def start(self, *clauses):
        return list(clauses)

    qatom = name

    def nil(self, _l, _r):
        return NIL

    def paren(self, _l, t, _r):
        # Parenthesised operator terms must not be re-associated by the printer;
        # the tree shape already captures grouping, so nothing to mark.
        return t

    def args(self, *items):
        return [i for i in items if not isinstance(i, Token)]

    cargs = args

    def compound(self, funct, args, _r):
        name = str(funct)
        if name == "\\+" and len(args) > 1:
            # ProbLog reads \+(a, b, c) as \+ applied to the conjunction (DeepProbLog's Poker model
            # relies on it); standard Prolog would call an undefined \+/3
            conj = args[-1]
            for a in reversed(args[:-1]):
                conj = Struct(",", (a, conj))
            return Struct(name, (conj,))
        return Struct(name, tuple(args))

    def list(self, _l, args, *rest):
        tail = NIL
        if len(rest) == 3:
            tail = rest[1]
        return mk_list(args, tail)

    def infix(self, a, op, b):
        return Struct(str(op), (a, b))

    def prefix(self, op, a):
        name = str(op)
        if name == "not":
            name = "\\+"
        if name == "-" and isinstance(a, Int | Float):
            # ProbLog folds the prefix operator '-' applied to a number: '-1', '- 1' and '- (1)' are
            # the number -1; only the functional notation '-(1)' keeps the compound term
            return type(a)(-a.value)
        return Struct(name, (a,))


def _span(text: str, filename: str, start: int, end: int) -> SourceSpan:
    return SourceSpan(text, start, end, filename)


def _convert_error(err: UnexpectedInput, text: str, filename: str) -> ParseError:
    pos = getattr(err, "pos_in_stream", None)
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            pos = len(text.rstrip()) if text.strip() else 0
            return ParseError(
                "unexpected end of input: the last clause is incomplete",
                _span(text, filename, max(0, pos - 1), max(1, pos)),
                "every clause ends with '.' and brackets must be balanced",
            )
        expected = sorted(err.accepts or err.expected)
        hint = _hint_for(tok, expected)
        return ParseError(f"unexpected {_describe(tok)}", _span(text, filename, tok.start_pos, tok.end_pos), hint)
    if isinstance(err, UnexpectedEOF):
        return ParseError("unexpected end of input", _span(text, filename, max(0, len(text) - 1), len(text)))
    if isinstance(err, UnexpectedCharacters):
        return ParseError("unexpected character", _span(text, filename, pos or 0, (pos or 0) + 1))
    return ParseError(str(err), None)


_TOKEN_NAMES = {
    "END": "'.' (end of clause)",
    "RPAR": "')'",
    "RBRACK": "']'",
    "LPAR": "'('",
    "LBRACK": "'['",
    "COMMA": "','",
    "BAR": "'|'",
}


def _describe(tok) -> str:
    if tok.type in _TOKEN_NAMES:
        return _TOKEN_NAMES[tok.type]
    if tok.type == "VAR":
        return f"variable {tok}"
    if tok.type in ("INT", "FLOAT"):
        return f"number {tok}"
    return f"'{tok}'"


def _hint_for(tok, expected: list[str]) -> str:
    if tok.type == "END" and "RPAR" in expected:
        return "a '(' is not closed before the end of the clause"
    if tok.type == "END" and "RBRACK" in expected:
        return "a '[' is not closed before the end of the clause"
    if tok.type in ("RPAR", "RBRACK"):
        return "brackets are not balanced"
    if "END" in expected:
        return "did you forget a '.' or an operator between two terms?"
    if tok.type in ("OP700", "OP1200", "PROB"):
        return "operator priority clash: add parentheses"
    return "check the syntax near this point"


def parse_program(text: str, filename: str = "<string>") -> ProgramAST:
    """Parse a whole program text.

    >>> prog = parse_program("0.3::edge(a,b).  path(X,Y) :- edge(X,Y).")
    >>> len(prog.items)
    2
    """
    from .._deep import run_deep

    return run_deep(lambda: _parse_program(text, filename), "parse")


def _parse_program(text: str, filename: str) -> ProgramAST:
    parser = _parser()
    parser.options.transformer.vars = {}
    parser.options.transformer.anon = 0
    try:
        terms = parser.parse(text)
    except ParseError as err:
        if err.span is not None:
            err.span = SourceSpan(text, err.span.start, err.span.end, filename)
        raise
    except ProgramError:
        raise
    except UnexpectedInput as err:
        raise _convert_error(err, text, filename) from None
    except VisitError as err:
        raise _unwrap(err, None) from None
    bounds = CLAUSE_BOUNDS.value
    items: list[Item] = []
    for i, term in enumerate(terms):
        span = _span(text, filename, *bounds[i]) if i < len(bounds) else None
        items.append(classify(term, span))
    return ProgramAST(tuple(items), filename)


def parse_term(text: str) -> Term:
    """Parse one term (no trailing '.' needed).

    >>> str(parse_term("path(a, X)"))
    'path(a,X)'
    """
    src = text.rstrip()
    if not src.endswith("."):
        src += " ."
    parser = _parser()
    parser.options.transformer.vars = {}
    parser.options.transformer.anon = 0
    try:
        terms = parser.parse(src)
    except UnexpectedInput as err:
        raise _convert_error(err, src, "<term>") from None
    except VisitError as err:
        raise _unwrap(err, None) from None
    if len(terms) != 1:
        raise ParseError(f"expected exactly one term, got {len(terms)}: {text!r}")
    return terms[0]


def _unwrap(e: VisitError, span: SourceSpan | None) -> Exception:
    orig = e.orig_exc
    if isinstance(orig, ParseError | ProgramError | RecursionError):
        return orig
    return ParseError(f"cannot read this clause: {orig}", span)


def _transform(term_tree, text: str, filename: str, span: SourceSpan | None) -> Term:
    """Parse tree -> Term; errors raised inside lark's transformer are unwrapped."""
    try:
        if isinstance(term_tree, Tree):
            return _ToTerm().transform(term_tree)
        return _ToTerm().transform(Tree("x", [term_tree])).children[0]
    except VisitError as e:
        orig = e.orig_exc
        if isinstance(orig, ParseError | ProgramError):
            raise orig from None
        if isinstance(orig, RecursionError):
            raise
        raise ParseError(f"cannot read this clause: {orig}", span) from None


def _is_prob_annotation(t: Term) -> bool:
    return isinstance(t, Struct) and t.functor == "::" and len(t.args) == 2


def _disjuncts(t: Term) -> list[Term]:
    out = []
    while isinstance(t, Struct) and t.functor == ";" and len(t.args) == 2:
        out.append(t.args[0])
        t = t.args[1]
    out.append(t)
    return out


def _check_head(head: Term, span: SourceSpan | None) -> Term:
    if isinstance(head, Var):
        raise ProgramError("a clause head cannot be a variable", span, "write a predicate name, e.g. p(X)")
    if not isinstance(head, Struct):
        raise ProgramError(f"a clause head must be an atom or compound term, not the number/string {head}", span)
    if head.functor in (",", ";", "->", ":-", "<-") and len(head.args) == 2:
        raise ProgramError(
            f"'{head.functor}' cannot be the head of a clause: {head}",
            span,
            "a clause is 'head :- body.'; a conjunction cannot be asserted as a fact",
        )
    return head


def classify(term: Term, span: SourceSpan | None = None) -> Item:
    """Turn one parsed top-level term into an AST item (clause, AD, directive...)."""
    if isinstance(term, Struct):
        if term.functor in (":-", "?-") and len(term.args) == 1:
            return Directive(term.args[0], span)
        if term.functor == "-->" and len(term.args) == 2:
            raise ProgramError("DCG rules ('-->') are not supported", span, "write the clauses with explicit lists")
        if term.functor in (":-", "<-") and len(term.args) == 2:
            head, body = term.args
        else:
            head, body = term, TRUE
    else:
        head, body = term, TRUE
    parts = _disjuncts(head)
    if len(parts) > 1:
        heads = []
        for p in parts:
            if not _is_prob_annotation(p):
                raise ProgramError(
                    f"every head of an annotated disjunction needs a probability: {p}",
                    span,
                    "write 'p1::h1; p2::h2 :- body.'",
                )
            prob, h = p.args
            if isinstance(prob, Struct) and prob.functor == "nn":
                raise ProgramError(
                    "nn(...) annotations cannot appear inside an annotated disjunction",
                    span,
                    "a neural annotated disjunction is written nn(Net, [X], Y, [v1,...,vn]) :: head(X, Y)",
                )
            heads.append((prob, _check_head(h, span)))
        return ADClause(tuple(heads), body, span)
    if _is_prob_annotation(head):
        prob, h = head.args
        _check_head(h, span)
        if isinstance(prob, Struct) and prob.functor in ("nn", "t") and len(prob.args) >= 1:
            return NeuralClause(prob, h, body, span)
        return Clause(h, body, prob, span)
    return Clause(_check_head(head, span), body, None, span)
