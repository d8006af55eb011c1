"""The errors of :mod:`plait.families`: bad inputs to a family's API."""

from __future__ import annotations

from ..errors import PlaitError

__all__ = ["FamilyError"]


class FamilyError(PlaitError):
    """A family was given something it cannot use: a bad setting, a missing network, labels that do not fit.

    >>> str(FamilyError("symbols must be 'hard', 'topk' or 'distribution', not 'soft'"))
    "symbols must be 'hard', 'topk' or 'distribution', not 'soft'"
    """
