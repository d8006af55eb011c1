"""Reading SDDs into layered circuits: the bulk (file) reader against the node walk and brute force."""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from pysdd.sdd import SddManager, Vtree

import plait
from plait.circuit import sdd_reader
from plait.circuit.layered import from_sdd
from plait.circuit.sdd_reader import read_sdd_by_file, read_sdd_by_walk

N_VARS = 6


def _random_function(mgr: SddManager, rng: random.Random, depth: int = 3):
    if depth == 0 or rng.random() < 0.2:
        v = rng.randint(1, N_VARS)
        return mgr.literal(v if rng.random() < 0.5 else -v)
    a = _random_function(mgr, rng, depth - 1)
    b = _random_function(mgr, rng, depth - 1)
    return (a & b) if rng.random() < 0.5 else (a | b)


def _brute_force(mgr: SddManager, root, probs: list[float]) -> float:
    total = 0.0
    for world in itertools.product([False, True], repeat=N_VARS):
        node = root
        for v, val in enumerate(world, start=1):
            node = node.condition(v if val else -v)
        if node.is_true():
            w = 1.0
            for p, val in zip(probs, world):
                w *= p if val else 1 - p
            total += w
    return total


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("vtree", ["right", "balanced", "left"])
def test_file_reader_matches_walk_and_brute_force(seed: int, vtree: str) -> None:
    rng = random.Random(seed)
    mgr = SddManager.from_vtree(Vtree(N_VARS, None, vtree))
    roots = [_random_function(mgr, rng) for _ in range(rng.randint(1, 6))]
    # constants, a duplicate and roots equal to their neighbour exercise the trimmed selector chain
    roots += [mgr.true(), mgr.false(), roots[0], roots[-1], mgr.literal(2), mgr.true()]
    rng.shuffle(roots)
    n_before = mgr.var_count()
    by_file = read_sdd_by_file(roots)
    assert mgr.var_count() == n_before  # the selectors are gone again
    by_walk = read_sdd_by_walk(roots)
    assert len(by_file.roots) == len(by_walk.roots) == len(roots)
    probs = [rng.uniform(0.05, 0.95) for _ in range(N_VARS)]
    w = torch.tensor(probs, dtype=torch.float64)
    expected = torch.tensor([_brute_force(mgr, r, probs) for r in roots], dtype=torch.float64)
    for force in (0, 10**9):  # 0: always the file reader; 10**9: always the walk
        old = sdd_reader.WALK_BELOW
        sdd_reader.WALK_BELOW = force
        try:
            circuit = from_sdd(roots, N_VARS)
        finally:
            sdd_reader.WALK_BELOW = old
        assert torch.allclose(circuit(w), expected, atol=1e-12)
        assert torch.allclose(circuit(w, "log").exp(), expected, atol=1e-12)
    # the manager still works after the selectors were added and removed
    assert _brute_force(mgr, roots[0] | roots[-1], probs) == pytest.approx(
        float(from_sdd([roots[0] | roots[-1]], N_VARS)(w))
    )


def test_single_constant_root_and_empty() -> None:
    mgr = SddManager(3)
    for root, value in ((mgr.true(), 1.0), (mgr.false(), 0.0), (mgr.literal(-2), 0.75)):
        dag = read_sdd_by_file([root])
        assert len(dag.roots) == 1
        old = sdd_reader.WALK_BELOW
        sdd_reader.WALK_BELOW = 0
        try:
            c = from_sdd([root], 3)
        finally:
            sdd_reader.WALK_BELOW = old
        assert float(c(torch.tensor([0.5, 0.25, 0.5], dtype=torch.float64))) == value
    assert len(read_sdd_by_file([]).roots) == 0


@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_random_programs_same_answers_with_either_reader(seed: int) -> None:
    from test_random_programs import generate_program

    text = generate_program(seed)
    answers = []
    for force in (0, 10**9):
        old = sdd_reader.WALK_BELOW
        sdd_reader.WALK_BELOW = force
        try:
            res = plait.Program.from_string(text).query()
        except plait.InconsistentEvidenceError:
            res = "inconsistent"
        finally:
            sdd_reader.WALK_BELOW = old
        answers.append(res if isinstance(res, str) else {k: float(v) for k, v in res.items()})
    if isinstance(answers[0], str):
        assert answers[1] == answers[0]
    else:
        assert answers[1].keys() == answers[0].keys()
        for k in answers[0]:
            assert answers[1][k] == pytest.approx(answers[0][k], abs=1e-12)
