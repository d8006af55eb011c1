"""The error of a translation that parses but cannot be decided."""

from __future__ import annotations

from ...errors import PlaitError

__all__ = ["TranslationError"]


class TranslationError(PlaitError):
    """A model's translation parses but cannot be decided (an arity clash, a free variable, a solver that gives up)."""
