"""A ground program's answers under inference options: the route ``Program.query`` takes."""

from __future__ import annotations

import torch

from ..circuit.semiring import get_semiring
from ..ground.ground_program import GroundProgram
from .approx import approximate_answers
from .compiled import compile_ground_program, query_name
from .evaluate import AutoLogSpace
from .fuzzy import truth_values
from .options import AUTO, InferenceOptions
from .wmc import counts_in_sdd, sdd_answers

__all__ = ["program_answers"]


def program_answers(program: GroundProgram, options: InferenceOptions) -> dict[str, torch.Tensor]:
    """The answers of a ground program's queries under ``options``, keyed by atom.

    ``options.method`` other than ``"exact"`` goes to :mod:`plait.inference.approx`.
    The semiring's ``form`` decides the route: ``"ground"`` semirings (fuzzy t-norms) are
    evaluated on the rules themselves. The probability semirings (``"log"``,
    ``"probability"``, ``"auto"``) on the default backend are answered by weighted
    model counting inside the SDD library (no tensor circuit is built: these answers
    need no gradients and no batch); all others on the compiled circuit.

    >>> import plait
    >>> gp = plait.Program.from_string("0.4::a. query(a).").ground()
    >>> float(program_answers(gp, InferenceOptions())["a"])
    0.4
    """
    if options.method != "exact":
        return approximate_answers(program, options)
    if options.semiring != AUTO and get_semiring(options.semiring).form == "ground":
        values = truth_values(program, get_semiring(options.semiring), dtype=options.dtype)[0]
        return {query_name(q.term, q.negated): values[i] for i, q in enumerate(program.queries)}
    if counts_in_sdd(options):
        return sdd_answers(program, options)
    compiled = compile_ground_program(program, options)
    return compiled.as_dict(AutoLogSpace(options.semiring).answers(compiled, compiled.leaf_weights(), log=False))
