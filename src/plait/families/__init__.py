"""The five families of neuro-symbolic architectures, as plait patterns (see docs/families.md).

1. Sequential (symbolic -> neural -> symbolic): :class:`Sequential`.
2. Nested: Symbolic[Neuro] :class:`SceneProgram` (modules :class:`Filter`,
   :class:`Relate`, :class:`Count`, :class:`Exists`); Neuro[Symbolic]
   :class:`LogicLayer`.
3. Cooperative (Neuro | Symbolic, iterating): :class:`AbductiveLearning`
   (:func:`abduce`); gradient through inference is :func:`gradient_through_inference`.
4. Compiled: Neuro_{Symbolic} :class:`SemanticLoss`, :class:`FuzzyLoss`;
   Neuro:Symbolic -> Neuro :class:`Distillation`.
5. Ensemble (Neuro -> Symbolic <- Neuro): :class:`Ensemble`, :class:`EDCR`.

Nothing else in plait imports this package.

>>> import plait.families as fam
>>> sorted(n for n in fam.__all__ if n[0].isupper())[:4]
['AbductionRound', 'AbductiveLearning', 'Count', 'Distillation']
"""

from .compiled import TNORMS, Distillation, FuzzyLoss, SemanticLoss, soft_targets
from .cooperative import AbductionRound, AbductiveLearning, abduce, gradient_through_inference
from .core import Passthrough, class_accuracy, network_names, reasoner, symbolise, train_classifier
from .ensemble import EDCR, Ensemble, Rule, coarse_fine_program
from .errors import FamilyError
from .nested import Count, Exists, Filter, LogicLayer, Relate, SceneProgram, compose
from .sequential import Sequential, Symbolised

__all__ = [
    "Sequential",
    "Symbolised",
    "SceneProgram",
    "Filter",
    "Relate",
    "Count",
    "Exists",
    "compose",
    "LogicLayer",
    "AbductiveLearning",
    "AbductionRound",
    "abduce",
    "gradient_through_inference",
    "SemanticLoss",
    "FuzzyLoss",
    "TNORMS",
    "Distillation",
    "soft_targets",
    "Ensemble",
    "EDCR",
    "Rule",
    "coarse_fine_program",
    "Passthrough",
    "reasoner",
    "network_names",
    "symbolise",
    "train_classifier",
    "class_accuracy",
    "FamilyError",
]
