"""Bad input: every problem is a located PlaitError subclass with a helpful message."""

from __future__ import annotations

import time

import pytest

import plait
from plait import (
    GroundingLimitError,
    InconsistentEvidenceError,
    NeedsNetworkError,
    NonGroundError,
    NonStratifiedError,
    ParseError,
    ProgramError,
    UnknownPredicateError,
)


def run(text: str, **kw):
    return plait.Program.from_string(text, "prog.pl", **kw).query()


def located(err: plait.PlaitError, line: int) -> None:
    assert err.span is not None, f"no location for {err!r}"
    assert err.span.line == line
    rendered = err.render()
    assert rendered.startswith(f"prog.pl:{line}:")
    assert "^" in rendered


def test_unbounded_recursion_stops_with_the_predicate_named():
    t0 = time.monotonic()
    with pytest.raises(GroundingLimitError) as e:
        run("nat(0).\nnat(s(X)) :- nat(X).\nquery(nat(X)).")
    assert time.monotonic() - t0 < 30
    assert "nat/1" in str(e.value)
    located(e.value, 2)


def test_unbounded_counting_recursion_hits_the_depth_limit():
    with pytest.raises(GroundingLimitError) as e:
        run("p(X) :- Y is X + 1, p(Y).\nquery(p(0)).", limits=plait.Limits(max_depth=200))
    assert "p/1" in str(e.value)


def test_grounding_timeout():
    prog = "nat(0).\nnat(s(X)) :- nat(X).\nquery(nat(X))."
    with pytest.raises(GroundingLimitError, match="within 0.2 s|nested deeper"):
        run(prog, limits=plait.Limits(timeout=0.2, max_term_depth=10**6))


def test_probability_out_of_range():
    with pytest.raises(ProgramError, match=r"outside \[0, 1\]") as e:
        run("a.\n1.5::b.\nquery(b).")
    located(e.value, 2)


def test_computed_probability_out_of_range():
    with pytest.raises(ProgramError, match=r"outside \[0, 1\]") as e:
        run("w(3).\nP::b :- w(X), P is X / 2.\nquery(b).")
    located(e.value, 2)


def test_annotated_disjunction_above_one():
    with pytest.raises(ProgramError, match="sum to 1.2") as e:
        run("0.5::a; 0.7::b.\nquery(a).")
    located(e.value, 1)


def test_non_ground_probabilistic_fact():
    with pytest.raises(NonGroundError, match="unbound") as e:
        run("0.5::p(X).\nq :- p(_).\nquery(q).")
    assert e.value.span is not None


def test_unknown_predicate_is_located_at_the_calling_clause():
    with pytest.raises(UnknownPredicateError, match="unknown predicate foo/1") as e:
        run("a.\np :- foo(1).\nquery(p).")
    located(e.value, 2)


def test_unknown_predicate_hint_mentions_other_arity():
    with pytest.raises(UnknownPredicateError, match="foo/2"):
        run("foo(1,2).\np :- foo(1).\nquery(p).")


def test_unknown_fail_directive():
    assert float(run(":- unknown(fail).\np :- foo(1).\nquery(p).")["p"]) == 0.0


def test_zero_probability_evidence():
    with pytest.raises(InconsistentEvidenceError, match="probability 0"):
        run("0.3::a.\nevidence(a, true).\nevidence(a, false).\nquery(a).")


def test_evidence_on_impossible_atom():
    with pytest.raises(InconsistentEvidenceError):
        run("b :- fail.\n0.5::a.\nevidence(b).\nquery(a).")


def test_negative_cycle_is_rejected():
    with pytest.raises(NonStratifiedError, match="negation"):
        run("0.5::b.\na :- \\+ c.\nc :- \\+ a.\nc :- b.\nquery(a).")


def test_neural_predicate_needs_a_network():
    with pytest.raises(NeedsNetworkError, match="needs a network") as e:
        run("nn(net, [X], Y, [0..9]) :: digit(X, Y).\nquery(digit(a, 1)).")
    located(e.value, 1)


def test_learnable_probability_needs_a_parameter_store():
    with pytest.raises(NeedsNetworkError):
        run("t(0.5)::coin.\nquery(coin).")


def test_python_modules_are_never_loaded(tmp_path):
    evil = tmp_path / "evil.py"
    marker = tmp_path / "ran"
    evil.write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    prog = tmp_path / "p.pl"
    prog.write_text(":- use_module('evil.py').\na.\nquery(a).\n")
    with pytest.raises(ProgramError, match="never runs code"):
        plait.Program.from_file(prog).query()
    assert not marker.exists()


@pytest.mark.parametrize("goal", ["shell('touch /tmp/plait_pwned')", "system('ls')", "python('1')", "exec(x)"])
def test_no_builtin_reaches_the_system(goal):
    with pytest.raises(UnknownPredicateError):
        run(f"p :- {goal}.\nquery(p).")


def test_parse_error_location():
    with pytest.raises(ParseError) as e:
        run("a.\nb :- c(.\n")
    assert e.value.span.line == 2


def test_redefining_a_builtin():
    with pytest.raises(ProgramError, match="redefine the builtin is/2"):
        run("X is Y.\nquery(a).")


def test_if_then_else_with_probabilistic_condition():
    with pytest.raises(plait.GroundingError, match="probabilistic"):
        run("0.5::a.\np :- (a -> true ; fail).\nquery(p).")


def test_arithmetic_with_unbound_variable():
    with pytest.raises(plait.CallModeError, match="unbound"):
        run("p(Y) :- Y is X + 1.\nquery(p(_)).")


def test_consult_missing_file(tmp_path):
    prog = tmp_path / "p.pl"
    prog.write_text(":- consult('missing').\n")
    with pytest.raises(ProgramError, match="cannot find"):
        plait.Program.from_file(prog)
        plait.Program.from_file(prog).query()


def test_a_huge_term_in_an_error_message_is_cut_to_a_readable_length():
    big = "[" + ",".join(str(i) for i in range(3000)) + "]"
    with pytest.raises(plait.PlaitError) as info:
        plait.Program.from_string(f"p(X) :- X is foo({big}).\nquery(p(_)).\n").query()
    e = info.value
    assert len(e.message) > 15000  # the message itself keeps the whole term
    first, excerpt, caret = e.render().split("\n")
    assert first.startswith("<string>:1:1: error: arithmetic: unknown function foo/1 in foo([0, 1, 2, 3, ")
    assert "...[16760 characters left out]... , 2996, 2997, 2998, 2999])" in first
    assert len(first) < 400 and str(e) == first[len("<string>:1:1: error: ") :]
    assert excerpt.startswith("  p(X) :- X is foo([0,1,2,") and excerpt.endswith(" ...") and len(excerpt) < 200
    assert caret.startswith("  ^") and len(caret) == len(excerpt) - len(" ...")  # up to the cut


def test_an_excerpt_of_a_long_line_is_a_window_around_the_caret():
    text = "a. " * 300 + "p :- q(.\n"
    with pytest.raises(plait.ParseError) as info:
        plait.Program.from_string(text)
    loc, excerpt, caret = info.value.render().split("\n")
    assert loc.startswith("<string>:1:908: error: unexpected '.'")
    assert excerpt.startswith("  ...  a. a. ") and excerpt.endswith("p :- q(.") and len(excerpt) < 200
    assert excerpt[caret.index("^")] == "." and excerpt[caret.index("^") - 1] == "("


def test_prose_in_parentheses_is_not_cut():
    prose = "(" + "word " * 60 + ")"
    assert plait.PlaitError(f"x {prose}").render() == f"<input>: error: x {prose}"
