"""The installed ``plait`` command: output format, exit codes, no tracebacks."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import plait
from plait.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "graph.pl"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_query_tab_separated(capsys):
    code, out, err = run_cli(capsys, "query", str(EXAMPLE))
    assert code == 0, err
    rows = dict(line.split("\t") for line in out.strip().splitlines())
    assert float(rows["path(a,b)"]) == pytest.approx(0.6)
    assert float(rows["path(a,c)"]) == pytest.approx(0.44)


def test_query_json(capsys):
    code, out, _ = run_cli(capsys, "query", "--json", str(EXAMPLE))
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"path(a,a)", "path(a,b)", "path(a,c)", "path(a,d)"}
    assert data["path(a,d)"] == pytest.approx(0.308)


def test_check_and_ground(capsys):
    code, out, _ = run_cli(capsys, "check", str(EXAMPLE))
    assert code == 0 and "ok" in out
    code, out, _ = run_cli(capsys, "ground", str(EXAMPLE))
    assert code == 0 and "path(a,b) :- edge(a,b)." in out


@pytest.mark.parametrize(
    "text,needle",
    [
        ("p :- q(.\n", "error: unexpected"),
        ("p :- foo.\nquery(p).\n", "error: unknown predicate foo/0"),
        ("2::a.\nquery(a).\n", "outside [0, 1]"),
        ("nat(0).\nnat(s(X)) :- nat(X).\nquery(nat(X)).\n", "nat/1"),
    ],
)
def test_program_errors_exit_1_with_location(capsys, tmp_path, text, needle):
    f = tmp_path / "bad.pl"
    f.write_text(text)
    code, out, err = run_cli(capsys, "query", str(f))
    assert code == 1
    assert needle in err
    assert err.startswith(f"{f}:")
    assert "Traceback" not in err and out == ""


def test_usage_errors_exit_2(capsys, tmp_path):
    assert run_cli(capsys, "query")[0] == 2
    assert run_cli(capsys, "frobnicate", "x")[0] == 2
    code, _, err = run_cli(capsys, "query", str(tmp_path / "missing.pl"))
    assert code == 2 and "no such file" in err


def _exe() -> str:
    return shutil.which("plait") or str(Path(sys.executable).parent / "plait")


@pytest.mark.skipif(not Path(_exe()).exists(), reason="plait entry point not installed")
@pytest.mark.parametrize(
    "text",
    [
        "nat(0).\nnat(s(X)) :- nat(X).\nquery(nat(X)).\n",  # grounding never ends
        "".join(f"0.5::e({i},{j}).\n" for i in range(40) for j in range(40) if abs(i - j) in (1, 7))
        + "p(X,Y) :- e(X,Y).\np(X,Y) :- e(X,Z), p(Z,Y).\nquery(p(0,39)).\n",  # compilation blows up
    ],
    ids=["grounding", "compilation"],
)
def test_timeout_option_stops_any_stage(tmp_path, text):
    f = tmp_path / "slow.pl"
    f.write_text(text)
    proc = subprocess.run(
        [_exe(), "query", "--timeout", "2", "--max-term-depth", "1000000", str(f)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "2 s" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(
    shutil.which("plait") is None and not (Path(sys.executable).parent / "plait").exists(),
    reason="plait entry point not installed",
)
def test_installed_entry_point():
    exe = shutil.which("plait") or str(Path(sys.executable).parent / "plait")
    proc = subprocess.run([exe, "query", str(EXAMPLE)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("path(a,b)\t0.6")
    proc = subprocess.run([exe, "query", str(ROOT / "nonexistent.pl")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2


def test_no_arguments_lists_every_registered_command(capsys):
    from plait.cli.main import _parser

    code, out, err = run_cli(capsys)
    assert code == 2 and out == ""
    assert err.startswith("usage: plait") and "commands:" in err
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {"query", "check", "ground"} <= set(sub.choices)
    for name, action in zip(sub.choices, sub._choices_actions):
        assert re.search(rf"^\s+{name}\s+{re.escape(action.help[:20])}", err, re.M), name


def test_dash_reads_the_program_from_standard_input(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(EXAMPLE.read_text()))
    code, out, _ = run_cli(capsys, "query", "-")
    assert code == 0
    assert out == run_cli(capsys, "query", str(EXAMPLE))[1]
    monkeypatch.setattr(sys, "stdin", io.StringIO("p :- q(.\n"))
    code, out, err = run_cli(capsys, "query", "-")
    assert code == 1 and out == ""
    assert err.startswith("<stdin>:1:8: error: unexpected '.'")


def test_a_directory_is_a_clear_usage_error(capsys, tmp_path):
    code, out, err = run_cli(capsys, "query", str(tmp_path))
    assert code == 2 and out == ""
    assert err == f"plait: error: {tmp_path} is a directory, not a program file (hint: name a .pl file in it)\n"


def test_an_unreadable_file_is_a_clear_usage_error(capsys, tmp_path, monkeypatch):
    f = tmp_path / "secret.pl"
    f.write_text("a.\nquery(a).\n")
    f.chmod(0)
    if os.access(f, os.R_OK):  # root reads anything: make the read fail as it would for a user
        real = Path.read_bytes

        def denied(self):
            if self == f:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    code, out, err = run_cli(capsys, "query", str(f))
    assert code == 2 and out == ""
    assert err == f"plait: error: cannot read {f}: Permission denied (hint: check the file's permissions)\n"


def test_a_file_that_is_not_utf8_is_a_located_error(capsys, tmp_path):
    f = tmp_path / "latin1.pl"
    f.write_bytes("a('caf\xe9').\n".encode("latin-1"))
    code, _, err = run_cli(capsys, "query", str(f))
    assert code == 1
    assert err.startswith(f"{f}:1:7: error: the program is not valid UTF-8: byte 0xe9 cannot start or continue")


@pytest.mark.parametrize(
    "option,value,why",
    [
        ("--max-depth", "-3", "must be 0 or more, not -3"),
        ("--max-term-depth", "-1", "must be 0 or more, not -1"),
        ("--max-atoms", "-10", "must be 0 or more, not -10"),
        ("--max-atoms", "lots", "expected a whole number, not 'lots'"),
        ("--timeout", "-1", "must be a number of seconds above 0, not -1"),
        ("--timeout", "0", "must be a number of seconds above 0, not 0"),
        ("--timeout", "inf", "must be a number of seconds above 0, not inf"),
    ],
)
def test_negative_limits_are_rejected(capsys, option, value, why):
    code, out, err = run_cli(capsys, "query", option, value, str(EXAMPLE))
    assert code == 2 and out == ""
    assert f"plait query: error: argument {option}: {why}" in err


@pytest.mark.skipif(not Path(_exe()).exists(), reason="plait entry point not installed")
@pytest.mark.parametrize("timeout", [[], ["--timeout", "60"]], ids=["in-process", "forked"])
def test_a_closed_pipe_ends_quietly(tmp_path, timeout):
    """`plait ground big.pl | head -1`: the reader goes away; no internal error, no traceback."""
    f = tmp_path / "big.pl"
    f.write_text("".join(f"0.5::e({i}).\nquery(e({i})).\n" for i in range(6000)))  # output > a pipe's buffer
    with subprocess.Popen([_exe(), "ground", *timeout, str(f)], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout.readline() == b"0.5::e(0).\n"
        proc.stdout.close()  # as `head -1` does
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 141
    assert err == ""


def test_check_reports_a_neural_program_without_its_networks(capsys):
    f = ROOT / "examples" / "addition.pl"
    code, out, err = run_cli(capsys, "check", str(f))
    assert code == 0, err
    assert out.splitlines() == [
        f"{f}: ok, a neural program (1 neural predicate, 0 learnable parameters; "
        "its networks come from Python: plait.Model(program, {'digit_net': module}))",
        "neural predicates:",
        f"  digit/2  {f}:3:1  network digit_net, inputs [X], domain [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] (10 values)",
        "query templates (inputs are bound to tensors in Python; the other variables are the answers):",
        "  addition(X, Y, Z)  inputs X, Y  ->  19 answers over Z",
    ]


def test_check_shows_list_inputs_learnable_parameters_and_templates_that_do_not_compile(capsys, tmp_path):
    f = tmp_path / "mixed.pl"
    f.write_text(
        "nn(bit_net, [X], B, [0, 1]) :: bit(X, B).\n"
        "nn(odd_net, [X]) :: odd(X).\n"
        "t(0.3)::noise.\n"
        "count([], 0).\n"
        "count([X|Xs], N) :- bit(X, B), count(Xs, M), N is M + B.\n"
        "flip(X, F) :- odd(X), noise, F = yes.\n"
        "broken(X, Z) :- bit(X, B), missing(B, Z).\n"
    )
    code, out, err = run_cli(capsys, "check", str(f))
    assert code == 0, err
    assert out.splitlines() == [
        f"{f}: ok, a neural program (2 neural predicates, 1 learnable parameter; "
        "its networks come from Python: plait.Model(program, {'bit_net': module, 'odd_net': module}))",
        "neural predicates:",
        f"  bit/2  {f}:1:1  network bit_net, inputs [X], domain [0, 1] (2 values)",
        f"  odd/1  {f}:2:1  network odd_net (one probability per example), inputs [X]",
        f"  noise/0  {f}:3:1  learnable probability: t(0.3)::noise.",
        "query templates (inputs are bound to tensors in Python; the other variables are the answers):",
        "  count(A1, A2)  inputs A1 (a list of tensors)  ->  3 answers over A2, shown for lists of 2",
        "  flip(X, F)  inputs X  ->  1 answer over F",
        f"  broken(X, Z)  inputs X  ->  does not compile: {f}:7:1: error: unknown predicate missing/2 "
        "(hint: define it, or add ':- unknown(fail).' to make unknown predicates fail)",
    ]
    # the same program given its networks compiles what check showed
    model = plait.Model.from_file(f, {"bit_net": torch.nn.Softmax(-1), "odd_net": torch.nn.Sigmoid()})
    assert len(model.template("count(A1, A2)", {"A1": 2}).answers) == 3


def test_check_of_a_neural_program_reports_its_errors_located(capsys, tmp_path):
    f = tmp_path / "bad.pl"
    f.write_text("nn(net, X, Y, [0, 1]) :: bit(X, Y).\n")
    code, out, err = run_cli(capsys, "check", str(f))
    assert code == 1 and out == ""
    assert err.startswith(f"{f}:1:1: error: the inputs of neural predicate bit/2 must be a non-empty list of terms")


@pytest.mark.skipif(not Path(_exe()).exists(), reason="plait entry point not installed")
def test_a_reader_that_reads_nothing_ends_quietly():
    """`plait query graph.pl | true`: the output fits a buffer, so the broken pipe shows only when it is flushed."""
    with subprocess.Popen([_exe(), "query", str(EXAMPLE)], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        proc.stdout.close()  # before plait (still importing torch) writes anything
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 141
    assert err == ""


def test_sdd_budget_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "big.pl"
    path.write_text(
        "".join(f"0.5::a{i}. 0.5::b{i}. c{i} :- a{i}; b{i}. evidence(c{i}, true).\n" for i in range(6)) + "query(a0).\n"
    )
    code, _, err = run_cli(capsys, "query", str(path), "--max-sdd-size", "5")
    assert code == 1
    assert "grew the SDD past the budget of 5 elements" in err and "max_sdd_size=" in err
    code, out, _ = run_cli(capsys, "query", str(path), "--max-sdd-size", "100000")
    assert code == 0 and out.startswith("a0\t0.666")
    code, _, err = run_cli(capsys, "query", str(path), "--max-sdd-size", "0")
    assert code == 2 and "must be 1 or more" in err
