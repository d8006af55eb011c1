"""Semirings beyond probability: possibilistic max-min, most probable worlds, fuzzy t-norms, user-defined.

Oracles: brute-force enumeration of the worlds of small ground programs (max-min,
max-log), hand-computed degrees (t-norms) and finite differences (gradients).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import subprocess
import sys

import pytest
import torch

import plait
from plait.circuit.semiring import MAX_LOG, POSSIBILITY, get_semiring, register_semiring
from plait.errors import InferenceError
from plait.ground.ground_program import CHOICE, COIN, GroundProgram
from plait.inference import compile_ground_program
from plait.inference.fuzzy import GODEL, LUKASIEWICZ, PRODUCT_TNORM, truth_values

# acyclic programs with annotated disjunctions, negation and evidence
PROGRAMS = [
    "0.5::a; 0.3::b. 0.4::c. q :- a. q :- b, c. r :- \\+a, c. query(q). query(a). query(r).",
    "0.6::x. 0.7::y. z :- x, \\+y. w :- x; y. query(z). query(w).",
    "0.2::d(1); 0.5::d(2); 0.3::d(3). 0.2::e(1); 0.5::e(2); 0.3::e(3).\ns(S) :- d(A), e(B), S is A + B. query(s(_)).",
    "0.3::rain. 0.6::sprinkler :- \\+rain. wet :- rain. wet :- sprinkler. evidence(wet). query(rain). query(sprinkler).",
    "0.1::burglary. 0.2::earthquake. 0.9::alarm :- burglary. 0.4::alarm :- earthquake.\n"
    "0.7::calls :- alarm. evidence(calls, true). query(burglary). query(earthquake).",
    "0.5::h(a); 0.2::h(b). 0.9::k. p :- h(a), k. p :- h(b). evidence(\\+k). query(p). query(h(b)).",
]


def _choices(gp: GroundProgram) -> list[list[tuple[dict[int, bool], float]]]:
    """For each coin and AD group: its alternatives as (node values, probability)."""
    out = []
    for nid, node in enumerate(gp.nodes):
        if nid and node.kind == COIN:
            out.append([({nid: True}, node.prob), ({nid: False}, 1 - node.prob)])
    for g in gp.groups:
        heads = {gp.nodes[c].index: c for c in g.choices}
        alts = [({c: (i == h) for i, c in heads.items()}, g.probs[h]) for h in range(len(g.probs))]
        alts.append(({c: False for c in heads.values()}, 1 - sum(g.probs)))
        out.append([(v, p) for v, p in alts if p > 1e-12])
    return out


def _holds(gp: GroundProgram, world: dict[int, bool], lit: int | None, memo: dict[int, bool]) -> bool:
    if lit is None:
        return True
    if lit == 0:
        return False
    nid = abs(lit)
    if nid not in memo:
        node = gp.nodes[nid]
        if node.kind in (COIN, CHOICE):
            memo[nid] = world.get(nid, False)
        else:
            pos = any(all(_holds(gp, world, x, memo) for x in b) for b in node.bodies)
            neg = any(all(_holds(gp, world, x, memo) for x in b) for b in node.neg_bodies)
            memo[nid] = pos and not neg
    return memo[nid] if lit > 0 else not memo[nid]


def brute_force(text: str, combine, best) -> dict[str, float]:
    """Each query's value over all worlds: a world's value combines its alternatives' values (``combine``),
    a query takes the ``best`` over the worlds where it (and the evidence) holds; with evidence the value
    is divided by the evidence's."""
    gp = plait.Program.from_string(text).ground()
    choices = _choices(gp)
    q_vals: dict[int, list[float]] = {i: [] for i in range(len(gp.queries))}
    e_vals: list[float] = []
    for combo in itertools.product(*choices):
        world: dict[int, bool] = {}
        for v, _ in combo:
            world.update(v)
        weight = combine([p for _, p in combo])
        memo: dict[int, bool] = {}
        if not all(_holds(gp, world, e.literal, memo) == e.value for e in gp.evidence):
            continue
        e_vals.append(weight)
        for i, q in enumerate(gp.queries):
            if _holds(gp, world, q.literal, memo) != q.negated:
                q_vals[i].append(weight)
    e = best(e_vals) if gp.evidence else 1.0
    names = compile_ground_program(gp).query_names
    return {names[i]: (best(v) if v else 0.0) / e for i, v in q_vals.items()}


def _possibility_weights(text: str) -> str:
    return text


@pytest.mark.parametrize("text", PROGRAMS)
def test_max_log_is_the_most_probable_world(text):
    got = {k: float(v) for k, v in plait.Program.from_string(text).query(semiring="max-log").items()}
    gp = plait.Program.from_string(text).ground()
    want = brute_force(text, math.prod, max)
    if gp.evidence:  # max-log keeps the joint value of query and evidence: the best world, not a ratio
        e = max(math.prod(p for _, p in c) for c in itertools.product(*_choices(gp)) if _consistent(gp, c))
        want = {k: v * e for k, v in want.items()}
    assert got == pytest.approx(want, abs=1e-9)


def _consistent(gp, combo) -> bool:
    world: dict[int, bool] = {}
    for v, _ in combo:
        world.update(v)
    memo: dict[int, bool] = {}
    return all(_holds(gp, world, e.literal, memo) == e.value for e in gp.evidence)


@pytest.mark.parametrize("text", PROGRAMS)
def test_max_min_is_the_possibility_of_the_most_plausible_world(text):
    got = {k: float(v) for k, v in plait.Program.from_string(text).query(semiring="max-min").items()}
    gp = plait.Program.from_string(text).ground()
    # possibility degrees: each choice's probabilities divided by its most probable alternative
    scale = {}
    for alts in _choices(gp):
        m = max(p for _, p in alts)
        for v, p in alts:
            scale[(tuple(sorted(v.items())), p)] = p / m
    worlds = []
    for combo in itertools.product(*_choices(gp)):
        degree = min(scale[(tuple(sorted(v.items())), p)] for v, p in combo) if combo else 1.0
        worlds.append((combo, degree))
    names = compile_ground_program(gp).query_names
    e = max(d for c, d in worlds if _consistent(gp, c)) if gp.evidence else 1.0
    want = {}
    for i, q in enumerate(gp.queries):
        vals = []
        for combo, d in worlds:
            world: dict[int, bool] = {}
            for v, _ in combo:
                world.update(v)
            memo: dict[int, bool] = {}
            if _consistent(gp, combo) and _holds(gp, world, q.literal, memo) != q.negated:
                vals.append(d)
        want[names[i]] = (max(vals) if vals else 0.0) / e
    assert got == pytest.approx(want, abs=1e-9)


def test_probability_brute_force_agrees_with_the_circuit():
    for text in PROGRAMS:
        got = {k: float(v) for k, v in plait.Program.from_string(text).query().items()}
        assert got == pytest.approx(brute_force(text, math.prod, sum), abs=1e-9)


def test_tnorm_degrees_by_hand():
    p = plait.Program.from_string("0.5::a; 0.3::b. 0.4::c. q :- a. q :- b, c. r :- \\+a, c. query(q). query(r).")
    deg = {s: {k: float(v) for k, v in p.query(semiring=s).items()} for s in ("godel", "product-tnorm", "lukasiewicz")}
    assert deg["godel"] == pytest.approx({"q": 0.5, "r": 0.4})  # max(a, min(b, c)); min(1 - a, c)
    assert deg["product-tnorm"] == pytest.approx({"q": 0.5 + 0.12 - 0.06, "r": 0.2})  # a + bc - a*bc; (1-a)c
    assert deg["lukasiewicz"] == pytest.approx({"q": 0.5, "r": 0.0})  # min(1, a + max(0, b+c-1)); max(0, 1-a+c-1)


def test_an_annotated_disjunction_head_keeps_its_probability_under_godel():
    # the sequential encoding of ADs is a device of probability: under Gödel a head of 0.5 is 0.5, not 0.625
    p = plait.Program.from_string("0.2::x; 0.5::y; 0.3::z. query(y).")
    assert float(p.query(semiring="godel")["y"]) == pytest.approx(0.5)
    assert float(p.query(semiring=GODEL)["y"]) == pytest.approx(0.5)


def test_tnorm_degrees_of_recursion_are_the_least_fixpoint():
    p = plait.Program.from_string("0.7::a. 0.4::b. p :- q. q :- p. q :- a. p :- b. query(p). query(q).")
    assert {k: float(v) for k, v in p.query(semiring="godel").items()} == pytest.approx({"p": 0.7, "q": 0.7})
    # the probabilistic sum is not idempotent: around the cycle p = 1 - (1-q)(1-b), q = 1 - (1-p)(1-a)
    # each pass adds again, and the least fixpoint is 1 (reached in the limit)
    prod = {k: float(v) for k, v in p.query(semiring="product-tnorm").items()}
    assert prod == pytest.approx({"p": 1.0, "q": 1.0}, abs=1e-9)


def test_tnorm_gradients_match_finite_differences():
    gp = plait.Program.from_string(
        "0.5::a; 0.3::b. 0.4::c. q :- a. q :- b, c. r :- \\+a, c. query(q). query(r)."
    ).ground()
    ids = [i for i, n in enumerate(gp.nodes) if i and n.kind in (COIN, CHOICE)]
    for tnorm in (PRODUCT_TNORM, LUKASIEWICZ):
        x = torch.tensor([[0.45, 0.35, 0.3]], dtype=torch.float64, requires_grad=True)

        def f(x, tnorm=tnorm):
            return truth_values(gp, tnorm, {nid: x[:, j] for j, nid in enumerate(ids)})

        assert torch.autograd.gradcheck(f, (x,))


def test_evidence_under_a_tnorm_is_an_error():
    p = plait.Program.from_string("0.5::a. 0.5::b. evidence(a). query(b).")
    with pytest.raises(InferenceError, match="evidence has no meaning under the 'godel' t-norm semantics") as info:
        p.query(semiring="godel")
    assert "use a probability semiring" in str(info.value)


def test_max_product_on_sequential_coins_is_refused():
    cq = plait.Program.from_string("0.5::a; 0.3::b. query(a).").compile()
    with pytest.raises(InferenceError, match="not exact on annotated disjunctions encoded as sequential coins"):
        cq(semiring="max-product")
    with pytest.raises(InferenceError, match="is evaluated on the ground program"):
        cq(semiring="godel")


def test_unknown_semiring_names_the_known_ones():
    with pytest.raises(InferenceError, match="unknown semiring 'fuzzy'") as info:
        plait.Program.from_string("0.5::a. query(a).").query(semiring="fuzzy")
    assert "'godel'" in info.value.hint and "'max-min'" in info.value.hint


@dataclasses.dataclass(frozen=True)
class MinCost:
    """A user-defined semiring: the cost -log p of the most probable world (tropical min-plus)."""

    name: str = "min-cost"
    one: float = 0.0
    zero: float = math.inf
    form: str = "choices"
    sequential_ok: bool = False

    def mul(self, a, b):
        return a + b

    def segment_sum(self, x, seg, n):
        idx = seg.unsqueeze(0).expand_as(x)
        return x.new_full((x.shape[0], n), math.inf).scatter_reduce(1, idx, x, "amin", include_self=True)

    def fact_literals(self, p):
        pos, neg, off = MAX_LOG.fact_literals(p)
        return -pos, -neg, -off

    def ad_literals(self, heads, rest):
        pos, r, off = MAX_LOG.ad_literals(heads, rest)
        return -pos, -r, -off

    def to_probability(self, x):
        return torch.exp(-x)

    def to_log(self, x):
        return -x

    def is_zero(self, x):
        return torch.isposinf(x)

    def normalize(self, q, e):
        return q


def test_a_user_defined_semiring_is_selectable_by_name():
    register_semiring(MinCost())
    assert get_semiring("min-cost").name == "min-cost"
    text = PROGRAMS[2]
    best = plait.Program.from_string(text).query(semiring="max-log")
    cost = plait.Program.from_string(text).query(semiring="min-cost")
    assert {k: float(v) for k, v in cost.items()} == pytest.approx({k: float(v) for k, v in best.items()})
    with pytest.raises(InferenceError, match="exists already"):
        register_semiring(dataclasses.replace(POSSIBILITY))  # same name, another object


def test_neural_model_under_fuzzy_and_possibilistic_semirings():
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(-1))
    prog = "nn(net, [X], Y, [0, 1, 2]) :: digit(X, Y).\nadd(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.\n"
    a, b = torch.rand(5, 4), torch.rand(5, 4)
    pa, pb = net(a).detach(), net(b).detach()
    godel = plait.Model(prog, {"net": net}, semiring="godel")("add(A, B, Z)", A=a, B=b)
    want = torch.stack(
        [
            torch.stack([torch.minimum(pa[:, i], pb[:, z - i]) for i in range(3) if 0 <= z - i < 3]).amax(0)
            for z in range(5)
        ],
        dim=1,
    )
    assert torch.allclose(godel, want)
    godel.sum().backward()  # gradients reach the network
    assert net[0].weight.grad is not None
    poss = plait.Model(prog, {"net": net}, semiring="max-min")("add(A, B, Z)", A=a, B=b).detach()
    na, nb = pa / pa.amax(-1, keepdim=True), pb / pb.amax(-1, keepdim=True)
    want = torch.stack(
        [
            torch.stack([torch.minimum(na[:, i], nb[:, z - i]) for i in range(3) if 0 <= z - i < 3]).amax(0)
            for z in range(5)
        ],
        dim=1,
    )
    assert torch.allclose(poss, want)


def test_cli_selects_a_semiring(tmp_path):
    path = tmp_path / "p.pl"
    path.write_text("0.5::a; 0.3::b. q :- a. q :- b. query(q).\n")
    out = subprocess.run(
        [sys.executable, "-m", "plait.cli", "query", str(path), "--semiring", "godel"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "q\t0.5\n"
    bad = subprocess.run(
        [sys.executable, "-m", "plait.cli", "query", str(path), "--semiring", "fuzzy"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "invalid choice: 'fuzzy'" in bad.stderr


def test_cli_semiring_choices_are_registered_semirings():
    from plait.cli.main import SEMIRING_CHOICES
    from plait.inference import InferenceOptions

    for name in SEMIRING_CHOICES:
        assert InferenceOptions(semiring=name).semiring == name


def test_a_model_under_lukasiewicz_has_no_nan_gradients_at_degree_zero():
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(-1))
    prog = "nn(net, [X], Y, [0, 1, 2]) :: digit(X, Y).\nadd(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.\n"
    model = plait.Model(prog, {"net": net}, semiring="lukasiewicz")
    logp = model.log_prob("add(A, B, Z)", A=torch.rand(4, 4), B=torch.rand(4, 4))
    assert torch.isneginf(logp).any()  # max(0, a + b - 1) is exactly 0 for most sums
    logp[torch.isfinite(logp)].sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
