"""Top-k at scale: the bound on the program restricted to the proofs, the beam, and the fast minimality.

Oracles: exact inference (itself checked against ProbLog), the disjunction of the same proofs
compiled as one rule each (the definition of the top-k bound it replaces), and brute force.
"""

from __future__ import annotations

import itertools
import random

import pytest

import plait
from plait.inference import InferenceOptions
from plait.inference.approx import estimate, topk
from plait.inference.approx.proofs import Supports, _minimal_sets
from plait.inference.approx.topk import _dnf_probabilities, _restricted_probability, top_k_bounds


def grid(n: int, seed: int) -> str:
    """An n x n grid, edges right and down with seeded probabilities in [0.1, 0.9]."""
    rng = random.Random(seed)
    facts = []
    for i, j in itertools.product(range(n), range(n)):
        for di, dj in ((1, 0), (0, 1)):
            if i + di < n and j + dj < n:
                facts.append(f"{rng.uniform(0.1, 0.9):.3f}::e(n{i}_{j},n{i + di}_{j + dj}).")
    return "\n".join(facts) + (
        f"\npath(X,Y) :- e(X,Y).\npath(X,Y) :- e(X,Z), path(Z,Y).\nquery(path(n0_0,n{n - 1}_{n - 1}))."
    )


def _random_program(rng: random.Random) -> str:
    """Facts, an annotated disjunction, rules with negation: the restriction must stay a lower bound."""
    n_facts = rng.randint(3, 6)
    lines = [f"{round(rng.uniform(0.05, 0.95), 2)}::f{i}." for i in range(n_facts)]
    lines.append("0.3::g0; 0.4::g1.")
    atoms = [f"f{i}" for i in range(n_facts)] + ["g0", "g1"]
    for a in range(4):
        for _ in range(rng.randint(1, 3)):
            body = [("\\+" if rng.random() < 0.3 else "") + x for x in rng.sample(atoms, rng.randint(1, 3))]
            lines.append(f"a{a} :- {', '.join(body)}.")
        atoms.append(f"a{a}")
    lines.append("query(a3).")
    return "\n".join(lines)


def _proofs(gp, k: int):
    sup = Supports(gp)
    found = sup.supports(gp.queries[0].literal)
    return sup, sorted(found, key=lambda a: -sup.probability(a))[:k]


@pytest.mark.parametrize("seed", range(40))
def test_restricted_bound_lies_between_the_disjunction_and_exact(seed: int):
    prog = plait.Program.from_string(_random_program(random.Random(seed)))
    gp = prog.ground()
    if not gp.queries[0].literal or gp.queries[0].literal < 0:
        pytest.skip("the query is decided by grounding")
    exact = float(next(iter(prog.query().values())))
    sup, proofs = _proofs(gp, 10_000)
    if not proofs:  # proofs are complete on an acyclic program: none, probability 0
        assert exact == pytest.approx(0.0, abs=1e-12)
        return
    for k in range(1, len(proofs) + 1):
        (dnf,) = _dnf_probabilities(gp, sup, [proofs[:k]])
        restricted = _restricted_probability(gp, gp.queries[0].literal, proofs[:k])
        assert dnf - 1e-12 <= restricted <= exact + 1e-12, (k, dnf, restricted, exact)
    assert restricted == pytest.approx(exact, abs=1e-12)  # every proof: exact


def test_restricted_bound_keeps_the_rules_under_negation():
    """Dropping r's second rule would make \\+r more likely and the bound unsound: r keeps both."""
    prog = plait.Program.from_string("""
        0.9::a. 0.5::b. 0.5::c. 0.8::d.
        q :- a, \\+r.  q :- d, b.
        r :- b.  r :- c.
        query(q).
    """)
    gp = prog.ground()
    exact = float(next(iter(prog.query().values())))
    sup, proofs = _proofs(gp, 100)
    for k in range(1, len(proofs) + 1):
        assert _restricted_probability(gp, gp.queries[0].literal, proofs[:k]) <= exact + 1e-12


def test_grid_bound_counts_the_combined_paths():
    """Two paths of the 3 x 3 grid that cross in the middle also prove their two crossovers."""
    prog = plait.Program.from_string(grid(3, 0))
    gp = prog.ground()
    sup, proofs = _proofs(gp, 2)
    (dnf,) = _dnf_probabilities(gp, sup, [proofs])
    restricted = _restricted_probability(gp, gp.queries[0].literal, proofs)
    assert restricted >= dnf - 1e-12
    assert restricted <= float(next(iter(prog.query().values()))) + 1e-12


@pytest.mark.parametrize("n", [4, 5, 6])
def test_beam_finds_the_k_best_paths_of_a_grid(n: int):
    """On a grid the best paths from a node extend the best paths of its successors: the beam is exact."""
    gp = plait.Program.from_string(grid(n, n)).ground()
    lit = gp.queries[0].literal
    full = Supports(gp)
    every = sorted(full.probability(a) for a in full.supports(lit))
    for k in (1, 5, 20):
        beam = Supports(gp, beam=k)
        got = sorted((beam.probability(a) for a in beam.supports(lit)), reverse=True)
        assert got == pytest.approx(every[::-1][:k], abs=1e-15)


def test_past_the_exhaustive_limit_the_beam_keeps_the_bound_sound(monkeypatch):
    prog = plait.Program.from_string(grid(6, 1))
    exact = float(next(iter(prog.query().values())))
    full = [b.lower for b in top_k_bounds(prog.ground(), 50)]
    monkeypatch.setattr(topk, "EXHAUSTIVE_LIMIT", 20)  # the 6 x 6 grid has 252 paths: the beam is used
    beamed = [b.lower for b in top_k_bounds(prog.ground(), 50)]
    assert beamed[0] <= exact + 1e-12
    assert beamed == pytest.approx(full, abs=1e-12)  # on a grid the beam finds the same 50 paths
    # the 6 x 6 grid: k covering its 252 paths is exact
    assert estimate(prog.ground(), InferenceOptions(method="topk", k=300))["path(n0_0,n5_5)"].low == pytest.approx(
        exact, abs=1e-12
    )


@pytest.mark.parametrize("seed", range(30))
def test_minimal_sets_agree_with_pairwise_comparison(seed: int):
    rng = random.Random(seed)
    universe = [(("c", i), v) for i in range(6) for v in (True, False)]
    sets = list({frozenset(rng.sample(universe, rng.randint(0, 4))) for _ in range(rng.randint(1, 25))})
    if rng.random() < 0.8:
        sets = [s for s in sets if s]  # the empty set contains nothing else and is in every set
    ordered = sorted(sets, key=len)
    naive = [s for s in ordered if not any(t < s for t in sets)]
    assert set(_minimal_sets(ordered)) == set(naive)


@pytest.mark.parametrize("seed", range(20))
def test_union_of_minimal_lists_is_minimal(seed: int):
    rng = random.Random(100 + seed)
    universe = [(("c", i), True) for i in range(7)]
    sup = Supports(plait.Program.from_string("0.5::a. q :- a. query(q).").ground())
    lists = []
    for _ in range(rng.randint(2, 4)):
        sets = {frozenset(rng.sample(universe, rng.randint(1, 4))) for _ in range(rng.randint(1, 8))}
        lists.append(_minimal_sets(sorted(sets, key=len)))
    every = {s for alt in lists for s in alt}
    naive = {s for s in every if not any(t < s for t in every)}
    assert set(sup._union(lists)) == naive
