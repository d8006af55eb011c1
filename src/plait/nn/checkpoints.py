"""Checkpoints in safetensors (never pickle): a model's weights, and the full state a training run resumes from.

:func:`save_checkpoint` / :func:`load_checkpoint` hold a model's parameters and
buffers. :func:`save_training_state` / :func:`load_training_state` hold what
:func:`plait.fit` needs to continue a run as if it had never stopped: the model,
the optimizer's state, the epoch, the rows of metrics so far, the best epoch's
weights (``keep_best``), the shuffling state and every process's random number
generators (Python, NumPy, torch, CUDA). Tensors are safetensors tensors;
everything else is JSON in the file's metadata.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import TrainingError
from .distributed import Cluster

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "TrainingState",
    "save_training_state",
    "load_training_state",
    "rng_state",
    "set_rng_state",
    "resume_state",
    "check_resumable",
    "TRAINING_STATE",
]

_MARK = "plait-training-state"


def save_checkpoint(model: torch.nn.Module, path: str | Path, metadata: Mapping[str, str] | None = None) -> Path:
    """Save the model's parameters and buffers with safetensors (never pickle)."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().cpu().clone() for k, v in model.state_dict().items()}
    path = Path(path)
    save_file(state, str(path), metadata=dict(metadata or {}))
    return path


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open
    from safetensors.torch import load_file

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
    return state, meta


def _load_into(model: torch.nn.Module, state: Mapping[str, torch.Tensor], path: Path, strict: bool) -> None:
    try:
        model.load_state_dict(state, strict=strict)
    except RuntimeError as e:
        raise TrainingError(
            f"the checkpoint {path} does not fit this model: {e}", hint="build the model with the same networks"
        ) from e


def load_checkpoint(model: torch.nn.Module, path: str | Path, strict: bool = True) -> dict[str, str]:
    """Load a checkpoint written by :func:`save_checkpoint` into ``model``; returns its metadata."""
    path = Path(path)
    state, meta = _read(path)
    if _MARK in meta:  # a training state holds the weights under "model/"
        state = {k[len("model/") :]: v for k, v in state.items() if k.startswith("model/")}
        meta = {k: v for k, v in meta.items() if not k.startswith("state.")}
    _load_into(model, state, path, strict)
    return meta


# ------------------------------------------------------------------ random number generators


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """This process's generator states: tensors (torch, CUDA, NumPy's key) and the rest as JSON-able values."""
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda{i}"] = s
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    tensors["numpy"] = torch.from_numpy(np.asarray(key, dtype=np.uint32).view(np.int32).copy())
    version, internal, gauss_next = random.getstate()
    extra = {"numpy": [kind, int(pos), int(has_gauss), float(gauss)], "python": [version, list(internal), gauss_next]}
    return tensors, extra


def set_rng_state(tensors: Mapping[str, torch.Tensor], extra: Mapping[str, list]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted((k for k in tensors if k.startswith("cuda")), key=lambda k: int(k[4:]))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    kind, pos, has_gauss, gauss = extra["numpy"]
    np.random.set_state((kind, tensors["numpy"].numpy().view(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = extra["python"]
    random.setstate((version, tuple(internal), gauss_next))


# ------------------------------------------------------------------ the state of a training run


@dataclass
class TrainingState:
    """What a run resumes from (see :func:`save_training_state`)."""

    epoch: int
    query: str
    rows: list[dict[str, float]]
    seed: int | None
    world_size: int
    model: dict[str, torch.Tensor]
    optimizer: dict
    #: per rank: (tensors, extra) as :func:`rng_state` gives them
    rngs: list[tuple[dict[str, torch.Tensor], dict[str, object]]]
    #: the plain (not distributed) shuffle's generator state, or None for a ``DistributedSampler`` run
    order: torch.Tensor | None = None
    best_epoch: int | None = None
    best_value: float = float("nan")
    best: dict[str, torch.Tensor] | None = field(default=None, repr=False)


def _flat_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimizer's ``state_dict`` as tensors by name plus a JSON skeleton that names them."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton: dict = {"param_groups": state["param_groups"], "state": {}}
    for pid, entries in state["state"].items():
        out = {}
        for k, v in entries.items():
            if isinstance(v, torch.Tensor):
                name = f"optimizer/{pid}/{k}"
                tensors[name] = v.detach().contiguous().cpu().clone()
                out[k] = {"tensor": name}
            else:
                out[k] = {"value": v}
        skeleton["state"][str(pid)] = out
    return tensors, skeleton


def _unflat_optimizer(skeleton: dict, tensors: Mapping[str, torch.Tensor]) -> dict:
    state = {
        int(pid): {k: tensors[v["tensor"]] if "tensor" in v else v["value"] for k, v in entries.items()}
        for pid, entries in skeleton["state"].items()
    }
    return {"state": state, "param_groups": skeleton["param_groups"]}


def save_training_state(path: str | Path, state: TrainingState) -> Path:
    """Write a :class:`TrainingState` as one safetensors file (written to a temporary name, then renamed,
    so that a run killed while writing leaves the previous state intact)."""
    from safetensors.torch import save_file

    tensors = {f"model/{k}": v.detach().contiguous().cpu().clone() for k, v in state.model.items()}
    opt_tensors, skeleton = _flat_optimizer(state.optimizer)
    tensors.update(opt_tensors)
    extras = []
    for rank, (rng, extra) in enumerate(state.rngs):
        tensors.update({f"rng/{rank}/{k}": v.contiguous() for k, v in rng.items()})
        extras.append(extra)
    if state.order is not None:
        tensors["order"] = state.order
    if state.best is not None:
        tensors.update({f"best/{k}": v.detach().contiguous().cpu().clone() for k, v in state.best.items()})
    meta = {
        _MARK: "1",
        "epoch": str(state.epoch),
        "query": state.query,
        "state.rows": json.dumps(state.rows),
        "state.seed": json.dumps(state.seed),
        "state.world_size": str(state.world_size),
        "state.optimizer": json.dumps(skeleton),
        "state.rng": json.dumps(extras),
        "state.best": json.dumps([state.best_epoch, state.best_value]),
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)
    return path


def load_training_state(path: str | Path) -> TrainingState:
    """Read what :func:`save_training_state` wrote."""
    path = Path(path)
    tensors, meta = _read(path)
    if _MARK not in meta:
        raise TrainingError(
            f"{path} holds weights only, not the state of a training run",
            hint="resume from log_dir/training_state.safetensors, which fit writes with checkpoint=True",
        )

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

    extras = json.loads(meta["state.rng"])
    best_epoch, best_value = json.loads(meta["state.best"])
    return TrainingState(
        epoch=int(meta["epoch"]),
        query=meta["query"],
        rows=json.loads(meta["state.rows"]),
        seed=json.loads(meta["state.seed"]),
        world_size=int(meta["state.world_size"]),
        model=part("model/"),
        optimizer=_unflat_optimizer(json.loads(meta["state.optimizer"]), tensors),
        rngs=[(part(f"rng/{r}/"), extras[r]) for r in range(len(extras))],
        order=tensors.get("order"),
        best_epoch=best_epoch,
        best_value=float(best_value) if best_value is not None else float("nan"),
        best=part("best/") or None,
    )


TRAINING_STATE = "training_state.safetensors"


def _resume_path(resume: bool | str | Path, out_dir: Path | None) -> Path | None:
    """The training state to resume from, or None to start afresh."""
    if resume is False:
        return None
    if resume is True:
        if out_dir is None:
            raise TrainingError(
                "resume=True continues from log_dir/training_state.safetensors, but no log_dir was given",
                hint="give log_dir (the folder of the run to continue), or resume=path to a training state",
            )
        path = out_dir / TRAINING_STATE
        return path if path.is_file() else None  # nothing saved yet: the same command starts the run
    path = Path(resume)
    if not path.is_file():
        raise TrainingError(
            f"no training state at {path} to resume from",
            hint=f"fit writes log_dir/{TRAINING_STATE} every epoch when checkpoint=True",
        )
    return path


def resume_state(
    resume: bool | str | Path, out_dir: Path | None, cluster: Cluster
) -> tuple[Path | None, TrainingState | None]:
    """The training state to resume from: rank 0 reads it and sends it to the other processes (so that
    hosts without the file resume too, and all of them take one decision)."""
    found: tuple[Path | None, TrainingState | None, tuple[str, str | None] | None] = (None, None, None)
    if cluster.is_main:
        try:
            path = _resume_path(resume, out_dir)
            found = (path, load_training_state(path) if path is not None else None, None)
        except TrainingError as e:
            found = (None, None, (e.message, e.hint))
    path, state, error = cluster.broadcast(found)  # type: ignore[misc]
    if error is not None:
        raise TrainingError(error[0], hint=error[1])
    return path, state


def check_resumable(state: TrainingState, path: Path, query: str, sampled: bool) -> None:
    """Raise unless ``state`` continues a run of ``query`` with the same kind of shuffling."""
    if state.query != query:
        raise TrainingError(
            f"the training state {path} is of the query {state.query}, not {query}",
            hint="resume with the query template of the run that wrote it",
        )
    if (state.order is None) != sampled:
        was = "distributed (DistributedSampler order)" if state.order is None else "single-process"
        raise TrainingError(
            f"the training state {path} is of a {was} run, so this run would shuffle differently",
            hint="resume with the same distributed= setting as the run that wrote it",
        )
