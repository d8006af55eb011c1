"""Training a :class:`~plait.nn.model.Model` through the logic: ``fit``, data, logs, checkpoints.

The loss is the negative log probability of the observed answer of a query
template (``addition(A, B, Z)`` with ``Z`` observed), so the networks learn
from the symbolic task's labels alone. Each epoch writes one row of metrics
(loss, task accuracy, time, throughput, anything from ``metrics=``) to
``metrics.csv`` and ``metrics.json``, redraws ``curves.png`` and saves a
safetensors checkpoint; a progress bar shows loss and examples per second.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import InferenceError, PlaitError, TrainingError
from .checkpoints import (
    TRAINING_STATE,
    TrainingState,
    check_resumable,
    load_checkpoint,
    resume_state,
    rng_state,
    save_checkpoint,
    save_training_state,
    set_rng_state,
)
from .distributed import Cluster, DistributedOptions, resolve_options
from .hooks import Step, extra_terms
from .model import Model, eval_mode

__all__ = [
    "Gather",
    "QueryData",
    "History",
    "Step",
    "fit",
    "evaluate",
    "save_checkpoint",
    "load_checkpoint",
    "seed_everything",
    "DistributedOptions",
]


class Gather:
    """A lazy ``source[index]`` input: images stay in one tensor, examples hold indices.

    >>> g = Gather(torch.arange(10.0), torch.tensor([3, 1]))
    >>> g[torch.tensor([1])]
    tensor([1.])
    """

    def __init__(self, source: torch.Tensor, index: torch.Tensor) -> None:
        self.source = source
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, rows: torch.Tensor) -> torch.Tensor:
        return self.source[self.index[rows]]


InputColumn = torch.Tensor | Gather


@dataclass
class QueryData:
    """Examples for a query template: input columns (one row per example) and observed answers.

    ``inputs`` maps each input variable to a tensor or :class:`Gather` with one
    row per example, or to a list of them for a variable bound to a list.
    ``targets`` holds the observed value of the template's free variable per
    example (ints, terms or tuples for several free variables); None means the
    query itself is observed to be true. For a query without free variables
    (``coin(1)``), targets may be ``True``/``False`` per example: the query is
    observed to be true or false. Without inputs (``QueryData({}, targets)``)
    every example is the same query and only the observations differ, which
    is how ``t(...)`` parameters are learned from counts.

    >>> data = QueryData({"A": torch.zeros(4, 1, 8, 8), "B": torch.zeros(4, 1, 8, 8)}, [0, 1, 2, 3])
    >>> len(data)
    4
    >>> len(QueryData({}, targets=[True, False, True]))
    3
    """

    inputs: Mapping[str, InputColumn | Sequence[InputColumn]]
    targets: Sequence[object] | torch.Tensor | None = None

    def __post_init__(self) -> None:
        lengths = {len(c) for c in self._columns()}
        if self.targets is not None:
            lengths.add(len(self.targets))
        if not lengths:
            raise TrainingError(
                "the query data has neither input columns nor targets, so it holds no examples",
                hint="give targets (one observation per example), e.g. QueryData({}, targets=[True, False])",
            )
        if len(lengths) != 1:
            raise TrainingError(
                f"the columns of the query data have different lengths {sorted(lengths)}",
                hint="every input column and the targets need one row per example",
            )

    def _columns(self) -> list[InputColumn]:
        out: list[InputColumn] = []
        for v in self.inputs.values():
            out.extend(v if isinstance(v, (list, tuple)) else [v])
        return out

    def __len__(self) -> int:
        columns = self._columns()
        return len(columns[0]) if columns else len(self.targets)  # type: ignore[arg-type]

    def batch(self, rows: torch.Tensor, device: torch.device | None = None) -> dict[str, object]:
        def take(c: InputColumn) -> torch.Tensor:
            x = c[rows]
            return x.to(device, non_blocking=True) if device is not None else x

        out: dict[str, object] = {}
        for k, v in self.inputs.items():
            out[k] = [take(c) for c in v] if isinstance(v, (list, tuple)) else take(v)
        return out


@dataclass
class History:
    """Per-epoch metrics of a :func:`fit` run (also written to ``log_dir``)."""

    rows: list[dict[str, float]] = field(default_factory=list)
    log_dir: Path | None = None
    #: with ``fit(keep_best=...)``: the epoch whose weights the model holds at the end
    best_epoch: int | None = None

    def __getitem__(self, key: str) -> list[float]:
        """One metric per epoch: ``history["train_loss"]``."""
        if not isinstance(key, str):
            raise TypeError(f"History is indexed by a metric name, not {type(key).__name__}: history['train_loss']")
        return [r[key] for r in self.rows if key in r]

    def __len__(self) -> int:
        """The number of epochs run."""
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, float]]:
        """The rows of metrics, one per epoch (without this, ``for row in history`` would call
        ``history[0]``, ``history[1]``, ... forever)."""
        return iter(self.rows)

    @property
    def last(self) -> dict[str, float]:
        return self.rows[-1] if self.rows else {}

    @property
    def best(self) -> dict[str, float]:
        """The row of :attr:`best_epoch` (the last row when no best epoch was kept)."""
        if self.best_epoch is None:
            return self.last
        return self.rows[self.best_epoch - 1]


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator for shuffling."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def _target_columns(model: Model, query: str, data: QueryData) -> tuple[torch.Tensor | None, bool]:
    """The observed column per example, and whether the columns are [true, false] of a ground query.

    A query without free variables has one answer, the query itself; targets
    ``True``/``False`` observe it as true (column 0 of :func:`_observed`) or
    false (column 1).
    """
    t = model.template(query, data.inputs)  # type: ignore[arg-type]
    if data.targets is None:
        if len(t.answers) != 1:
            raise TrainingError(
                f"the query template {query} has {len(t.answers)} answers but the data has no targets",
                hint=f"give targets for its free variables ({', '.join(t.outputs)})",
            )
        return None, False
    if not t.outputs:
        values = data.targets.tolist() if isinstance(data.targets, torch.Tensor) else list(data.targets)
        if not all(isinstance(v, bool) or v in (0, 1) for v in values):
            bad = next(v for v in values if not (isinstance(v, bool) or v in (0, 1)))
            raise TrainingError(
                f"the query {query} has no free variables, so a target says whether it is true, not {bad!r}",
                hint="give True or False per example (or targets=None when it is always observed true)",
            )
        return torch.tensor([0 if v else 1 for v in values], dtype=torch.long), True
    try:
        return t.targets(data.targets), False  # type: ignore[arg-type]
    except InferenceError as e:
        raise TrainingError(f"a target is not an answer of {query}: {e.message}", hint=e.hint) from None


def _observed(logp: torch.Tensor, rows: int, true_false: bool) -> torch.Tensor:
    """``logp`` as ``[rows, columns]`` that the target columns index.

    Without inputs the model answers once for the whole batch (``[1, n]``), so
    the row is shared. For a ground query observed true or false, the columns
    are ``[log P(q), log(1 - P(q))]``.
    """
    if logp.shape[0] != rows:
        logp = logp.expand(rows, logp.shape[1])
    if true_false:
        # log(1 - p) from log p (Maechler's log1mexp: accurate for p near 0 and near 1).
        # Clamping keeps both branches finite, so torch.where passes no NaN gradient
        # from the branch it does not take.
        a = (-logp).clamp_min(torch.finfo(logp.dtype).tiny)
        log_not = torch.where(a < math.log(2), torch.log(-torch.expm1(-a)), torch.log1p(-torch.exp(-a)))
        logp = torch.cat([logp, log_not], dim=1)
    return logp


def _evaluation_sums(
    model: Model, query: str, data: QueryData, rows: range, batch_size: int, device: torch.device
) -> tuple[float, float, float]:
    """``(correct, examples, loss sum)`` over the examples ``rows`` of ``data`` (the metrics' numerators)."""
    cols, true_false = _target_columns(model, query, data)
    correct, total, loss_sum = 0, 0, 0.0
    with eval_mode(model), torch.no_grad():
        for start in range(rows.start, rows.stop, batch_size):
            batch = torch.arange(start, min(start + batch_size, rows.stop))
            inputs = data.batch(batch, device)
            logp = _observed(model.log_prob(query, **inputs), len(batch), true_false)  # type: ignore[arg-type]
            target = torch.zeros(len(batch), dtype=torch.long) if cols is None else cols[batch]
            target = target.to(logp.device)
            loss_sum += float(-logp.gather(1, target[:, None]).sum())
            if cols is None or true_false:  # "correct" when the observed truth value is more likely than not
                correct += int((logp.gather(1, target[:, None])[:, 0] > math.log(0.5)).sum())
            else:
                pred = model.predict(query, **inputs).expand(len(batch))  # type: ignore[arg-type]
                correct += int((pred == target).sum())
            total += len(batch)
    return correct, total, loss_sum


def evaluate(
    model: Model, query: str, data: QueryData, batch_size: int = 256, device: torch.device | str | None = None
) -> dict[str, float]:
    """Task accuracy (prediction by the most probable world) and mean loss on ``data``.

    Without targets (the query itself is observed), accuracy is the share of
    examples where the query is more likely than not.
    """
    device = torch.device(device) if device is not None else model._default_device()
    correct, total, loss_sum = _evaluation_sums(model, query, data, range(len(data)), batch_size, device)
    return {"accuracy": correct / max(total, 1), "loss": loss_sum / max(total, 1)}


def _answer_log_probs(model: Model, query: str, inputs: dict, watched: torch.Tensor | None) -> torch.Tensor:
    """The training forward (what DDP wraps in a distributed run)."""
    return model.answer_log_probs(query, inputs, watched)


def _unused_parameters(model: Model, query: str, data: QueryData) -> bool:
    """Whether some trainable parameter is in no network or ``t(...)`` clause that the template uses."""
    t = model.template(query, data.inputs)  # type: ignore[arg-type]
    used = {id(p) for c in t._calls for p in model.networks[c.network].parameters()}
    used |= {id(model.learnable[name]) for name, _pos, _kind in t._params}
    return any(id(p) not in used for p in model.parameters() if p.requires_grad)


def fit(
    model: Model,
    query: str,
    train: QueryData,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 1e-3,
    optimizer: torch.optim.Optimizer | None = None,
    test: QueryData | None = None,
    metrics: Mapping[str, Callable[[Model], float]] | None = None,
    log_dir: str | Path | None = None,
    plot: bool = True,
    checkpoint: bool = True,
    seed: int | None = 0,
    progress: bool = True,
    device: torch.device | str | None = None,
    extra_loss: Callable[[Step], torch.Tensor | Mapping[str, torch.Tensor]] | None = None,
    keep_best: str | None = None,
    keep_best_mode: str | None = None,
    distributed: DistributedOptions | bool | None = None,
    resume: bool | str | Path = False,
) -> History:
    """Train ``model`` so that the observed answers of ``query`` become likely.

    >>> # history = plait.fit(model, "addition(A, B, Z)", train, test=test, epochs=3, log_dir="runs/add")

    ``optimizer`` defaults to Adam over ``model.parameters()`` with ``lr``. With
    ``log_dir``, every epoch appends to ``metrics.csv``/``metrics.json``, redraws
    ``curves.png`` (``plot``) and writes ``checkpoint.safetensors`` and
    ``training_state.safetensors`` (``checkpoint``). ``seed`` seeds Python, NumPy
    and torch and the shuffling.

    ``extra_loss(step)`` adds terms to every step's loss (a regulariser, a
    semantic loss, a distillation term): it gets a :class:`Step`, with the
    networks' outputs of that step, and returns a scalar tensor or a mapping of
    named scalars (summed; each is logged per epoch as ``extra_<name>``, a single
    tensor as ``extra_loss``). ``keep_best`` names a metric of the epoch rows
    (``"test_accuracy"``, a ``metrics=`` name, ``"train_loss"``): at the end the
    model holds the weights of the epoch where it was best (highest, or lowest for
    a name ending in ``loss``; ``keep_best_mode="max"``/``"min"`` chooses), and
    ``history.best_epoch`` says which epoch that was.

    ``distributed`` (:class:`plait.DistributedOptions`, ``True``, ``False``; by
    default on when ``torchrun`` starts several processes) trains with
    ``DistributedDataParallel``: each process takes its share of every epoch
    (``DistributedSampler``), ``batch_size`` is per process, gradients are
    averaged, metrics are summed over the processes, and only rank 0 prints and
    writes files. ``resume=True`` continues from ``log_dir/training_state.safetensors``
    when it exists (or ``resume=path``): ``epochs`` counts all epochs, those
    already run included, and the result equals an uninterrupted run.
    """
    if epochs < 0 or batch_size < 1:
        raise TrainingError(
            f"bad training settings: epochs={epochs}, batch_size={batch_size}",
            hint="epochs must be at least 0 and batch_size at least 1",
        )
    if keep_best_mode is None and keep_best is not None:
        keep_best_mode = "min" if keep_best.endswith("loss") else "max"
    if keep_best_mode not in (None, "min", "max"):
        raise TrainingError(f"keep_best_mode must be 'min' or 'max', not {keep_best_mode!r}")
    out_dir = Path(log_dir) if log_dir is not None else None
    best_value, best_state = math.nan, None
    gen = seed_everything(seed) if seed is not None else torch.Generator()
    cluster = Cluster.start(resolve_options(distributed), device if device is not None else model._default_device())
    if device is not None:
        model.to(cluster.device)
    dev = cluster.device
    cols, true_false = _target_columns(model, query, train)
    if optimizer is None:
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise TrainingError(
                "the model has no trainable parameters (no networks and no t(...) clauses)",
                hint="give the model networks with parameters, or make probabilities learnable with t(...)",
            )
        optimizer = torch.optim.Adam(params, lr=lr)
    if out_dir is not None and cluster.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
    history = History(log_dir=out_dir)
    sampler_seed = seed if seed is not None else int(cluster.broadcast(int(torch.randint(2**31, ()).item())))  # type: ignore[arg-type]
    first = 1
    state_path, state = resume_state(resume, out_dir, cluster)
    if state is not None:
        check_resumable(state, state_path, query, cluster.sampled)  # type: ignore[arg-type]
        try:
            model.load_state_dict(state.model)
            optimizer.load_state_dict(state.optimizer)
        except (RuntimeError, ValueError, KeyError) as e:
            raise TrainingError(
                f"the training state {state_path} does not fit this model and optimizer: {e}",
                hint="resume with the model, networks and optimizer of the run that wrote it",
            ) from e
        history.rows = list(state.rows)
        first = state.epoch + 1
        sampler_seed = state.seed if state.seed is not None else sampler_seed
        if state.order is not None:
            gen.set_state(state.order)
        set_rng_state(*state.rngs[cluster.rank if cluster.rank < len(state.rngs) else 0])
        if state.best is not None:
            best_state, best_value, history.best_epoch = state.best, state.best_value, state.best_epoch
    forward = cluster.wrap(model, _answer_log_probs, find_unused=_unused_parameters(model, query, train))
    n = len(train)
    bar_cls = _progress_bar() if progress and cluster.is_main else None
    for epoch in range(first, epochs + 1):
        model.train()
        perm = cluster.epoch_rows(n, sampler_seed, epoch) if cluster.sampled else torch.randperm(n, generator=gen)
        start_t = time.perf_counter()
        loss_sum, seen, skipped = 0.0, 0, 0
        extra_sums: dict[str, float] = {}
        n_batches = 0
        bar = (
            bar_cls(total=len(perm), desc=f"epoch {epoch}/{epochs}", unit="ex", leave=False, disable=None)
            if bar_cls
            else None
        )
        try:
            for start in range(0, len(perm), batch_size):
                rows = perm[start : start + batch_size]
                inputs = train.batch(rows, dev)
                target = torch.zeros(len(rows), dtype=torch.long) if cols is None else cols[rows]
                # (the log-space redo of semiring "auto" watches the observed answers; for a
                # query observed false that is the query's column too: both need it exact)
                watched = None if true_false or not inputs else target  # no inputs: one row for the batch
                calls: list = []
                model._output_log = calls if extra_loss is not None else None
                try:
                    logp = forward(query, inputs, watched)
                finally:
                    model._output_log = None
                logp = _observed(logp, len(rows), true_false)
                nll = -logp.gather(1, target.to(logp.device)[:, None])[:, 0]
                # An observed answer with probability exactly 0 (a saturated float32
                # softmax rules out every proof) has no gradient to give: it is left
                # out of the loss and counted, rather than turning the loss into inf.
                finite = torch.isfinite(nll)
                n_finite = int(finite.sum())
                if n_finite == 0:
                    raise TrainingError(
                        f"every observed answer of a batch in epoch {epoch} has probability 0",
                        hint="check that the targets are possible answers and the networks' outputs are not saturated",
                    )
                skipped += len(rows) - n_finite
                loss = nll[finite].mean() if n_finite < len(rows) else nll.mean()
                task_loss = loss
                if extra_loss is not None:
                    step = Step(model, query, epoch, rows, inputs, target, logp, loss, calls)
                    for name, term in extra_terms(extra_loss, step).items():
                        loss = loss + term
                        extra_sums[name] = extra_sums.get(name, 0.0) + float(term.detach())
                n_batches += 1
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # (in a distributed run, DDP averages the gradients over the processes here)
                optimizer.step()
                loss_sum += float(task_loss.detach()) * n_finite
                seen += n_finite
                if bar is not None:
                    bar.update(len(rows))
                    bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
        finally:
            if bar is not None:
                bar.close()
        (elapsed,) = cluster.max([time.perf_counter() - start_t])
        names = sorted(extra_sums)
        loss_sum, seen, skipped, n_batches, *extras = cluster.sum(
            [loss_sum, seen, skipped, n_batches, *(extra_sums[k] for k in names)]
        )
        row: dict[str, float] = {
            "epoch": epoch,
            "train_loss": loss_sum / max(seen, 1),
            "epoch_seconds": elapsed,
            "examples_per_second": (seen + skipped) / elapsed if elapsed > 0 else math.inf,
            "zero_probability_examples": int(skipped),
        }
        for name, total in zip(names, extras):
            row[name] = total / max(n_batches, 1)
        if test is not None:
            correct, total, test_loss = cluster.sum(
                _evaluation_sums(model, query, test, cluster.shard(len(test)), 256, dev)
            )
            row["test_loss"] = test_loss / max(total, 1)
            row["test_accuracy"] = correct / max(total, 1)
        for name, fn in (metrics or {}).items():
            try:
                row[name] = float(fn(model))
            except PlaitError:
                raise
            except Exception as e:
                raise TrainingError(
                    f"the metric {name!r} raised {type(e).__name__}: {e}",
                    hint="a metric is a function of the model returning a number; its own error is chained below",
                ) from e
        history.rows.append(row)
        if progress and cluster.is_main:
            shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
            print(shown, flush=True)
        if keep_best is not None:
            if keep_best not in row:
                raise TrainingError(
                    f"keep_best={keep_best!r} is not a metric of the epochs",
                    hint=f"the metrics are {', '.join(row)} (test_* need test=..., others come from metrics=...)",
                )
            value = row[keep_best]
            better = value > best_value if keep_best_mode == "max" else value < best_value
            if best_state is None or better:
                best_value, history.best_epoch = value, epoch
                best_state = copy.deepcopy(model.state_dict())
        if out_dir is not None:
            rngs = cluster.gather(rng_state()) if checkpoint else None  # every process's generators, on rank 0
            if cluster.is_main:
                _write_logs(history, out_dir)
                if plot:
                    plot_history(history, out_dir / "curves.png")
                if checkpoint:
                    save_checkpoint(model, out_dir / "checkpoint.safetensors", {"epoch": str(epoch), "query": query})
                    order = None if cluster.sampled else gen.get_state()
                    state = TrainingState(
                        epoch, query, history.rows, sampler_seed, cluster.world_size, model.state_dict(),
                        optimizer.state_dict(), rngs, order, history.best_epoch, best_value, best_state,  # type: ignore[arg-type]
                    )  # fmt: skip
                    save_training_state(out_dir / TRAINING_STATE, state)
    if best_state is not None and history.best_epoch != len(history.rows):
        model.load_state_dict(best_state)
        if out_dir is not None and checkpoint and cluster.is_main:
            meta = {"epoch": str(history.best_epoch), "query": query, "keep_best": keep_best or ""}
            save_checkpoint(model, out_dir / "checkpoint.safetensors", meta)
    if best_state is not None and progress and cluster.is_main:
        print(f"kept the weights of epoch {history.best_epoch} ({keep_best}={best_value:.4g})", flush=True)
    return history


def _progress_bar():
    from tqdm.auto import tqdm

    return tqdm


def _write_logs(history: History, out_dir: Path) -> None:
    keys: list[str] = []
    for r in history.rows:
        keys.extend(k for k in r if k not in keys)
    with open(out_dir / "metrics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history.rows)
    (out_dir / "metrics.json").write_text(json.dumps(history.rows, indent=2) + "\n")


def plot_history(history: History, path: str | Path) -> Path:
    """Loss and accuracy curves per epoch as a PNG (needs matplotlib: ``pip install 'plait[train]'``)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise TrainingError("plotting needs matplotlib", hint="pip install 'plait[train]' or pass plot=False") from e
    epochs = history["epoch"]
    loss_keys = [k for k in ("train_loss", "test_loss") if history[k]]
    skip = ("epoch", "epoch_seconds", "examples_per_second", "zero_probability_examples", *loss_keys)
    other = [k for k in history.last if k not in skip]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for k in loss_keys:
        axes[0].plot(epochs, history[k], marker="o", label=k)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("negative log likelihood")
    axes[0].legend()
    for k in other:
        axes[1].plot(epochs, history[k], marker="o", label=k)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("metric")
    if other:
        axes[1].legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
