"""Language models as neural components, offline: backends, LLM predicates, embedding predicates.

Everything here is imported from ``plait.llm`` (``import plait`` does not load
it, nor llama.cpp or sentence-transformers: those load when a model is made).
The backends need the optional extra ``pip install 'plait[llm]'``.

>>> from plait.llm import LanguageModel, OpenAICompatibleModel, LlamaCppModel
>>> issubclass(LlamaCppModel, LanguageModel) and issubclass(OpenAICompatibleModel, LanguageModel)
True
"""

from __future__ import annotations

from .base import LanguageModel, Message, choose
from .embeddings import Calibration, Retrieved, SentenceEmbedder, SimilarityPredicate, minilm_path, retrieve
from .errors import (
    EmptyAnswerError,
    LanguageModelError,
    MissingExtraError,
    ModelFileError,
    ModelTimeoutError,
    OutOfDomainError,
    ServerError,
)
from .http import OpenAICompatibleModel
from .local import LlamaCppModel, smollm2_path
from .predicates import LLMPredicate

__all__ = [
    "LanguageModel",
    "Message",
    "choose",
    "LLMPredicate",
    "LlamaCppModel",
    "smollm2_path",
    "OpenAICompatibleModel",
    "SentenceEmbedder",
    "Calibration",
    "SimilarityPredicate",
    "Retrieved",
    "retrieve",
    "minilm_path",
    "LanguageModelError",
    "OutOfDomainError",
    "ModelTimeoutError",
    "EmptyAnswerError",
    "ServerError",
    "ModelFileError",
    "MissingExtraError",
]
