"""Training and answering across processes with ``torch.distributed``: the one home of plait's process groups.

:func:`plait.fit` and :func:`plait.answer_batches` see the processes through a
:class:`Cluster` and nothing else: which examples this process takes in an
epoch (:meth:`Cluster.epoch_rows`, a ``DistributedSampler``), its contiguous
share of a data set (:meth:`Cluster.shard`), the training forward with gradients
averaged over the processes (:meth:`Cluster.wrap`, ``DistributedDataParallel``),
sums of metrics over the processes (:meth:`Cluster.sum`) and whether this process
writes files (:attr:`Cluster.is_main`). A single process is a cluster of one, so
the training loop has one code path.

Launch with ``torchrun``, which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``; the backend is ``"nccl"`` when the
training device is a GPU and ``"gloo"`` otherwise (:class:`DistributedOptions`
overrides it).

Why DDP wraps a module that holds the whole :class:`~plait.Model`: the networks
are called inside the model (one forward per network per batch, concatenating
every use of it), not by the training loop, so the networks cannot be wrapped
one by one; the model's parameters are exactly the trainable ones (its
networks' and one logit tensor per ``t(...)`` clause), so DDP over a module
whose forward is the model's training forward averages exactly those
gradients, in buckets overlapped with the backward pass, and broadcasts rank
0's initial weights so that every process starts alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import torch
from torch import nn

from ..errors import TrainingError

__all__ = ["DistributedOptions", "Cluster", "resolve_options"]


@dataclass(frozen=True, slots=True)
class DistributedOptions:
    """How :func:`plait.fit` and :func:`plait.answer_batches` spread over processes.

    ``backend`` is ``None`` for automatic (``"nccl"`` when the device is a GPU,
    ``"gloo"`` otherwise). ``init_method`` is where the processes meet
    (``"env://"``: the address and port ``torchrun`` sets). ``timeout_s`` bounds
    every collective. ``find_unused_parameters`` is passed to DDP; ``None``
    decides from the query template (True when some trainable parameter is in
    no network or ``t(...)`` clause the template uses).

    Outside ``torchrun`` (no ``WORLD_SIZE`` in the environment and no process
    group) these options give a cluster of one process that takes its
    examples in the same order as a cluster of many: the same run with the
    global batch on one process.

    >>> DistributedOptions(backend="gloo").backend
    'gloo'
    """

    backend: str | None = None
    init_method: str = "env://"
    timeout_s: float = 1800.0
    find_unused_parameters: bool | None = None

    def __post_init__(self) -> None:
        if self.backend not in (None, "gloo", "nccl", "mpi"):
            raise TrainingError(
                f"unknown torch.distributed backend {self.backend!r}",
                hint="use None (automatic), 'gloo' (CPU), 'nccl' (GPU) or 'mpi'",
            )
        if not self.timeout_s > 0:
            raise TrainingError(f"timeout_s must be positive, not {self.timeout_s}")


def resolve_options(distributed: DistributedOptions | bool | None) -> DistributedOptions | None:
    """``None`` -> distributed when launched by ``torchrun`` with several processes (or a process group
    is up); ``False`` -> one process, plain order; ``True`` -> default options."""
    if isinstance(distributed, DistributedOptions):
        return distributed
    if distributed is True:
        return DistributedOptions()
    if distributed is False:
        return None
    if distributed is not None:
        raise TrainingError(
            f"distributed= takes a plait.DistributedOptions, True, False or None, not {type(distributed).__name__}"
        )
    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    group = torch.distributed.is_available() and torch.distributed.is_initialized()
    return DistributedOptions() if launched or group else None


class Cluster:
    """This process's view of the processes that train or answer together (one process: a cluster of one).

    >>> c = Cluster.start(None, torch.device("cpu"))
    >>> c.world_size, c.is_main, c.shard(10)
    (1, True, range(0, 10))
    """

    def __init__(
        self,
        rank: int,
        world_size: int,
        device: torch.device,
        options: DistributedOptions | None,
        backend: str | None = None,
    ) -> None:
        self.rank = rank
        self.world_size = world_size
        self.device = device
        self.options = options
        self.backend = backend

    @property
    def sampled(self) -> bool:
        """Whether epochs take their examples from a ``DistributedSampler`` (distributed options given)."""
        return self.options is not None

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints, writes logs, plots and checkpoints."""
        return self.rank == 0

    @property
    def grouped(self) -> bool:
        """Whether there are other processes to talk to."""
        return self.world_size > 1

    @classmethod
    def start(cls, options: DistributedOptions | None, device: torch.device | None) -> Cluster:
        """Join the process group (initialising it from ``torchrun``'s environment if needed)."""
        device = torch.device(device) if device is not None else torch.device("cpu")
        if options is None:
            return cls(0, 1, device, None)
        dist = torch.distributed
        up = dist.is_available() and dist.is_initialized()
        world = dist.get_world_size() if up else int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls(0, 1, device, options)
        if device.type == "cuda" and device.index is None:  # one GPU per process, as torchrun numbers them
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        backend = options.backend or ("nccl" if device.type == "cuda" else "gloo")
        if not up:
            if not dist.is_available():  # pragma: no cover - torch builds without distributed support
                raise TrainingError("this torch build has no torch.distributed", hint="install a standard torch build")
            if device.type == "cuda":
                torch.cuda.set_device(device)
            try:
                dist.init_process_group(
                    backend, init_method=options.init_method, timeout=timedelta(seconds=options.timeout_s)
                )
            except (RuntimeError, ValueError) as e:
                raise TrainingError(
                    f"cannot join the process group ({backend}, {options.init_method}): {e}",
                    hint="launch with torchrun (it sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)",
                ) from e
        else:
            backend = dist.get_backend()
        return cls(dist.get_rank(), dist.get_world_size(), device, options, backend)

    # ------------------------------------------------------------------ data

    def epoch_rows(self, n: int, seed: int, epoch: int) -> torch.Tensor:
        """This process's examples of ``epoch``, in order: a shuffled ``DistributedSampler`` over ``n`` examples.

        Every epoch is one seeded permutation (``seed + epoch``) cut into
        interleaved shares of equal length (the last few examples repeat when
        ``n`` is not a multiple of the processes), so batch ``k`` of every
        process together is batch ``k`` of one process with the global batch.
        """
        from torch.utils.data import DistributedSampler

        sampler = DistributedSampler(
            range(n), num_replicas=self.world_size, rank=self.rank, shuffle=True, seed=seed, drop_last=False
        )
        sampler.set_epoch(epoch)
        return torch.tensor(list(sampler), dtype=torch.long)

    def shard(self, n: int) -> range:
        """This process's contiguous share of ``n`` examples (for evaluation and answering: no repeats)."""
        per, extra = divmod(n, self.world_size)
        start = self.rank * per + min(self.rank, extra)
        return range(start, start + per + (1 if self.rank < extra else 0))

    # ------------------------------------------------------------------ training

    def wrap(
        self, module: nn.Module, forward: Callable[..., torch.Tensor], find_unused: bool
    ) -> Callable[..., torch.Tensor]:
        """``forward(module, *args)`` whose backward averages the gradients of ``module`` over the processes."""
        if not self.grouped:
            return lambda *args: forward(module, *args)
        from torch.nn.parallel import DistributedDataParallel

        assert self.options is not None
        if self.options.find_unused_parameters is not None:
            find_unused = self.options.find_unused_parameters
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(
            _Forward(module, forward), device_ids=ids, output_device=ids[0] if ids else None,
            find_unused_parameters=find_unused,
        )  # fmt: skip

    # ------------------------------------------------------------------ collectives

    def _tensor(self, values: Sequence[float]) -> torch.Tensor:
        device = self.device if self.backend == "nccl" else torch.device("cpu")
        return torch.tensor(list(values), dtype=torch.float64, device=device)

    def sum(self, values: Sequence[float]) -> list[float]:
        """The sums of ``values`` over the processes (every process gets them)."""
        if not self.grouped:
            return list(values)
        t = self._tensor(values)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.SUM)
        return t.tolist()

    def max(self, values: Sequence[float]) -> list[float]:
        """The maxima of ``values`` over the processes."""
        if not self.grouped:
            return list(values)
        t = self._tensor(values)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return t.tolist()

    def gather(self, obj: object) -> list[object] | None:
        """Every process's ``obj`` in rank order on rank 0 (None elsewhere)."""
        if not self.grouped:
            return [obj]
        out: list[object] | None = [None] * self.world_size if self.is_main else None
        torch.distributed.gather_object(obj, out, dst=0)
        return out

    def broadcast(self, obj: object) -> object:
        """Rank 0's ``obj`` on every process."""
        if not self.grouped:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        """Wait until every process gets here (e.g. until rank 0 has written a checkpoint)."""
        if self.grouped:
            torch.distributed.barrier()


class _Forward(nn.Module):
    """The module DDP wraps: it holds the model (so all its parameters) and runs ``forward(model, *args)``."""

    def __init__(self, module: nn.Module, forward: Callable[..., torch.Tensor]) -> None:
        super().__init__()
        self.module = module
        self._fn = forward

    def forward(self, *args: object) -> torch.Tensor:
        return self._fn(self.module, *args)
