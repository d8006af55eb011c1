"""Grammars as data, written out as GBNF for llama.cpp and checked in Python.

llama.cpp constrains decoding with a GBNF grammar (a BNF over characters). A
grammar here is a small tree of :class:`Lit`, :class:`Chars`, :class:`Ref`,
:class:`Seq`, :class:`Alt` and :class:`Repeat` nodes, so that the same object
can be

- written out as GBNF (:meth:`Grammar.gbnf`) for constrained decoding;
- recognised in Python (:meth:`Grammar.accepts`): the grammar is written out for
  lark's Earley parser, which decides membership of any context-free language;
- sampled (:meth:`Grammar.sample`): random strings of the language, which the
  tests parse with the real parser the grammar stands for.

>>> g = Grammar({"root": Seq(Lit("a"), Repeat(Chars("bc"), 0, 2))})
>>> print(g.gbnf())
root ::= "a" [bc]{0,2}
>>> g.accepts("abc"), g.accepts("abcb")
(True, False)
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from lark import Lark
from lark.exceptions import LarkError

__all__ = ["Lit", "Chars", "Ref", "Seq", "Alt", "Repeat", "Expr", "Grammar", "opt", "excluding_words"]


@dataclass(frozen=True, slots=True)
class Lit:
    """A literal string."""

    text: str


@dataclass(frozen=True, slots=True)
class Chars:
    """One character out of a set."""

    chars: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "chars", "".join(sorted(set(self.chars))))


@dataclass(frozen=True, slots=True)
class Ref:
    """The rule of that name."""

    name: str


@dataclass(frozen=True, slots=True)
class Seq:
    """The items one after the other."""

    items: tuple[Expr, ...]

    def __init__(self, *items: Expr) -> None:
        object.__setattr__(self, "items", tuple(items))


@dataclass(frozen=True, slots=True)
class Alt:
    """One of the options."""

    options: tuple[Expr, ...]

    def __init__(self, *options: Expr) -> None:
        object.__setattr__(self, "options", tuple(options))


@dataclass(frozen=True, slots=True)
class Repeat:
    """``item`` between ``low`` and ``high`` times (``high=None``: no bound)."""

    item: Expr
    low: int = 0
    high: int | None = None


Expr = Lit | Chars | Ref | Seq | Alt | Repeat


def opt(item: Expr) -> Repeat:
    """``item?``"""
    return Repeat(item, 0, 1)


def excluding_words(first: str, rest: str, words: Iterable[str]) -> Expr:
    """Identifiers ``first rest*`` except the given words, as a regular expression tree.

    GBNF has no negative look-ahead, so the exclusion is spelled out on the trie
    of the words: at each prefix of a word, either the identifier ends (unless
    the prefix is itself a word), or it continues with the next letter of a
    word, or with any other letter, after which every continuation is fine.

    >>> g = Grammar({"root": excluding_words("ab", "ab", ["a", "ab"])})
    >>> [s for s in ("a", "ab", "b", "aa", "aba") if g.accepts(s)]
    ['b', 'aa', 'aba']
    """
    words = {w for w in words if w and w[0] in first and all(c in rest for c in w[1:])}
    tail = Repeat(Chars(rest), 0, None)

    def node(prefix: str) -> Expr:
        allowed = first if not prefix else rest
        nexts = sorted({w[len(prefix)] for w in words if len(w) > len(prefix) and w.startswith(prefix)})
        options: list[Expr] = []
        others = "".join(c for c in allowed if c not in nexts)
        if others:
            options.append(Seq(Chars(others), tail))
        options += [Seq(Lit(c), node(prefix + c)) for c in nexts]
        if prefix and prefix not in words:
            # the identifier may end here: an optional continuation
            return Repeat(Alt(*options), 0, 1) if options else Seq()
        return Alt(*options) if len(options) > 1 else options[0]

    return node("")


def _ranges(chars: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for c in chars:
        if out and ord(c) == ord(out[-1][1]) + 1:
            out[-1] = (out[-1][0], c)
        else:
            out.append((c, c))
    return out


def _class_char(c: str) -> str:
    # llama.cpp's GBNF reader knows only a few escapes (\\ \" [ ] n r t) but every \xHH; so do Python and lark
    if c in "\\]^-[/":
        return f"\\x{ord(c):02X}"
    if c == "\n":
        return "\\n"
    return c


def _class(chars: str) -> str:
    parts = []
    for lo, hi in _ranges(chars):
        if lo == hi:
            parts.append(_class_char(lo))
        elif ord(hi) == ord(lo) + 1:
            parts.append(_class_char(lo) + _class_char(hi))
        else:
            parts.append(f"{_class_char(lo)}-{_class_char(hi)}")
    return "[" + "".join(parts) + "]"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@dataclass(frozen=True)
class Grammar:
    """Named rules; ``root`` is where a string starts.

    Rule names are lower-case letters and digits (what both GBNF and lark accept).
    """

    rules: Mapping[str, Expr]
    root: str = "root"
    _names: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        for name in self.rules:
            if not re.fullmatch(r"[a-z][a-z0-9]*", name):
                raise ValueError(f"grammar rule name {name!r}: use lower-case letters and digits")
        if self.root not in self.rules:
            raise ValueError(f"the grammar has no rule {self.root!r}")

    # ------------------------------------------------------------------ writing out
    def gbnf(self) -> str:
        """The grammar in llama.cpp's GBNF notation, the root rule first."""
        order = [self.root] + [n for n in self.rules if n != self.root]
        return "\n".join(f"{'root' if n == self.root else n} ::= {self._gbnf(self.rules[n], top=True)}" for n in order)

    def _gbnf(self, e: Expr, top: bool = False) -> str:
        if isinstance(e, Lit):
            return _quote(e.text)
        if isinstance(e, Chars):
            return _class(e.chars)
        if isinstance(e, Ref):
            return "root" if e.name == self.root else e.name
        if isinstance(e, Seq):
            if not e.items:
                return '""'
            body = " ".join(self._gbnf(i) for i in e.items)
            return body if top or len(e.items) == 1 else f"({body})"
        if isinstance(e, Alt):
            body = " | ".join(self._gbnf(o, top=True) for o in e.options)
            return body if top else f"({body})"
        inner = self._gbnf(e.item)  # a single item: sequences and alternatives come parenthesised
        if (e.low, e.high) == (0, 1):
            return inner + "?"
        if (e.low, e.high) == (0, None):
            return inner + "*"
        if (e.low, e.high) == (1, None):
            return inner + "+"
        return inner + "{" + f"{e.low}," + ("" if e.high is None else str(e.high)) + "}"

    def lark(self) -> str:
        """The grammar for lark (character-level terminals), used by :meth:`accepts`."""
        return "\n".join(f"r{n}: {self._lark(e)}" for n, e in self.rules.items())

    def _lark(self, e: Expr) -> str:
        if isinstance(e, Lit):
            return _quote(e.text) if e.text else ""
        if isinstance(e, Chars):
            return "/" + _class(e.chars) + "/"
        if isinstance(e, Ref):
            return f"r{e.name}"
        if isinstance(e, Seq):
            parts = [p for p in (self._lark(i) for i in e.items) if p]
            return "(" + " ".join(parts) + ")" if parts else ""
        if isinstance(e, Alt):
            parts = [self._lark(o) for o in e.options]
            if any(not p for p in parts):  # an empty option: the rest is optional
                return "[" + " | ".join(p for p in parts if p) + "]"
            return "(" + " | ".join(parts) + ")"
        inner = self._lark(e.item)
        if not inner or e.high == 0:
            return ""
        if e.high is None:
            return f"({inner})*" if e.low == 0 else "(" + " ".join([inner] * e.low) + f" ({inner})*)"
        return f"({inner} ~ {e.low}..{e.high})" if e.low else f"[{inner} ~ 1..{e.high}]"

    # ------------------------------------------------------------------ recognising
    @cached_property
    def _recogniser(self) -> Lark:
        return Lark(self.lark(), start=f"r{self.root}", parser="earley", lexer="dynamic")

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        """A regular expression of the language when no rule refers back to itself (else None)."""
        try:
            return re.compile(self._regex(Ref(self.root), ()))
        except RecursionError:
            return None

    def _regex(self, e: Expr, stack: tuple[str, ...]) -> str:
        if isinstance(e, Lit):
            return re.escape(e.text)
        if isinstance(e, Chars):
            return _class(e.chars)
        if isinstance(e, Ref):
            if e.name in stack:
                raise RecursionError(e.name)  # a recursive rule: not a regular language as written
            return f"(?:{self._regex(self.rules[e.name], (*stack, e.name))})"
        if isinstance(e, Seq):
            return "".join(self._regex(i, stack) for i in e.items)
        if isinstance(e, Alt):
            return "(?:" + "|".join(self._regex(o, stack) for o in e.options) + ")"
        inner = f"(?:{self._regex(e.item, stack)})"
        return inner + "{" + f"{e.low}," + ("" if e.high is None else str(e.high)) + "}"

    def accepts(self, text: str) -> bool:
        """Whether ``text`` is a string of the grammar's language.

        A grammar without recursion is a regular expression, matched by ``re``;
        any other is parsed by lark's Earley parser.
        """
        if self._pattern is not None:
            return self._pattern.fullmatch(text) is not None
        try:
            self._recogniser.parse(text)
        except LarkError:
            return False
        return True

    # ------------------------------------------------------------------ sampling
    @cached_property
    def _heights(self) -> dict[str, int]:
        """The least derivation height of each rule (how deep its shortest strings go)."""
        heights = {n: 10**9 for n in self.rules}
        changed = True
        while changed:
            changed = False
            for n, e in self.rules.items():
                h = self._height(e, heights)
                if h < heights[n]:
                    heights[n], changed = h, True
        return heights

    def _height(self, e: Expr, heights: Mapping[str, int]) -> int:
        if isinstance(e, (Lit, Chars)):
            return 0
        if isinstance(e, Ref):
            return heights[e.name] + 1
        if isinstance(e, Seq):
            return max((self._height(i, heights) for i in e.items), default=0)
        if isinstance(e, Alt):
            return min(self._height(o, heights) for o in e.options)
        return 0 if e.low == 0 else self._height(e.item, heights)

    def sample(self, rng: random.Random, depth: int = 12, mean_repeat: float = 1.5) -> str:
        """A random string of the language; past ``depth`` rule expansions it takes the shortest ways out.

        >>> g = Grammar({"root": Seq(Lit("x"), Repeat(Lit("y"), 1, 3))})
        >>> g.accepts(g.sample(random.Random(0)))
        True
        """
        out: list[str] = []
        self._sample(Ref(self.root), rng, depth, mean_repeat, out)
        return "".join(out)

    def _sample(self, e: Expr, rng: random.Random, depth: int, mean: float, out: list[str]) -> None:
        if isinstance(e, Lit):
            out.append(e.text)
        elif isinstance(e, Chars):
            out.append(rng.choice(e.chars))
        elif isinstance(e, Ref):
            self._sample(self.rules[e.name], rng, depth - 1, mean, out)
        elif isinstance(e, Seq):
            for item in e.items:
                self._sample(item, rng, depth, mean, out)
        elif isinstance(e, Alt):
            if depth > 0:
                choice = rng.choice(e.options)
            else:
                choice = min(e.options, key=lambda o: self._height(o, self._heights))
            self._sample(choice, rng, depth, mean, out)
        else:
            n = e.low
            if depth > 0:
                while (e.high is None or n < e.high) and rng.random() < mean / (1 + mean):
                    n += 1
            for _ in range(n):
                self._sample(e.item, rng, depth, mean, out)
