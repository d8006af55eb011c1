"""Text to logic, then a solver (LINC-style), with decoding constrained by plait's own grammar.

- :class:`TextToLogic`: English premises and a statement -> K translations by a
  language model -> each decided by plait (Horn rules, closed world) or Z3
  (first-order logic) -> majority vote -> :class:`Answer` (the verdict, the
  votes, the winning translation, its proof or counter-model, the failures).
- :func:`horn_grammar`, :func:`fol_grammar`: the grammars (GBNF for llama.cpp).
- :func:`decide_program`, :func:`decide`: the two deciders on their own.

>>> from plait.llm.translate import decide
>>> decide(["all X. (cat(X) -> ~dog(X))", "cat(tom)"], "dog(tom)").verdict.value
'False'
"""

from __future__ import annotations

from .errors import TranslationError
from .fol import FolDecision, Verdict, decide, format_formula, parse_fol_problem, parse_formula
from .gbnf import Grammar
from .grammars import fol_grammar, horn_grammar
from .horn import HornDecision, decide_program
from .pipeline import Answer, Sample, TextToLogic, decide_translation, majority
from .prompts import FOL_SHOTS, HORN_SHOTS, Shot

__all__ = [
    "TextToLogic",
    "Answer",
    "Sample",
    "Verdict",
    "majority",
    "decide_translation",
    "decide_program",
    "HornDecision",
    "decide",
    "FolDecision",
    "parse_formula",
    "parse_fol_problem",
    "format_formula",
    "horn_grammar",
    "fol_grammar",
    "Grammar",
    "Shot",
    "HORN_SHOTS",
    "FOL_SHOTS",
    "TranslationError",
]
