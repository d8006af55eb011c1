"""The errors of language-model backends and predicates, under :class:`plait.PlaitError`.

Every failure of a model is an error, never a silent default: text outside a
predicate's domain, a timeout, an empty answer, a server error, a missing model
file, a missing optional extra. When one happens while a neural predicate is
evaluated, :class:`plait.Model` raises it again, of the same type, with the
predicate and the network named (the original is the ``__cause__``).

>>> from plait.llm.errors import EmptyAnswerError, LanguageModelError
>>> issubclass(EmptyAnswerError, LanguageModelError)
True
"""

from __future__ import annotations

from ..errors import PlaitError

__all__ = [
    "LanguageModelError",
    "OutOfDomainError",
    "ModelTimeoutError",
    "EmptyAnswerError",
    "ServerError",
    "ModelFileError",
    "MissingExtraError",
]


class LanguageModelError(PlaitError):
    """A language model or sentence-embedding model failed (the base of this module's errors)."""


class OutOfDomainError(LanguageModelError):
    """A model answered with text that is none of the values a predicate allows."""


class ModelTimeoutError(LanguageModelError):
    """A model did not answer within its timeout."""


class EmptyAnswerError(LanguageModelError):
    """A model answered with nothing (no text, no choices, no log-probabilities)."""


class ServerError(LanguageModelError):
    """An HTTP endpoint answered with an error status, or with a body that is not the API's JSON."""


class ModelFileError(LanguageModelError):
    """A model file (GGUF, embedding model folder) is missing or cannot be loaded."""


class MissingExtraError(LanguageModelError):
    """A backend needs a package of the optional extra ``plait[llm]`` that is not installed."""
