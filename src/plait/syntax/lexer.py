"""Prolog tokenisation for the lark grammar in ``grammar.lark``.

Why hand-written: Prolog reads the longest run of symbol characters as one token
(``=..``, ``:-``, ``\\==``), treats ``name(`` with no space as functional notation
but ``name (`` as an operator application, and decides whether ``-`` or ``is`` is
an operator by what came before. Those rules are context-sensitive in a way a
regular-expression lexer cannot express; they take one linear pass here.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator

from lark import Token
from lark.lexer import Lexer

from ..errors import ParseError, SourceSpan
from .terms import AGGREGATE

SYMBOL_CHARS = set("+-*/\\^<>=~:.?@#&$")
DIGITS = set("0123456789")
UPPER = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
LOWER = set("abcdefghijklmnopqrstuvwxyz")
ALNUM = DIGITS | UPPER | LOWER | {"_"}

# Operator token types, by spelling, when the token stands between two terms.
INFIX_TYPES: dict[str, str] = {
    ":-": "OP1200",
    "<-": "OP1200",
    "-->": "OP1200",
    ";": "SEMI",
    "|": "BAR",
    "->": "IMPL",
    "*->": "IMPL",
    ",": "COMMA",
    "::": "PROB",
    "&": "AMP",
    ":": "COLON",
    "+": "PLUS",
    "-": "MINUS",
    "/\\": "ADDOP",
    "\\/": "ADDOP",
    "xor": "ADDOP",
    "..": "ADDOP",
    "**": "POW",
    "^": "CARET",
}
for _op in ("=", "\\=", "==", "\\==", "@<", "@>", "@=<", "@>=", "=..", "is", "=:=", "=\\=", "<", ">", "=<", ">="):
    INFIX_TYPES[_op] = "OP700"
for _op in ("=@=", "\\=@=", "as", "=>"):
    INFIX_TYPES[_op] = "OP700"
for _op in ("*", "/", "//", "rem", "mod", "div", "rdiv", "<<", ">>"):
    INFIX_TYPES[_op] = "OP400"

# Operator token types when the token starts a term.
PREFIX_TYPES: dict[str, str] = {
    ":-": "OP1200",
    "?-": "QUERYOP",
    "\\+": "NEG",
    "not": "NEG",
    "-": "MINUS",
    "+": "PLUS",
    "\\": "BACKSLASH",
}

# Token types after which the next token stands in infix position.
TERM_END = {"INT", "FLOAT", "STRING", "VAR", "NAME", "QATOM", "SYMATOM", "CUT", "RPAR", "RBRACK"}


class PrologLexer(Lexer):
    """A lark lexer producing the token types declared in ``grammar.lark``."""

    def __init__(self, lexer_conf) -> None:  # noqa: ANN001 - lark's signature
        self.lexer_conf = lexer_conf

    def lex(self, data: str) -> Iterator[Token]:
        bounds: list[tuple[int, int]] = []
        CLAUSE_BOUNDS.value = bounds
        yield from tokenize(data, bounds=bounds)


def _error(text: str, pos: int, filename: str, message: str, hint: str | None = None) -> ParseError:
    return ParseError(message, SourceSpan(text, pos, pos + 1, filename), hint)


class _Lines:
    """Line/column of an offset by binary search over newline positions (O(log n) per token)."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def line_col(self, pos: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, pos)
        return line, pos - self.starts[line - 1] + 1


def _tok(kind: str, value: str, lines: _Lines, start: int, end: int) -> Token:
    line, col = lines.line_col(start)
    end_line, end_col = lines.line_col(end)
    return Token(kind, value, start, line, col, end_line, end_col, end)


def _read_quoted(text: str, pos: int, quote: str, filename: str) -> tuple[str, int]:
    """Read a quoted item starting at ``pos`` (the opening quote); return value and end."""
    out: list[str] = []
    i = pos + 1
    n = len(text)
    escapes = {
        "n": "\n",
        "t": "\t",
        "\\": "\\",
        "'": "'",
        '"': '"',
        "`": "`",
        "a": "\a",
        "b": "\b",
        "f": "\f",
        "v": "\v",
        "r": "\r",
        "0": "\0",
        "e": "\x1b",
        "s": " ",
    }
    while i < n:
        c = text[i]
        if c == quote:
            if i + 1 < n and text[i + 1] == quote:
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= n:
                break
            e = text[i + 1]
            if e == "\n":
                i += 2
                continue
            if e in escapes:
                out.append(escapes[e])
                i += 2
                continue
            raise _error(text, i, filename, f"unknown escape sequence '\\{e}' in quoted text")
        out.append(c)
        i += 1
    kind = "string" if quote == '"' else "quoted atom"
    raise _error(text, pos, filename, f"unclosed {kind}: no matching {quote}", f"close it with {quote}")


class _Bounds(threading.local):
    value: list[tuple[int, int]] = []


# (start, end) offsets of every clause of the text being parsed in this thread,
# filled by the lexer: spans for the AST without lark's slower position tracking.
CLAUSE_BOUNDS = _Bounds()


def tokenize(text: str, filename: str = "<string>", bounds: list[tuple[int, int]] | None = None) -> Iterator[Token]:
    if bounds is not None:
        yield from _with_bounds(tokenize(text, filename), bounds)
        return
    yield from _aggregate_heads(_tokens(text, filename), text)


def _aggregate_heads(tokens: Iterator[Token], text: str) -> Iterator[Token]:
    """ProbLog's aggregate syntax: ``name < Var >`` reads as the term ``'$aggregate'(name, Var)``.

    As in ProbLog's tokenizer, the pattern is four tokens, whatever the spacing: a name,
    ``<``, a variable, ``>`` (``A < B > C`` is a priority clash in plain Prolog anyway).
    library(aggregate) turns a clause head ending in such an argument into an aggregate/5 call.
    """
    window: list[Token] = []
    for tok in tokens:
        window.append(tok)
        if len(window) < 4:
            continue
        name, lt, var, gt = window
        if name.type == "NAME" and lt.value == "<" and lt.type == "OP700" and var.type == "VAR" and gt.value == ">":
            lines = _Lines(text)
            # the functor is not in the text: an empty span keeps every character in one token
            yield _tok("FUNCT", AGGREGATE, lines, name.start_pos, name.start_pos)
            yield _tok("NAME", name.value, lines, name.start_pos, name.end_pos)
            yield _tok("COMMA", ",", lines, lt.start_pos, lt.end_pos)
            yield var
            yield _tok("RPAR", ")", lines, gt.start_pos, gt.end_pos)
            window = []
            continue
        yield window.pop(0)
    yield from window


def _tokens(text: str, filename: str) -> Iterator[Token]:
    lines = _Lines(text)
    i = 0
    n = len(text)
    prev: str | None = None
    while i < n:
        c = text[i]
        # whitespace and comments
        if c.isspace():
            i += 1
            continue
        if c == "%":
            j = text.find("\n", i)
            i = n if j == -1 else j + 1
            continue
        if c == "/" and i + 1 < n and text[i + 1] == "*":
            j = text.find("*/", i + 2)
            if j == -1:
                raise _error(text, i, filename, "unclosed block comment '/*'", "end it with '*/'")
            i = j + 2
            continue
        start = i
        infix_position = prev in TERM_END
        # full stop: '.' followed by whitespace, '%' or the end of the text
        if c == "." and (i + 1 == n or text[i + 1].isspace() or text[i + 1] == "%"):
            yield _tok("END", ".", lines, i, i + 1)
            prev = "END"
            i += 1
            continue
        # numbers are unsigned: like ProbLog, '-1', '- 1' and '-\n1' are all the prefix operator '-'
        # applied to 1, which the parser folds into the number -1 ('-(1)' stays a compound term)
        if c in DIGITS:
            kind, value, j = _read_number(text, i, filename)
            yield _tok(kind, value, lines, start, j)
            prev = kind
            i = j
            continue
        if c == "_" or c in UPPER:
            j = i + 1
            while j < n and text[j] in ALNUM:
                j += 1
            yield _tok("VAR", text[i:j], lines, start, j)
            prev = "VAR"
            i = j
            continue
        if c in LOWER:
            j = i + 1
            while j < n and text[j] in ALNUM:
                j += 1
            name = text[i:j]
            if j < n and text[j] == "(":
                yield _tok("FUNCT", name, lines, start, j + 1)
                prev = "LPAR"
                i = j + 1
                continue
            if infix_position and name in INFIX_TYPES:
                kind = INFIX_TYPES[name]
            elif not infix_position and name in PREFIX_TYPES and not _before_delimiter(text, j, prev):
                kind = PREFIX_TYPES[name]
            else:
                kind = "NAME"
            yield _tok(kind, name, lines, start, j)
            prev = kind
            i = j
            continue
        if c == "'":
            value, j = _read_quoted(text, i, "'", filename)
            if j < n and text[j] == "(":
                yield _tok("FUNCT", value, lines, start, j + 1)
                prev = "LPAR"
                i = j + 1
                continue
            yield _tok("QATOM", value, lines, start, j)
            prev = "QATOM"
            i = j
            continue
        if c == '"':
            value, j = _read_quoted(text, i, '"', filename)
            yield _tok("STRING", value, lines, start, j)
            prev = "STRING"
            i = j
            continue
        if c in "()[],|!":
            kind = {"(": "LPAR", ")": "RPAR", "[": "LBRACK", "]": "RBRACK", ",": "COMMA", "|": "BAR", "!": "CUT"}[c]
            yield _tok(kind, c, lines, start, i + 1)
            prev = kind
            i += 1
            continue
        if c == ";":
            yield _tok("SEMI", c, lines, start, i + 1)
            prev = "SEMI"
            i += 1
            continue
        if c in SYMBOL_CHARS:
            j = i + 1
            while j < n and text[j] in SYMBOL_CHARS:
                j += 1
            sym = text[i:j]
            # a symbol run that swallowed a full stop: "X = +." or "p :- q.%c"; an operator that ends
            # in '.' ("X =.. L", "X =..\n L") keeps it, as in ProbLog
            if (
                sym.endswith(".")
                and (j == n or text[j].isspace() or text[j] == "%")
                and len(sym) > 1
                and sym not in INFIX_TYPES
            ):
                j -= 1
                sym = sym[:-1]
            table = INFIX_TYPES if infix_position else PREFIX_TYPES
            if not infix_position and sym.startswith("?::"):
                sym, j = "?", i + 1  # DTProbLog's decision '?::a': the atom '?' is the annotation
            if sym not in table and not (j < n and text[j] == "(" and not infix_position):
                # ProbLog splits runs such as '::\+' into known operators
                for k in range(len(sym) - 1, 0, -1):
                    if sym[:k] in table:
                        sym = sym[:k]
                        j = i + k
                        break
            if not infix_position and j < n and text[j] == "(":
                yield _tok("FUNCT", sym, lines, start, j + 1)
                prev = "LPAR"
                i = j + 1
                continue
            if infix_position and sym in INFIX_TYPES:
                kind = INFIX_TYPES[sym]
            elif not infix_position and sym in PREFIX_TYPES and not _before_delimiter(text, j, prev):
                kind = PREFIX_TYPES[sym]
            else:
                # an operator standing alone as an argument or list element is an atom: [+, -, *, /]
                kind = "SYMATOM"
            yield _tok(kind, sym, lines, start, j)
            prev = kind
            i = j
            continue
        shown = c if c.isprintable() else repr(c)
        raise _error(
            text,
            i,
            filename,
            f"unexpected character '{shown}'",
            "plait programs use ASCII Prolog syntax outside quoted atoms and strings",
        )


# Token types of prefix operators: after one, ProbLog does not read a prefix operator before the
# full stop as an atom ('a :- + + +.' is an error there, 'X = +.' is not).
_PREFIX_KINDS = frozenset(PREFIX_TYPES.values())


def _before_delimiter(text: str, j: int, prev: str | None = None) -> bool:
    """Whether the next character after optional spaces ends an argument (``,`` ``)`` ``]`` ``|`` ``}``)
    or the clause (a full stop): an operator standing there is an atom, as in ``X = + .``."""
    n = len(text)
    while j < n and text[j] in " \t\r\n":
        j += 1
    if j < n and text[j] == "." and (j + 1 == n or text[j + 1].isspace() or text[j + 1] == "%"):
        return prev not in _PREFIX_KINDS
    return j < n and text[j] in ",)]|}"


def _with_bounds(tokens: Iterator[Token], bounds: list[tuple[int, int]]) -> Iterator[Token]:
    start: int | None = None
    for tok in tokens:
        if tok.type == "END":
            bounds.append((tok.start_pos if start is None else start, tok.end_pos))
            start = None
        elif start is None:
            start = tok.start_pos
        yield tok


def _read_number(text: str, i: int, filename: str) -> tuple[str, str, int]:
    n = len(text)
    if text.startswith(("0x", "0X"), i) and i + 2 < n and text[i + 2] in "0123456789abcdefABCDEF":
        j = i + 2
        while j < n and text[j] in "0123456789abcdefABCDEF":
            j += 1
        return "INT", str(int(text[i + 2 : j], 16)), j
    if text.startswith("0o", i) and i + 2 < n and text[i + 2] in "01234567":
        j = i + 2
        while j < n and text[j] in "01234567":
            j += 1
        return "INT", str(int(text[i + 2 : j], 8)), j
    if text.startswith("0b", i) and i + 2 < n and text[i + 2] in "01":
        j = i + 2
        while j < n and text[j] in "01":
            j += 1
        return "INT", str(int(text[i + 2 : j], 2)), j
    if text.startswith("0'", i) and i + 2 < n:
        ch = text[i + 2]
        if ch == "\\" and i + 3 < n:
            mapping = {"n": "\n", "t": "\t", "\\": "\\", "'": "'"}
            return "INT", str(ord(mapping.get(text[i + 3], text[i + 3]))), i + 4
        if ch == "'" and i + 3 < n and text[i + 3] == "'":
            return "INT", str(ord("'")), i + 4
        return "INT", str(ord(ch)), i + 3
    j = i
    while j < n and text[j] in DIGITS:
        j += 1
    kind = "INT"
    if j + 1 < n and text[j] == "." and text[j + 1] in DIGITS:
        j += 1
        while j < n and text[j] in DIGITS:
            j += 1
        kind = "FLOAT"
    if j < n and text[j] in "eE":
        k = j + 1
        if k < n and text[k] in "+-":
            k += 1
        if k < n and text[k] in DIGITS:
            while k < n and text[k] in DIGITS:
                k += 1
            j = k
            kind = "FLOAT"
    return kind, text[i:j], j
