"""`plait ground` prints a program that means the same: reading its output back gives the same answers.

Checked on every program of the ProbLog corpus (``../shared/conformance/problog``)
that plait answers, on the plain examples, and on a program made of the cases a
naive printer gets wrong. The whole module needs nothing but plait; the corpus
part is skipped when the corpus is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import plait
from conformance_util import CORPUS
from plait.cli.main import main

EXAMPLES = [
    p for p in sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.pl")) if "nn(" not in p.read_text()
]
CORPUS_FILES = sorted(CORPUS.glob("*.pl")) if CORPUS.is_dir() else []

# Programs whose answers a ground program cannot carry, with the reason (the only exceptions).
NOT_GROUND_EXPRESSIBLE = {
    "clause_pred.pl": "its queries are clause/2 calls, which read the program's non-ground clauses; "
    "a ground program has none of them",
}


def ground_text(capsys, path: Path) -> str:
    assert main(["ground", str(path)]) == 0
    return capsys.readouterr().out


def assert_same_answers(original: dict, reread: dict) -> None:
    assert reread.keys() == original.keys()
    for atom, p in original.items():
        assert float(reread[atom]) == pytest.approx(float(p), abs=1e-9, rel=0), atom


def check_round_trip(capsys, path: Path, *, answered: bool = True) -> None:
    try:
        want = plait.Program.from_file(path).query()
    except plait.PlaitError:
        if answered:
            raise
        pytest.skip("plait does not answer this program (an error, as the conformance tests expect)")
    text = ground_text(capsys, path)
    got = plait.Program.from_string(text, "ground.pl").query()
    assert_same_answers(want, got)


@pytest.mark.skipif(not CORPUS_FILES, reason=f"conformance corpus not found at {CORPUS}")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_ground_output_reads_back_to_the_same_answers_on_the_corpus(capsys, path: Path):
    if path.name in NOT_GROUND_EXPRESSIBLE:
        pytest.skip(NOT_GROUND_EXPRESSIBLE[path.name])
    check_round_trip(capsys, path, answered=False)


def test_the_exceptions_are_real():
    """Each listed exception fails the round trip (else it does not belong on the list)."""
    for name in NOT_GROUND_EXPRESSIBLE:
        path = CORPUS / name
        if not path.is_file():
            pytest.skip(f"conformance corpus not found at {CORPUS}")
        want = plait.Program.from_file(path).query()
        text = plait.Program.from_file(path).ground().describe()
        got = plait.Program.from_string(text).query()
        assert any(abs(float(got[k]) - float(want[k])) > 1e-9 for k in want)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_ground_output_reads_back_to_the_same_answers_on_the_examples(capsys, path: Path):
    check_round_trip(capsys, path)


HARD = """
:- use_module(library(lists)).
0.3::p(1). 0.6::p(1).                      % two coins for one atom
0.4::r(X) :- member(X, [a, b]).            % a probabilistic rule: its coin and its head are two nodes
0.2::s; 0.5::t :- r(a).                    % an AD with a body
0.1::u; 0.2::v; 0.7::w.                    % an AD of which the queries use one head only
\\+t :- p(1), s.                            % a negative head
x(X, Y) :- r(X), \\+ s.                     % a tabled call's answer with a variable
y :- x(a, Z).
0.00001::tiny.
'odd atom'(-1, "str", [1, 2], f(- 1), -(1), 1 - -1) :- t.
never :- fail.
always.
q(V) :- t, V = 1.5e-7.
query(p(1)). query(r(a)). query(t). query(\\+ t). query(u). query(y). query(tiny).
query('odd atom'(-1, "str", [1, 2], f(-1), -(1), 1 - -1)).
query(never). query(always). query(q(_)). query(member(a, [a])).
evidence(r(b), false).
"""


def test_ground_output_reads_back_for_the_cases_a_naive_printer_gets_wrong(capsys, tmp_path):
    f = tmp_path / "hard.pl"
    f.write_text(HARD)
    check_round_trip(capsys, f)
    text = ground_text(capsys, f)
    assert "1e-05::tiny." in text  # probabilities exactly
    assert "never :- fail." in text and "query(\\+t)." in text and "evidence(r(b), false)." in text
