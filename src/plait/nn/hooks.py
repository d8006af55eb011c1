"""The loss hook of :func:`plait.fit`: what a step shows a hook, and the checks on what it returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch

from ..errors import PlaitError, TrainingError
from .model import Model
from .templates import show

__all__ = ["Step", "extra_terms"]


@dataclass
class Step:
    """One training step as a loss hook (``fit(extra_loss=...)``) sees it.

    ``log_probs`` are the ``[batch, columns]`` log probabilities the task loss
    indexes with ``targets``, ``loss`` is that task loss (a scalar with its
    graph), and :meth:`outputs` gives the networks' outputs of this very step
    (the circuit's inputs, with their graph): a hook adds terms to the loss
    without running a network twice.

    >>> # def entropy(step):  # keep the batch's mean digit distribution spread out
    >>> #     mean = step.outputs("digit_net").mean((0, 1))
    >>> #     return (mean * mean.log()).sum()
    >>> # plait.fit(model, "addition(A, B, Z)", train, extra_loss=entropy)
    """

    model: Model
    query: str
    epoch: int
    rows: torch.Tensor
    inputs: Mapping[str, object]
    targets: torch.Tensor
    log_probs: torch.Tensor
    loss: torch.Tensor
    calls: list = field(default_factory=list, repr=False)

    @property
    def networks(self) -> list[str]:
        """The names of the networks that ran in this step."""
        return sorted({call.network for _t, results in self.calls for call, _ in results})

    def outputs(self, network: str) -> torch.Tensor:
        """``[n_uses, batch, width]``: every output of ``network`` in this step, one row per use.

        (``addition(A, B, Z)`` uses ``digit_net`` twice: ``outputs("digit_net")[0]``
        is its output for ``A``, ``[1]`` for ``B``; :meth:`output` picks by input.)
        """
        found = [outs for _t, results in self.calls for call, outs in results if call.network == network]
        if not found:
            raise TrainingError(
                f"the network {network!r} did not run in this step of {self.query}",
                hint=f"the networks of this step are {', '.join(self.networks) or 'none'}",
            )
        return found[0] if len(found) == 1 else torch.cat(found, dim=0)

    def output(self, network: str, input: str) -> torch.Tensor:
        """``[batch, width]``: the output of ``network`` on the template input ``input`` (e.g. ``"A"``)."""
        for _t, results in self.calls:
            for call, outs in results:
                if call.network != network:
                    continue
                for i, src in enumerate(call.sources):
                    if [show(x) for x in src.inputs] == [input]:
                        return outs[i]
        uses = [
            ", ".join(show(x) for x in src.inputs)
            for _t, results in self.calls
            for call, _ in results
            if call.network == network
            for src in call.sources
        ]
        raise TrainingError(
            f"the network {network!r} was not applied to the input {input} in this step of {self.query}",
            hint=f"its inputs in this step: {'; '.join(uses) or 'none (it did not run)'}",
        )


def extra_terms(
    extra_loss: Callable[[Step], torch.Tensor | Mapping[str, torch.Tensor]], step: Step
) -> dict[str, torch.Tensor]:
    """The hook's terms by name, each checked to be a finite scalar tensor."""
    try:
        got = extra_loss(step)
    except PlaitError:
        raise
    except Exception as e:
        raise TrainingError(
            f"the extra_loss hook raised {type(e).__name__}: {e}",
            hint="extra_loss is a function of a plait.nn.train.Step returning a scalar tensor; its error is chained",
        ) from e
    terms = dict(got) if isinstance(got, Mapping) else {"loss": got}
    out = {}
    for name, term in terms.items():
        key = f"extra_{name}"
        if not isinstance(term, torch.Tensor) or term.numel() != 1:
            what = (
                type(term).__name__ if not isinstance(term, torch.Tensor) else f"a tensor of shape {list(term.shape)}"
            )
            raise TrainingError(
                f"the extra_loss term {key} is {what}, not a scalar tensor",
                hint="return a scalar tensor (e.g. x.mean()) or a dict of them, computed from the step's outputs",
            )
        if not bool(torch.isfinite(term.detach()).all()):
            raise TrainingError(
                f"the extra_loss term {key} is {float(term.detach())} in epoch {step.epoch}",
                hint="clamp probabilities before taking their log (x.clamp_min(1e-12).log())",
            )
        out[key] = term.reshape(())
    return out
