"""The Python API: compile once, evaluate many; batching; gradients; semirings."""

from __future__ import annotations

import pytest
import torch

import plait
from plait.circuit.layered import from_sdd
from plait.compile.variables import choice_weights

GRAPH = """
0.6::edge(a,b). 0.5::edge(b,c). 0.2::edge(a,c). 0.3::edge(c,a).
path(X,Y) :- edge(X,Y).
path(X,Y) :- edge(X,Z), path(Z,Y).
"""


def brute_force(facts: dict[str, float], holds) -> float:
    """P(holds(world)) by enumerating all worlds of independent facts."""
    import itertools

    names = list(facts)
    total = 0.0
    for bits in itertools.product((False, True), repeat=len(names)):
        world = dict(zip(names, bits))
        w = 1.0
        for n, b in world.items():
            w *= facts[n] if b else 1 - facts[n]
        if holds(world):
            total += w
    return total


def test_query_by_string_with_cycle_matches_enumeration():
    p = plait.Program.from_string(GRAPH)
    res = p.query("path(a,X)")
    facts = {"ab": 0.6, "bc": 0.5, "ac": 0.2, "ca": 0.3}

    def reach(world, src, dst):
        edges = {("a", "b"): world["ab"], ("b", "c"): world["bc"], ("a", "c"): world["ac"], ("c", "a"): world["ca"]}
        seen, todo = set(), [src]
        while todo:
            x = todo.pop()
            for (u, v), on in edges.items():
                if on and u == x and v not in seen:
                    seen.add(v)
                    todo.append(v)
        return dst in seen

    for dst in "abc":
        assert float(res[f"path(a,{dst})"]) == pytest.approx(brute_force(facts, lambda w, dst=dst: reach(w, "a", dst)))


def test_compile_once_evaluate_many_and_batch():
    cq = plait.Program.from_string(GRAPH).compile(["path(a,c)", "path(b,a)"])
    assert cq.query_names == ["path(a,c)", "path(b,a)"]
    base = cq()
    assert base.shape == (2,)
    probs = cq.fact_probs
    batch = torch.stack([probs, torch.full_like(probs, 0.5), torch.zeros_like(probs)])
    out = cq(batch)
    assert out.shape == (3, 2)
    assert torch.allclose(out[0], base)
    assert torch.allclose(out[2], torch.zeros(2, dtype=out.dtype))
    for i in range(3):
        assert torch.allclose(out[i], cq(batch[i]))


def test_gradients_match_finite_differences():
    prog = plait.Program.from_string(GRAPH + "0.4::w. evidence(w).\n")
    cq = prog.compile(["path(a,c)", "path(c,b)", "\\+path(b,a)"])
    x = cq.fact_probs.clone().requires_grad_(True)
    for semiring in ("probability", "log"):
        y = cq(x, semiring=semiring)
        jac = torch.stack([torch.autograd.grad(y[i], x, retain_graph=True)[0] for i in range(y.shape[0])])
        eps = 1e-6
        for j in range(x.numel()):
            d = torch.zeros_like(x)
            d[j] = eps
            fd = (cq(x.detach() + d, semiring=semiring) - cq(x.detach() - d, semiring=semiring)) / (2 * eps)
            assert torch.allclose(jac[:, j], fd, atol=1e-6), (semiring, j)


def test_gradcheck_through_layered_circuit_and_ads():
    prog = plait.Program.from_string("""
        0.2::c(r); 0.5::c(g); 0.3::c(b).
        0.4::on.
        bright :- c(r), on.
        bright :- c(g).
        query(bright).
    """)
    cq = prog.compile()
    fp = cq.fact_probs.clone().requires_grad_(True)
    ap = [a.clone().requires_grad_(True) for a in cq.ad_probs]
    assert float(cq(fp, ap).detach()) == pytest.approx(0.2 * 0.4 + 0.5)
    assert torch.autograd.gradcheck(lambda f, a: cq(f, [a]), (fp, ap[0]))
    assert torch.autograd.gradcheck(lambda f, a: cq(f, [a], semiring="log"), (fp, ap[0]))


def test_choice_weights_sequential_encoding():
    p = torch.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], dtype=torch.float64)
    q = choice_weights(p)
    # P(head i) = q_i * prod_{j<i} (1 - q_j) recovers p
    recovered = q * torch.cumprod(torch.cat([torch.ones(2, 1, dtype=q.dtype), 1 - q[:, :-1]], dim=1), dim=1)
    assert torch.allclose(recovered, p)


def test_evidence_conditions():
    p = plait.Program.from_string("""
        0.7::burglary. 0.2::earthquake.
        0.9::alarm :- burglary, earthquake.
        0.8::alarm :- burglary, \\+earthquake.
        0.1::alarm :- \\+burglary, earthquake.
        evidence(alarm, true).
        query(burglary).
    """)
    assert float(p.query()["burglary"]) == pytest.approx(0.9896551724137932)


def test_log_semiring_avoids_underflow():
    n = 800
    text = "".join(f"0.1::f{i}.\n" for i in range(n)) + "all :- " + ", ".join(f"f{i}" for i in range(n)) + ".\n"
    text += "query(all).\n0.5::x. evidence(x).\n"
    cq = plait.Program.from_string(text).compile()
    log_value = cq.circuit(cq.leaf_weights(), "log")[0]
    assert float(log_value) == pytest.approx(
        n * torch.log(torch.tensor(0.1, dtype=torch.float64)).item() + float(torch.log(torch.tensor(0.5))), rel=1e-9
    )
    assert float(cq(semiring="probability")) == 0.0  # 1e-800 underflows in linear space
    assert float(cq(semiring="log")) == 0.0  # the ratio is exact in log space, then exponentiated


def test_max_product_and_boolean_semirings():
    cq = plait.Program.from_string("0.3::a. 0.6::b. q :- a. q :- b. query(q).").compile()
    w = cq.leaf_weights()
    # most probable world in which q holds: a false, b true -> 0.7 * 0.6
    assert float(cq.circuit(w, "max-product")[0]) == pytest.approx(0.42)
    assert float(cq.circuit(w, "boolean")[0]) == 1.0
    assert float(cq.circuit(torch.zeros_like(w), "boolean")[0]) == 0.0


def test_unknown_semiring_and_backend():
    cq = plait.Program.from_string("0.3::a. query(a).").compile()
    with pytest.raises(plait.InferenceError, match="unknown semiring"):
        cq(semiring="tropical")
    with pytest.raises(plait.InferenceError, match="unknown backend"):
        plait.Program.from_string("0.3::a. query(a).").compile(backend="nope")


def test_compiled_query_is_a_module_and_moves_with_to():
    cq = plait.Program.from_string(GRAPH).compile("path(a,c)")
    assert isinstance(cq, torch.nn.Module)
    cq32 = cq.to(torch.float32)
    assert cq32.fact_probs.dtype == torch.float32
    assert cq32().dtype == torch.float32


def test_empty_sdd_roots_and_constants():
    circuit = from_sdd([], 0)
    assert circuit(torch.zeros(0)).shape == (0,)
    p = plait.Program.from_string("a. b :- fail. query(a). query(b). query(c) :- fail.")
    assert {k: float(v) for k, v in p.query().items()} == {"a": 1.0, "b": 0.0}


def test_negated_query_and_non_ground_expansion():
    p = plait.Program.from_string("0.3::p(1). 0.6::p(2). query(\\+p(1)). query(p(X)).")
    res = {k: float(v) for k, v in p.query().items()}
    assert res == pytest.approx({"\\+p(1)": 0.7, "p(1)": 0.3, "p(2)": 0.6})


def test_ground_program_text():
    text = plait.Program.from_string(GRAPH + "query(path(a,c)).").ground().describe()
    assert "0.6::edge(a,b)." in text
    assert "query(path(a,c))." in text


def test_public_surface():
    for name in plait.__all__:
        assert hasattr(plait, name), name
    assert issubclass(plait.ParseError, plait.PlaitError)
    assert issubclass(plait.UnknownPredicateError, plait.GroundingError)


def test_deep_recursion_and_long_bodies_fall_back_to_the_big_stack():
    chain = "0.5::e(0).\nq(N) :- N > 0, M is N - 1, q(M).\nq(0) :- e(0).\nquery(q(3000)).\n"
    assert float(plait.Program.from_string(chain).query()["q(3000)"]) == pytest.approx(0.5)
    n = 3000
    body = ", ".join(f"f{i}" for i in range(n))
    text = "".join(f"f{i}.\n" for i in range(n)) + f"all :- {body}.\nquery(all).\n"
    assert float(plait.Program.from_string(text).query()["all"]) == 1.0
