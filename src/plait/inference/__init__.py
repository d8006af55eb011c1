"""Weights -> circuit -> answers: the one home of inference for every caller.

``Program.query``/``compile``, :class:`CompiledQuery`, neural models,
explanations and the modes all go through this package:

- :class:`InferenceOptions` (options.py): the one frozen options object;
- :func:`compile_ground_program` and :class:`CompiledQuery` (compiled.py): a
  ground program compiled once, evaluated many times;
- weights.py: leaf weights, built in one place;
- evaluate.py: conditioning on evidence through the semiring, and the automatic
  log-space fallback (:class:`AutoLogSpace`);
- mpe.py: the explanation circuit (most probable worlds, possibilistic max-min);
- fuzzy.py: t-norm semantics, evaluated on the ground program's rules.

It sits above ``compile/`` and ``circuit/`` and below ``nn/``, ``modes/`` and ``cli/``.
"""

from . import fuzzy
from .answer import program_answers
from .compiled import CompiledQuery, compile_ground_program, query_name, query_probability
from .evaluate import AutoLogSpace, answers
from .mpe import MpeCircuit, build_mpe_circuit
from .options import InferenceOptions
from .weights import SharedChoices, choice_literals, circuit_weights

__all__ = [
    "InferenceOptions",
    "CompiledQuery",
    "compile_ground_program",
    "query_probability",
    "query_name",
    "program_answers",
    "fuzzy",
    "AutoLogSpace",
    "answers",
    "MpeCircuit",
    "build_mpe_circuit",
    "SharedChoices",
    "circuit_weights",
    "choice_literals",
]
