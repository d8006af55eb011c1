"""plait: neuro-symbolic programming for Python and PyTorch.

Write ProbLog-style logic programs, get exact probabilities by knowledge
compilation, evaluated as batched, differentiable tensor circuits.

>>> import plait
>>> p = plait.Program.from_string("0.3::rain. 0.6::sprinkler. wet :- rain. wet :- sprinkler. query(wet).")
>>> {k: round(float(v), 2) for k, v in p.query().items()}
{'wet': 0.72}
"""

from .circuit.semiring import BOOLEAN, LOG_PROBABILITY, MAX_PRODUCT, PROBABILITY, Semiring
from .errors import (
    CallModeError,
    CompilationBudgetError,
    CompilationError,
    GroundingError,
    GroundingLimitError,
    InconsistentEvidenceError,
    InferenceError,
    NeedsNetworkError,
    NeuralError,
    NonGroundError,
    NonStratifiedError,
    ParseError,
    PlaitError,
    ProgramError,
    TrainingError,
    UnknownPredicateError,
)
from .ground.engine import Limits
from .inference import CompiledQuery, InferenceOptions
from .inference.approx import Estimate
from .modes.dt import Strategy, dt
from .modes.explain import Proof, QueryProofs, proofs
from .modes.lfi import LearnedProgram, lfi, read_examples
from .modes.mpe import Assignment, MostProbableWorld, mpe
from .modes.sample import sample
from .nn.distributed import DistributedOptions
from .nn.explain import Choice, Explanation
from .nn.model import Model
from .nn.streaming import AnswerBatch, answer_all, answer_batches
from .nn.templates import Template, to_python
from .nn.train import Gather, History, QueryData, Step, evaluate, fit, load_checkpoint, save_checkpoint
from .program import Program
from .syntax.parser import parse_program, parse_term
from .syntax.printing import format_term

__version__ = "0.1.0"

__all__ = [
    "Program",
    "CompiledQuery",
    "InferenceOptions",
    "Estimate",
    "Model",
    "Template",
    "to_python",
    "Explanation",
    "Choice",
    "fit",
    "evaluate",
    "QueryData",
    "Gather",
    "History",
    "Step",
    "save_checkpoint",
    "load_checkpoint",
    "DistributedOptions",
    "answer_batches",
    "answer_all",
    "AnswerBatch",
    "Limits",
    "mpe",
    "MostProbableWorld",
    "Assignment",
    "sample",
    "lfi",
    "read_examples",
    "LearnedProgram",
    "proofs",
    "QueryProofs",
    "Proof",
    "dt",
    "Strategy",
    "parse_program",
    "parse_term",
    "format_term",
    "Semiring",
    "PROBABILITY",
    "LOG_PROBABILITY",
    "MAX_PRODUCT",
    "BOOLEAN",
    "PlaitError",
    "ParseError",
    "ProgramError",
    "NeedsNetworkError",
    "GroundingError",
    "UnknownPredicateError",
    "CallModeError",
    "NonGroundError",
    "NonStratifiedError",
    "GroundingLimitError",
    "CompilationError",
    "CompilationBudgetError",
    "InferenceError",
    "InconsistentEvidenceError",
    "NeuralError",
    "TrainingError",
    "__version__",
]
