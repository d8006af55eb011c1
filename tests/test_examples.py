"""Every program in examples/ runs: plain programs answer their queries, neural ones train and explain."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest
import torch

import plait
from plait.nn.networks import DigitNet

ROOT = Path(__file__).resolve().parents[1] / "examples"
PROGRAMS = sorted(ROOT.glob("*.pl"))
PLAIN = [p for p in PROGRAMS if "nn(" not in p.read_text()]
NEURAL = [p for p in PROGRAMS if p not in PLAIN]
SCRIPTS = sorted(ROOT.glob("*.py"))


def test_there_are_examples():
    assert PLAIN and NEURAL and SCRIPTS


@pytest.mark.parametrize("path", PLAIN, ids=[p.name for p in PLAIN])
def test_example_runs(path: Path):
    result = plait.Program.from_file(path).query()
    assert result, f"{path.name} has no queries"
    for atom, p in result.items():
        assert 0.0 <= float(p) <= 1.0 + 1e-12, atom


def test_every_neural_program_is_covered():
    assert {p.name for p in NEURAL} == {"addition.pl", "multi_digit_addition.pl"}


def _load_script(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_digit_addition_script_trains_and_explains(tmp_path, capsys):
    torch.set_default_dtype(torch.float32)  # as a user runs it (the suite's fixture restores float64)
    script = _load_script(ROOT / "digit_addition.py")
    last = script.main(["--epochs", "1", "--n-train", "300", "--no-progress", "--log-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "test sum accuracy:" in out and "test digit accuracy:" in out
    assert "explained prediction: addition(A,B," in out and "digit(A," in out and "digit(B," in out
    assert 0.0 <= last["test_accuracy"] <= 1.0 and 0.0 <= last["digit_accuracy"] <= 1.0
    for name in ("metrics.csv", "metrics.json", "curves.png", "checkpoint.safetensors"):
        assert (tmp_path / name).stat().st_size > 0, name


class _Identity(torch.nn.Module):
    def forward(self, x):
        return x


def test_multi_digit_addition_is_exact_against_brute_force():
    """P(sum_ok) equals the probability that the two 2-digit numbers add up to the observed sum."""
    torch.manual_seed(0)
    n = 2
    model = plait.Model.from_file(
        ROOT / "multi_digit_addition.pl", {"digit_net": _Identity(), "observed": _Identity()}, dtype=torch.float64
    )
    # digit "images" are the distributions themselves (identity network), least significant digit first
    a = [torch.softmax(torch.randn(3, 10, dtype=torch.float64), -1) for _ in range(n)]
    b = [torch.softmax(torch.randn(3, 10, dtype=torch.float64), -1) for _ in range(n)]
    for target in (0, 57, 101, 198):
        digits = [(target // 10**i) % 10 for i in range(n + 1)]
        s = [torch.nn.functional.one_hot(torch.tensor([d] * 3), 10).double() for d in digits]
        got = model("sum_ok(A, B, S)", A=a, B=b, S=s)[:, 0]
        want = torch.zeros(3, dtype=torch.float64)
        for da in itertools.product(range(10), repeat=n):
            for db in itertools.product(range(10), repeat=n):
                va = sum(d * 10**i for i, d in enumerate(da))
                vb = sum(d * 10**i for i, d in enumerate(db))
                if va + vb == target:
                    pa = torch.stack([a[i][:, d] for i, d in enumerate(da)]).prod(0)
                    pb = torch.stack([b[i][:, d] for i, d in enumerate(db)]).prod(0)
                    want += pa * pb
        assert torch.allclose(got, want, atol=1e-12), target


def test_multi_digit_addition_compiles_linearly():
    model = plait.Model.from_file(ROOT / "multi_digit_addition.pl", {"digit_net": DigitNet(8), "observed": _Identity()})
    per_digit = {
        n: model.template("sum_ok(A, B, S)", {"A": n, "B": n, "S": n + 1}).compiled.circuit.n_edges / n
        for n in (4, 8, 15)
    }
    # the circuit size per digit stays flat (the direct program grows as 10^(2N))
    assert per_digit[8] <= 1.5 * per_digit[4] and per_digit[15] <= 1.5 * per_digit[4], per_digit
