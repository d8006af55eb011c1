"""Model counting inside the SDD library (``Program.query``'s route) against the tensor circuit.

``Program.query`` with a probability semiring answers by weighted model counting on
the SDDs (:mod:`plait.inference.wmc`); ``CompiledQuery`` evaluates the same SDDs as a
layered tensor circuit. Both must give the same answers (to 1e-9) and the same
errors on the whole conformance corpus and on random programs (the differential
generator of test_random_programs.py, whose programs have annotated disjunctions,
negation, cycles and evidence).
"""

from __future__ import annotations

import functools

import pytest
import torch

import plait
from conformance_util import CORPUS
from plait.errors import InferenceError, PlaitError
from plait.inference import InferenceOptions, compile_ground_program, program_answers
from plait.inference.evaluate import AutoLogSpace
from plait.inference.wmc import counts_in_sdd, sdd_answers
from test_random_programs import generate_program

SEMIRINGS = ("log", "probability", "auto")
SKIP = {"extern_test.pl", "extern_test_out.pl"}  # Python externs: refused by design
PROGRAMS = sorted(p.name for p in CORPUS.glob("*.pl") if p.name not in SKIP) if CORPUS.is_dir() else []


def _circuit(gp, options: InferenceOptions) -> dict[str, float] | str:
    try:
        cq = compile_ground_program(gp, options)
        values = AutoLogSpace(options.semiring).answers(cq, cq.leaf_weights(), log=False)
        return {k: float(v) for k, v in cq.as_dict(values).items()}
    except PlaitError as e:
        return f"{type(e).__name__}: {e}"


def _counted(gp, options: InferenceOptions) -> dict[str, float] | str:
    try:
        return {k: float(v) for k, v in sdd_answers(gp, options).items()}
    except PlaitError as e:
        return f"{type(e).__name__}: {e}"


def _agree(gp, what: str) -> None:
    for semiring in SEMIRINGS:
        options = InferenceOptions(semiring=semiring)
        want, got = _circuit(gp, options), _counted(gp, options)
        if isinstance(want, str) or isinstance(got, str):
            assert got == want, f"{what} ({semiring}): circuit {want}, counted {got}"
            continue
        assert list(got) == list(want), f"{what} ({semiring}): answers {list(got)} vs {list(want)}"
        for k, v in want.items():
            assert got[k] == pytest.approx(v, abs=1e-9), f"{what} ({semiring}): P({k}) {got[k]} vs circuit {v}"


@functools.cache
def _ground(name: str):
    return plait.Program.from_file(CORPUS / name).ground()


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"conformance corpus not found at {CORPUS}")
@pytest.mark.parametrize("name", PROGRAMS)
def test_counting_agrees_with_the_circuit_on_the_corpus(name: str) -> None:
    try:
        gp = _ground(name)
    except PlaitError:
        return  # rejected before compilation: neither route is reached
    _agree(gp, name)


@pytest.mark.parametrize("seed", range(60))
def test_counting_agrees_with_the_circuit_on_random_programs(seed: int) -> None:
    try:
        gp = plait.Program.from_string(generate_program(seed)).ground()
    except PlaitError:
        return
    _agree(gp, f"seed {seed}")


def test_query_takes_the_counting_route_only_for_probability_semirings() -> None:
    assert counts_in_sdd(InferenceOptions())
    assert counts_in_sdd(InferenceOptions(semiring="probability"))
    assert counts_in_sdd(InferenceOptions(semiring="auto"))
    assert not counts_in_sdd(InferenceOptions(semiring="max-log"))
    assert not counts_in_sdd(InferenceOptions(backend="klay"))
    with pytest.raises(ValueError, match="probability semirings only"):
        sdd_answers(plait.Program.from_string("0.5::a. query(a).").ground(), InferenceOptions(semiring="max-log"))


def test_counting_edge_cases() -> None:
    """Certain and impossible queries, probabilities 0 and 1, ADs conditioned on evidence, no variables."""
    cases = {
        "q. query(q).": {"q": 1.0},
        "q :- fail. query(q).": {"q": 0.0},
        "1.0::a. 0.0::b. q :- a, \\+b. query(q). query(\\+q).": {"q": 1.0, "\\+q": 0.0},
        "0.2::c(1); 0.3::c(2); 0.5::c(3). query(c(2)). evidence(\\+c(1)).": {"c(2)": 0.375},
        "0.3::a. 0.5::b. q :- a; b. query(q).": {"q": 0.65},
    }
    for text, want in cases.items():
        got = plait.Program.from_string(text).query()
        assert {k: float(v) for k, v in got.items()} == pytest.approx(want, abs=1e-12), text


def test_counting_keeps_dtype_and_raises_on_impossible_evidence() -> None:
    gp = plait.Program.from_string("0.3::a. query(a).").ground()
    got = program_answers(gp, InferenceOptions(dtype=torch.float32))["a"]
    assert got.dtype == torch.float32 and got.shape == ()
    bad = plait.Program.from_string("0.5::a. evidence(a). evidence(\\+a). query(a).").ground()
    for semiring in SEMIRINGS:
        with pytest.raises(plait.InconsistentEvidenceError, match="the evidence has probability 0"):
            program_answers(bad, InferenceOptions(semiring=semiring))


def test_log_counting_does_not_underflow() -> None:
    """1e-800 underflows in linear space; the log-space count keeps the conditional probability."""
    facts = " ".join(f"1e-100::f{i}." for i in range(8))
    body = ", ".join(f"f{i}" for i in range(8))
    text = f"{facts} 0.5::g. e :- {body}. q :- e, g. evidence(e). query(q)."
    got = plait.Program.from_string(text).query()
    assert float(got["q"]) == pytest.approx(0.5, abs=1e-9)
    with pytest.raises(InferenceError):
        plait.Program.from_string(text).query(semiring="probability")


@pytest.mark.parametrize("seed", range(20))
def test_log_mode_counting_agrees_with_the_circuit(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's log mode (used where a linear count is tiny), forced on every root."""
    import plait.inference.wmc as wmc

    monkeypatch.setattr(wmc, "_LINEAR_FLOOR", 2.0)
    try:
        gp = plait.Program.from_string(generate_program(seed)).ground()
    except PlaitError:
        return
    _agree(gp, f"seed {seed}, log mode")
