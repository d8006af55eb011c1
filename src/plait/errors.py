"""The one exception tree of plait.

Every error a user can cause derives from :class:`PlaitError`. Errors carry an
optional :class:`SourceSpan`; the ``file:line:col`` text and the caret line are
only rendered when the error is shown (:meth:`PlaitError.render`), so creating
errors stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

# How much of a term an error message quotes: a 10,000-element list in a message
# helps nobody, its beginning and end say which term it is.
TERM_LIMIT = 160
# A source line in an excerpt is shown as a window this wide around the caret.
LINE_LIMIT = 160
# The most a message (or hint) says in all, after its terms are shortened.
MESSAGE_LIMIT = 2000

__all__ = [
    "PlaitError",
    "ParseError",
    "ProgramError",
    "NeedsNetworkError",
    "GroundingError",
    "UnknownPredicateError",
    "CallModeError",
    "NonGroundError",
    "NonStratifiedError",
    "GroundingLimitError",
    "CompilationError",
    "CompilationBudgetError",
    "InferenceError",
    "InconsistentEvidenceError",
    "NeuralError",
    "TrainingError",
    "SourceSpan",
    "shorten_terms",
]


def _group_end(text: str, start: int) -> int:
    """The index after the bracket that closes the one at ``start`` (-1 if it never closes)."""
    closing = {"(": ")", "[": "]", "{": "}"}
    stack = [closing[text[start]]]
    quote = None
    i = start + 1
    while i < len(text):
        c = text[i]
        if quote is not None:  # inside a quoted atom or string: brackets do not count
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in closing:
            stack.append(closing[c])
        elif c in ")]}":
            if c != stack.pop():
                return -1
            if not stack:
                return i + 1
        i += 1
    return -1


def shorten_terms(text: str, limit: int = TERM_LIMIT) -> str:
    """``text`` with every quoted term longer than ``limit`` characters cut in its middle.

    A term is a bracketed group that follows a functor (``f(...)``) or a list or
    set (``[...]``, ``{...}``); prose in parentheses (after a space) is left alone.
    The whole text is then capped at ``MESSAGE_LIMIT`` characters.

    >>> shorten_terms("bad goal p(" + ", ".join(map(str, range(100))) + ")", limit=40)
    'bad goal p(0, 1, 2, 3, 4, 5, 6, 7, 8 ...[358 characters left out]... 8, 99)'
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        term_like = c in "[{" or (c == "(" and i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_'\""))
        end = _group_end(text, i) if term_like else -1
        if end == -1:
            out.append(c)
            i += 1
            continue
        group = text[i:end]
        if len(group) > limit:
            head, tail = group[: limit * 2 // 3], group[-(limit // 6) :]
            group = f"{head} ...[{len(group) - len(head) - len(tail)} characters left out]... {tail}"
        out.append(group)
        i = end
    shown = "".join(out)
    if len(shown) > MESSAGE_LIMIT:
        shown = shown[:MESSAGE_LIMIT] + f" ...[{len(shown) - MESSAGE_LIMIT} characters left out]"
    return shown


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A cheap pointer into a source text: character offsets plus the text itself.

    The text is shared (not copied) between all spans of one file, so a span is
    three references and two integers.
    """

    text: str
    start: int
    end: int
    filename: str = "<string>"

    @property
    def line(self) -> int:
        return self.text.count("\n", 0, self.start) + 1

    @property
    def column(self) -> int:
        return self.start - (self.text.rfind("\n", 0, self.start) + 1) + 1

    def location(self) -> str:
        return f"{self.filename}:{self.line}:{self.column}"

    def excerpt(self) -> str:
        """The source line with a caret under the start of the span."""
        line_start = self.text.rfind("\n", 0, self.start) + 1
        line_end = self.text.find("\n", self.start)
        if line_end == -1:
            line_end = len(self.text)
        line = self.text[line_start:line_end].replace("\t", " ")
        col = self.start - line_start
        width = max(1, min(self.end, line_end) - self.start)
        if len(line) > LINE_LIMIT:  # a window around the caret, marked "..." where cut
            left = max(0, col - LINE_LIMIT // 3)
            right = min(len(line), left + LINE_LIMIT)
            pre, post = ("... " if left > 0 else ""), (" ..." if right < len(line) else "")
            line = pre + line[left:right] + post
            col = len(pre) + col - left
            width = max(1, min(width, right - (col - len(pre) + left)))
        return f"  {line}\n  {' ' * col}{'^' * width}"


class PlaitError(Exception):
    """Base class of every error plait raises on purpose.

    ``message`` says what happened, ``span`` where (if known) and ``hint`` how to
    fix it. ``str(error)`` gives ``message`` (with the hint); :meth:`render` the
    full ``file:line:col: error: ...`` form with a caret excerpt.
    """

    kind = "error"

    def __init__(self, message: str, span: SourceSpan | None = None, hint: str | None = None):
        self.message = message
        self.span = span
        self.hint = hint
        super().__init__(self._plain())

    def _plain(self) -> str:
        # huge terms quoted in the message are cut here, where every error is shown;
        # ``message`` itself keeps the full text
        text = shorten_terms(self.message)
        if self.hint:
            text += f" (hint: {shorten_terms(self.hint)})"
        return text

    def with_span(self, span: SourceSpan | None) -> PlaitError:
        """Attach a span if the error has none yet (used when unwinding a stage)."""
        if self.span is None and span is not None:
            self.span = span
        return self

    def within(self, context: str) -> PlaitError:
        """The same error (same type, span, hint and attributes) with ``context: `` before its message.

        Used where an error crosses a boundary that it cannot name itself, such as
        a network raising inside a neural predicate; chain it with ``from``.

        >>> str(PlaitError("no answer").within("neural predicate p/2"))
        'neural predicate p/2: no answer'
        """
        err = type(self).__new__(type(self))
        err.__dict__.update(self.__dict__)
        PlaitError.__init__(err, f"{context}: {self.message}", self.span, self.hint)
        return err

    def render(self, filename: str | None = None) -> str:
        """``FILE:LINE:COL: error: message`` plus the offending line and a caret."""
        if self.span is not None:
            loc = self.span.location()
            out = f"{loc}: error: {self._plain()}\n{self.span.excerpt()}"
        else:
            out = f"{filename or '<input>'}: error: {self._plain()}"
        return out


class ParseError(PlaitError):
    """The program text is not valid plait/ProbLog syntax."""


class ProgramError(PlaitError):
    """The program parses but a clause is malformed (bad head, bad probability...)."""


class NeedsNetworkError(ProgramError):
    """A neural predicate or learnable parameter was used without a network."""


class GroundingError(PlaitError):
    """Something went wrong while grounding the program for the queries."""


class UnknownPredicateError(GroundingError):
    """A goal calls a predicate that has no clauses and is no builtin."""


class CallModeError(GroundingError):
    """A builtin was called with arguments of the wrong instantiation or type."""


class NonGroundError(GroundingError):
    """A probabilistic atom, query or negation stayed non-ground."""


class NonStratifiedError(GroundingError):
    """Negation (or findall/aggregation) through a recursive cycle."""


class GroundingLimitError(GroundingError):
    """Grounding exceeded a configured bound (depth, atoms or time)."""


class CompilationError(PlaitError):
    """Knowledge compilation failed (e.g. ran out of a size budget)."""


class CompilationBudgetError(CompilationError):
    """The SDDs outgrew the size budget (``max_sdd_size``) before compilation finished."""


class InferenceError(PlaitError):
    """Evaluating the compiled circuits failed."""


class InconsistentEvidenceError(InferenceError):
    """The evidence has probability zero, so conditioning on it is undefined."""


class NeuralError(PlaitError):
    """A network or its input or output does not fit its neural predicate.

    Raised for unknown network names, inputs of the wrong shape or device,
    outputs of the wrong shape, NaNs, and exceptions raised inside a user's
    network (wrapped, with the original as ``__cause__``). The message names
    the predicate and the network.
    """


class TrainingError(PlaitError):
    """Training could not proceed (bad data, a target that is not an answer, a diverged loss...)."""
