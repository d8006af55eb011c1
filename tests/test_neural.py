"""Neural predicates: plait.Model, templates, gradients, batching, explanations and errors."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import plait

DPL = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "deepproblog"

ADDITION = """
nn(my_net, [X], Y, [0..9]) :: digit(X, Y).
addition(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.
"""

NOISY = """
nn(my_net, [X], Y, [0..9]) :: digit(X, Y).
t(0.3) :: noise.
add(X, Y, Z) :- \\+ noise, digit(X, N1), digit(Y, N2), Z is N1 + N2.
add(X, Y, 0) :- noise.
"""


class Identity(nn.Module):
    """A "network" whose input already is the probability rows."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return x


class SoftmaxNet(nn.Module):
    """Logits in, a softmax out (differentiable in its input); counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return torch.softmax(x, -1)


class Fn(nn.Module):
    """A network given as a function of its input."""

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.fn(*xs)


def rows(batch: int, k: int = 10, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(batch, k, generator=g, dtype=torch.float64), -1)


def convolve(pa: torch.Tensor, pb: torch.Tensor) -> torch.Tensor:
    """``[B, ka + kb - 1]``: the distribution of the sum of two independent digits."""
    ka, kb = pa.shape[-1], pb.shape[-1]
    out = torch.zeros(pa.shape[0], ka + kb - 1, dtype=pa.dtype)
    for i in range(ka):
        for j in range(kb):
            out[:, i + j] += pa[:, i] * pb[:, j]
    return out


def addition_model(net: nn.Module | None = None, text: str = ADDITION, **kwargs) -> plait.Model:
    return plait.Model(text, {"my_net": net if net is not None else Identity()}, dtype=torch.float64, **kwargs)


def dpl(name: str) -> Path:
    path = DPL / name
    if not path.is_file():
        pytest.skip(f"DeepProbLog example {path} not found")
    return path


# ----------------------------------------------------------------------------- exactness


def test_addition_equals_convolution_with_a_linear_softmax_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 10), nn.Softmax(-1)).double()
    model = addition_model(net)
    a, b = torch.randn(4, 3, 4), torch.randn(4, 3, 4)
    out = model("addition(A, B, Z)", A=a, B=b)
    assert out.shape == (4, 19) and out.dtype == torch.float64
    with torch.no_grad():
        expected = convolve(net(a), net(b))
    torch.testing.assert_close(out.detach(), expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(out.detach().sum(-1), torch.ones(4, dtype=torch.float64))
    lp = model.log_prob("addition(A, B, Z)", A=a, B=b)
    torch.testing.assert_close(lp.detach(), expected.log(), rtol=1e-9, atol=1e-9)


def test_template_answers_values_and_indices():
    model = addition_model()
    a = rows(2)
    t = model.template("addition(A, B, Z)", {"A": a, "B": a})
    assert t is model.template("addition(A, B, Z)", ["A", "B"])  # cached, only names matter
    assert t.outputs == ("Z",)
    assert len(t.answers) == 19
    assert t.answer_names == [f"addition(A,B,{k})" for k in range(19)]
    assert [t.value_of(c) for c in range(19)] == list(range(19))
    assert all(t.index(k) == k for k in range(19))
    assert t.targets([3, 0, 18]).tolist() == [3, 0, 18]
    assert t.targets(torch.tensor([5, 7])).tolist() == [5, 7]
    assert t.values[4] == (plait.parse_term("4"),)


def test_three_valued_domain_sums_and_standard_order_of_answers():
    # the domain is written out of standard order: the network's columns follow the domain,
    # the answer columns follow the standard order of terms
    net = Identity()
    model = plait.Model(
        """
        nn(colour_net, [X], C, [red, green, blue]) :: colour(X, C).
        same(X, Y) :- colour(X, C), colour(Y, C).
        pair(X, Y, C1, C2) :- colour(X, C1), colour(Y, C2).
        """,
        {"colour_net": net},
        dtype=torch.float64,
    )
    pa, pb = rows(3, 3, seed=1), rows(3, 3, seed=2)
    out = model("colour(A, C)", A=pa)
    t = model.template("colour(A, C)", ["A"])
    assert t.answer_names == ["colour(A,blue)", "colour(A,green)", "colour(A,red)"]
    assert [t.value_of(i) for i in range(3)] == ["blue", "green", "red"]
    torch.testing.assert_close(out, pa[:, [2, 1, 0]])
    torch.testing.assert_close(out.sum(-1), torch.ones(3, dtype=torch.float64))
    same = model("same(A, B)", A=pa, B=pb)
    assert same.shape == (3, 1)
    torch.testing.assert_close(same[:, 0], (pa * pb).sum(-1))
    pair = model("pair(A, B, C1, C2)", A=pa, B=pb)
    t2 = model.template("pair(A, B, C1, C2)", ["A", "B"])
    assert pair.shape == (3, 9)
    domain = ["red", "green", "blue"]
    for i, j in itertools.product(range(3), range(3)):
        col = t2.index(domain[i], domain[j])
        assert t2.value_of(col) == (domain[i], domain[j])
        torch.testing.assert_close(pair[:, col], pa[:, i] * pb[:, j])
    torch.testing.assert_close(pair.sum(-1), torch.ones(3, dtype=torch.float64))


def test_the_same_input_twice_is_one_choice():
    model = addition_model()
    p = rows(3, seed=41)
    out = model("addition(A, A, Z)", A=p)
    t = model.template("addition(A, A, Z)", ["A"])
    for z in range(19):
        expected = p[:, z // 2] if z % 2 == 0 else torch.zeros(3)
        torch.testing.assert_close(out[:, t.index(z)], expected)
    (e,) = model.explain("addition(A, A, Z)", A=p[:1])
    k = int(p[0].argmax())
    assert e.answer == f"addition(A,A,{2 * k})" and [c.atom for c in e.choices] == [f"digit(A,{k})"]


def test_query_using_a_single_domain_value():
    model = addition_model(
        text=ADDITION + "three(X) :- digit(X, 3).\nnine(X) :- digit(X, 9).\nzero_or_nine(X) :- digit(X, 0).\n"
        "zero_or_nine(X) :- digit(X, 9).\nnot_three(X) :- \\+ three(X).\n"
    )
    p = rows(4)
    torch.testing.assert_close(model("three(A)", A=p)[:, 0], p[:, 3])
    torch.testing.assert_close(model("nine(A)", A=p)[:, 0], p[:, 9])
    torch.testing.assert_close(model("zero_or_nine(A)", A=p)[:, 0], p[:, 0] + p[:, 9])
    torch.testing.assert_close(model("not_three(A)", A=p)[:, 0], 1 - p[:, 3])


def test_neural_facts_with_b_and_b1_outputs():
    for shape_fn in (lambda x: x[:, 0], lambda x: x[:, :1]):
        calls = []

        def fn(x, shape_fn=shape_fn, calls=calls):
            calls.append(x.shape[0])
            return shape_fn(x)

        model = plait.Model(
            """
            nn(fact_net, [X]) :: bright(X).
            both(X, Y) :- bright(X), bright(Y).
            either(X, Y) :- bright(X); bright(Y).
            """,
            {"fact_net": Fn(fn)},
            dtype=torch.float64,
        )
        pa, pb = torch.rand(5, 1), torch.rand(5, 1)
        torch.testing.assert_close(model("bright(A)", A=pa), pa)
        torch.testing.assert_close(model("both(A, B)", A=pa, B=pb)[:, 0], (pa * pb)[:, 0])
        calls.clear()
        out = model("either(A, B)", A=pa, B=pb)[:, 0]
        torch.testing.assert_close(out, (1 - (1 - pa) * (1 - pb))[:, 0])
        assert calls == [10]  # one call for both inputs


def test_network_with_two_inputs():
    def fn(x, y):
        p = torch.sigmoid((x * y).sum(-1, keepdim=True))
        return torch.cat([1 - p, p], -1)

    model = plait.Model(
        "nn(rel_net, [X, Y], Z, [no, yes]) :: related(X, Y, Z).\nlinked(X, Y) :- related(X, Y, yes).\n",
        {"rel_net": Fn(fn)},
        dtype=torch.float64,
    )
    x, y = torch.randn(3, 4), torch.randn(3, 4)
    torch.testing.assert_close(model("linked(A, B)", A=x, B=y)[:, 0], torch.sigmoid((x * y).sum(-1)))


def test_float32_model():
    net = nn.Sequential(nn.Linear(5, 10), nn.Softmax(-1)).float()
    model = plait.Model(ADDITION, {"my_net": net}, dtype=torch.float32)
    a, b = torch.randn(3, 5, dtype=torch.float32), torch.randn(3, 5, dtype=torch.float32)
    out = model("addition(A, B, Z)", A=a, B=b)
    assert out.dtype == torch.float32 and out.shape == (3, 19)
    with torch.no_grad():
        expected = convolve(net(a).double(), net(b).double()).float()
    torch.testing.assert_close(out.detach(), expected, rtol=1e-4, atol=1e-6)


def test_noisy_addition_with_learnable_noise():
    model = addition_model(text=NOISY)
    pa, pb = rows(3, seed=3), rows(3, seed=4)
    out = model("add(A, B, Z)", A=pa, B=pb)
    expected = 0.7 * convolve(pa, pb)
    expected[:, 0] += 0.3
    torch.testing.assert_close(out.detach(), expected)


def test_learnable_annotated_disjunction():
    model = plait.Model("t(0.2)::a; t(0.5)::b; t(0.3)::c.\nq :- a.\nq :- c.\n", dtype=torch.float64)
    (name,) = model.learnable.keys()
    assert model.learnable[name].shape == (3,)
    torch.testing.assert_close(model("a")[0, 0], torch.tensor(0.2))
    torch.testing.assert_close(model("b")[0, 0], torch.tensor(0.5))
    torch.testing.assert_close(model("q")[0, 0], torch.tensor(0.5))
    (probs,) = model.parameter_probabilities().values()
    assert probs == pytest.approx([0.2, 0.5, 0.3])


# ----------------------------------------------------------------------------- gradients


def test_gradcheck_wrt_input_logits():
    model = addition_model(SoftmaxNet(), text=ADDITION.replace("[0..9]", "[0..3]"))

    def f(xa, xb):
        return model.log_prob("addition(A, B, Z)", A=xa, B=xb)

    g = torch.Generator().manual_seed(5)
    xa = torch.randn(2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    xb = torch.randn(2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (xa, xb))


def test_gradcheck_wrt_network_parameters():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 4), nn.Softmax(-1)).double()
    model = addition_model(net, text=ADDITION.replace("[0..9]", "[0..3]"))
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    names = [n for n, _ in model.named_parameters()]
    assert set(names) == {"networks.my_net.0.weight", "networks.my_net.0.bias"}
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in model.named_parameters())

    def f(*ps):
        return torch.func.functional_call(model, dict(zip(names, ps)), ("addition(A, B, Z)",), {"A": a, "B": b})

    assert torch.autograd.gradcheck(f, params)


def test_gradcheck_noisy_addition_wrt_learnable_logit_and_inputs():
    model = addition_model(SoftmaxNet(), text=NOISY.replace("[0..9]", "[0..2]"))
    (name,) = model.learnable.keys()
    key = f"learnable.{name}"
    assert key in dict(model.named_parameters())
    g = torch.Generator().manual_seed(6)
    xa = torch.randn(2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    xb = torch.randn(2, 3, generator=g, dtype=torch.float64)
    logit = torch.tensor(math.log(0.3 / 0.7), dtype=torch.float64, requires_grad=True)

    def f(theta, xa):
        return torch.func.functional_call(model, {key: theta}, ("add(A, B, Z)",), {"A": xa, "B": xb}).log()

    assert torch.autograd.gradcheck(f, (logit, xa))
    # the analytic derivative: d/dtheta P(0) = s'(theta) (1 - conv0), d/dtheta P(z>0) = -s'(theta) conv_z
    model.zero_grad()
    out = model("add(A, B, Z)", A=xa.detach(), B=xb)
    out[:, 1].sum().backward()
    s = torch.sigmoid(logit.detach())
    conv = convolve(torch.softmax(xa.detach(), -1), torch.softmax(xb, -1))
    torch.testing.assert_close(model.learnable[name].grad, -(s * (1 - s) * conv[:, 1]).sum())


def test_gradients_are_finite_for_one_hot_network_outputs():
    model = addition_model()
    x = torch.zeros(2, 10)
    x[0, 3] = x[1, 5] = 1.0
    x.requires_grad_(True)
    y = rows(2, seed=40).requires_grad_(True)
    lp = model.log_prob("addition(A, B, Z)", A=x, B=y)
    assert torch.isneginf(lp[0, :3]).all() and torch.isfinite(lp[0, 3:13]).all()
    target = torch.tensor([7, 9])
    torch.nn.functional.nll_loss(lp, target).backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()
    # d(-log P(Z=7)) / d y[0, 4] = -x[0, 3] / P(Z=7) / 2 (mean over the batch)
    assert float(y.grad[0, 4]) == pytest.approx(-0.5 / float(y[0, 4].detach()))


# ----------------------------------------------------------------------------- batching


def test_batch_equals_single_examples_and_one_network_call():
    net = SoftmaxNet()
    model = addition_model(net)
    g = torch.Generator().manual_seed(7)
    a = torch.randn(5, 10, generator=g, dtype=torch.float64)
    b = torch.randn(5, 10, generator=g, dtype=torch.float64)
    net.calls = 0
    batched = model("addition(A, B, Z)", A=a, B=b)
    assert net.calls == 1
    singles = torch.cat([model("addition(A, B, Z)", A=a[i : i + 1], B=b[i : i + 1]) for i in range(5)])
    assert net.calls == 6
    torch.testing.assert_close(batched, singles, rtol=1e-12, atol=1e-14)
    net.calls = 0
    model.log_prob("addition(A, B, Z)", A=a, B=b)
    assert net.calls == 1


def test_list_inputs_one_network_call():
    net = SoftmaxNet()
    model = addition_model(
        net,
        text=ADDITION
        + "number([], R, R).\nnumber([H|T], Acc, R) :- digit(H, N), Acc2 is N + 10 * Acc, number(T, Acc2, R).\n"
        "number(X, Y) :- number(X, 0, Y).\n",
    )
    xs = [torch.randn(3, 10) for _ in range(2)]
    net.calls = 0
    out = model("number(X, N)", X=xs)
    assert net.calls == 1
    assert out.shape == (3, 100)
    p0, p1 = torch.softmax(xs[0], -1), torch.softmax(xs[1], -1)
    torch.testing.assert_close(out, (p0[:, :, None] * p1[:, None, :]).reshape(3, 100))
    t = model.template("number(X, N)", {"X": xs})
    assert t.inputs == {"X": 2}
    assert t.value_of(t.index(42)) == 42


# ----------------------------------------------------------------------------- DeepProbLog models


def test_deepproblog_addition_file():
    net = Identity()
    model = plait.Model.from_file(dpl("MNIST__models__addition.pl"), {"mnist_net": net}, dtype=torch.float64)
    pa, pb = rows(3, seed=8), rows(3, seed=9)
    out = model("addition(A, B, Z)", A=pa, B=pb)
    assert out.shape == (3, 19)
    torch.testing.assert_close(out, convolve(pa, pb))

    xs, ys = [rows(2, seed=10), rows(2, seed=11)], [rows(2, seed=12), rows(2, seed=13)]
    net.calls = 0
    out = model("multi_addition(X, Y, Z)", X=xs, Y=ys)
    assert net.calls == 1
    t = model.template("multi_addition(X, Y, Z)", {"X": xs, "Y": ys})
    assert out.shape == (2, 199) and len(t.answers) == 199
    assert [t.value_of(c) for c in range(199)] == list(range(199))
    torch.testing.assert_close(out.sum(-1), torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(out[:, 0], xs[0][:, 0] * xs[1][:, 0] * ys[0][:, 0] * ys[1][:, 0])
    torch.testing.assert_close(out[:, 198], xs[0][:, 9] * xs[1][:, 9] * ys[0][:, 9] * ys[1][:, 9])
    # P(Z = 10): (X, Y) in {(0, 10), (10, 0), (1, 9), ..., (9, 1)}
    nx = (xs[0][:, :, None] * xs[1][:, None, :]).reshape(2, 100)
    ny = (ys[0][:, :, None] * ys[1][:, None, :]).reshape(2, 100)
    expected = sum(nx[:, i] * ny[:, 10 - i] for i in range(11))
    torch.testing.assert_close(out[:, t.index(10)], expected)
    torch.testing.assert_close(out, convolve(nx, ny))


def test_deepproblog_noisy_addition_file():
    model = plait.Model.from_file(
        dpl("MNIST__models__noisy_addition.pl"), {"mnist_net": Identity()}, dtype=torch.float64
    )
    (probs,) = model.parameter_probabilities().values()
    assert probs == pytest.approx([0.1])
    pa, pb = rows(2, seed=14), rows(2, seed=15)
    out = model("addition_noisy(A, B, Z)", A=pa, B=pb)
    assert out.shape == (2, 19)
    torch.testing.assert_close(out, 0.1 / 19 + 0.9 * convolve(pa, pb))
    torch.testing.assert_close(model("addition(A, B, Z)", A=pa, B=pb), convolve(pa, pb))


def test_deepproblog_all_digit_addition_file():
    model = plait.Model.from_file(
        dpl("MNIST__models__all_digit_addition.pl"), {"mnist_net": Identity()}, dtype=torch.float64
    )
    pa, pb, pc = rows(2, seed=16), rows(2, seed=17), rows(2, seed=18)
    out = model("addition(A, B, C)", A=pa, B=pb, C=pc)
    assert out.shape == (2, 1)
    expected = sum(pa[:, i] * pb[:, j] * pc[:, i + j] for i in range(10) for j in range(10) if i + j < 10)
    torch.testing.assert_close(out[:, 0], expected)


def test_deepproblog_coins_file():
    model = plait.Model.from_file(
        dpl("Coins__model.pl"), {"net1": Identity(), "net2": Fn(lambda x: x.flip(-1))}, dtype=torch.float64
    )
    p = rows(4, 2, seed=19)  # net1: P(heads) = p[:, 0]; net2 sees the same image, flipped
    out = model("game(X, Outcome)", X=p)
    t = model.template("game(X, Outcome)", ["X"])
    assert [t.value_of(c) for c in range(2)] == ["loss", "win"]
    win = p[:, 0] * p[:, 1] + p[:, 1] * p[:, 0]
    torch.testing.assert_close(out[:, t.index("win")], win)
    torch.testing.assert_close(out[:, t.index("loss")], 1 - win)
    # explanations, with a second coin of its own: P(heads) = 0.6
    model = plait.Model.from_file(
        dpl("Coins__model.pl"),
        {"net1": Identity(), "net2": Fn(lambda x: torch.tensor([0.6, 0.4]).expand_as(x))},
        dtype=torch.float64,
    )
    p = torch.tensor([[0.7, 0.3], [0.2, 0.8]])
    win = model.explain("game(X, Outcome)", answer="win", X=p)
    assert [[c.atom for c in e.choices] for e in win] == [
        ["coin(1,X,heads)", "coin(2,X,heads)"],
        ["coin(1,X,tails)", "coin(2,X,tails)"],
    ]
    assert [e.world_probability for e in win] == pytest.approx([0.7 * 0.6, 0.8 * 0.4])
    assert [c.source for c in win[0].choices] == ["net1", "net2"]
    loss = model.explain("game(X, Outcome)", answer="loss", X=p)
    assert [e.world_probability for e in loss] == pytest.approx([0.7 * 0.4, 0.8 * 0.6])
    assert [e.answer for e in model.explain("game(X, Outcome)", X=p)] == ["game(X,win)", "game(X,loss)"]


def test_deepproblog_minimal_addition_and_tensor_sources():
    images = [rows(1, seed=20 + i)[0] for i in range(3)]
    model = plait.Model.from_file(
        dpl("minimal__addition.pl"), {"mnist_net": Identity()}, tensor_sources={"train": images}, dtype=torch.float64
    )
    out = model("addition(tensor(train(0)), tensor(train(1)), Z)")
    assert out.shape == (1, 19)
    torch.testing.assert_close(out, convolve(images[0][None], images[1][None]))
    # a concrete DeepProbLog query, with and without a template input beside it
    z7 = model("addition(tensor(train(2)), tensor(train(0)), 7)")
    assert z7.shape == (1, 1)
    torch.testing.assert_close(z7[0, 0], convolve(images[2][None], images[0][None])[0, 7])
    pb = rows(4, seed=30)
    mixed = model("addition(tensor(train(1)), B, Z)", B=pb)
    torch.testing.assert_close(mixed, convolve(images[1][None].expand(4, 10), pb))
    with pytest.raises(plait.NeuralError, match="train") as e:
        model("addition(tensor(train(5)), tensor(train(0)), Z)")
    assert "digit/2" in str(e.value) and "mnist_net" in str(e.value)


# ----------------------------------------------------------------------------- explanations


def best_pair(pa: torch.Tensor, pb: torch.Tensor, k: int) -> tuple[float, tuple[int, int]]:
    return max((float(pa[i] * pb[k - i]), (i, k - i)) for i in range(10) if 0 <= k - i <= 9)


def test_explanations_of_a_fixed_distribution():
    pa = torch.tensor([[0.05, 0.05, 0.6, 0.05, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03]])
    pb = torch.tensor([[0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.8, 0.03, 0.03]])
    model = addition_model()
    (e,) = model.explain("addition(A, B, Z)", A=pa, B=pb)
    assert isinstance(e, plait.Explanation)
    assert e.answer == "addition(A,B,9)" and e.query == "addition(A,B,Z)"
    assert [c.atom for c in e.choices] == ["digit(A,2)", "digit(B,7)"]
    assert all(isinstance(c, plait.Choice) and c.value and c.source == "my_net" for c in e.choices)
    assert [c.probability for c in e.choices] == pytest.approx([0.6, 0.8])
    assert e.world_probability == pytest.approx(0.48)
    assert e.probability == pytest.approx(float(convolve(pa, pb)[0, 9]))
    assert "digit(A,2)" in e.text and "digit(B,7)" in e.text and "addition(A,B,9)" in e.text
    assert str(e) == e.text
    d = json.loads(e.to_json())
    assert d == e.to_dict()
    assert d["answer"] == "addition(A,B,9)" and d["world_probability"] == pytest.approx(0.48)
    assert [c["atom"] for c in d["choices"]] == ["digit(A,2)", "digit(B,7)"]
    assert model.predict("addition(A, B, Z)", A=pa, B=pb).tolist() == [9]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_explanations_match_brute_force(seed):
    batch = 3
    pa, pb = rows(batch, seed=100 + seed), rows(batch, seed=200 + seed)
    model = addition_model()
    q = "addition(A, B, Z)"
    probs = model(q, A=pa, B=pb)
    best = [[best_pair(pa[b], pb[b], k) for k in range(19)] for b in range(batch)]
    predicted = model.predict(q, A=pa, B=pb)
    assert predicted.shape == (batch,)
    assert predicted.tolist() == [max(range(19), key=lambda k: best[b][k][0]) for b in range(batch)]
    default = model.explain(q, A=pa, B=pb)
    for b, e in enumerate(default):
        k = int(predicted[b])
        assert e.answer == f"addition(A,B,{k})"
        assert e.world_probability == pytest.approx(best[b][k][0], rel=1e-9)
    for k in (0, 4, 9, 13, 18):
        for b, e in enumerate(model.explain(q, answer=k, A=pa, B=pb)):
            p, (i, j) = best[b][k]
            assert e.answer == f"addition(A,B,{k})"
            assert e.world_probability == pytest.approx(p, rel=1e-9)
            assert e.probability == pytest.approx(float(probs[b, k]), rel=1e-9)
            assert [c.atom for c in e.choices] == [f"digit(A,{i})", f"digit(B,{j})"]
            assert [c.probability for c in e.choices] == pytest.approx([float(pa[b, i]), float(pb[b, j])])
    # one answer per batch element
    ks = [3, 11, 17]
    es = model.explain(q, answer=ks, A=pa, B=pb)
    assert [e.answer for e in es] == [f"addition(A,B,{k})" for k in ks]
    assert [e.world_probability for e in es] == pytest.approx([best[b][k][0] for b, k in enumerate(ks)], rel=1e-9)


def test_explanations_of_deepproblog_noisy_addition_match_brute_force():
    model = plait.Model.from_file(
        dpl("MNIST__models__noisy_addition.pl"), {"mnist_net": Identity()}, dtype=torch.float64
    )
    pa, pb = rows(2, seed=50), rows(2, seed=51)
    q = "addition_noisy(A, B, Z)"

    def best(b, k):  # worlds: noisy, the two digits and the uniform choice (1/19 each)
        return max(
            (0.1 if noisy else 0.9) * float(pa[b, i] * pb[b, j]) / 19
            for noisy, i, j in itertools.product((True, False), range(10), range(10))
            if noisy or i + j == k
        )

    for k in (0, 5, 9, 17):
        for b, e in enumerate(model.explain(q, answer=k, A=pa, B=pb)):
            assert e.world_probability == pytest.approx(best(b, k), rel=1e-9)
            atoms = {c.atom: c for c in e.choices}
            assert atoms["noisy"].source == "t"
            assert [sum(a.startswith(f) for a in atoms) for f in ("digit(A,", "digit(B,", "uniform(")] == [1, 1, 1]
            assert math.prod(c.probability for c in e.choices) == pytest.approx(e.world_probability, rel=1e-9)
    predicted = model.predict(q, A=pa, B=pb).tolist()
    assert predicted == [max(range(19), key=lambda k: best(b, k)) for b in range(2)]


MIXED = """
{p_a}::a; {p_b}::b.
{p_c}::c.
{p_d}::d.
s(1) :- a.
s(2) :- b, c.
s(3) :- \\+ a, \\+ c.
s(4) :- d, \\+ b.
"""


def _mixed_worlds(p_a, p_b, p_c, p_d):
    for ad, c, d in itertools.product(("a", "b", None), (True, False), (True, False)):
        p = {"a": p_a, "b": p_b, None: 1 - p_a - p_b}[ad] * (p_c if c else 1 - p_c) * (p_d if d else 1 - p_d)
        holds = {1: ad == "a", 2: ad == "b" and c, 3: ad != "a" and not c, 4: d and ad != "b"}
        yield {"a": ad == "a", "b": ad == "b", "c": c, "d": d}, p, holds


@pytest.mark.parametrize(
    "probs", [(0.3, 0.2, 0.6, 0.25), (0.1, 0.15, 0.35, 0.7), (0.45, 0.4, 0.2, 0.55), (0.2, 0.3, 0.9, 0.1)]
)
def test_explanations_of_facts_and_an_incomplete_ad_match_brute_force(probs):
    p_a, p_b, p_c, p_d = probs
    model = plait.Model(MIXED.format(p_a=p_a, p_b=p_b, p_c=p_c, p_d=p_d), dtype=torch.float64)
    worlds = list(_mixed_worlds(*probs))
    out = model("s(X)")
    t = model.template("s(X)", {})
    assert [t.value_of(c) for c in range(4)] == [1, 2, 3, 4]
    true_p = {k: sum(p for _, p, h in worlds if h[k]) for k in range(1, 5)}
    best = {k: max(p for _, p, h in worlds if h[k]) for k in range(1, 5)}
    assert out[0].tolist() == pytest.approx([true_p[k] for k in range(1, 5)])
    assert model.predict("s(X)").tolist() == [max(range(1, 5), key=best.get) - 1]
    fact_p = {"c": p_c, "d": p_d}
    for k in range(1, 5):
        (e,) = model.explain("s(X)", answer=k)
        assert e.answer == f"s({k})"
        assert e.world_probability == pytest.approx(best[k], rel=1e-9)
        assert e.probability == pytest.approx(true_p[k], rel=1e-9)
        # the world the choices describe (the rest at their most likely values) is a best world of s(k)
        chosen = {c.atom: c.value for c in e.choices}
        for c in e.choices:
            expected = {"a": p_a, "b": p_b, "no head of a ; b": 1 - p_a - p_b, **fact_p}[c.atom]
            assert c.probability == pytest.approx(expected if c.value else 1 - expected)
            assert c.source is None
        assert not (chosen.get("a") and chosen.get("b"))
        world = {
            "a": chosen.get("a", False),
            "b": chosen.get("b", False),
            **{f: chosen.get(f, fact_p[f] >= 0.5) for f in fact_p},
        }
        if not world["a"] and not world["b"] and "a" not in chosen and "b" not in chosen:
            # the AD is not shown: its most likely outcome among the heads and "none"
            top = max((p_a, "a"), (p_b, "b"), (1 - p_a - p_b, None))[1]
            if top is not None:
                world[top] = True
        (match,) = [(p, h) for w, p, h in worlds if w == world]
        assert match[1][k], (k, e.text)
        assert match[0] == pytest.approx(best[k], rel=1e-9), (k, e.text)


def test_explanations_of_neural_facts_match_brute_force():
    model = plait.Model(
        "nn(fact_net, [X]) :: bright(X).\neither(X, Y) :- bright(X); bright(Y).\n"
        "neither(X, Y) :- \\+ bright(X), \\+ bright(Y).\n",
        {"fact_net": Identity()},
        dtype=torch.float64,
    )
    pa, pb = torch.tensor([[0.3], [0.8], [0.55]]), torch.tensor([[0.4], [0.1], [0.45]])
    for query, holds in (("either(A, B)", lambda x, y: x or y), ("neither(A, B)", lambda x, y: not x and not y)):
        for b, e in enumerate(model.explain(query, A=pa, B=pb)):
            p = {"bright(A)": float(pa[b, 0]), "bright(B)": float(pb[b, 0])}

            def weight(world, p=p):
                return math.prod(p[k] if v else 1 - p[k] for k, v in world.items())

            worlds = [dict(zip(p, w)) for w in itertools.product((True, False), repeat=2)]
            good = [w for w in worlds if holds(*w.values())]
            assert e.probability == pytest.approx(sum(map(weight, good)))
            assert e.world_probability == pytest.approx(max(map(weight, good)))
            shown = {c.atom: c.value for c in e.choices}
            assert all(c.source == "fact_net" for c in e.choices)
            world = {k: shown.get(k, p[k] >= 0.5) for k in p}
            assert holds(*world.values()) and weight(world) == pytest.approx(e.world_probability)


def test_explanation_with_a_tuple_answer():
    model = plait.Model(
        "nn(colour_net, [X], C, [red, green, blue]) :: colour(X, C).\n"
        "pair(X, Y, C1, C2) :- colour(X, C1), colour(Y, C2).\n",
        {"colour_net": Identity()},
        dtype=torch.float64,
    )
    c, d = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]]), torch.tensor([[0.6, 0.1, 0.3], [0.2, 0.2, 0.6]])
    q = "pair(A, B, C1, C2)"
    t = model.template(q, ["A", "B"])
    es = model.explain(q, answer=("red", "blue"), A=c, B=d)
    assert [e.answer for e in es] == ["pair(A,B,red,blue)"] * 2
    assert [e.world_probability for e in es] == pytest.approx([0.2 * 0.3, 0.6 * 0.6])
    es = model.explain(q, answer=[("red", "blue"), ("green", "green")], A=c, B=d)
    assert [e.answer for e in es] == ["pair(A,B,red,blue)", "pair(A,B,green,green)"]
    predicted = model.predict(q, A=c, B=d).tolist()
    assert [t.value_of(k) for k in predicted] == [("green", "red"), ("red", "blue")]


def test_explanation_of_an_answer_that_holds_in_every_world():
    model = plait.Model("0.4::a.\nq :- a.\nq :- \\+ a.\n", dtype=torch.float64)
    (e,) = model.explain("q")
    assert e.probability == pytest.approx(1.0)
    assert e.world_probability == pytest.approx(0.6)


def test_explanations_respect_evidence():
    model = plait.Model("0.8::a.\n0.3::b.\nq(1) :- a.\nq(2) :- b.\nevidence(a, false).\n", dtype=torch.float64)
    assert model("q(X)")[0].tolist() == pytest.approx([0.0, 0.3])
    assert model.predict("q(X)").tolist() == [1]
    (e,) = model.explain("q(X)")
    assert e.answer == "q(2)" and e.world_probability == pytest.approx(0.2 * 0.3)
    assert [(c.atom, c.value) for c in e.choices] == [("a", False), ("b", True)]
    (e,) = model.explain("q(X)", answer=1)
    assert e.probability == 0.0 and e.world_probability == 0.0 and e.choices == ()


def test_text_of_an_impossible_answer():
    model = plait.Model("0.8::a.\nq(1) :- a.\nq(2) :- a.\nevidence(a, false).\n", dtype=torch.float64)
    (e,) = model.explain("q(X)", answer=1)
    assert e.world_probability == 0.0
    assert "every world" not in e.text


def test_text_when_the_best_world_takes_the_rest_of_an_ad():
    model = addition_model(text=ADDITION + "not_three(X) :- \\+ digit(X, 3).\n")
    p = torch.tensor([[0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05]])
    (e,) = model.explain("not_three(A)", A=p)
    assert e.probability == pytest.approx(0.9)
    assert "every world" not in e.text
    # the best world is the single most likely digit other than 3, not the lumped rest of the domain
    assert e.world_probability == pytest.approx(0.3)
    assert [(c.atom, c.value) for c in e.choices] == [("digit(A,0)", True)]


# ----------------------------------------------------------------------------- errors


def check_neural_error(err: pytest.ExceptionInfo, predicate: str = "digit/2", network: str = "my_net") -> None:
    assert type(err.value) is plait.NeuralError
    assert predicate in str(err.value) and network in str(err.value), str(err.value)


def test_unknown_network_name():
    with pytest.raises(plait.NeuralError) as e:
        plait.Model(ADDITION, {"other_net": Identity()})
    check_neural_error(e)
    with pytest.raises(plait.NeuralError) as e:
        plait.Model(ADDITION)
    check_neural_error(e)


@pytest.mark.parametrize(
    "fn",
    [
        pytest.param(lambda x: x[:, :9], id="too-narrow"),
        pytest.param(lambda x: torch.cat([x, x[:, :1]], -1), id="too-wide"),
        pytest.param(lambda x: x[:1], id="wrong-batch"),
        pytest.param(lambda x: x[:, None, :], id="3d"),
        pytest.param(lambda x: x[:, 0], id="1d"),
    ],
)
def test_wrong_output_shape(fn):
    model = addition_model(Fn(fn))
    p = rows(3)
    with pytest.raises(plait.NeuralError, match="shape") as e:
        model("addition(A, B, Z)", A=p, B=p)
    check_neural_error(e)


def test_nan_output():
    model = addition_model(Fn(lambda x: torch.where(torch.arange(10) == 3, torch.nan, x)))
    with pytest.raises(plait.NeuralError, match="NaN") as e:
        model("addition(A, B, Z)", A=rows(2), B=rows(2))
    check_neural_error(e)


def test_rows_not_summing_to_one():
    model = addition_model(Fn(lambda x: torch.full_like(x, 0.05)))
    with pytest.raises(plait.NeuralError, match="sum to 1") as e:
        model("addition(A, B, Z)", A=rows(2), B=rows(2))
    check_neural_error(e)


def test_values_outside_unit_interval():
    bad = torch.tensor([1.5, -0.5] + [0.0] * 8)
    model = addition_model(Fn(lambda x: bad.expand_as(x)))  # rows sum to 1
    with pytest.raises(plait.NeuralError, match=r"outside \[0, 1\]") as e:
        model("addition(A, B, Z)", A=rows(2), B=rows(2))
    check_neural_error(e)
    facts = plait.Model("nn(fact_net, [X]) :: bright(X).\n", {"fact_net": Fn(lambda x: x[:, 0] + 1)})
    with pytest.raises(plait.NeuralError, match=r"outside \[0, 1\]") as e:
        facts("bright(A)", A=torch.rand(3, 2))
    check_neural_error(e, "bright/1", "fact_net")


def test_exception_inside_the_network_is_wrapped():
    def fn(x):
        raise ValueError("boom in the network")

    model = addition_model(Fn(fn))
    with pytest.raises(plait.NeuralError, match="boom in the network") as e:
        model("addition(A, B, Z)", A=rows(2), B=rows(2))
    check_neural_error(e)
    assert isinstance(e.value.__cause__, ValueError)
    # a shape mismatch inside a real layer, too
    model = addition_model(nn.Sequential(nn.Linear(7, 10), nn.Softmax(-1)))
    with pytest.raises(plait.NeuralError) as e:
        model("addition(A, B, Z)", A=torch.randn(2, 3), B=torch.randn(2, 3))
    check_neural_error(e)
    assert isinstance(e.value.__cause__, RuntimeError)


def test_network_returning_a_non_tensor():
    model = addition_model(Fn(lambda x: x.tolist()))
    with pytest.raises(plait.NeuralError, match="list") as e:
        model("addition(A, B, Z)", A=rows(2), B=rows(2))
    check_neural_error(e)


def test_input_on_another_device_than_the_network():
    meta_net = nn.Sequential(nn.Linear(10, 10), nn.Softmax(-1)).to("meta")
    with pytest.raises(plait.NeuralError, match="meta") as e:
        addition_model(meta_net)("addition(A, B, Z)", A=torch.randn(2, 10), B=torch.randn(2, 10))
    check_neural_error(e)
    cpu_net = nn.Sequential(nn.Linear(10, 10), nn.Softmax(-1)).double()
    a = torch.randn(2, 10, device="meta")
    with pytest.raises(plait.NeuralError, match="meta") as e:
        addition_model(cpu_net)("addition(A, B, Z)", A=a, B=a)
    check_neural_error(e)


def test_input_that_is_not_bound():
    model = addition_model()
    with pytest.raises(plait.NeuralError, match="foo") as e:
        model("addition(foo, B, Z)", B=rows(2))
    check_neural_error(e)


def test_inference_errors():
    model = addition_model()
    p = rows(3)
    t = model.template("addition(A, B, Z)", ["A", "B"])
    with pytest.raises(plait.InferenceError, match="99"):
        t.index(99)
    with pytest.raises(plait.InferenceError):
        t.targets([1, 99])
    with pytest.raises(plait.InferenceError, match="B"):
        model.leaf_probabilities(t, {"A": p})
    with pytest.raises(plait.InferenceError, match="batch size"):
        model("addition(A, B, Z)", A=p, B=p[:2])
    with pytest.raises(plait.InferenceError, match="'C'"):
        model("addition(A, B, Z)", A=p, B=p, C=p)
    with pytest.raises(plait.InferenceError, match="not a tensor"):
        model("addition(A, B, Z)", A=p, B=[1.0, 2.0, 3.0])
    with pytest.raises(plait.InferenceError, match="batch dimension"):
        model("addition(A, B, Z)", A=p, B=torch.tensor(1.0))
    with pytest.raises(plait.PlaitError):  # B left free: digit(B, _) is not ground
        model("addition(A, B, Z)", A=p)


def test_plain_program_still_needs_a_network():
    program = plait.Program.from_string(ADDITION + "query(addition(a, b, Z)).\n")
    with pytest.raises(plait.NeedsNetworkError):
        program.query()
    with pytest.raises(plait.NeedsNetworkError):
        plait.Program.from_string("t(0.5)::f.\nquery(f).\n").query()


# ----------------------------------------------------------------------------- learnable parameters


def _t_any_probability(seed: int) -> float:
    torch.manual_seed(seed)
    model = plait.Model("t(_)::f.\n", dtype=torch.float64)
    return float(model("f")[0, 0].detach())


def test_random_initial_values_follow_the_torch_seed():
    assert _t_any_probability(1) == _t_any_probability(1)
    assert _t_any_probability(1) != _t_any_probability(2)
    assert 0.0 < _t_any_probability(3) < 1.0


def test_learnable_parameters_are_module_parameters():
    net = SoftmaxNet()
    model = addition_model(net, text=NOISY + "t(0.2)::x; t(0.8)::y.\n")
    params = list(model.parameters())
    assert len(model.learnable) == 2
    for p in model.learnable.values():
        assert any(p is q for q in params)
        assert p.requires_grad
    assert model.to("cpu") is model
    out = model("add(A, B, Z)", A=torch.randn(2, 10), B=torch.randn(2, 10))
    assert out.device.type == "cpu"


def test_sgd_increases_the_probability_of_the_target():
    model = plait.Model("t(0.5)::coin.\n", dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    before = float(model("coin")[0, 0].detach())
    assert before == pytest.approx(0.5)
    for _ in range(5):
        opt.zero_grad()
        loss = -model.log_prob("coin")[0, 0]
        loss.backward()
        opt.step()
    after = float(model("coin")[0, 0].detach())
    assert after > before + 0.1
    (probs,) = model.parameter_probabilities().values()
    assert probs == pytest.approx([after])


def test_training_the_network_on_addition_targets():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 10), nn.Softmax(-1)).double()
    model = addition_model(net)
    a, b = torch.randn(8, 4), torch.randn(8, 4)
    t = model.template("addition(A, B, Z)", ["A", "B"])
    target = t.targets([7] * 8)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)

    def nll():
        return torch.nn.functional.nll_loss(model.log_prob("addition(A, B, Z)", A=a, B=b), target)

    first = float(nll().detach())
    for _ in range(10):
        opt.zero_grad()
        loss = nll()
        loss.backward()
        opt.step()
    assert float(nll().detach()) < first


# ----------------------------------------------------------------------------- devices


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_outputs_stay_on_the_inputs_device():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 10), nn.Softmax(-1)).double()
    model = addition_model(net, text=NOISY).to("cuda")
    a, b = torch.randn(3, 4, device="cuda"), torch.randn(3, 4, device="cuda")
    out = model("add(A, B, Z)", A=a, B=b)
    assert out.device.type == "cuda"
    assert model.predict("add(A, B, Z)", A=a, B=b).device.type == "cuda"
    assert model.explain("add(A, B, Z)", A=a, B=b)[0].world_probability > 0
    model_cpu = model.to("cpu")
    out_cpu = model_cpu("add(A, B, Z)", A=a.cpu(), B=b.cpu())
    assert out_cpu.device.type == "cpu"
    torch.testing.assert_close(out.cpu(), out_cpu)


@pytest.mark.parametrize("semiring", ["auto", "log", "probability"])
def test_semirings_of_a_model_agree(semiring):
    a, b = rows(4, seed=5), rows(4, seed=6)
    ref = addition_model()  # float64, default semiring
    model = addition_model()
    model.semiring = semiring
    torch.testing.assert_close(
        model.log_prob("addition(A, B, Z)", A=a, B=b), ref.log_prob("addition(A, B, Z)", A=a, B=b)
    )


def test_auto_semiring_switches_to_log_space_on_underflow():
    """A product of 400 probabilities of 1e-3 is 1e-1200: 0 in float64 linear space, fine in log space."""
    text = "nn(my_net, [X], Y, [0, 1]) :: bit(X, Y).\nall_ones([]).\nall_ones([H|T]) :: -bit(H, 1), all_ones(T).\n"
    text = text.replace(":: -", ":- ")
    model = plait.Model(text, {"my_net": Identity()})
    xs = [torch.tensor([[0.999, 0.001]], dtype=torch.float64) for _ in range(400)]
    out = model.log_prob("all_ones(X)", X=xs)
    assert float(out[0, 0]) == pytest.approx(400 * math.log(1e-3))
    assert model.template("all_ones(X)", {"X": 400}).evaluator.needs_log


# ----------------------------------------------------------------------------- review regressions


def test_tiny_evidence_is_fine_in_log_space():
    src = "".join(f"0.1::f{i}. evidence(f{i}).\n" for i in range(400)) + "0.5::a. query(a).\n"
    cq = plait.Program.from_string(src).compile()
    assert float(cq(semiring="log")[0]) == pytest.approx(0.5)
    model = plait.Model(src)
    assert float(model.log_prob("a")[0, 0]) == pytest.approx(math.log(0.5))


def test_impossible_evidence_is_an_error_not_nan():
    model = addition_model(text=ADDITION + "evidence(digit(tensor(x(5)), 3)).\n", tensor_sources={"x": torch.eye(10)})
    # the "network" says the image is certainly a 5, the evidence says 3
    with pytest.raises(plait.InconsistentEvidenceError):
        model.log_prob("digit(tensor(x(5)), D)")


def test_non_ground_learnable_fact_is_rejected():
    model = plait.Model("t(0.5)::p(X).\nq :- p(X), p(Y).\n")
    with pytest.raises(plait.NonGroundError, match="unbound arguments"):
        model("q")


def test_an_int_input_is_rejected_without_compiling():
    model = addition_model()
    with pytest.raises(plait.InferenceError, match="not a tensor"):
        model("addition(A, B, Z)", A=rows(2), B=3)
    assert not model._templates


def test_nn_output_variable_must_be_in_the_head():
    with pytest.raises(plait.ProgramError, match="output variable Y"):
        plait.Model("nn(my_net, [X], Y, [0..9]) :: digit(X).\n", {"my_net": Identity()})
    with pytest.raises(plait.ProgramError, match="output variable Y"):
        plait.Model("nn(my_net, [X], Y, [0..9]) :: digit(X, Y) :- q(Y).\nq(1).\n", {"my_net": Identity()})


def test_explain_checks_the_number_of_answers():
    model = addition_model()
    with pytest.raises(plait.InferenceError, match="3 answers for a batch of 2"):
        model.explain("addition(A, B, Z)", answer=[1, 2, 3], A=rows(2), B=rows(2, seed=1))


def test_predict_and_explain_run_the_networks_in_eval_mode():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 10), nn.Dropout(0.5), nn.Softmax(-1)).double()
    model = addition_model(net)
    a, b = rows(6), rows(6, seed=1)
    p1 = model.predict("addition(A, B, Z)", A=a, B=b)
    p2 = model.predict("addition(A, B, Z)", A=a, B=b)
    e1 = [e.text for e in model.explain("addition(A, B, Z)", A=a, B=b)]
    e2 = [e.text for e in model.explain("addition(A, B, Z)", A=a, B=b)]
    assert torch.equal(p1, p2) and e1 == e2 and model.training


def test_one_network_with_two_output_shapes_is_reported_as_such():
    text = "nn(my_net, [X], Y, [0..9]) :: digit(X, Y).\nnn(my_net, [X], Y, [a, b]) :: coin(X, Y).\nq(X, D, C) :- digit(X, D), coin(X, C).\n"
    model = plait.Model(text, {"my_net": Identity()})
    with pytest.raises(plait.NeuralError, match="different outputs"):
        model("q(A, D, C)", A=rows(2))


def test_training_log_probs_watch_only_the_targets():
    """Exact zeros far from the targets (a confident softmax) keep the linear-space path; the targets agree."""
    model = addition_model()
    a = torch.zeros(2, 10, dtype=torch.float64)
    a[:, 3] = 1.0  # certainly a 3: every sum below 3 has probability exactly 0
    b = rows(2, seed=2)
    t = model.template("addition(A, B, Z)", ["A", "B"])
    target = t.targets([3, 12])
    fast = model.answer_log_probs("addition(A, B, Z)", {"A": a, "B": b}, target)
    assert not t.evaluator.needs_log  # no redo in log space was needed
    exact = addition_model(semiring="log").log_prob("addition(A, B, Z)", A=a, B=b)
    torch.testing.assert_close(fast.gather(1, target[:, None]), exact.gather(1, target[:, None]))


# ----------------------------------------------------------------------------- more DeepProbLog models


def test_hwf_model_reads_operators_and_evaluates_expressions():
    model = plait.Model.from_file(dpl("HWF__model.pl"), {"net1": Identity(), "net2": Identity()}, dtype=torch.float64)

    def digit(d):
        return torch.nn.functional.one_hot(torch.tensor([d]), 10).double() * 0.9 + 0.01

    def op(o):  # domain [+,-,*,/]
        return torch.nn.functional.one_hot(torch.tensor([o]), 4).double() * 0.96 + 0.01

    query = "expression([I1, I2, I3], R)"
    t = model.template(query, ["I1", "I2", "I3"])
    for o, value in ((0, 7.0), (1, -1.0), (2, 12.0), (3, 0.75)):
        p = model(query, I1=digit(3), I2=op(o), I3=digit(4))
        assert p.sum().item() == pytest.approx(1.0, abs=1e-9) or p.sum().item() < 1.0  # division by 0 fails
        best = int(p[0].argmax())
        assert t.value_of(best) == pytest.approx(value)
    (e,) = model.explain(query, I1=digit(3), I2=op(2), I3=digit(4))
    assert e.answer.endswith(",12.0)") and "detect_operator(I2,*)" in e.text


class _Compare(nn.Module):
    """swap(X, Y) is likely when X > Y: the numbers come from the program as tensors."""

    def forward(self, x, y):
        p = torch.sigmoid(4.0 * (x - y).double())
        return torch.stack([1 - p, p], -1)


def test_forth_sort_models_take_numbers_as_network_inputs():
    for name in ("Forth__Sort__compare.pl", "Forth__Sort__quicksort.pl"):
        model = plait.Model.from_file(dpl(name), {"swap_net": _Compare()}, dtype=torch.float64)
        p = model("forth_sort([3, 1, 2], L)")
        t = model.template("forth_sort([3, 1, 2], L)", [])
        assert len(t.answers) == 6 and float(p.sum()) == pytest.approx(1.0)
        best = t.answer_names[int(p[0].argmax())]
        # bubble sort swaps when X > Y (ascending); this quicksort puts the swapped ones left (descending)
        assert best.endswith("[1, 2, 3])" if "compare" in name else "[3, 2, 1])"), best


class _Digit(nn.Module):
    """Forth's add: the result digit and the carry of I1 + I2 + Carry, almost surely."""

    def __init__(self, carry: bool) -> None:
        super().__init__()
        self.carry = carry

    def forward(self, a, b, c):
        total = a + b + c
        out = (total // 10) if self.carry else (total % 10)
        k = 2 if self.carry else 10
        return torch.nn.functional.one_hot(out, k).double() * 0.99 + 0.01 / k


def test_forth_add_model():
    model = plait.Model.from_file(
        dpl("Forth__Add__choose.pl"), {"neural1": _Digit(False), "neural2": _Digit(True)}, dtype=torch.float64
    )
    p = model("add([1, 8], [3, 4], 0, R)")
    t = model.template("add([1, 8], [3, 4], 0, R)", [])
    assert t.answer_names[int(p[0].argmax())] == "add([1, 8],[3, 4],0,[0, 5, 2])"  # 18 + 34 = 052


def test_operators_as_atoms_parse():
    program = plait.parse_program("ops([+, -, *, /]). p([N, +|T], N, T). q(- , a).")
    assert len(program.items) == 3
    assert plait.Program.from_string("ops([+, -]). r(X) :- ops([X|_]). query(r(X)).").query() == {
        "r(+)": pytest.approx(1.0)
    }


def test_forth_wap_model_with_a_tensor_valued_network():
    """nn(rnn, [Text], Embedding) :: rnn(Text, Embedding): an embedding that four other networks read."""
    torch.manual_seed(0)
    calls = []

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(5, 8)

        def forward(self, x):
            calls.append(x.shape[0])
            return torch.tanh(self.lin(x))

    def head(k):
        return nn.Sequential(nn.Linear(8, k), nn.Softmax(-1))

    nets = {"rnn": Encoder(), "nn_permute": head(6), "nn_op1": head(4), "nn_swap": head(2), "nn_op2": head(4)}
    model = plait.Model.from_file(dpl("Forth__WAP__wap.pl"), nets, dtype=torch.float64)
    text = torch.randn(3, 5)
    p = model("wap(T, 2, 3, 4, Out)", T=text)
    assert calls == [3]  # the embedding is computed once per batch and shared by the four networks
    assert p.shape[0] == 3 and bool((p.sum(-1) <= 1 + 1e-9).all()) and bool((p.sum(-1) > 0.3).all())
    p[:, 0].sum().backward()
    assert nets["rnn"].lin.weight.grad.abs().sum() > 0  # gradients reach the encoder through the heads
    (e,) = model.explain("wap(T, 2, 3, 4, Out)", T=text[:1])
    assert "net1(rnn([T])," in e.text
    with pytest.raises(plait.ProgramError, match="must be a variable of its head"):
        plait.Model("nn(rnn, [X], E) :: emb(X).\n", {"rnn": Identity()})


def test_poker_model_with_a_learnable_house_card():
    model = plait.Model.from_file(dpl("Poker__model.pl"), {"net1": Identity()}, dtype=torch.float64)
    assert len(model.learnable) == 1  # t(1/4)::house_rank(jack); ... : one learnable distribution

    def card(rank):  # domain [jack, queen, king, ace]
        return torch.nn.functional.one_hot(torch.tensor([rank]), 4).double() * 0.97 + 0.0075

    query = "game([C0, C1, C2, C3], Outcome)"
    p = model(query, C0=card(3), C1=card(3), C2=card(0), C3=card(1))  # own: ace, ace; opponent: jack, queen
    t = model.template(query, ["C0", "C1", "C2", "C3"])
    assert [t.value_of(i) for i in range(len(t.answers))] == ["draw", "loss", "win"]
    assert float(p.detach().sum()) == pytest.approx(1.0)
    # a pair of aces wins unless the house card is a king, which gives the opponent a straight
    assert t.value_of(int(p[0].argmax())) == "win" and 0.7 < float(p[0, 2].detach()) < 0.75
    p[0, 2].backward()
    (name,) = list(model.learnable)
    assert model.learnable[name].grad is not None  # the house card's distribution is trained too


# dynamo itself reads .grad of non-leaf tensors and instantiates autograd Functions while tracing,
# and warns about both (torch-internal, not plait's)
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf:UserWarning")
@pytest.mark.filterwarnings("ignore:.*should not be instantiated:DeprecationWarning")
def test_model_works_under_torch_compile():
    """The model is a plain nn.Module: torch.compile traces it (with graph breaks around the grounding)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 10), nn.Softmax(-1)).double()
    model = addition_model(net)
    a, b = rows(4), rows(4, seed=1)
    expected = model("addition(A, B, Z)", A=a, B=b)
    compiled = torch.compile(model, backend="eager")
    torch.testing.assert_close(compiled("addition(A, B, Z)", A=a, B=b), expected)


def test_neural_errors_point_at_the_clause_and_say_how_to_fix(tmp_path):
    path = tmp_path / "model.pl"
    path.write_text("% a digit model\nadd(X, Y, Z) :- digit(X, A), digit(Y, B), Z is A + B.\n"
                    "nn(my_net, [X], Y, [0..9]) :: digit(X, Y).\n")  # fmt: skip
    with pytest.raises(plait.NeuralError) as e:
        plait.Model.from_file(path, {"other": Identity()})
    text = e.value.render()
    assert text.startswith(f"{path}:3:1: error: neural predicate digit/2 uses the network 'my_net'")
    assert "^" in text and "hint: pass networks={'my_net': module}" in text

    model = plait.Model.from_file(path, {"my_net": nn.Softmax(-1)})
    with pytest.raises(plait.NeuralError) as e:
        model("add(A, B, Z)", A=torch.randn(2, 9), B=torch.randn(2, 9))  # 9 outputs for a 10-value domain
    text = e.value.render()
    assert text.startswith(f"{path}:3:1: error: network 'my_net' of neural predicate digit/2 returned shape [4, 9]")
    assert "hint: check the network's output layer against the predicate's domain" in text

    path.write_text("nn(my_net, [X], Y, [a, b, a]) :: p(X, Y).\n")
    with pytest.raises(plait.ProgramError) as e:
        plait.Model.from_file(path, {"my_net": Identity()})
    text = e.value.render()
    assert text.startswith(f"{path}:1:1: error: the domain [a, b, a] of a neural predicate repeats a value")
    assert "hint: each domain value is one output of the network" in text


def test_template_answers_convert_to_plain_python_values():
    model = plait.Model(
        't(0.4)::colour(red); t(0.6)::colour(green).\nq(C, [C, 2.5, "s", []], f(C)) :- colour(C).\n',
        dtype=torch.float64,
    )
    t = model.template("q(C, L, F)", {})
    assert t.answer_values == [("green", ["green", 2.5, "s", []], "f(green)"), ("red", ["red", 2.5, "s", []], "f(red)")]
    assert t.value_of(0) == t.answer_values[0]
    assert model.template("q(red, L, _)", {}).answer_values == [["red", 2.5, "s", []]]
    assert model.template("colour(red)", {}).answer_values == [True]  # no free variable: the query itself
    assert plait.to_python(plait.parse_term("[1, -2, 0.5, 'A b', g(1, [2])]")) == [1, -2, 0.5, "A b", "g(1,[2])"]


def test_learned_parameters_are_reported_by_their_clause(tmp_path):
    f = tmp_path / "coins.pl"
    f.write_text("% two learnable clauses\nt(0.25)::coin(X) :-\n    member(X, [a, b]).\nt(0.2)::a; t(0.8)::b.\n")
    model = plait.Model.from_file(f, dtype=torch.float64)
    got = model.parameter_probabilities()
    assert list(got) == [f"{f}:2: t(0.25)::coin(X) :- member(X, [a, b]).", f"{f}:4: t(0.2)::a; t(0.8)::b."]
    assert list(got.values()) == [pytest.approx([0.25]), pytest.approx([0.2, 0.8])]
