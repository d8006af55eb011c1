"""The installed ``plait`` command: output format, exit codes, no tracebacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
