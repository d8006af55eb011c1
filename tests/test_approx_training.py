"""Training through sampled worlds: IndeCateR and RLOO gradients against exact ones, models, learning."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

import plait
from plait.errors import InferenceError
from plait.inference import InferenceOptions, compile_ground_program
from plait.inference.approx import SampledQuery, indecater, log_estimate, rloo

PROGRAM = """
0.4::c.
0.2::x(0); 0.5::x(1); 0.3::x(2).
0.3::y(0); 0.3::y(1); 0.4::y(2).
s(Z) :- x(A), y(B), Z is A + B.
q :- s(2), c.
q :- s(4).
query(s(Z)).
query(q).
"""


def _leaves(theta: dict[str, torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    return torch.sigmoid(theta["c"]).view(1, 1), [
        torch.softmax(theta["x"], -1)[None],
        torch.softmax(theta["y"], -1)[None],
    ]


def _theta() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return {
        k: torch.randn(n, generator=g, dtype=torch.float64).requires_grad_() for k, n in (("c", 1), ("x", 3), ("y", 3))
    }


def _gradients(estimator: str, samples: int, repeats: int):
    """The exact gradient of a weighted sum of the answers, and ``repeats`` estimates of it."""
    gp = plait.Program.from_string(PROGRAM).ground()
    cq = compile_ground_program(gp)
    sq = SampledQuery(gp, InferenceOptions(method="sample", samples=samples, estimator=estimator))
    assert [n for n, _ in cq.queries] == [n for n, _ in sq.queries]
    theta = _theta()
    params = list(theta.values())
    w = torch.linspace(-1.0, 2.0, len(cq.queries), dtype=torch.float64)
    facts, ads = _leaves(theta)
    exact = torch.autograd.grad((cq(facts, ads)[0] * w).sum(), params)
    exact = torch.cat([e.flatten() for e in exact])
    gen = torch.Generator().manual_seed(0)
    draws = []
    for _ in range(repeats):
        facts, ads = _leaves(theta)
        est = sq.estimate(facts, ads, gen)
        draws.append(torch.cat([g.flatten() for g in torch.autograd.grad((est[0] * w).sum(), params)]))
    return exact, torch.stack(draws)


@pytest.mark.parametrize(("estimator", "samples", "repeats"), [("indecater", 4, 300), ("rloo", 8, 600)])
def test_the_estimators_are_unbiased_against_the_compiled_circuits_gradient(estimator, samples, repeats):
    exact, draws = _gradients(estimator, samples, repeats)
    mean = draws.mean(0)
    stderr = draws.std(0) / math.sqrt(repeats)
    # unbiased: the mean of the estimates is within 4 measured standard errors of the exact gradient
    assert torch.all((mean - exact).abs() <= 4 * stderr + 1e-9), (mean, exact, stderr)
    assert exact.abs().max() > 0.05  # the test compares something


def test_indecater_has_lower_variance_than_rloo_at_the_same_samples():
    _, ind = _gradients("indecater", 8, 200)
    _, loo = _gradients("rloo", 8, 200)
    assert ind.var(0).sum() < loo.var(0).sum() / 4


def test_indecater_on_a_tensor_function_matches_brute_force():
    """Three digits whose sum is 7: the exact gradient by enumerating all 1,000 worlds."""
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(1, 3, 10, generator=g, dtype=torch.float64, requires_grad=True)

    def f(x):
        return (x.sum(-1, keepdim=True) == 7).to(torch.float64)

    probs = torch.softmax(logits, -1)
    exact = sum(
        probs[0, 0, a] * probs[0, 1, b] * probs[0, 2, c]
        for a, b, c in itertools.product(range(10), repeat=3)
        if a + b + c == 7
    )
    (g_exact,) = torch.autograd.grad(exact, logits)
    draws = []
    for _ in range(200):
        est = indecater(torch.softmax(logits, -1), f, 4, g)
        draws.append(torch.autograd.grad(est.sum(), logits)[0].flatten())
    d = torch.stack(draws)
    assert torch.all((d.mean(0) - g_exact.flatten()).abs() <= 4 * d.std(0) / math.sqrt(200) + 1e-9)


def test_the_value_is_the_plain_estimate_and_the_log_is_finite_without_hits():
    p = torch.tensor([[[0.5, 0.5]]], requires_grad=True)
    never = rloo(p, lambda x: torch.zeros(*x.shape[:2], 1), 8, torch.Generator().manual_seed(0))
    assert float(never.detach()) == 0.0
    logp = log_estimate(never, 8).detach()
    assert math.isfinite(float(logp)) and float(logp) == pytest.approx(math.log(0.5 / 9))


def _digit_model(**options):
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(-1))
    torch.manual_seed(0)
    for p in net.parameters():
        torch.nn.init.normal_(p)
    src = "nn(net, [X], Y, [0, 1, 2]) :: digit(X, Y).\nadd(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2."
    return plait.Model(src, {"net": net}, dtype=torch.float64, **options), net


def test_a_sampling_model_agrees_with_exact_within_its_binomial_error():
    exact, net = _digit_model()
    sampled = plait.Model(exact.program, {"net": net}, dtype=torch.float64, method="sample", samples=20_000, seed=0)
    a, b = torch.randn(5, 4, generator=torch.Generator().manual_seed(2)), torch.randn(5, 4)
    with torch.no_grad():
        p = exact("add(A, B, Z)", A=a, B=b)
        p_hat = sampled("add(A, B, Z)", A=a, B=b)
    # the smoothed estimate (S p + 1/2) / (S + 1), within 4.5 binomial standard deviations
    sd = (p * (1 - p) / 20_000).sqrt()
    assert torch.all((p_hat - p).abs() <= 4.5 * sd + 1 / 20_001), (p, p_hat)
    assert torch.equal(sampled.predict("add(A, B, Z)", A=a, B=b), p.argmax(-1))


def test_a_sampling_model_with_a_seed_is_reproducible_and_has_gradients():
    m1, n1 = _digit_model(method="sample", samples=16, seed=5, estimator="rloo")
    m2, _ = _digit_model(method="sample", samples=16, seed=5, estimator="rloo")
    x = torch.randn(3, 4)
    l1, l2 = m1.log_prob("add(A, B, Z)", A=x, B=x), m2.log_prob("add(A, B, Z)", A=x, B=x)
    assert torch.equal(l1, l2)
    l1[:, 2].sum().backward()
    assert n1[0].weight.grad is not None and n1[0].weight.grad.abs().sum() > 0


def test_approximate_training_errors_say_what_to_use():
    with pytest.raises(InferenceError, match="cannot train on method='topk'") as e:
        _digit_model(method="topk")[0].log_prob("add(A, B, Z)", A=torch.zeros(1, 4), B=torch.zeros(1, 4))
    assert "method='sample'" in e.value.hint
    with pytest.raises(InferenceError, match="not degrees of the semiring 'godel'") as e:
        _digit_model(method="sample", semiring="godel")
    assert "semiring='auto'" in e.value.hint
    with pytest.raises(InferenceError, match="unknown estimator 'reinforce'"):
        InferenceOptions(estimator="reinforce")
    gp = plait.Program.from_string("0.5::a. 0.5::b. q :- a. evidence(b). query(q).").ground()
    with pytest.raises(InferenceError, match="without evidence"):
        SampledQuery(gp, InferenceOptions(method="sample"))


# measured: 0.976 test digit accuracy after 5 epochs (0.955 after 4); the threshold leaves a margin
def test_digit_addition_learns_digits_through_sampled_worlds():
    from plait.nn.data import addition_split, load_digits
    from plait.nn.networks import DigitNet
    from plait.nn.train import Gather, QueryData

    torch.set_default_dtype(torch.float32)
    split = load_digits(seed=0)
    tr, _ = addition_split(split, n_digits=1, n_train=1500, seed=0)
    torch.manual_seed(0)
    net = DigitNet(image_size=8)
    src = (
        "nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).\naddition(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2."
    )
    model = plait.Model(src, {"digit_net": net}, method="sample", samples=64, seed=0, estimator="rloo")
    train = QueryData(
        {"A": Gather(split.train_images, tr.a[:, 0]), "B": Gather(split.train_images, tr.b[:, 0])}, tr.sums
    )
    plait.fit(model, "addition(A, B, Z)", train, epochs=5, batch_size=32, lr=1e-3, seed=0, progress=False)
    with torch.no_grad():
        acc = float((net(split.test_images).argmax(-1) == split.test_labels).float().mean())
    assert acc > 0.9, acc


def test_a_sampled_query_handles_facts_negation_and_an_ad_with_no_head():
    """P(no head) of an AD summing to 0.7, a fact, negation: the plain estimate against exact inference."""
    src = (
        "0.3::a(1); 0.4::a(2). 0.5::f. q :- a(1), f. r :- \\+ a(1), \\+ a(2). s :- \\+ f. query(q). query(r). query(s)."
    )
    gp = plait.Program.from_string(src).ground()
    exact = compile_ground_program(gp)()
    sq = SampledQuery(gp, InferenceOptions(method="sample", samples=50_000))
    with torch.no_grad():
        est = sq.estimate(sq.fact_probs[None], sq.ad_probs, torch.Generator().manual_seed(0))[0]
    assert exact.tolist() == pytest.approx([0.15, 0.3, 0.5])
    assert torch.all((est - exact).abs() <= 4.5 * (exact * (1 - exact) / 50_000).sqrt())
