"""Answering many queries of one template: fixed-size batches through the compiled template, in bounded memory.

A test set, or any number of ground queries of one template (one row of
inputs each), streams through the template compiled once: each batch runs the
networks and the circuit without autograd (``torch.no_grad``), and its answers
are moved to the CPU before the next batch starts, so memory holds one batch's
tensors plus what the caller keeps. With ``torch.distributed`` each process
answers a contiguous share of the rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch

from ..errors import TrainingError
from .distributed import Cluster, DistributedOptions, resolve_options
from .model import Model, eval_mode
from .train import InputColumn, QueryData, _progress_bar

__all__ = ["AnswerBatch", "answer_batches", "answer_all", "OUTPUTS"]

#: what a batch of answers holds: ``[b, n_answers]`` probabilities or their logs, or ``[b]`` predicted columns
OUTPUTS = ("probabilities", "log_probabilities", "prediction")


@dataclass(frozen=True, slots=True)
class AnswerBatch:
    """One batch of answers: ``rows`` (the examples' positions in the data) and their ``values`` (on the CPU).

    ``values`` is ``[b, n_answers]`` for ``"probabilities"`` and
    ``"log_probabilities"`` (columns in the order of ``template.answers``) and
    ``[b]`` answer columns for ``"prediction"`` (the most probable world's answer).
    """

    rows: torch.Tensor
    values: torch.Tensor


def answer_batches(
    model: Model,
    query: str,
    data: QueryData | Mapping[str, InputColumn | Sequence[InputColumn]],
    *,
    batch_size: int = 1024,
    output: str = "probabilities",
    progress: bool = True,
    distributed: DistributedOptions | bool | None = None,
    device: torch.device | str | None = None,
) -> Iterator[AnswerBatch]:
    """Answer every example of ``data`` in batches of ``batch_size``, lazily: a generator of :class:`AnswerBatch`.

    ``data`` is a :class:`~plait.QueryData` (its targets are ignored) or a
    mapping of input columns as :class:`~plait.QueryData` takes them. A tqdm
    progress bar counts the examples (``progress=False`` hides it; only rank 0
    shows one). In a distributed run (by default when ``torchrun`` starts
    several processes; ``distributed=False`` answers everything here), each
    process answers its contiguous share of the rows: ``batch.rows`` says which.

    >>> # for batch in plait.answer_batches(model, "addition(A, B, Z)", test, batch_size=512):
    >>> #     store(batch.rows, batch.values)           # [512, 19] probabilities, on the CPU
    """
    if not isinstance(data, QueryData):
        data = QueryData(data)
    if batch_size < 1:
        raise TrainingError(f"batch_size must be at least 1, not {batch_size}")
    if output not in OUTPUTS:
        raise TrainingError(f"unknown output {output!r}", hint=f"choose one of {', '.join(OUTPUTS)}")
    cluster = Cluster.start(resolve_options(distributed), device if device is not None else model._default_device())
    dev = cluster.device
    model.template(query, data.inputs)  # type: ignore[arg-type]  # compiled once, before the first batch
    rows = cluster.shard(len(data))
    bar_cls = _progress_bar() if progress and cluster.is_main else None
    bar = bar_cls(total=len(rows), desc=f"answering {query}", unit="ex", leave=False) if bar_cls else None
    try:
        for start in range(rows.start, rows.stop, batch_size):
            idx = torch.arange(start, min(start + batch_size, rows.stop))
            # the context closes before the yield: a generator suspended inside no_grad would switch
            # autograd off in the caller's code too
            with eval_mode(model), torch.no_grad():
                inputs = data.batch(idx, dev)
                if output == "prediction":
                    values = model.predict(query, **inputs)  # type: ignore[arg-type]
                    values = values.expand(len(idx))
                else:
                    values = model.log_prob(query, **inputs)  # type: ignore[arg-type]
                    values = values.expand(len(idx), values.shape[1])
                    if output == "probabilities":
                        values = values.exp()
                values = values.cpu().contiguous()
            if bar is not None:
                bar.update(len(idx))
            yield AnswerBatch(idx, values)
    finally:
        if bar is not None:
            bar.close()


def answer_all(
    model: Model,
    query: str,
    data: QueryData | Mapping[str, InputColumn | Sequence[InputColumn]],
    *,
    batch_size: int = 1024,
    output: str = "probabilities",
    progress: bool = True,
    distributed: DistributedOptions | bool | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor | None:
    """Every example's answers as one CPU tensor, in the order of ``data`` (:func:`answer_batches`, collected).

    In a distributed run each process answers its share and rank 0 gets all
    of them (in order); the other processes get ``None``.

    >>> # probs = plait.answer_all(model, "addition(A, B, Z)", test)   # [len(test), 19]
    """
    parts = [
        b.values
        for b in answer_batches(
            model,
            query,
            data,
            batch_size=batch_size,
            output=output,
            progress=progress,
            distributed=distributed,
            device=device,
        )
    ]
    mine = torch.cat(parts) if parts else None
    cluster = Cluster.start(resolve_options(distributed), device if device is not None else model._default_device())
    if not cluster.grouped:
        return mine if mine is not None else _empty(model, query, data, output)
    gathered = cluster.gather(mine)
    if gathered is None:
        return None
    found = [g for g in gathered if g is not None]
    return torch.cat(found) if found else _empty(model, query, data, output)  # type: ignore[arg-type]


def _empty(model: Model, query: str, data: object, output: str) -> torch.Tensor:
    """The answers of no examples: ``[0, n_answers]`` (``[0]`` for predictions)."""
    inputs = data.inputs if isinstance(data, QueryData) else data
    n = len(model.template(query, inputs).answers)  # type: ignore[arg-type]
    dtype = torch.long if output == "prediction" else model.dtype
    return torch.zeros((0,) if output == "prediction" else (0, n), dtype=dtype)
