"""Every program in examples/ runs and its queries have probabilities in [0, 1]."""

from __future__ import annotations

from pathlib import Path

import pytest

import plait

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.pl"))


def test_there_are_examples():
    assert EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path):
    result = plait.Program.from_file(path).query()
    assert result, f"{path.name} has no queries"
    for atom, p in result.items():
        assert 0.0 <= float(p) <= 1.0 + 1e-12, atom
