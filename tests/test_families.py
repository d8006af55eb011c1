"""plait.families: each family's API against brute force, and its bad inputs (error type and text)."""

from __future__ import annotations

import doctest
import itertools
import math

import pytest
import torch

import plait
import plait.families as fam
from plait.families import FamilyError

ADD3 = """
nn(digit_net, [X], Y, [0, 1, 2]) :: digit(X, Y).
add(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.
"""


def dists(n: int, k: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(n, k, generator=g, dtype=torch.float64), -1)


def p_sum(pa: torch.Tensor, pb: torch.Tensor, s: int) -> torch.Tensor:
    """Brute force P(a + b = s)."""
    k = pa.shape[1]
    return sum(pa[:, i] * pb[:, j] for i in range(k) for j in range(k) if i + j == s)


@pytest.mark.parametrize(
    "module",
    [fam, fam.core, fam.sequential, fam.nested, fam.cooperative, fam.compiled, fam.ensemble, fam.errors],
    ids=lambda m: m.__name__,
)
def test_the_docstring_examples_run(module):
    torch.set_default_dtype(torch.float32)  # as users run them
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and (result.attempted > 0 or module is fam.cooperative)


def test_nothing_else_in_plait_imports_the_families():
    from pathlib import Path

    src = Path(fam.__file__).resolve().parents[1]
    users = [p for p in src.rglob("*.py") if "families" not in p.parts and "families" in p.read_text()]
    assert users == []


# ----------------------------------------------------------------------------- core


def test_symbolise_hard_topk_distribution_and_its_errors():
    p = torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    assert fam.symbolise(p, "hard").tolist() == [[0, 1, 0], [1, 0, 0]]
    top = fam.symbolise(p, "topk", k=2)
    assert torch.allclose(top, torch.tensor([[0, 0.6 / 0.9, 0.3 / 0.9], [0.5 / 0.8, 0, 0.3 / 0.8]]))
    assert fam.symbolise(p) is p
    with pytest.raises(FamilyError, match="symbols must be 'hard', 'topk' or 'distribution', not 'soft'"):
        fam.symbolise(p, "soft")
    with pytest.raises(FamilyError, match=r"top-k symbols need 1 <= k <= 3 \(the domain size\), got k=4"):
        fam.symbolise(p, "topk", k=4)
    with pytest.raises(FamilyError, match=r"symbolise takes \[batch, domain\] probabilities, got shape \[3\]"):
        fam.symbolise(p[0], "hard")


def test_a_reasoner_needs_a_neural_program():
    with pytest.raises(FamilyError, match=r"the program has no nn\(...\) clauses"):
        fam.reasoner("a :- b. 0.5::b.")
    assert fam.network_names(ADD3 + "nn(other, [X], Y, [a, b]) :: o(X, Y).") == ["digit_net", "other"]


def test_train_classifier_errors():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softmax(-1))
    with pytest.raises(FamilyError, match="3 inputs but 2 labels"):
        fam.train_classifier(net, torch.zeros(3, 2), torch.tensor([0, 1]))
    with pytest.raises(FamilyError, match="no labelled examples to train on"):
        fam.train_classifier(net, torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    with pytest.raises(FamilyError, match="labels must be class indices"):
        fam.train_classifier(net, torch.zeros(2, 2), torch.tensor([0.0, 1.0]))


# ----------------------------------------------------------------------------- sequential


class Fixed(torch.nn.Module):
    """A 'network' that returns given distributions, whatever the input rows are (by row index)."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = table
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.table[idx.long()] + 0 * self.w


def test_sequential_symbols_feed_the_program_without_gradient():
    pa, pb = dists(6, seed=1), dists(6, seed=2)
    table = torch.cat([pa, pb])
    a, b = torch.arange(6), torch.arange(6, 12)
    for symbols in ("hard", "topk", "distribution"):
        seq = fam.Sequential(ADD3, {"digit_net": Fixed(table)}, symbols=symbols, k=2)
        sa, sb = fam.symbolise(pa, symbols, 2), fam.symbolise(pb, symbols, 2)
        got = seq("add(A, B, Z)", A=a, B=b)
        want = torch.stack([p_sum(sa, sb, s) for s in range(5)], 1)
        assert torch.allclose(got, want, atol=1e-12), symbols
        assert not got.requires_grad
    assert seq.predict("add(A, B, Z)", A=a, B=b).tolist() == (pa.argmax(-1) + pb.argmax(-1)).tolist()


def test_sequential_errors():
    with pytest.raises(FamilyError, match="the program uses the networks digit_net, which were not given"):
        fam.Sequential(ADD3, {"other": Fixed(dists(2))})
    with pytest.raises(FamilyError, match="symbols must be 'hard', 'topk' or 'distribution', not 'top'"):
        fam.Sequential(ADD3, {"digit_net": Fixed(dists(2))}, symbols="top")
    seq = fam.Sequential(ADD3, {"digit_net": Fixed(dists(2))})
    with pytest.raises(FamilyError, match="no network named 'net' in this pipeline"):
        seq.train_network("net", torch.zeros(1), torch.zeros(1, dtype=torch.long))


# ----------------------------------------------------------------------------- nested


def test_logic_layer_is_exact_and_differentiable():
    layer = fam.LogicLayer(ADD3, "add(A, B, Z)", ["A", "B"])
    pa, pb = dists(4, seed=3).requires_grad_(True), dists(4, seed=4)
    out = layer(pa, pb)
    want = torch.stack([p_sum(pa, pb, s) for s in range(5)], 1)
    assert torch.allclose(out, want, atol=1e-12) and layer.answers == [0, 1, 2, 3, 4]
    out[:, 2].sum().backward()
    # d P(a + b = 2) / d pa[i] = pb[2 - i]
    assert torch.allclose(pa.grad, pb.flip(-1), atol=1e-12)
    log_layer = fam.LogicLayer(ADD3, "add(A, B, Z)", ["A", "B"], log=True)
    assert torch.allclose(log_layer(pa, pb), want.log(), atol=1e-12)
    assert list(layer.parameters()) == []


def test_logic_layer_errors():
    with pytest.raises(FamilyError, match="inputs must be a list of variable names, not the string 'A, B'"):
        fam.LogicLayer(ADD3, "add(A, B, Z)", "A, B")
    layer = fam.LogicLayer(ADD3, "add(A, B, Z)", ["A", "B"])
    with pytest.raises(FamilyError, match=r"takes 2 distributions \(A, B\), got 1"):
        layer(dists(2))
    with pytest.raises(plait.InferenceError, match="the input 'C' is not a variable of the query template"):
        fam.LogicLayer(ADD3, "add(A, B, Z)", ["A", "C"])


MODULES = """
nn(digit_net, [X], D, [0, 1, 2, 3]) :: digit(X, D).
even(X) :- digit(X, D), D mod 2 =:= 0.
greater(X, Y) :- digit(X, D), digit(Y, E), D > E.
"""


def test_a_module_program_counts_exactly():
    """[Filter(even), Relate(greater, R), Count()] against enumeration of every world of 3 objects + R."""
    objs = [dists(5, 4, seed=s) for s in range(3)]
    ref = dists(5, 4, seed=9)
    table = torch.cat([*objs, ref])
    scenes = fam.SceneProgram(MODULES, {"digit_net": Fixed(table)})
    steps = [fam.Filter("even"), fam.Relate("greater", "R"), fam.Count()]
    assert scenes.query(steps) == "scene_query(S, R, N)" and scenes.answers(steps, 3) == [0, 1, 2, 3]
    got = scenes(steps, S=[torch.arange(5) + 5 * i for i in range(3)], R=torch.arange(15, 20))
    want = torch.zeros(5, 4, dtype=torch.float64)
    for world in itertools.product(range(4), repeat=4):
        *ds, r = world
        p = ref[:, r] * math.prod(objs[i][:, d] for i, d in enumerate(ds))
        want[:, sum(1 for d in ds if d % 2 == 0 and d > r)] += p
    assert torch.allclose(got, want, atol=1e-12)
    exists = scenes([fam.Filter("even"), fam.Exists()], S=[torch.arange(5) + 5 * i for i in range(3)])
    p_none_even = math.prod(o[:, 1] + o[:, 3] for o in objs)
    assert torch.allclose(exists[:, 0], p_none_even, atol=1e-12)  # answers: false, true


def test_module_program_errors():
    with pytest.raises(FamilyError, match=r"a module program ends with Count\(\) or Exists\(\)"):
        fam.compose([fam.Filter("even")])
    with pytest.raises(FamilyError, match=r"Count\(\) and Exists\(\) can only be the last step"):
        fam.compose([fam.Count(), fam.Filter("even"), fam.Count()])
    with pytest.raises(FamilyError, match="'even' is not a module step"):
        fam.compose(["even", fam.Count()])
    with pytest.raises(FamilyError, match="must be an input variable name"):
        fam.compose([fam.Relate("greater", "r"), fam.Count()])
    scenes = fam.SceneProgram(MODULES, {"digit_net": Fixed(dists(3, 4))})
    with pytest.raises(FamilyError, match=r"a scene program needs S=\[objects\]"):
        scenes([fam.Count()], S=torch.zeros(3))
    with pytest.raises(plait.NeuralError, match="uses the network 'digit_net', which was not given"):
        fam.SceneProgram(MODULES, {})


# ----------------------------------------------------------------------------- cooperative


def test_abduction_is_the_mpe_given_the_observed_answer():
    pa, pb = dists(8, seed=5), dists(8, seed=6)
    model = plait.Model(ADD3, {"digit_net": Fixed(torch.cat([pa, pb]))})
    sums = [0, 1, 2, 3, 4, 2, 1, 3]
    got = fam.abduce(model, "add(A, B, Z)", "digit_net", {"A": torch.arange(8), "B": torch.arange(8, 16)}, sums)
    for i, s in enumerate(sums):
        best = max(((x, s - x) for x in range(3) if 0 <= s - x < 3), key=lambda xy: pa[i, xy[0]] * pb[i, xy[1]])
        assert (int(got["A"][i]), int(got["B"][i])) == best


def test_abductive_learning_errors():
    model = plait.Model(ADD3, {"digit_net": Fixed(dists(2))})
    with pytest.raises(FamilyError, match="the model has no network 'net'"):
        fam.AbductiveLearning(model, "add(A, B, Z)", "net")
    abl = fam.AbductiveLearning(model, "add(A, B, Z)", "digit_net")
    with pytest.raises(FamilyError, match="abductive learning needs at least one round, got rounds=0"):
        abl.fit({"A": torch.arange(1), "B": torch.arange(1, 2)}, [1], rounds=0)
    with pytest.raises(plait.InferenceError, match=r"\(7\) is not a possible answer"):
        abl.fit({"A": torch.arange(1), "B": torch.arange(1, 2)}, [7])


# ----------------------------------------------------------------------------- compiled


def test_semantic_loss_is_minus_log_the_exact_probability():
    sl = fam.SemanticLoss(ADD3, "add(A, B, Z)", ["A", "B"])
    pa, pb = dists(6, seed=7), dists(6, seed=8)
    sums = [0, 1, 2, 3, 4, 2]
    want = -torch.stack([p_sum(pa[i : i + 1], pb[i : i + 1], s) for i, s in enumerate(sums)]).log().mean()
    assert torch.allclose(sl(pa, pb, target=sums), want, atol=1e-12)
    with pytest.raises(FamilyError, match=r"add\(A, B, Z\) has 5 answers: the semantic loss needs target"):
        sl(pa, pb)
    must = fam.SemanticLoss(ADD3 + "small(A, B) :- add(A, B, Z), Z < 2.", "small(A, B)", ["A", "B"])
    assert torch.allclose(must(pa, pb), -(p_sum(pa, pb, 0) + p_sum(pa, pb, 1)).log().mean(), atol=1e-12)


@pytest.mark.parametrize("tnorm", fam.TNORMS)
def test_fuzzy_loss_against_its_t_norm_by_hand(tnorm):
    """plait's fuzzy semirings on the addition rules: a body is the t-norm of its digits, the atom the t-conorm."""
    fl = fam.FuzzyLoss(ADD3, "add(A, B, Z)", ["A", "B"], tnorm=tnorm)
    pa, pb = dists(5, seed=9), dists(5, seed=10)
    t = [2] * 5
    conj = {
        "godel": lambda x, y: torch.minimum(x, y),
        "product": lambda x, y: x * y,
        "lukasiewicz": lambda x, y: (x + y - 1).clamp_min(0),
    }[tnorm]
    terms = [conj(pa[:, i], pb[:, 2 - i]) for i in range(3)]
    if tnorm == "godel":
        want = torch.stack(terms).max(0).values
    elif tnorm == "product":
        want = 1 - torch.stack([1 - x for x in terms]).prod(0)
    else:
        want = torch.stack(terms).sum(0).clamp_max(1)
    assert torch.allclose(fl.truth(pa, pb, target=t), want, atol=1e-6)
    assert torch.allclose(fl(pa, pb, target=t), (1 - want).mean(), atol=1e-6)


def test_fuzzy_loss_errors():
    with pytest.raises(FamilyError, match="unknown t-norm 'min'"):
        fam.FuzzyLoss(ADD3, "add(A, B, Z)", ["A", "B"], tnorm="min")
    with pytest.raises(FamilyError, match="unknown fuzzy loss 'l2'"):
        fam.FuzzyLoss(ADD3, "add(A, B, Z)", ["A", "B"], loss="l2")
    fl = fam.FuzzyLoss(ADD3, "add(A, B, Z)", ["A", "B"])
    with pytest.raises(plait.InferenceError, match=r"\(9\) is not a possible answer"):
        fl(dists(1), dists(1), target=[9])
    with pytest.raises(FamilyError, match=r"takes 2 distributions \(A, B\), got 1"):
        fl(dists(1), target=[1])
    with pytest.raises(FamilyError, match="has 5 answers: the fuzzy loss needs target"):
        fl(dists(1), dists(1))


def test_distillation_checks_the_student_width():
    teacher = fam.reasoner(ADD3)
    student = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Softmax(-1))
    d = fam.Distillation(teacher, "add(A, B, Z)", student)
    with pytest.raises(FamilyError, match=r"the student gives 4 outputs but add\(A, B, Z\) has 5 answers"):
        d.fit({"A": dists(4), "B": dists(4)})
    torch.manual_seed(0)
    good = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5), torch.nn.Softmax(-1))
    d = fam.Distillation(teacher, "add(A, B, Z)", good)
    a, b = dists(256, seed=11), dists(256, seed=12)
    losses = d.fit({"A": a, "B": b}, epochs=60, lr=0.01)
    assert losses[-1] < losses[0]
    targets = torch.stack([p_sum(a, b, s) for s in range(5)], 1)
    agree = float((d.predict(A=a, B=b) == targets.argmax(-1)).float().mean())
    assert agree > 0.85, agree  # the student answers as the program does: measured 0.945


# ----------------------------------------------------------------------------- ensemble


def test_the_ensemble_program_is_a_product_of_consistent_experts():
    supers = [0, 0, 1]
    fine, coarse = dists(4, 3, seed=13), dists(4, 2, seed=14)
    ens = fam.Ensemble(fam.coarse_fine_program(supers), {"fine_net": Fixed(fine), "coarse_net": Fixed(coarse)})
    got = ens("label(X, F)", X=torch.arange(4))
    want = fine * coarse[:, supers]
    assert torch.allclose(got, want, atol=1e-12) and ens.experts == ["coarse_net", "fine_net"]
    with pytest.raises(FamilyError, match="an ensemble needs a program fed by at least two networks"):
        fam.Ensemble(ADD3, {"digit_net": Fixed(fine)})
    with pytest.raises(FamilyError, match="no expert named mid_net"):
        ens.train_experts({"mid_net": (torch.zeros(1), torch.zeros(1, dtype=torch.long))})


def test_edcr_learns_rules_with_enough_precision_and_corrects_only_flagged_predictions():
    supers = [0, 0, 1, 1]
    edcr = fam.EDCR(supers, min_precision=0.6, min_support=2)
    f = torch.tensor([0, 0, 0, 2, 2, 1, 1])
    c = torch.tensor([1, 1, 1, 0, 0, 0, 1])
    y = torch.tensor([3, 2, 0, 2, 2, 1, 3])
    fine = torch.nn.functional.one_hot(f, 4).double() * 0.7 + 0.075
    fine[:, 3] += 0.01  # class 3 is the fine net's runner-up
    coarse = torch.nn.functional.one_hot(c, 2).double()
    edcr.learn(fine, coarse, y)
    # (fine 0, coarse 1): wrong 2 of 3 -> kept; (fine 2, coarse 0): wrong 0 of 2 -> dropped; (1, 1): 1 case
    assert [(r.fine, r.coarse, r.support) for r in edcr.rules] == [(0, 1, 3)]
    assert edcr.rules[0].precision == pytest.approx(2 / 3)
    assert edcr.detect(fine, coarse).tolist() == [True, True, True, False, False, False, False]
    assert edcr.apply(fine, coarse).tolist() == [3, 3, 3, 2, 2, 1, 1]
    with pytest.raises(FamilyError, match=r"fine probabilities must be \[n, 4\], got \[7, 3\]"):
        edcr.learn(fine[:, :3], coarse, y)
    with pytest.raises(FamilyError, match="min_precision must lie in"):
        fam.EDCR(supers, min_precision=2)


def test_semantic_loss_leaves_out_impossible_observations():
    sl = fam.SemanticLoss(ADD3, "add(A, B, Z)", ["A", "B"])
    pa = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], requires_grad=True)
    pb = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    loss = sl(pa, pb, target=[4, 1])  # 0 + 0 cannot be 4: left out; the second is -log 0.5
    assert torch.isclose(loss, torch.tensor(math.log(2), dtype=loss.dtype))
    loss.backward()
    assert torch.isfinite(pa.grad).all()
    nothing = sl(pa[:1], pb[:1], target=[4])
    assert float(nothing.detach()) == 0.0 and nothing.requires_grad


@pytest.mark.parametrize("tnorm", fam.TNORMS)
@pytest.mark.parametrize("loss", ["log", "one_minus"])
def test_fuzzy_loss_gradients_stay_finite_at_saturated_outputs(tnorm, loss):
    fl = fam.FuzzyLoss(ADD3, "add(A, B, Z)", ["A", "B"], tnorm=tnorm, loss=loss)
    pa = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], requires_grad=True)
    pb = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    fl(pa, pb, target=[4, 1]).backward()  # 0 + 0 is never 4: degree 0
    assert torch.isfinite(pa.grad).all()
    if tnorm != "lukasiewicz":  # max(0, 0.5 + 0.5 - 1) = 0: no gradient under Lukasiewicz
        assert pa.grad[1, 0] < 0
