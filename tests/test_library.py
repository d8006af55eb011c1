"""ProbLog's libraries in plait: answers compared with ProbLog 2.3 on the same program text.

The programs (tests/library_programs.py) cover library(lists), library(apply),
library(aggregate) (aggregate/5 and the head syntax avg<X>), library(collect),
library(cut), library(scope), probabilities bound at call time, and queries whose
answers have probability 0 by construction: plait must give the same answers, by the
same names, as ProbLog, and the same probabilities to 1e-6.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

import plait
from library_programs import AREAS
from plait.errors import CallModeError, ProgramError, UnknownPredicateError

problog = pytest.importorskip("problog")


def problog_answers(text: str) -> dict[str, float]:
    from problog import get_evaluatable
    from problog.program import PrologString

    with warnings.catch_warnings():  # ProbLog warns about '==' and the like
        warnings.simplefilter("ignore")
        result = get_evaluatable("ddnnf").create_from(PrologString(text)).evaluate()
    return {str(k): float(v) for k, v in result.items()}


def plait_answers(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in plait.Program.from_string(text).query().items()}


CASES = [(f"{area}-{i}", text) for area, programs in AREAS.items() for i, text in enumerate(programs)]


@pytest.mark.parametrize("text", [t for _, t in CASES], ids=[name for name, _ in CASES])
def test_same_answers_as_problog(text: str):
    want = problog_answers(text)
    got = plait_answers(text)
    assert sorted(got) == sorted(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-6), k


def test_every_area_has_programs():
    assert all(len(programs) >= 4 for programs in AREAS.values())


# ---------------------------------------------------------------- loading and errors


def test_list_predicates_need_the_library_as_in_problog():
    text = "q :- member(a, [a]).\nquery(q)."
    with pytest.raises(UnknownPredicateError) as e:
        plait.Program.from_string(text).query()
    assert "unknown predicate member/2" in e.value.message
    assert "use_module(library(lists))" in (e.value.hint or "")
    assert plait_answers(":- use_module(library(lists)).\n" + text) == {"q": 1.0}


def test_prolog_library_predicates_are_named_in_the_hint():
    with pytest.raises(UnknownPredicateError) as e:
        plait.Program.from_string("q(S) :- foldl(plus, [1], 0, S).\nquery(q(_)).").query()
    assert "library(apply)" in (e.value.hint or "")


def test_unknown_library_is_a_located_program_error():
    with pytest.raises(ProgramError) as e:
        plait.Program.from_string("a.\n:- use_module(library(nosuch)).\nquery(a).").query()
    assert "library(nosuch) is not available" in e.value.message
    assert e.value.span is not None and e.value.span.line == 2
    assert "lists" in (e.value.hint or "")


def test_a_program_definition_overrides_a_python_library_predicate():
    text = ":- use_module(library(lists)).\nmember(x, _).\nq :- member(x, [a]).\nquery(q)."
    assert plait_answers(text) == {"q": 1.0}


def test_loading_a_library_twice_adds_its_clauses_once():
    text = ":- use_module(library(apply)).\n:- use_module(library(apply)).\nq(L) :- findall(S, foldl(plus, [1], 0, S), L).\nquery(q(_))."
    assert plait_answers(text) == {"q([1])": 1.0}


def test_select_uniform_on_a_partial_list_is_a_call_mode_error():
    text = ":- use_module(library(lists)).\nq(X) :- select(X, [a|_], _).\nquery(q(_))."
    with pytest.raises(CallModeError) as e:
        plait.Program.from_string(text).query()
    assert "select/3: argument 2 must be a proper list, got the partial list" in e.value.message
    assert "bind argument 2" in (e.value.hint or "")


def test_sort_of_a_non_list_is_an_error():
    with pytest.raises(CallModeError) as e:
        plait.Program.from_string("q(X) :- sort(foo, X).\nquery(q(_)).").query()
    assert "sort/2: argument 1 must be a list, got foo" in e.value.message


def test_enum_groups_needs_a_list():
    text = ":- use_module(library(lists)).\nq(G) :- enum_groups(L, G, _).\nquery(q(_))."
    with pytest.raises(CallModeError) as e:
        plait.Program.from_string(text).query()
    assert "enum_groups/3: argument 1 must be a proper list" in e.value.message


def test_unbound_probability_at_call_time_is_a_non_ground_error():
    text = "PH::make_coin(C, PH).\nq :- make_coin(c, _).\nquery(q)."
    with pytest.raises(plait.NonGroundError) as e:
        plait.Program.from_string(text).query()
    assert "probabilistic fact make_coin(C,PH) is called with unbound arguments (make_coin(c,X1))" in e.value.message
    assert e.value.span is not None and e.value.span.line == 1


def test_probability_expression_that_cannot_be_evaluated():
    text = "P::a(X) :- X = 1, P = foo.\nquery(a(1))."
    with pytest.raises(ProgramError) as e:
        plait.Program.from_string(text).query()
    assert "cannot evaluate the probability foo" in e.value.message


def test_probability_out_of_range_at_call_time():
    text = "PH::make_coin(C, PH).\nq :- make_coin(c, 1.5).\nquery(q)."
    with pytest.raises(ProgramError) as e:
        plait.Program.from_string(text).query()
    assert "probability 1.5 is outside [0, 1]" in e.value.message


def test_select_weighted_with_a_non_ground_id_is_a_non_ground_error():
    text = ":- use_module(library(lists)).\nq(X) :- select_uniform(_, [a, b], X, _).\nquery(q(_))."
    with pytest.raises(plait.NonGroundError) as e:
        plait.Program.from_string(text).query()
    assert "called with unbound arguments" in e.value.message


def test_cut_of_an_undefined_predicate_fails():
    text = ":- use_module(library(cut)).\n:- unknown(fail).\nq :- cut(nothing(a)).\nquery(q)."
    assert plait_answers(text) == problog_answers(text) == {"q": 0.0}


# ---------------------------------------------------------------- aggregate heads


def test_count_aggregate_is_length_of_the_group():
    """count<X> is plait's: ProbLog 2.3 has no count/2, so its answer is that of a program defining it."""
    body = "0.5::p(a, 1). 0.5::p(a, 2). p(b, 3).\nc(G, count<X>) :- p(G, X).\nquery(c(_, _)).\n"
    text = ":- use_module(library(aggregate)).\n" + body
    assert plait_answers(text) == pytest.approx(problog_answers(text + "count(L, N) :- length(L, N).\n"))


def test_aggregate_head_needs_the_library():
    with pytest.raises(UnknownPredicateError) as e:
        plait.Program.from_string("p(1).\ns(sum<X>) :- p(X).\nquery(s(_)).").query()
    assert "unknown predicate aggregate/5" in e.value.message
    assert "library(aggregate)" in (e.value.hint or "")


def test_aggregate_must_be_the_last_head_argument():
    text = ":- use_module(library(aggregate)).\np(1).\ns(sum<X>, a) :- p(X).\nquery(s(_, _))."
    with pytest.raises(ProgramError) as e:
        plait.Program.from_string(text).query()
    assert "an aggregate such as avg<X> must be the last argument of the head s/2" in e.value.message
    assert e.value.span is not None and e.value.span.line == 3


def test_aggregate_argument_prints_as_written():
    from plait.syntax.parser import parse_term

    t = parse_term("d(D, avg<S>)")
    assert str(t) == "d(D,avg<S>)"
    assert parse_term(str(t)) == t


# ---------------------------------------------------------------- docs/language.md, "Libraries"

DOCS = Path(__file__).resolve().parents[1] / "docs" / "language.md"


def _libraries_section() -> str:
    text = DOCS.read_text()
    start = text.index("## Libraries")
    return text[start : text.index("\n## ", start + 1)]


def test_libraries_doc_examples_agree_with_problog():
    blocks = re.findall(r"```prolog\n(.*?)```", _libraries_section(), re.S)
    assert len(blocks) >= 4
    for block in blocks:
        want = problog_answers(block)
        got = plait_answers(block)
        assert sorted(got) == sorted(want), block
        assert all(got[k] == pytest.approx(v, abs=1e-6) for k, v in want.items()), block


def test_libraries_doc_lists_every_library():
    from plait.ground.libraries import LIBRARIES

    table = _libraries_section()
    assert all(f"| `{name}` |" in table for name in LIBRARIES)


@pytest.mark.parametrize("text", AREAS["zero"], ids=[f"zero-{i}" for i in range(len(AREAS["zero"]))])
def test_cli_prints_the_answers_problog_prints(text: str, tmp_path, capsys):
    """`plait query` and `problog` print the same answers (zero-probability ones included)."""
    from problog.tasks.probability import main as problog_main

    from plait.cli.main import main

    path = tmp_path / "p.pl"
    path.write_text(text)
    assert main(["query", str(path)]) == 0
    ours = dict(line.rsplit("\t", 1) for line in capsys.readouterr().out.splitlines())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problog_main([str(path)])
    theirs = dict(line.strip().rsplit(":\t", 1) for line in capsys.readouterr().out.splitlines() if line.strip())
    assert {k.strip() for k in theirs} == set(ours)
    for k, v in theirs.items():
        assert float(ours[k.strip()]) == pytest.approx(float(v), abs=1e-6)


def test_foldl_over_an_unbound_list_is_a_call_mode_error_located_in_the_library():
    text = ":- use_module(library(apply)).\nq(S) :- foldl(plus, L, 0, S).\nquery(q(_))."
    with pytest.raises(CallModeError) as e:
        plait.Program.from_string(text).query()
    assert "plus/3: at least two arguments must be bound" in e.value.message
    assert e.value.render().startswith("library(apply):")


def test_select_uniform_over_an_unbound_list_is_a_call_mode_error():
    text = ":- use_module(library(lists)).\nq(X) :- select_uniform(u, L, X, _).\nquery(q(_))."
    with pytest.raises(CallModeError) as e:
        plait.Program.from_string(text).query()
    assert "length/2: the list is partial and the length unbound" in e.value.message
    assert "bind the length or the list" in (e.value.hint or "")
