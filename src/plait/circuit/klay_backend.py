"""Optional evaluation backend on KLay (``pip install plait[klay]``).

KLay (klaycircuits) layerises SDDs into tensor modules, as plait's own
:mod:`~plait.circuit.layered` does; having both lets the golden tests check one
against the other. KLay supports the probability and log semirings only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import InferenceError
from .semiring import LOG_PROBABILITY, PROBABILITY, Semiring, get_semiring

__all__ = ["KlayCircuit", "klay_available"]


def klay_available() -> bool:
    try:
        import klay  # noqa: F401
    except ImportError:
        return False
    return True


class KlayCircuit(torch.nn.Module):
    """Same interface as :class:`~plait.circuit.layered.LayeredCircuit`, evaluated by KLay."""

    def __init__(self, roots: Sequence[object], n_vars: int) -> None:
        super().__init__()
        try:
            import klay
        except ImportError as e:
            raise InferenceError(
                "the 'klay' backend needs the klaycircuits package",
                hint="install it with: pip install 'plait[klay]'",
            ) from e
        self.n_vars = n_vars
        self.n_roots = len(roots)
        self.real = self.log = None
        if not roots:  # klay cannot build an empty circuit
            return
        circuit = klay.Circuit()
        for r in roots:
            circuit.add_sdd(r)
        self.real = circuit.to_torch_module(semiring="real", compile=False)
        self.log = circuit.to_torch_module(semiring="log", compile=False)

    def forward(self, weights: torch.Tensor, semiring: str | Semiring = PROBABILITY) -> torch.Tensor:
        sr = get_semiring(semiring)
        squeeze = weights.dim() == 1
        w = weights.unsqueeze(0) if squeeze else weights
        if self.real is None:
            out = w.new_zeros(w.shape[0], 0)
            return out.squeeze(0) if squeeze else out
        if sr is PROBABILITY:
            out = self.real(w, 1.0 - w)
        elif sr is LOG_PROBABILITY:
            out = self.log(torch.log(w), torch.log1p(-w))
        else:
            raise InferenceError(
                f"the klay backend does not support the {sr.name} semiring",
                hint="use backend='layered' for max-product and boolean evaluation",
            )
        out = out.reshape(w.shape[0], -1)
        return out.squeeze(0) if squeeze else out
