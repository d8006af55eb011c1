"""Text to logic, then a solver (LINC-style): translate K times, decide each, take the majority.

Premises and a statement in English go to a language model with a few-shot
prompt; it writes a plait program (``target="plait"``: Horn rules, decided by
plait under the closed-world assumption) or first-order logic
(``target="fol"``: decided by Z3). With ``constrained=True`` decoding follows
the target's grammar (:mod:`.grammars`), so every sample parses unless
``max_tokens`` cuts it off before its end. Each sample is
decided on its own; the answer is the verdict most samples reach.

A sample that does not parse, or parses but cannot be decided (a free
variable, an arity clash, contradictory premises), is *a vote for nothing*: it
is kept in :attr:`Answer.samples` with its error and counted in
:attr:`Answer.parse_failures` / :attr:`Answer.decide_failures`, never guessed.
If no sample is decided the answer is Uncertain with no winning translation.
Errors of the model itself (a timeout, a server error) are raised, not counted.

>>> from plait.llm import LanguageModel
>>> class Scripted(LanguageModel):  # answers from a list, as a real model would write them
...     def __init__(self, texts): self.texts = list(texts)
...     def complete(self, prompt, **kw): return self.texts.pop(0)
...     def score(self, prompt, completions): raise NotImplementedError
>>> good = "cat(tom).\\nbig(X) :- cat(X).\\nquery(big(tom))."
>>> solver = TextToLogic(Scripted([good, "big(tom) :-", good]), samples=3)
>>> answer = solver.answer("Tom is a cat. All cats are big.", "Tom is big.")
>>> answer.verdict.value, answer.votes, answer.parse_failures
('True', {'True': 2}, 1)
>>> answer.proof
'big(tom) :- cat(tom).'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ...errors import ParseError, PlaitError
from ..base import LanguageModel
from ..local import require
from .fol import FolDecision, Verdict, decide, parse_fol_problem
from .grammars import fol_grammar, horn_grammar
from .horn import HornDecision, decide_program
from .prompts import FOL_INSTRUCTION, FOL_SHOTS, HORN_INSTRUCTION, HORN_SHOTS, Shot, few_shot_prompt

__all__ = ["Sample", "Answer", "TextToLogic", "decide_translation", "majority"]

Target = Literal["plait", "fol"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One translation and what became of it.

    ``verdict`` is None when the sample failed; then ``failure`` is ``"parse"``
    (the text is not in the target language) or ``"decide"`` (it parses, but
    cannot be decided), and ``error`` says why.
    """

    text: str
    verdict: Verdict | None
    failure: str | None = None
    error: str | None = None
    proof: str | None = None
    counter_model: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The majority verdict of the samples, the votes, and the winning translation with its proof.

    ``votes`` maps each verdict's value to its number of samples (failed samples
    vote for nothing). ``winner`` indexes the first sample with the majority
    verdict (None if no sample was decided).
    """

    verdict: Verdict
    votes: dict[str, int]
    samples: tuple[Sample, ...]
    winner: int | None

    @property
    def translation(self) -> str | None:
        """The winning translation's text."""
        return None if self.winner is None else self.samples[self.winner].text

    @property
    def proof(self) -> str | None:
        """plait's proof of the query (plait target, True) or Z3's premises used (first-order target)."""
        return None if self.winner is None else self.samples[self.winner].proof

    @property
    def counter_model(self) -> str | None:
        """Z3's model of the premises where the conclusion fails (first-order target, Uncertain)."""
        return None if self.winner is None else self.samples[self.winner].counter_model

    @property
    def parse_failures(self) -> int:
        return sum(s.failure == "parse" for s in self.samples)

    @property
    def decide_failures(self) -> int:
        return sum(s.failure == "decide" for s in self.samples)


def majority(verdicts: Sequence[Verdict | None]) -> tuple[Verdict, int | None]:
    """The most frequent verdict (None counts for nothing), and the index of its first sample.

    Ties go to the verdict whose first sample came first; with no verdict at all
    the answer is Uncertain and there is no winner.

    >>> majority([Verdict.FALSE, None, Verdict.TRUE, Verdict.TRUE])
    (<Verdict.TRUE: 'True'>, 2)
    >>> majority([None, None])
    (<Verdict.UNCERTAIN: 'Uncertain'>, None)
    """
    counts = Counter(v for v in verdicts if v is not None)
    if not counts:
        return Verdict.UNCERTAIN, None
    first = {v: verdicts.index(v) for v in counts}
    best = max(counts, key=lambda v: (counts[v], -first[v]))
    return best, first[best]


def _cut(text: str) -> str:
    """The translation part of a free-running completion: up to its first blank line."""
    return text.strip("\n").split("\n\n", 1)[0].strip()


def decide_translation(text: str, target: Target = "plait", *, timeout_ms: int = 10_000) -> Sample:
    """Decide one translation; a failure is recorded in the :class:`Sample`, not raised.

    >>> decide_translation("query(cat(tom)).").verdict.value
    'False'
    >>> s = decide_translation("cat(tom)")
    >>> s.verdict, s.failure
    (None, 'parse')
    """
    text = _cut(text)
    try:
        if target == "plait":
            d: HornDecision | FolDecision = decide_program(text)
            return Sample(text, d.verdict, proof=d.proof)
        premises, conclusion = parse_fol_problem(text)
        d = decide(premises, conclusion, timeout_ms=timeout_ms)
        used = "; ".join(f"premise {i + 1}" for i in d.premises_used) if d.verdict is not Verdict.UNCERTAIN else None
        return Sample(text, d.verdict, proof=used and f"follows from {used}", counter_model=d.counter_model)
    except ParseError as e:
        return Sample(text, None, "parse", str(e))
    except PlaitError as e:  # parses, but grounding, the solver or the query check failed
        return Sample(text, None, "decide", f"{type(e).__name__}: {e}")


# tokens of budget per line the grammar allows: a fact is about 6 tokens, a rule with a few body
# literals 15-30; a line longer than this is rare, and then max_tokens can be given
TOKENS_PER_LINE = 40


class TextToLogic:
    """Answer whether English premises entail a statement, by K translations and a vote.

    ``target``: ``"plait"`` (closed world: True or False) or ``"fol"`` (Z3; True,
    False or Uncertain). ``samples``: K. ``constrained``: decode with the
    target's grammar. The first sample is greedy when ``temperature`` is 0; with
    a temperature, sample k draws with seed ``seed + k``. ``shots`` replace the
    built-in worked examples. ``max_tokens``: the budget of one translation;
    ``None`` sizes it from the grammar's line bound (:meth:`token_budget`).
    """

    def __init__(
        self,
        model: LanguageModel,
        *,
        target: Target = "plait",
        samples: int = 5,
        constrained: bool = True,
        temperature: float = 0.7,
        max_tokens: int | None = None,
        seed: int = 0,
        shots: Sequence[Shot] | None = None,
        timeout_ms: int = 10_000,
    ) -> None:
        if target not in ("plait", "fol"):
            raise ValueError(f"target must be 'plait' or 'fol', not {target!r}")
        if samples < 1:
            raise ValueError(f"samples must be 1 or more, not {samples}")
        if target == "fol":
            require("z3", "deciding first-order translations")
        self.model = model
        self.target: Target = target
        self.samples = samples
        self.constrained = constrained
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.shots = tuple(shots) if shots is not None else (HORN_SHOTS if target == "plait" else FOL_SHOTS)
        self.timeout_ms = timeout_ms

    def prompt(self, premises: str | Sequence[str], statement: str) -> str:
        """The few-shot prompt the model continues."""
        text = premises if isinstance(premises, str) else " ".join(premises)
        if self.target == "plait":
            return few_shot_prompt(HORN_INSTRUCTION, self.shots, text, statement, "Program")
        return few_shot_prompt(FOL_INSTRUCTION, self.shots, text, statement, "Logic")

    @staticmethod
    def line_bound(premises: str | Sequence[str]) -> int:
        """The most lines a translation may have: two per premise sentence, plus a margin."""
        n = premises.count(".") if isinstance(premises, str) else len(premises)
        return 2 * max(n, 1) + 4

    def token_budget(self, premises: str | Sequence[str]) -> int:
        """``max_tokens`` as given, or sized from the grammar's line bound (``TOKENS_PER_LINE`` a line).

        A constrained translation can only fail to parse when ``max_tokens`` cuts it
        off, so its budget grows with the lines the grammar allows (and the query line).
        """
        if self.max_tokens is not None:
            return self.max_tokens
        return TOKENS_PER_LINE * (self.line_bound(premises) + 1) if self.constrained else 256

    def grammar(self, premises: str | Sequence[str]) -> str | None:
        """The GBNF grammar of one translation (None when unconstrained).

        The number of lines is bounded by :meth:`line_bound`, so that a model that
        does not stop meets the grammar's end.
        """
        if not self.constrained:
            return None
        bound = self.line_bound(premises)
        g = horn_grammar(max_clauses=bound) if self.target == "plait" else fol_grammar(max_premises=bound)
        return g.gbnf()

    def answer(self, premises: str | Sequence[str], statement: str) -> Answer:
        """Translate ``samples`` times, decide each translation, and vote."""
        prompt, grammar = self.prompt(premises, statement), self.grammar(premises)
        out = []
        for k in range(self.samples):
            text = self.model.complete(
                prompt,
                max_tokens=self.token_budget(premises),
                temperature=self.temperature,
                seed=self.seed + k,
                grammar=grammar,
                stop=("\n\n", "\nPremises:"),
            )
            out.append(decide_translation(text, self.target, timeout_ms=self.timeout_ms))
        verdict, winner = majority([s.verdict for s in out])
        votes = dict(Counter(s.verdict.value for s in out if s.verdict is not None))
        return Answer(verdict, votes, tuple(out), winner)
