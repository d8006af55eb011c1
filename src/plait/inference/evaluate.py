"""From circuit values to answers: conditioning on the evidence, and the automatic log-space fallback.

Both go through the semiring (:class:`~plait.circuit.semiring.Semiring`): it says
what its zero is, how a query value is divided by the evidence's, and how its
values read as log probabilities. Every caller (``CompiledQuery``, neural
models, ``plait query``) gets its answers from here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..circuit.semiring import LOG_PROBABILITY, PROBABILITY, Semiring, get_semiring
from ..errors import InconsistentEvidenceError
from .options import AUTO

__all__ = ["answers", "AutoLogSpace"]


def answers(values: torch.Tensor, n_queries: int, has_evidence: bool, semiring: Semiring, log: bool) -> torch.Tensor:
    """``[..., n_queries]`` answers from the circuit's root values ``[..., n_queries (+1 evidence root)]``.

    With evidence, the last root is the evidence and each query root is ``query and
    evidence``; the semiring divides one by the other. ``log`` asks for log values.
    """
    q = values[..., :n_queries]
    if has_evidence:
        e = values[..., n_queries:]
        if bool(semiring.is_zero(e).any()):
            raise InconsistentEvidenceError(
                "the evidence has probability 0, so the conditional probabilities are undefined",
                hint="check that the evidence atoms can be true together",
            )
        q = semiring.normalize(q, e)
    return semiring.to_log(q) if log else semiring.to_probability(q)


class AutoLogSpace:
    """The semiring ``"auto"``: linear space first, log space once linear space has underflowed.

    Linear space takes about half the tensor ops of log space per circuit layer
    and is exact while answers stay above the dtype's smallest number. A batch
    whose watched answers come out as exactly 0 (or whose evidence does) is redone
    in log space; if log space says they are not 0, linear space underflowed and
    this evaluator stays in log space from then on. One instance per compiled query
    (a neural model keeps one per template).

    >>> import plait
    >>> cq = plait.Program.from_string("0.5::a. query(a).").compile()
    >>> AutoLogSpace().answers(cq, cq.leaf_weights(), log=False).tolist()
    [0.5]
    """

    def __init__(self, semiring: str | Semiring = AUTO) -> None:
        self.semiring = semiring
        self.needs_log = False

    def answers(
        self,
        compiled,  # CompiledQuery (not imported: it imports this module)  # noqa: ANN001
        weights: torch.Tensor,
        log: bool = True,
        select: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
        watch: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Answers (log answers with ``log``) for leaf ``weights``; ``select`` reorders the answer
        columns and ``watch`` picks the answers whose exact zeros trigger a redo (default: all)."""
        if self.semiring != AUTO:
            return select(compiled(semiring=get_semiring(self.semiring), log=log, weights=weights))
        if self.needs_log:
            return select(compiled(semiring=LOG_PROBABILITY, log=log, weights=weights))
        try:
            out = select(compiled(semiring=PROBABILITY, log=log, weights=weights))
            retry = bool(_is_zero(out if watch is None else watch(out), log).any())
        except InconsistentEvidenceError:
            out, retry = None, True  # evidence 0 in linear space: underflow, or really impossible (log tells)
        if not retry:
            return out
        exact = select(compiled(semiring=LOG_PROBABILITY, log=log, weights=weights))
        if out is None or not torch.equal(_is_zero(exact, log), _is_zero(out, log)):
            self.needs_log = True  # linear space underflowed: this circuit needs log space
        return exact


def _is_zero(x: torch.Tensor, log: bool) -> torch.Tensor:
    return torch.isneginf(x) if log else x <= 0
