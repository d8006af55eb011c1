"""Fused circuit evaluation (plait.circuit.fused): same values and gradients as the layered evaluator,
gradients against finite differences, the circuit_eval option, results on the inputs' device."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

import plait
from plait.circuit.layered import LayeredCircuit

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = """
0.2::c(r); 0.5::c(g); 0.3::c(b).
0.4::on. 0.7::x. 0.1::y.
bright :- c(r), on.
bright :- c(g).
dark :- \\+bright, x.
dark :- y, c(b).
z :- x, y, on.
query(bright). query(dark). query(z).
evidence(on).
"""


def _circuit(evaluation: str = "fused") -> LayeredCircuit:
    return plait.Program.from_string(PROGRAM).compile(circuit_eval=evaluation).circuit


def _sparse(c: LayeredCircuit) -> LayeredCircuit:
    """The same circuit with every layer on the segment (not the dense padded) path."""
    c._dense = [False] * c.n_layers
    return c


@pytest.mark.parametrize("semiring", ["probability", "log"])
@pytest.mark.parametrize("dense", [True, False])
def test_fused_gradients_match_finite_differences(semiring: str, dense: bool) -> None:
    c = _circuit()
    if not dense:
        _sparse(c)
    torch.manual_seed(0)
    w = (torch.rand(3, c.n_vars, dtype=torch.float64) * 0.8 + 0.1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: c(x, semiring), (w,))


@pytest.mark.parametrize("semiring", ["probability", "log"])
def test_fused_and_layered_agree_on_values_and_gradients(semiring: str) -> None:
    fused, layered = _circuit("fused"), _circuit("layered")
    torch.manual_seed(1)
    w = torch.rand(5, fused.n_vars, dtype=torch.float64)
    w[0, 0] = 0.0  # a literal of probability 0: log-space shares must stay 0, not NaN
    grads, values = [], []
    for c in (fused, layered, _sparse(_circuit("fused"))):
        x = w.clone().requires_grad_(True)
        v = c(x, semiring)
        weights = torch.arange(v.numel(), dtype=v.dtype).view_as(v)
        (torch.where(torch.isfinite(v), v, 0) * weights).sum().backward()
        values.append(v.detach())
        grads.append(x.grad)
    for v, g in zip(values[1:], grads[1:]):
        assert torch.equal(torch.isfinite(v), torch.isfinite(values[0]))
        assert torch.allclose(v, values[0], atol=1e-12)
        assert not torch.isnan(g).any()
        assert torch.allclose(g, grads[0], atol=1e-12)


def test_fused_matches_layered_on_random_programs() -> None:
    spec = importlib.util.spec_from_file_location("_rp_for_fused", ROOT / "tests" / "test_random_programs.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    compared = 0
    for seed in range(12):
        program = plait.Program.from_string(mod.generate_program(seed))
        try:
            a = program.compile(circuit_eval="fused")
            b = program.compile(circuit_eval="layered")
            for semiring in ("probability", "log"):
                assert torch.allclose(a(semiring=semiring), b(semiring=semiring), atol=1e-12), seed
        except plait.InconsistentEvidenceError:
            continue
        compared += 1
    assert compared >= 6


def test_circuit_eval_option_is_checked_and_reaches_the_circuit() -> None:
    assert plait.InferenceOptions().circuit_eval == "auto"
    assert _circuit("layered").evaluation == "layered"
    with pytest.raises(plait.InferenceError, match="unknown circuit_eval 'compiled'") as info:
        plait.InferenceOptions(circuit_eval="compiled")
    assert "'auto', 'fused', 'layered'" in str(info.value)
    model = plait.Model("0.5::a. q :- a. query(q).", circuit_eval="layered")
    assert model.template("q", {}).compiled.circuit.evaluation == "layered"


@pytest.mark.parametrize("evaluation", ["fused", "layered"])
@pytest.mark.parametrize("semiring", ["probability", "log"])
def test_circuit_results_stay_on_the_inputs_device_and_dtype(evaluation: str, semiring: str) -> None:
    # the 'meta' device runs no kernels but checks that every index tensor and buffer moved with
    # the circuit: an index left on CPU would fail against meta weights
    c = _circuit(evaluation).to("meta")
    w = torch.empty(4, c.n_vars, device="meta", dtype=torch.float32, requires_grad=True)
    out = c(w, semiring)
    assert (out.device.type, out.dtype, tuple(out.shape)) == ("meta", torch.float32, (4, 4))
    out.sum().backward()
    assert w.grad.device.type == "meta" and w.grad.shape == w.shape
    with torch.no_grad():
        assert c(w, semiring).device.type == "meta"
    cq = plait.Program.from_string(PROGRAM).compile(circuit_eval=evaluation, dtype=torch.float32).to("meta")
    assert cq.circuit(cq.leaf_weights(), semiring).device.type == "meta"
