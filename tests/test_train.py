"""plait.fit: learning through the logic, logs, curves, safetensors checkpoints, seeds, errors."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

import plait
from plait.nn.train import Gather, QueryData, evaluate, load_checkpoint, save_checkpoint

PROGRAM = """
nn(digit_net, [X], Y, [0..3]) :: digit(X, Y).
addition(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.
"""


def toy_task(n: int = 256, seed: int = 0):
    """Four well separated 'digit' prototypes in 6 dimensions, plus noise; examples are pairs."""
    g = torch.Generator().manual_seed(seed)
    protos = torch.eye(4, 6) * 3
    labels = torch.randint(0, 4, (n,), generator=g)
    images = protos[labels] + 0.3 * torch.randn(n, 6, generator=g)
    a = torch.randint(0, n, (n,), generator=g)
    b = torch.randint(0, n, (n,), generator=g)
    data = QueryData({"A": Gather(images, a), "B": Gather(images, b)}, (labels[a] + labels[b]).tolist())
    return images, labels, data


def make_model(seed: int = 0) -> plait.Model:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4), torch.nn.Softmax(-1))
    return plait.Model(PROGRAM, {"digit_net": net}, dtype=torch.float64)


@pytest.fixture(autouse=True)
def _float32():
    torch.set_default_dtype(torch.float32)  # networks and data as users have them


def test_fit_learns_digits_from_sums_alone(tmp_path):
    images, labels, train = toy_task()
    _, _, test = toy_task(seed=1)
    model = make_model()
    net = model.networks["digit_net"]

    def digit_accuracy(m):
        with torch.no_grad():
            return float((net(images).argmax(-1) == labels).float().mean())

    history = plait.fit(
        model, "addition(A, B, Z)", train, test=test, epochs=8, batch_size=16, lr=1e-2, seed=0,
        metrics={"digit_accuracy": digit_accuracy}, log_dir=tmp_path, progress=False,
    )  # fmt: skip
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history.last["test_accuracy"] > 0.9 and history.last["digit_accuracy"] > 0.9
    with open(tmp_path / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and {"epoch", "train_loss", "test_accuracy", "digit_accuracy", "epoch_seconds"} <= set(
        rows[0]
    )
    assert json.loads((tmp_path / "metrics.json").read_text())[-1]["epoch"] == 8
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "checkpoint.safetensors").stat().st_size > 0


def test_fit_is_reproducible_with_a_seed():
    def run(seed):
        model = make_model(0)
        h = plait.fit(model, "addition(A, B, Z)", toy_task()[2], epochs=2, batch_size=32, seed=seed, progress=False)
        return h["train_loss"], [p.detach().clone() for p in model.parameters()]

    l1, p1 = run(3)
    l2, p2 = run(3)
    l3, _ = run(4)
    assert l1 == l2 and all(torch.equal(a, b) for a, b in zip(p1, p2))
    assert l1 != l3


def test_checkpoint_round_trip(tmp_path):
    model = plait.Model(PROGRAM + "t(0.3)::noise.\n", {"digit_net": make_model(1).networks["digit_net"]})
    (name,) = list(model.learnable)
    with torch.no_grad():
        model.learnable[name].fill_(1.25)
    path = save_checkpoint(model, tmp_path / "m.safetensors", {"note": "hello"})
    assert path.read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle
    other = plait.Model(PROGRAM + "t(0.3)::noise.\n", {"digit_net": make_model(2).networks["digit_net"]})
    x = torch.randn(5, 6)
    assert not torch.allclose(model("addition(A, B, Z)", A=x, B=x), other("addition(A, B, Z)", A=x, B=x))
    meta = load_checkpoint(other, path)
    assert meta == {"note": "hello"}
    assert torch.equal(other.learnable[name], model.learnable[name])
    assert torch.allclose(model("addition(A, B, Z)", A=x, B=x), other("addition(A, B, Z)", A=x, B=x))


def test_checkpoint_errors(tmp_path):
    model = make_model()
    with pytest.raises(plait.TrainingError, match="no checkpoint"):
        load_checkpoint(model, tmp_path / "missing.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(plait.TrainingError, match="cannot read the checkpoint"):
        load_checkpoint(model, tmp_path / "bad.safetensors")
    bigger = plait.Model(
        PROGRAM, {"digit_net": torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Softmax(-1))}, dtype=torch.float64
    )
    save_checkpoint(bigger, tmp_path / "other.safetensors")
    with pytest.raises(plait.TrainingError, match="does not fit this model"):
        load_checkpoint(model, tmp_path / "other.safetensors")


def test_targets_that_are_not_answers_are_rejected():
    images, _, _ = toy_task()
    data = QueryData({"A": images[:4], "B": images[:4]}, [0, 1, 2, 99])
    with pytest.raises(plait.TrainingError, match="not an answer") as e:
        plait.fit(make_model(), "addition(A, B, Z)", data, progress=False)
    assert "99" in str(e.value)


def test_query_data_checks_lengths_and_missing_targets():
    with pytest.raises(plait.TrainingError, match="different lengths"):
        QueryData({"A": torch.zeros(3, 6), "B": torch.zeros(4, 6)}, [0, 0, 0])
    data = QueryData({"A": torch.zeros(3, 6), "B": torch.zeros(3, 6)})
    with pytest.raises(plait.TrainingError, match="has 7 answers but the data has no targets"):
        plait.fit(make_model(), "addition(A, B, Z)", data, progress=False)


def test_a_query_without_free_variables_trains_on_its_own_probability():
    model = plait.Model("t(0.2)::coin.\nwin :- coin.\n", dtype=torch.float64)
    before = float(model("win")[0, 0].detach())
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    for _ in range(20):
        loss = -model.log_prob("win")[0, 0]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(model("win")[0, 0].detach()) > before + 0.3


def test_evaluate_reports_accuracy_and_loss():
    _, _, test = toy_task()
    res = evaluate(make_model(), "addition(A, B, Z)", test)
    assert set(res) == {"accuracy", "loss"} and 0 <= res["accuracy"] <= 1 and res["loss"] > 0


class _Fixed(torch.nn.Module):
    """A saturated 'network': its input already is the distribution (w only gives the optimiser a parameter)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x + 0 * self.w


def test_examples_with_probability_zero_are_left_out_and_counted():
    model = plait.Model(PROGRAM, {"digit_net": _Fixed()}, dtype=torch.float64)
    a = torch.tensor([[1.0, 0, 0, 0]] * 4)  # certainly 0
    b = torch.tensor([[0, 1.0, 0, 0]] * 4)  # certainly 1
    data = QueryData({"A": a, "B": b}, [1, 1, 2, 1])  # the third sum is impossible under these outputs
    history = plait.fit(model, "addition(A, B, Z)", data, epochs=1, batch_size=4, progress=False)
    assert history.last["zero_probability_examples"] == 1 and history.last["train_loss"] == pytest.approx(0.0)
    with pytest.raises(plait.TrainingError, match="every observed answer"):
        plait.fit(model, "addition(A, B, Z)", QueryData({"A": a, "B": b}, [2] * 4), epochs=1, progress=False)


def test_history_iterates_over_its_epochs_and_has_a_length():
    _, _, data = toy_task(64)
    history = plait.fit(make_model(), "addition(A, B, Z)", data, epochs=3, progress=False)
    assert len(history) == 3
    assert list(history) == history.rows and [r["epoch"] for r in history] == [1, 2, 3]
    assert history["epoch"] == [1, 2, 3]
    with pytest.raises(TypeError, match=r"History is indexed by a metric name, not int: history\['train_loss'\]"):
        history[0]


def test_query_data_without_inputs_learns_t_parameters_from_counts():
    """No tensor inputs: every example is the same query; the maximum-likelihood estimate is the frequency."""
    model = plait.Model("t(_)::side(1); t(_)::side(2); t(_)::side(3).\n", dtype=torch.float64)
    data = QueryData({}, targets=[1] * 6 + [2] * 3 + [3])
    assert len(data) == 10
    history = plait.fit(model, "side(X)", data, epochs=300, batch_size=10, lr=0.05, progress=False)
    ((clause, probs),) = model.parameter_probabilities().items()
    assert clause == "<string>:1: t(_)::side(1); t(_)::side(2); t(_)::side(3)."
    assert probs == pytest.approx([0.6, 0.3, 0.1], abs=1e-4)
    entropy = -(0.6 * math.log(0.6) + 0.3 * math.log(0.3) + 0.1 * math.log(0.1))
    assert history.last["train_loss"] == pytest.approx(entropy, abs=1e-6)  # the loss at the optimum
    res = evaluate(model, "side(X)", data)
    assert res["accuracy"] == pytest.approx(0.6)  # the prediction is always side 1
    with pytest.raises(plait.TrainingError) as info:
        QueryData({})
    assert str(info.value) == (
        "the query data has neither input columns nor targets, so it holds no examples "
        "(hint: give targets (one observation per example), e.g. QueryData({}, targets=[True, False]))"
    )


def test_a_ground_query_can_be_observed_false():
    model = plait.Model("t(_)::heads.\n", dtype=torch.float64)
    data = QueryData({}, targets=[True] * 3 + [False] * 7)
    plait.fit(model, "heads", data, epochs=300, batch_size=10, lr=0.05, progress=False)
    ((probs),) = model.parameter_probabilities().values()
    assert probs == pytest.approx([0.3], abs=1e-4)
    with pytest.raises(plait.TrainingError) as info:
        plait.fit(model, "heads", QueryData({}, targets=[True, "yes"]), progress=False)
    assert str(info.value) == (
        "the query heads has no free variables, so a target says whether it is true, not 'yes' "
        "(hint: give True or False per example (or targets=None when it is always observed true))"
    )


def test_a_neural_fact_observed_true_and_false_has_the_bernoulli_loss():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Sigmoid(), torch.nn.Flatten(0))
    model = plait.Model("nn(odd_net, [X]) :: odd(X).\n", {"odd_net": net}, dtype=torch.float64)
    x = torch.randn(8, 3)
    observed = x[:, 0] > 0  # separable: the network can learn it
    data = QueryData({"X": x}, targets=observed)
    p = model("odd(X)", X=x)[:, 0].detach()
    want = -torch.where(observed, p.log(), (1 - p).log()).mean()  # the Bernoulli likelihood, directly
    assert evaluate(model, "odd(X)", data)["loss"] == pytest.approx(float(want), rel=1e-9)
    history = plait.fit(model, "odd(X)", data, epochs=200, batch_size=8, lr=0.05, progress=False)
    assert history.rows[0]["train_loss"] == pytest.approx(float(want), rel=1e-6)
    assert history.last["train_loss"] < 0.5 * float(want)
    assert evaluate(model, "odd(X)", data)["accuracy"] == 1.0


# ----------------------------------------------------------------------------- loss hook, keep best


def test_the_loss_hook_sees_the_network_outputs_of_the_step_without_a_second_forward_pass():
    images, labels, train = toy_task(n=64)
    model = make_model()
    net = model.networks["digit_net"]
    forwards = []
    net.register_forward_hook(lambda m, i, o: forwards.append(i[0].shape[0]))
    seen = []

    def hook(step: plait.Step) -> torch.Tensor:
        both = step.outputs("digit_net")  # [2, B, 4]: A's and B's outputs, concatenated in one call
        a, b = step.output("digit_net", "A"), step.output("digit_net", "B")
        x = train.batch(step.rows)
        with torch.no_grad():
            want_a = net(x["A"]).double()
        seen.append((both.shape, torch.allclose(a, want_a), torch.equal(both[1], b), both.requires_grad))
        assert step.networks == ["digit_net"] and step.log_probs.shape == (len(step.rows), 7)
        return 0.0 * a.sum()

    forwards_before = len(forwards)
    plait.fit(model, "addition(A, B, Z)", train, epochs=1, batch_size=16, progress=False, extra_loss=hook)
    assert len(seen) == 4 and all(s == (torch.Size([2, 16, 4]), True, True, True) for s in seen)
    # one forward per step (A and B batched together) plus the hook's own check above
    assert len(forwards) - forwards_before == 4 * 2 and forwards[0] == 32


def test_an_extra_loss_term_changes_training_and_is_logged_by_name():
    _, _, train = toy_task(n=64)

    def run(extra):
        model = make_model()
        h = plait.fit(model, "addition(A, B, Z)", train, epochs=2, batch_size=16, progress=False, extra_loss=extra)
        return h, model.networks["digit_net"][0].weight.detach().clone()

    def peaked(step):  # an entropy term on the outputs: pushes every distribution to one digit
        p = step.outputs("digit_net").clamp_min(1e-12)
        return {"entropy": -(p * p.log()).sum(-1).mean(), "zero": torch.zeros(())}

    h0, w0 = run(None)
    h1, w1 = run(peaked)
    assert not torch.equal(w0, w1)
    assert h1["extra_entropy"][1] < h1["extra_entropy"][0] and h1["extra_zero"] == [0.0, 0.0]
    assert "extra_entropy" not in h0.last
    assert h0["train_loss"][0] == pytest.approx(h1["train_loss"][0], rel=0.2)  # train_loss is the task loss alone


def test_a_bad_loss_hook_is_a_training_error():
    _, _, train = toy_task(n=32)
    cases = [
        (lambda s: 1.0, "the extra_loss term extra_loss is float, not a scalar tensor"),
        (lambda s: s.outputs("digit_net"), "is a tensor of shape [2, 16, 4], not a scalar tensor"),
        (lambda s: s.outputs("other_net").sum(), "the network 'other_net' did not run in this step"),
        (lambda s: s.output("digit_net", "C").sum(), "was not applied to the input C"),
        (lambda s: torch.tensor(float("nan")), "the extra_loss term extra_loss is nan in epoch 1"),
        (lambda s: 1 / 0, "the extra_loss hook raised ZeroDivisionError"),
    ]
    for hook, text in cases:
        with pytest.raises(plait.TrainingError, match=text.replace("[", r"\[").replace("]", r"\]")):
            plait.fit(make_model(), "addition(A, B, Z)", train, batch_size=16, progress=False, extra_loss=hook)


def test_keep_best_restores_the_weights_of_the_best_epoch(tmp_path, capsys):
    _, _, train = toy_task(n=64)
    calls = []

    def score(m):  # a metric that peaks at epoch 2, and a copy of the weights at each epoch
        calls.append(m.networks["digit_net"][0].weight.detach().clone())
        return [0.1, 0.9, 0.5][len(calls) - 1]

    model = make_model()
    h = plait.fit(
        model, "addition(A, B, Z)", train, epochs=3, batch_size=16, metrics={"score": score},
        keep_best="score", log_dir=tmp_path, plot=False,
    )  # fmt: skip
    assert h.best_epoch == 2 and h.best["score"] == 0.9 and len(h) == 3
    assert torch.equal(model.networks["digit_net"][0].weight, calls[1])
    assert "kept the weights of epoch 2 (score=0.9)" in capsys.readouterr().out
    assert load_checkpoint(make_model(1), tmp_path / "checkpoint.safetensors")["epoch"] == "2"
    # a loss is kept at its lowest
    h = plait.fit(make_model(), "addition(A, B, Z)", train, epochs=3, keep_best="train_loss", progress=False)
    assert h.best_epoch == min(range(1, 4), key=lambda e: h["train_loss"][e - 1])


def test_keep_best_of_an_unknown_metric_is_a_training_error():
    _, _, train = toy_task(n=32)
    with pytest.raises(plait.TrainingError, match="keep_best='test_accuracy' is not a metric of the epochs"):
        plait.fit(make_model(), "addition(A, B, Z)", train, keep_best="test_accuracy", progress=False)
    with pytest.raises(plait.TrainingError, match="keep_best_mode must be 'min' or 'max', not 'up'"):
        plait.fit(make_model(), "addition(A, B, Z)", train, keep_best="x", keep_best_mode="up", progress=False)
