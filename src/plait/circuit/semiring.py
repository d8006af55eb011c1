"""Semirings: a small protocol and its built-in instances.

A semiring owns its zero and one, its product (``mul``) and sum (``segment_sum``,
over segments of values), the value of a positive and a negative literal given
the variable's probability, how a query's value is conditioned on the evidence
(``normalize``), and ``form``: the structure it is correct on.

- ``"circuit"``: the compiled SDD with annotated disjunctions as independent
  sequential coins. Correct for sum-product semirings (algebraic model counting
  on a deterministic, decomposable circuit): ``PROBABILITY`` (linear space),
  ``LOG_PROBABILITY`` (log space, stabilised log-sum-exp) and ``BOOLEAN``
  (satisfiability). ``MAX_PRODUCT`` is exact there only without annotated
  disjunctions (a maximum does not add the later coins of a group up to one),
  which ``sequential_ok`` says.
- ``"choices"``: the explanation circuit, where each annotated disjunction is an
  exactly-one constraint (see :class:`plait.inference.MpeCircuit`); a semiring
  of this form says how a fact and an annotated disjunction become literal
  values (``fact_literals``, ``ad_literals``, each with an offset that
  ``mul`` combines with the root). ``MAX_LOG`` (most probable worlds) and
  ``POSSIBILITY`` (possibilistic max-min) are evaluated there.
- ``"ground"``: the ground program's rules themselves (fuzzy t-norms, see
  :mod:`plait.inference.fuzzy`), whose value depends on the formula's form.

User-defined semirings implement the same protocol and are made selectable by
name with :func:`register_semiring`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

__all__ = [
    "Semiring",
    "PROBABILITY",
    "LOG_PROBABILITY",
    "MAX_PRODUCT",
    "MAX_LOG",
    "BOOLEAN",
    "POSSIBILITY",
    "SEMIRINGS",
    "get_semiring",
    "register_semiring",
]


class Semiring(Protocol):
    name: str
    one: float
    zero: float
    form: str  # "circuit", "choices" or "ground" (see the module docstring)
    sequential_ok: bool  # on "circuit": exact with annotated disjunctions as sequential coins

    def positive(self, p: torch.Tensor) -> torch.Tensor: ...

    def negative(self, p: torch.Tensor) -> torch.Tensor: ...

    def mul(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor: ...

    def segment_sum(self, x: torch.Tensor, seg: torch.Tensor, n: int) -> torch.Tensor: ...

    def to_probability(self, x: torch.Tensor) -> torch.Tensor: ...

    def to_log(self, x: torch.Tensor) -> torch.Tensor:
        """Values as log probabilities."""
        ...

    def is_zero(self, x: torch.Tensor) -> torch.Tensor:
        """Where ``x`` is the semiring's zero (impossible evidence)."""
        ...

    def normalize(self, q: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """The value of a query given the evidence, from the values of ``query and evidence`` and of ``evidence``."""
        ...


@dataclass(frozen=True)
class _Probability:
    name: str = "probability"
    one: float = 1.0
    zero: float = 0.0
    form: str = "circuit"
    sequential_ok: bool = True

    def positive(self, p):
        return p

    def negative(self, p):
        return 1.0 - p

    def mul(self, a, b):
        return a * b

    def segment_sum(self, x, seg, n):
        out = x.new_zeros(x.shape[0], n)
        return out.index_add(1, seg, x)

    def to_probability(self, x):
        return x

    def to_log(self, x):
        return safe_log(x)  # exact unless the linear-space value underflowed

    def is_zero(self, x):
        return x <= 0

    def normalize(self, q, e):
        return q / e


class _SafeLog(torch.autograd.Function):
    """``log(x)`` whose gradient is 0 (not NaN) where no gradient flows in.

    A probability of exactly 0 (a one-hot network output, the last coin of a
    complete AD's sequential encoding) is ``-inf`` in log space; the circuit
    multiplies its gradient by 0, and ``0 * inf`` would poison every parameter
    with NaN.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return torch.where(grad == 0, torch.zeros_like(grad), grad / x)


class _SafeLog1mP(torch.autograd.Function):
    """``log(1 - p)`` (as ``log1p(-p)``) with the same zero-gradient guard as :class:`_SafeLog`."""

    @staticmethod
    def forward(ctx, p):
        ctx.save_for_backward(p)
        return torch.log1p(-p)

    @staticmethod
    def backward(ctx, grad):
        (p,) = ctx.saved_tensors
        return torch.where(grad == 0, torch.zeros_like(grad), -grad / (1 - p))


def safe_log(x: torch.Tensor) -> torch.Tensor:
    return _SafeLog.apply(x) if x.requires_grad else torch.log(x)


def safe_log1m(p: torch.Tensor) -> torch.Tensor:
    return _SafeLog1mP.apply(p) if p.requires_grad else torch.log1p(-p)


@dataclass(frozen=True)
class _LogProbability:
    name: str = "log"
    one: float = 0.0
    zero: float = float("-inf")
    form: str = "circuit"
    sequential_ok: bool = True

    def positive(self, p):
        return safe_log(p)

    def negative(self, p):
        return safe_log1m(p)

    def mul(self, a, b):
        return a + b

    def segment_sum(self, x, seg, n):
        # log-sum-exp per segment, shifted by the (detached) segment maximum
        idx = seg.unsqueeze(0).expand_as(x)
        m = x.new_full((x.shape[0], n), float("-inf")).scatter_reduce(1, idx, x.detach(), "amax", include_self=True)
        m = torch.nan_to_num(m, neginf=0.0)  # an all-zero segment: shift by 0, its sum stays 0 (-inf)
        s = x.new_zeros(x.shape[0], n).index_add(1, seg, torch.exp(x - m.gather(1, idx)))
        return safe_log(s) + m

    def to_probability(self, x):
        return torch.exp(x)

    def to_log(self, x):
        return x

    def is_zero(self, x):
        # in log space test for -inf, not exp(x) == 0: tiny evidence is fine here
        return torch.isneginf(x)

    def normalize(self, q, e):
        return q - e


@dataclass(frozen=True)
class _MaxProduct(_Probability):
    """Probability weights and products; sums become maxima (most probable world).

    Its value of ``query and evidence`` is already what it answers (the best world
    consistent with both), so :meth:`normalize` keeps it.
    """

    name: str = "max-product"
    sequential_ok: bool = False

    def normalize(self, q, e):
        return q

    def segment_sum(self, x, seg, n):
        idx = seg.unsqueeze(0).expand_as(x)
        return x.new_zeros(x.shape[0], n).scatter_reduce(1, idx, x, "amax", include_self=True)


@dataclass(frozen=True)
class _Boolean(_MaxProduct):
    """0/1 values: product is min, sum is max."""

    name: str = "boolean"
    sequential_ok: bool = True  # satisfiable head sets survive the sequential encoding

    def positive(self, p):
        return (p > 0).to(p.dtype)

    def negative(self, p):
        return (p < 1).to(p.dtype)

    def mul(self, a, b):
        return torch.minimum(a, b)


@dataclass(frozen=True)
class _MaxLog(_LogProbability):
    """Log weights; products are sums and sums are maxima: the log probability of the best world.

    On the explanation circuit a fact weighs ``p / max(p, 1 - p)`` (so a fact the
    circuit leaves out counts as its more likely value) and ``offset`` adds
    ``log max(p, 1 - p)`` back; a head weighs its probability.
    """

    name: str = "max-log"
    form: str = "choices"

    def fact_literals(self, p):
        best = torch.log(torch.maximum(p, 1 - p))
        return torch.log(p) - best, torch.log1p(-p) - best, best.sum(-1)

    def ad_literals(self, heads, rest):
        return torch.log(heads), torch.log(rest), heads.new_zeros(heads.shape[0])

    def normalize(self, q, e):
        return q  # the log probability of the best world of query and evidence (see _MaxProduct)

    def segment_sum(self, x, seg, n):
        idx = seg.unsqueeze(0).expand_as(x)
        return x.new_full((x.shape[0], n), float("-inf")).scatter_reduce(1, idx, x, "amax", include_self=True)


@dataclass(frozen=True)
class _Possibility:
    """Possibilistic max-min (as in Π-NeSy): the possibility degree of the most plausible world.

    Each choice's probabilities become possibility degrees by the normalisation
    ``π_i = p_i / max_j p_j`` over its alternatives (a fact: ``a`` and ``not a``; an
    annotated disjunction: its heads and "none"), so the most plausible alternative
    has degree 1. A world's degree is the minimum over its choices, a query's the
    maximum over its worlds; conditioning is product-based, ``Π(q | e) = Π(q, e) / Π(e)``.
    """

    name: str = "max-min"
    one: float = 1.0
    zero: float = 0.0
    form: str = "choices"
    sequential_ok: bool = False

    def positive(self, p):
        return p

    def negative(self, p):
        return 1.0 - p

    def mul(self, a, b):
        return torch.minimum(a, b)

    def segment_sum(self, x, seg, n):
        idx = seg.unsqueeze(0).expand_as(x)
        return x.new_zeros(x.shape[0], n).scatter_reduce(1, idx, x, "amax", include_self=True)

    def to_probability(self, x):
        return x  # a possibility degree in [0, 1]

    def to_log(self, x):
        return safe_log(x)

    def is_zero(self, x):
        return x <= 0

    def normalize(self, q, e):
        return q / e

    def fact_literals(self, p):
        best = torch.maximum(p, 1 - p)
        return p / best, (1 - p) / best, p.new_ones(p.shape[0])

    def ad_literals(self, heads, rest):
        best = torch.maximum(heads.amax(-1) if heads.shape[-1] else rest, rest).unsqueeze(-1)
        return heads / best, rest / best.squeeze(-1), heads.new_ones(heads.shape[0])


PROBABILITY: Semiring = _Probability()
POSSIBILITY: Semiring = _Possibility()
MAX_LOG: Semiring = _MaxLog()
LOG_PROBABILITY: Semiring = _LogProbability()
MAX_PRODUCT: Semiring = _MaxProduct()
BOOLEAN: Semiring = _Boolean()
SEMIRINGS = {s.name: s for s in (PROBABILITY, LOG_PROBABILITY, MAX_PRODUCT, BOOLEAN, MAX_LOG, POSSIBILITY)}


def register_semiring(semiring: Semiring) -> Semiring:
    """Make a user-defined semiring selectable by its name (``semiring="name"`` in options and on the CLI).

    >>> import dataclasses
    >>> double = register_semiring(dataclasses.replace(PROBABILITY, name="probability-copy"))
    >>> get_semiring("probability-copy") is double
    True
    """
    if semiring.name in SEMIRINGS and SEMIRINGS[semiring.name] is not semiring:
        from ..errors import InferenceError

        raise InferenceError(f"a semiring named {semiring.name!r} exists already", hint="give yours another name")
    SEMIRINGS[semiring.name] = semiring
    return semiring


def get_semiring(s: str | Semiring) -> Semiring:
    if isinstance(s, str):
        try:
            return SEMIRINGS[s]
        except KeyError:
            from ..errors import InferenceError

            raise InferenceError(f"unknown semiring {s!r}", hint=f"choose one of {', '.join(SEMIRINGS)}") from None
    return s
