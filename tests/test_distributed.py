"""Distributed training (2 processes = 1 process with the global batch), resume, and streaming answers."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import plait
from plait.nn.distributed import Cluster, resolve_options
from plait.nn.train import Gather, QueryData
from test_train import PROGRAM, toy_task

ROOT = Path(__file__).resolve().parents[1]
QUERY = "addition(A, B, Z)"


@pytest.fixture(autouse=True)
def _float32():
    torch.set_default_dtype(torch.float32)  # networks and data as users have them


def dropout_model(seed: int = 0) -> plait.Model:
    """A network with dropout, so that a resumed run matches only if the random generators are restored."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(16, 4), torch.nn.Softmax(-1)
    )
    return plait.Model(PROGRAM, {"digit_net": net}, dtype=torch.float64)


# ----------------------------------------------------------------------------- two processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_to_the_weights_of_one_process_with_the_global_batch(tmp_path, capsys):
    """torchrun, 2 gloo processes with 8 examples each per step, against 1 process with 16 per step: DDP's
    averaged gradients of the two per-process mean losses are the gradient of the mean over all 16.
    The 2-process run stops after epoch 1 and resumes (rank 0 reads the training state and sends it to
    rank 1), and answers the test pairs in batches, each process its share, gathered on rank 0."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    launch = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2"]
    launch += ["--master_addr", "127.0.0.1", "--master_port", str(_free_port())]
    worker = str(ROOT / "tests" / "distributed_worker.py")
    argv = ["--epochs", "3", "--global-batch", "16"]
    proc = subprocess.run(
        [*launch, worker, *argv, "--interrupt", "1", "--out", str(tmp_path / "two")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("rank 0 of 2: 3 epochs, 40 answers") == 1  # only rank 0 prints

    import distributed_worker

    distributed_worker.main([*argv, "--out", str(tmp_path / "one")])  # one process, no process group, no stop
    assert "rank 0 of 1: 3 epochs, 40 answers" in capsys.readouterr().out

    one, two = (load_file(tmp_path / d / "weights.safetensors") for d in ("one", "two"))
    assert one.keys() == two.keys()
    for k in one:  # float64 networks: equal up to the order of the additions
        assert torch.allclose(one[k], two[k], rtol=0, atol=1e-12), k
    answers = [load_file(tmp_path / d / "answers.safetensors")["answers"] for d in ("one", "two")]
    assert answers[0].shape == (40, 7) and torch.allclose(answers[0], answers[1], rtol=0, atol=1e-12)
    import json

    rows1, rows2 = (json.loads((tmp_path / d / "rows.json").read_text()) for d in ("one", "two"))
    assert [r["epoch"] for r in rows2] == [1, 2, 3]
    for r1, r2 in zip(rows1, rows2, strict=True):  # the metrics, summed over the ranks
        for key in ("train_loss", "test_loss", "test_accuracy"):
            assert math.isclose(r1[key], r2[key], rel_tol=1e-10), key
    assert rows1[-1]["train_loss"] < rows1[0]["train_loss"]  # (it did train)


def test_the_ranks_batches_together_are_the_single_process_batches():
    options = plait.DistributedOptions()
    single = Cluster(0, 1, torch.device("cpu"), options).epoch_rows(40, seed=3, epoch=2)
    ranks = [Cluster(r, 2, torch.device("cpu"), options).epoch_rows(40, seed=3, epoch=2) for r in (0, 1)]
    for k in range(3):  # global batch 16 = 2 x 8 (the last: 2 x 4)
        together = torch.cat([r[8 * k : 8 * k + 8] for r in ranks])
        assert sorted(together.tolist()) == sorted(single[16 * k : 16 * k + 16].tolist())
    assert not torch.equal(single, Cluster(0, 1, torch.device("cpu"), options).epoch_rows(40, seed=3, epoch=3))
    shards = [Cluster(r, 3, torch.device("cpu"), options).shard(10) for r in range(3)]
    assert [list(s) for s in shards] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_distributed_options_are_checked():
    with pytest.raises(plait.TrainingError, match="unknown torch.distributed backend 'tcp'") as e:
        plait.DistributedOptions(backend="tcp")
    assert "gloo" in e.value.hint
    with pytest.raises(plait.TrainingError, match="timeout_s must be positive"):
        plait.DistributedOptions(timeout_s=0)
    with pytest.raises(plait.TrainingError, match="True, False or None, not str"):
        resolve_options("gloo")  # type: ignore[arg-type]
    assert resolve_options(None) is None and resolve_options(False) is None  # not launched by torchrun
    assert resolve_options(True) == plait.DistributedOptions()


# ----------------------------------------------------------------------------- resume


def _comparable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("epoch_seconds", "examples_per_second")} for r in rows]


@pytest.mark.parametrize("distributed", [False, True], ids=["plain", "sampler"])
def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path, distributed):
    _, _, train = toy_task(96)
    _, _, test = toy_task(48, seed=1)
    kw = dict(test=test, batch_size=16, lr=1e-2, seed=5, progress=False, keep_best="test_loss", plot=False)
    whole = dropout_model()
    full = plait.fit(whole, QUERY, train, epochs=4, distributed=distributed, **kw)

    run = tmp_path / "run"
    plait.fit(dropout_model(), QUERY, train, epochs=2, distributed=distributed, log_dir=run, **kw)
    assert (run / "training_state.safetensors").is_file()
    torch.manual_seed(123)  # another process, other random state: the training state restores it
    resumed_model = dropout_model(seed=9)
    resumed = plait.fit(resumed_model, QUERY, train, epochs=4, distributed=distributed, log_dir=run, resume=True, **kw)
    assert len(resumed) == 4 and [r["epoch"] for r in resumed] == [1, 2, 3, 4]
    assert _comparable(resumed.rows) == _comparable(full.rows)
    assert resumed.best_epoch == full.best_epoch
    for k, v in whole.state_dict().items():
        assert torch.equal(v, resumed_model.state_dict()[k]), k
    import json

    assert [r["epoch"] for r in json.loads((run / "metrics.json").read_text())] == [1, 2, 3, 4]


def test_without_dropout_and_seed_an_interrupted_run_differs(tmp_path):
    """The control of the test above: restarting (not resuming) from the weights alone gives another run."""
    _, _, train = toy_task(96)
    kw = dict(batch_size=16, lr=1e-2, seed=5, progress=False, plot=False)
    whole = dropout_model()
    plait.fit(whole, QUERY, train, epochs=4, **kw)
    half = dropout_model()
    plait.fit(half, QUERY, train, epochs=2, log_dir=tmp_path, **kw)
    restarted = dropout_model(seed=9)
    plait.load_checkpoint(restarted, tmp_path / "checkpoint.safetensors")
    plait.fit(restarted, QUERY, train, epochs=2, **kw)  # fresh optimizer, epochs 1-2's shuffles again
    assert not torch.equal(whole.networks["digit_net"][0].weight, restarted.networks["digit_net"][0].weight)


def test_resume_true_without_a_state_starts_the_run(tmp_path):
    _, _, train = toy_task(32)
    kw = dict(batch_size=16, seed=1, progress=False, plot=False)
    a, b = dropout_model(), dropout_model()
    plait.fit(a, QUERY, train, epochs=1, **kw)
    plait.fit(b, QUERY, train, epochs=1, log_dir=tmp_path, resume=True, **kw)
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    # a training state holds the weights too: load_checkpoint reads them
    c = dropout_model(seed=4)
    meta = plait.load_checkpoint(c, tmp_path / "training_state.safetensors")
    assert meta["epoch"] == "1" and all(torch.equal(v, c.state_dict()[k]) for k, v in b.state_dict().items())


def test_resume_errors(tmp_path):
    _, _, train = toy_task(32)
    kw = dict(batch_size=16, progress=False, plot=False)
    with pytest.raises(plait.TrainingError, match="no log_dir was given"):
        plait.fit(dropout_model(), QUERY, train, resume=True, **kw)
    with pytest.raises(plait.TrainingError, match="no training state at .*missing.safetensors"):
        plait.fit(dropout_model(), QUERY, train, resume=tmp_path / "missing.safetensors", **kw)
    plait.fit(dropout_model(), QUERY, train, log_dir=tmp_path, **kw)
    with pytest.raises(plait.TrainingError, match="holds weights only"):
        plait.fit(dropout_model(), QUERY, train, resume=tmp_path / "checkpoint.safetensors", **kw)
    with pytest.raises(plait.TrainingError, match="is of the query addition\\(A, B, Z\\), not addition\\(B, A, Z\\)"):
        plait.fit(dropout_model(), "addition(B, A, Z)", train, log_dir=tmp_path, resume=True, **kw)
    with pytest.raises(plait.TrainingError, match="single-process run, so this run would shuffle differently"):
        plait.fit(dropout_model(), QUERY, train, log_dir=tmp_path, resume=True, distributed=True, **kw)
    other = plait.Model(PROGRAM, {"digit_net": torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Softmax(-1))})
    with pytest.raises(plait.TrainingError, match="does not fit this model and optimizer"):
        plait.fit(other, QUERY, train, log_dir=tmp_path, resume=True, epochs=2, **kw)


# ----------------------------------------------------------------------------- streaming answers


class Counting(torch.nn.Module):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net, self.calls = net, 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


def _counting_model() -> tuple[plait.Model, Counting]:
    torch.manual_seed(0)
    net = Counting(torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Softmax(-1)))
    return plait.Model(PROGRAM, {"digit_net": net}, dtype=torch.float64), net


def test_streamed_answers_equal_unbatched_answers():
    _, _, data = toy_task(50)
    model, _ = _counting_model()
    everything = data.batch(torch.arange(50))
    want = model(QUERY, **everything).detach()
    got = plait.answer_all(model, QUERY, data, batch_size=16, progress=False)
    assert got.shape == (50, 7) and torch.allclose(got, want, rtol=0, atol=1e-12)
    logs = plait.answer_all(model, QUERY, data.inputs, batch_size=7, output="log_probabilities", progress=False)
    assert torch.allclose(logs, want.log(), atol=1e-12)
    pred = plait.answer_all(model, QUERY, data, batch_size=16, output="prediction", progress=False)
    assert torch.equal(pred, model.predict(QUERY, **everything).cpu())
    batches = list(plait.answer_batches(model, QUERY, data, batch_size=16, progress=False))
    assert [len(b.rows) for b in batches] == [16, 16, 16, 2]
    assert torch.equal(torch.cat([b.rows for b in batches]), torch.arange(50))


def test_streaming_is_lazy_keeps_no_graph_and_leaves_autograd_on():
    _, _, data = toy_task(100)
    model, net = _counting_model()
    stream = plait.answer_batches(model, QUERY, data, batch_size=10, progress=False)
    assert net.calls == 0  # a generator: nothing runs before the first batch is asked for
    first = next(stream)
    assert net.calls == 1 and first.values.shape == (10, 7)  # one network call per batch (A and B together)
    assert not first.values.requires_grad and first.values.grad_fn is None and first.values.device.type == "cpu"
    assert torch.is_grad_enabled() and model.training  # the batch's no_grad/eval mode closed before the yield
    rest = sum(1 for _ in stream)
    assert rest == 9 and net.calls == 10
    assert len(model._templates) == 1  # compiled once


def test_streaming_progress_bar_can_be_hidden(capsys):
    _, _, data = toy_task(20)
    model, _ = _counting_model()
    plait.answer_all(model, QUERY, data, batch_size=8, progress=False)
    assert capsys.readouterr().err == ""
    from tqdm import tqdm

    assert tqdm is not None  # the bar (tqdm) draws on stderr when shown; on a non-terminal it still prints
    plait.answer_all(model, QUERY, data, batch_size=8, progress=True)
    assert "answering addition(A, B, Z)" in capsys.readouterr().err


def test_streaming_errors_and_empty_data():
    _, _, data = toy_task(20)
    model, _ = _counting_model()
    with pytest.raises(plait.TrainingError, match="unknown output 'probs'") as e:
        list(plait.answer_batches(model, QUERY, data, output="probs"))
    assert "log_probabilities" in e.value.hint
    with pytest.raises(plait.TrainingError, match="batch_size must be at least 1, not 0"):
        list(plait.answer_batches(model, QUERY, data, batch_size=0))
    empty = QueryData({"A": Gather(torch.zeros(1, 6), torch.zeros(0, dtype=torch.long))} | {"B": torch.zeros(0, 6)})
    assert plait.answer_all(model, QUERY, empty, progress=False).shape == (0, 7)
    assert plait.answer_all(model, QUERY, empty, output="prediction", progress=False).shape == (0,)


def test_the_docstring_examples_run():
    import doctest

    import plait.nn.distributed as module

    result = doctest.testmod(module)
    assert result.attempted >= 2 and result.failed == 0
