"""A ground program's answers under inference options: the route ``Program.query`` takes."""

from __future__ import annotations

import torch

from ..circuit.semiring import get_semiring
from ..ground.ground_program import GroundProgram
from .compiled import compile_ground_program, query_name
from .evaluate import AutoLogSpace
from .fuzzy import truth_values
from .options import AUTO, InferenceOptions

__all__ = ["program_answers"]


def program_answers(program: GroundProgram, options: InferenceOptions) -> dict[str, torch.Tensor]:
    """The answers of a ground program's queries under ``options``, keyed by atom.

    The semiring's ``form`` decides the route: ``"ground"`` semirings (fuzzy t-norms) are
    evaluated on the rules themselves, all others on the compiled circuit.

    >>> import plait
    >>> gp = plait.Program.from_string("0.4::a. query(a).").ground()
    >>> float(program_answers(gp, InferenceOptions())["a"])
    0.4
    """
    if options.semiring != AUTO and get_semiring(options.semiring).form == "ground":
        values = truth_values(program, get_semiring(options.semiring), dtype=options.dtype)[0]
        return {query_name(q.term, q.negated): values[i] for i, q in enumerate(program.queries)}
    compiled = compile_ground_program(program, options)
    return compiled.as_dict(AutoLogSpace(options.semiring).answers(compiled, compiled.leaf_weights(), log=False))
