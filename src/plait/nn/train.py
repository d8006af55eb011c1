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


def evaluate(
    model: Model, query: str, data: QueryData, batch_size: int = 256, device: torch.device | str | None = None
) -> dict[str, float]:
    """Task accuracy (prediction by the most probable world) and mean loss on ``data``.

    Without targets (the query itself is observed), accuracy is the share of
    examples where the query is more likely than not.
    """
    cols, true_false = _target_columns(model, query, data)
    device = torch.device(device) if device is not None else model._default_device()
    correct, total, loss_sum = 0, 0, 0.0
    with eval_mode(model), torch.no_grad():
        for start in range(0, len(data), batch_size):
            rows = torch.arange(start, min(start + batch_size, len(data)))
            inputs = data.batch(rows, device)
            logp = _observed(model.log_prob(query, **inputs), len(rows), true_false)  # type: ignore[arg-type]
            target = torch.zeros(len(rows), dtype=torch.long) if cols is None else cols[rows]
            target = target.to(logp.device)
            loss_sum += float(-logp.gather(1, target[:, None]).sum())
            if cols is None or true_false:  # "correct" when the observed truth value is more likely than not
                correct += int((logp.gather(1, target[:, None])[:, 0] > math.log(0.5)).sum())
            else:
                pred = model.predict(query, **inputs).expand(len(rows))  # type: ignore[arg-type]
                correct += int((pred == target).sum())
            total += len(rows)
    return {"accuracy": correct / max(total, 1), "loss": loss_sum / max(total, 1)}


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
) -> History:
    """Train ``model`` so that the observed answers of ``query`` become likely.

    >>> # history = plait.fit(model, "addition(A, B, Z)", train, test=test, epochs=3, log_dir="runs/add")

    ``optimizer`` defaults to Adam over ``model.parameters()`` with ``lr``. With
    ``log_dir``, every epoch appends to ``metrics.csv``/``metrics.json``, redraws
    ``curves.png`` (``plot``) and writes ``checkpoint.safetensors``
    (``checkpoint``). ``seed`` seeds Python, NumPy and torch and the shuffling.

    ``extra_loss(step)`` adds terms to every step's loss (a regulariser, a
    semantic loss, a distillation term): it gets a :class:`Step`, with the
    networks' outputs of that step, and returns a scalar tensor or a mapping of
    named scalars (summed; each is logged per epoch as ``extra_<name>``, a single
    tensor as ``extra_loss``). ``keep_best`` names a metric of the epoch rows
    (``"test_accuracy"``, a ``metrics=`` name, ``"train_loss"``): at the end the
    model holds the weights of the epoch where it was best (highest, or lowest for
    a name ending in ``loss``; ``keep_best_mode="max"``/``"min"`` chooses), and
    ``history.best_epoch`` says which epoch that was.
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
    best_value, best_state = math.nan, None
    gen = seed_everything(seed) if seed is not None else torch.Generator()
    if device is not None:
        model.to(device)
    dev = torch.device(device) if device is not None else model._default_device()
    cols, true_false = _target_columns(model, query, train)
    if optimizer is None:
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise TrainingError(
                "the model has no trainable parameters (no networks and no t(...) clauses)",
                hint="give the model networks with parameters, or make probabilities learnable with t(...)",
            )
        optimizer = torch.optim.Adam(params, lr=lr)
    out_dir = Path(log_dir) if log_dir is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    history = History(log_dir=out_dir)
    n = len(train)
    bar_cls = _progress_bar() if progress else None
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen)
        start_t = time.perf_counter()
        loss_sum, seen, skipped = 0.0, 0, 0
        extra_sums: dict[str, float] = {}
        n_batches = 0
        batches = range(0, n, batch_size)
        bar = (
            bar_cls(total=n, desc=f"epoch {epoch}/{epochs}", unit="ex", leave=False, disable=None) if bar_cls else None
        )
        try:
            for start in batches:
                rows = perm[start : start + batch_size]
                inputs = train.batch(rows, dev)
                target = torch.zeros(len(rows), dtype=torch.long) if cols is None else cols[rows]
                # (the log-space redo of semiring "auto" watches the observed answers; for a
                # query observed false that is the query's column too: both need it exact)
                watched = None if true_false or not inputs else target  # no inputs: one row for the batch
                calls: list = []
                model._output_log = calls if extra_loss is not None else None
                try:
                    logp = model.answer_log_probs(query, inputs, watched)
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
                loss.backward()
                optimizer.step()
                loss_sum += float(task_loss.detach()) * n_finite
                seen += n_finite
                if bar is not None:
                    bar.update(len(rows))
                    bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
        finally:
            if bar is not None:
                bar.close()
        elapsed = time.perf_counter() - start_t
        row: dict[str, float] = {
            "epoch": epoch,
            "train_loss": loss_sum / max(seen, 1),
            "epoch_seconds": elapsed,
            "examples_per_second": (seen + skipped) / elapsed if elapsed > 0 else math.inf,
            "zero_probability_examples": skipped,
        }
        for name, total in extra_sums.items():
            row[name] = total / max(n_batches, 1)
        if test is not None:
            ev = evaluate(model, query, test, device=dev)
            row["test_loss"] = ev["loss"]
            row["test_accuracy"] = ev["accuracy"]
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
        if progress:
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
            _write_logs(history, out_dir)
            if plot:
                plot_history(history, out_dir / "curves.png")
            if checkpoint:
                save_checkpoint(model, out_dir / "checkpoint.safetensors", {"epoch": str(epoch), "query": query})
    if best_state is not None and history.best_epoch != len(history.rows):
        model.load_state_dict(best_state)
        if out_dir is not None and checkpoint:
            meta = {"epoch": str(history.best_epoch), "query": query, "keep_best": keep_best or ""}
            save_checkpoint(model, out_dir / "checkpoint.safetensors", meta)
    if best_state is not None and progress:
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


def save_checkpoint(model: torch.nn.Module, path: str | Path, metadata: Mapping[str, str] | None = None) -> Path:
    """Save the model's parameters and buffers with safetensors (never pickle)."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().cpu().clone() for k, v in model.state_dict().items()}
    path = Path(path)
    save_file(state, str(path), metadata=dict(metadata or {}))
    return path


def load_checkpoint(model: torch.nn.Module, path: str | Path, strict: bool = True) -> dict[str, str]:
    """Load a checkpoint written by :func:`save_checkpoint` into ``model``; returns its metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise TrainingError(
            f"no checkpoint at {path}", hint="check the path; fit writes log_dir/checkpoint.safetensors"
        )
    try:
        state = load_file(str(path))
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise TrainingError(
            f"cannot read the checkpoint {path}: {e}",
            hint="the file is not a safetensors checkpoint written by plait.save_checkpoint",
        ) from e
    try:
        model.load_state_dict(state, strict=strict)
    except RuntimeError as e:
        raise TrainingError(
            f"the checkpoint {path} does not fit this model: {e}", hint="build the model with the same networks"
        ) from e
    return meta
