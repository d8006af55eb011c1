"""Approximate inference (plait.inference.approx): top-k proofs and Monte Carlo sampling.

Oracles: exact inference (knowledge compilation, itself checked against ProbLog in
test_conformance.py) and brute force over all worlds.
"""

from __future__ import annotations

import doctest
import importlib
import itertools
import math
import random

import pytest
import torch

import plait
from conformance_util import CORPUS
from plait.errors import InconsistentEvidenceError, InferenceError, PlaitError
from plait.inference import InferenceOptions, program_answers
from plait.inference.approx import estimate
from plait.inference.approx.sampling import wilson_interval


def grid(n: int, p: float) -> str:
    """An n x n grid, edges right and down with probability p: the number of paths grows as binomial(2n-2, n-1)."""
    facts = []
    for i, j in itertools.product(range(n), range(n)):
        if i + 1 < n:
            facts.append(f"{p}::e(n{i}_{j},n{i + 1}_{j}).")
        if j + 1 < n:
            facts.append(f"{p}::e(n{i}_{j},n{i}_{j + 1}).")
    return "\n".join(facts) + (
        f"\npath(X,Y) :- e(X,Y).\npath(X,Y) :- e(X,Z), path(Z,Y).\nquery(path(n0_0,n{n - 1}_{n - 1}))."
    )


def only(answers: dict[str, torch.Tensor]) -> float:
    (value,) = answers.values()
    return float(value)


# -- top-k


@pytest.mark.parametrize(("n", "paths"), [(3, 6), (4, 20), (5, 70)])
@pytest.mark.parametrize("p", [0.3, 0.6, 0.9])
def test_topk_on_grids_is_a_lower_bound_growing_to_exact(n: int, paths: int, p: float):
    prog = plait.Program.from_string(grid(n, p))
    exact = only(prog.query())
    bounds = [only(prog.query(method="topk", k=k)) for k in sorted({1, 2, 5, paths // 2, paths})]
    assert all(b <= exact + 1e-12 for b in bounds)
    assert bounds == sorted(bounds)  # more proofs, a tighter bound
    assert bounds[0] == pytest.approx(p ** (2 * n - 2))  # the best proof: one monotone path
    assert abs(bounds[-1] - exact) < 1e-3  # k covers every proof: exact (to rounding)
    assert bounds[-1] == pytest.approx(exact, abs=1e-12)


def test_topk_on_a_cyclic_graph_and_its_upper_bound():
    prog = plait.Program.from_string("""
        0.6::edge(a,b). 0.5::edge(b,c). 0.2::edge(a,c). 0.3::edge(c,a). 0.7::edge(b,a).
        path(X,Y) :- edge(X,Y).
        path(X,Y) :- edge(X,Z), path(Z,Y).
        query(path(a,c)). query(path(c,b)).
    """)
    exact = {k: float(v) for k, v in prog.query().items()}
    for k in (1, 2, 3, 50):
        for name, e in estimate(prog.ground(), InferenceOptions(method="topk", k=k)).items():
            assert e.low <= exact[name] + 1e-12 <= e.high + 2e-12
    assert {k: float(v) for k, v in prog.query(method="topk", k=50).items()} == pytest.approx(exact, abs=1e-12)
    assert only(prog.query("path(a,c)", method="topk", k=1)) == pytest.approx(0.6 * 0.5)


def _random_positive_program(rng: random.Random) -> tuple[str, list[float]]:
    n_facts = rng.randint(3, 7)
    probs = [round(rng.uniform(0.05, 0.95), 2) for _ in range(n_facts)]
    lines = [f"{p}::f{i}." for i, p in enumerate(probs)]
    atoms = [f"f{i}" for i in range(n_facts)]
    for a in range(3):
        for _ in range(rng.randint(1, 3)):
            body = rng.sample(atoms, rng.randint(1, min(3, len(atoms))))
            lines.append(f"a{a} :- {', '.join(body)}.")
        atoms.append(f"a{a}")
    lines.append("query(a2).")
    return "\n".join(lines), probs


@pytest.mark.parametrize("seed", range(12))
def test_k1_is_the_most_probable_proof_by_brute_force(seed: int):
    """In a positive program a proof is a set of facts whose truth makes the query true: the best one
    maximises the product of their probabilities over every set S with q true in the world S."""
    text, probs = _random_positive_program(random.Random(seed))
    prog = plait.Program.from_string(text)
    cq = prog.compile()
    worlds = torch.tensor(list(itertools.product([0.0, 1.0], repeat=len(probs))), dtype=torch.float64)
    # the compiled circuit's facts are a subset of f0..; put each world's values in its order
    order = [int(plait.format_term(lbl)[1:]) for lbl in cq.fact_labels]
    holds = cq(fact_probs=worlds[:, order])[:, 0] > 0.5
    best = max(
        (math.prod(p for p, x in zip(probs, w) if x) for w, h in zip(worlds.tolist(), holds.tolist()) if h),
        default=0.0,
    )
    assert only(prog.query(method="topk", k=1)) == pytest.approx(best, abs=1e-12)
    # and all proofs together give the exact probability
    assert only(prog.query(method="topk", k=10_000)) == pytest.approx(only(prog.query()), abs=1e-12)


def test_topk_with_negation_and_annotated_disjunctions_is_sound():
    prog = plait.Program.from_string("""
        0.5::a; 0.3::b.  0.4::c.  0.2::d.
        q :- a.  q :- b, c.  r :- \\+a, c.  s :- \\+q, d.
        query(q). query(r). query(s). query(\\+r).
    """)
    exact = {k: float(v) for k, v in prog.query().items()}
    for k in (1, 2, 100):
        for name, e in estimate(prog.ground(), InferenceOptions(method="topk", k=k)).items():
            assert e.low <= exact[name] + 1e-12 <= e.high + 2e-12, (k, name)
    assert {k: float(v) for k, v in prog.query(method="topk", k=100).items()} == pytest.approx(exact, abs=1e-12)


def _corpus_without_evidence():
    for path in sorted(CORPUS.glob("*.pl")):
        try:
            gp = plait.Program.from_file(path).ground()
            if gp.evidence or not gp.queries:
                continue
            exact = {k: float(v) for k, v in program_answers(gp, InferenceOptions()).items()}
        except PlaitError:  # programs that are meant to fail
            continue
        yield path.name, gp, exact


def test_topk_bounds_the_corpus_and_is_exact_when_k_covers_every_proof():
    programs = checked = exact_hits = 0
    for name, gp, exact in _corpus_without_evidence():
        programs += 1
        for q, e in estimate(gp, InferenceOptions(method="topk", k=1000)).items():
            checked += 1
            assert e.low <= exact[q] + 1e-9 and exact[q] <= e.high + 1e-9, (name, q, exact[q], e)
            exact_hits += abs(e.low - exact[q]) < 1e-9
    assert programs > 60 and checked > 250
    # only the HMM (1024 proofs of its last query) needs more than 1000
    assert checked - exact_hits <= 1


# -- sampling


def test_sampling_stays_in_its_95_percent_interval_on_the_corpus():
    """With 95% intervals about 5% of the queries miss by chance; the queries of one program are not
    independent, so the bound is looser: a miss rate over 10% would mean biased estimates or intervals."""
    queries = misses = 0
    for _name, gp, exact in _corpus_without_evidence():
        for q, e in estimate(gp, InferenceOptions(method="sample", samples=2000, seed=0)).items():
            queries += 1
            assert e.method == "sample" and e.samples == 2000 and e.low <= e.value <= e.high
            misses += not (e.low - 1e-12 <= exact[q] <= e.high + 1e-12)
    assert queries > 250
    assert misses / queries < 0.10, (misses, queries)


def test_sampling_with_evidence_by_rejection():
    prog = plait.Program.from_string("""
        0.3::burglary. 0.2::earthquake.
        0.9::alarm :- burglary, earthquake. 0.8::alarm :- burglary, \\+earthquake. 0.1::alarm :- \\+burglary, earthquake.
        evidence(alarm, true). query(burglary). query(earthquake).
    """)
    exact = {k: float(v) for k, v in prog.query().items()}
    est = estimate(prog.ground(), InferenceOptions(method="sample", samples=20_000, seed=3))
    for q, e in est.items():
        assert e.low <= exact[q] <= e.high
        assert 0 < e.samples < 20_000  # only the worlds with the alarm count
    assert only(prog.query("burglary", method="sample", samples=20_000, seed=3)) == est["burglary"].value


def test_sampling_is_reproducible_with_a_seed():
    prog = plait.Program.from_string(grid(4, 0.6))
    a = prog.query(method="sample", samples=500, seed=7)
    b = prog.query(method="sample", samples=500, seed=7)
    assert a == b
    assert only(a) * 500 == round(only(a) * 500)  # a fraction of the draws


def test_impossible_evidence_when_sampling():
    prog = plait.Program.from_string("0.5::a. b :- a. evidence(b, true). evidence(a, false). query(a).")
    with pytest.raises(InconsistentEvidenceError, match="the evidence held in none of the 100 sampled worlds"):
        prog.query(method="sample", samples=100, seed=0)


def test_wilson_interval():
    assert wilson_interval(0, 10)[0] == 0.0 and 0.2 < wilson_interval(0, 10)[1] < 0.35
    low, high = wilson_interval(500, 1000)
    assert high - low == pytest.approx(2 * 1.96 * math.sqrt(0.25 / 1000), rel=1e-2)


# -- options


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"method": "mcmc"}, "unknown method 'mcmc'"),
        ({"method": "topk", "k": 0}, "k must be a positive integer, not 0"),
        ({"method": "topk", "k": 2.5}, "k must be a positive integer, not 2.5"),
        ({"method": "sample", "samples": -1}, "samples must be a positive integer, not -1"),
        ({"method": "sample", "seed": "x"}, "seed must be an integer or None, not 'x'"),
    ],
)
def test_bad_options(changes: dict, message: str):
    with pytest.raises(InferenceError, match=message) as info:
        InferenceOptions(**changes)
    assert info.value.hint


def test_methods_refuse_what_they_cannot_approximate():
    prog = plait.Program.from_string("0.4::a. q :- a. query(q).")
    with pytest.raises(InferenceError, match="method='topk' approximates probabilities, not the semiring 'godel'"):
        prog.query(method="topk", semiring="godel")
    with pytest.raises(InferenceError, match="method='topk' bounds P\\(query\\) without evidence"):
        plait.Program.from_string("0.4::a. 0.5::b. q :- a. evidence(b). query(q).").query(method="topk")
    with pytest.raises(InferenceError, match="unknown inference option samplez"):
        prog.query(method="sample", samplez=10)


@pytest.mark.parametrize("module", ["", ".proofs", ".topk", ".sampling"])
def test_docstring_examples_run(module: str):
    mod = importlib.import_module(f"plait.inference.approx{module}")
    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0


def test_program_estimate_needs_an_approximate_method():
    with pytest.raises(InferenceError, match="method 'exact' is not an approximation"):
        plait.Program.from_string("0.5::a. query(a).").estimate()
