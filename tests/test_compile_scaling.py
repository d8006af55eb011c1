"""Compilation that scales with the problem: variable orders, the size budget and its error."""

from __future__ import annotations

import pytest

import plait
from plait.compile.order import variable_order
from plait.compile.sdd import _used_leaves, compile_sdd
from plait.compile.variables import assign_variables
from plait.inference import InferenceOptions, compile_ground_program
from plait.logic.lineage import build_lineage

# issue 7: 10 choices and 3 evidence atoms; with every AD variable after every coin
# in the vtree this compiled to ~2.5 million SDD nodes (71 s), ProbLog needs 0.1 s
ISSUE_PROGRAM = """
0.2::w(0) ; 0.2::w(0.25) ; 0.2::w(0.5) ; 0.2::w(0.75) ; 0.2::w(1.0).
0.2::v(0) ; 0.2::v(0.25) ; 0.2::v(0.5) ; 0.2::v(0.75) ; 0.2::v(1.0).
P::obs(C,T) :- w(P), C=yes.
P::obs(C,T) :- v(P).
evidence(obs(yes,0), true).
evidence(obs(yes,1), true).
evidence(obs(no,2), false).
query(w(V)).
"""


def _problog(text: str) -> dict[str, float]:
    problog = pytest.importorskip("problog")
    from problog.program import PrologString

    res = problog.get_evaluatable("sdd").create_from(PrologString(text)).evaluate()
    return {str(k): float(v) for k, v in res.items()}


def test_issue_program_compiles_small_and_matches_problog() -> None:
    program = plait.Program.from_string(ISSUE_PROGRAM)
    cq = program.compile(max_sdd_size=20_000)  # a budget the old variable order overran 100 times
    assert cq.circuit.n_edges < 5_000
    got = {k: float(v) for k, v in cq.as_dict().items()}
    expected = _problog(ISSUE_PROGRAM)
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, abs=1e-9)


def test_issue_program_with_four_evidence_atoms() -> None:
    text = ISSUE_PROGRAM + "evidence(obs(no,3), true).\n"
    got = {k: float(v) for k, v in plait.Program.from_string(text).compile(max_sdd_size=50_000).as_dict().items()}
    expected = _problog(text)
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, abs=1e-9)


def test_grounding_order_keeps_an_ad_together_at_its_first_head() -> None:
    g = plait.Program.from_string("0.5::a. 0.2::c; 0.3::d; 0.5::e. 0.4::b. q :- a, d. q :- e, b. query(q).").ground()
    lin = build_lineage(g)
    vm = assign_variables(g, _used_leaves(lin))
    # variables: coins a, b first (0, 1), then the AD's three sequential coins (2, 3, 4)
    assert vm.n_vars == 5
    order = variable_order(lin, vm, "grounding")
    assert sorted(order) == [1, 2, 3, 4, 5]
    ad = [v + 1 for v in vm.group_vars[0]]
    start = order.index(ad[0])
    assert order[start : start + 3] == ad  # together, in head order
    assert order.index(1) < start < order.index(2)  # where the AD was grounded: between a and b
    dfs = variable_order(lin, vm, "dfs")
    assert sorted(dfs) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("order", ["grounding", "dfs"])
@pytest.mark.parametrize("strategy", ["auto", "right", "balanced-minimize"])
def test_orders_and_strategies_give_the_same_answers(order: str, strategy: str) -> None:
    g = plait.Program.from_string(ISSUE_PROGRAM).ground()
    comp = compile_sdd(build_lineage(g), strategy=strategy, order=order)
    assert comp.manager.var_count() == comp.variables.n_vars
    reference = compile_ground_program(g)().tolist()
    assert compile_ground_program(g, InferenceOptions(strategy=strategy))().tolist() == pytest.approx(
        reference, abs=1e-12
    )


def test_budget_error_names_the_queries_and_the_fix() -> None:
    program = plait.Program.from_string(ISSUE_PROGRAM)
    with pytest.raises(plait.CompilationBudgetError) as info:
        program.query(max_sdd_size=50)
    err = info.value
    assert isinstance(err, plait.CompilationError)
    text = str(err)
    assert text.startswith("compiling the queries w(0), w(0.25), w(0.5) and 2 more given 3 evidence atoms ")
    assert "grew the SDD past the budget of 50 elements" in text
    assert "max_sdd_size=" in err.hint and "simplify" in err.hint


def test_budget_error_on_the_evidence_conjunction() -> None:
    text = "".join(f"0.5::a{i}. 0.5::b{i}. c{i} :- a{i}; b{i}. evidence(c{i}, true).\n" for i in range(6))
    text += "query(a0).\n"
    g = plait.Program.from_string(text).ground()
    # a budget that the atoms' own SDDs fit exactly, but not their conjunction as evidence
    size = compile_sdd(build_lineage(g), strategy="right").manager.size()
    with pytest.raises(plait.CompilationBudgetError) as info:
        compile_ground_program(g, InferenceOptions(strategy="right", max_sdd_size=size))
    assert str(info.value).startswith(
        f"compiling the queries a0 given 6 evidence atoms grew the SDD past the budget of {size:,} elements "
        "(while compiling the evidence c"
    )
    assert float(compile_ground_program(g)()[0]) == pytest.approx(2 / 3)


def test_unknown_order_is_an_error() -> None:
    g = plait.Program.from_string("0.5::a. query(a).").ground()
    with pytest.raises(plait.CompilationError, match="unknown variable order 'best'"):
        compile_sdd(build_lineage(g), order="best")
