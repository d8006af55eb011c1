#!/usr/bin/env python
"""Benchmark plait against ProbLog 2.3.0 (exact inference, SDD) on the same machine.

Two parts, both written to one Markdown report (default ``docs/benchmarks.md``):

(a) the ProbLog conformance corpus: every ``*.pl`` in ``shared/conformance/problog/``
    (a sibling of the repository; ``--corpus`` overrides it);
(b) scaling families generated as program text: probabilistic reachability on an
    acyclic n x n grid, the same on a grid with edges both ways (cyclic), the
    smokers/friends program for n people, the program of issue 7 with n evidence
    atoms, and random programs (the test suite's generator plus annotated
    disjunctions, body-computed probabilities and evidence; n is the seed).

Every (system, program) pair runs in a fresh ``sys.executable`` subprocess with a
time limit, so a hang or crash of either system is recorded rather than fatal.
Inside the subprocess the system is imported and warmed up on a trivial program
first; only the call on the benchmark program is timed:

- plait:   ``plait.Program.from_file(path).query()``
- ProbLog: ``get_evaluatable("sdd").create_from(PrologFile(path)).evaluate()``

i.e. parse + ground + compile + evaluate. Both run with the program's directory as
the working directory (some corpus programs consult files relative to it). Calls
under 1 s are repeated (``--repeat``, default 3) and the minimum is reported.
Import and start-up costs are measured and reported separately. plait's source is
copied at the start of the run and the workers import that copy, so edits to the
working tree during a long run do not mix two versions (``--no-snapshot`` to
disable).

Usage (from the repository root)::

    .venv/bin/python benchmarks/inference.py            # full run, writes docs/benchmarks.md
    .venv/bin/python benchmarks/inference.py --quick    # smoke run, writes to a temp file

Only the standard library is needed here; plait and problog are imported in the
worker subprocesses. ``tqdm`` is used for progress bars when it is installed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import json
import math
import os
import platform
import random
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:  # optional
    from tqdm import tqdm as _tqdm
except ImportError:  # pragma: no cover - depends on the environment
    _tqdm = None

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
DEFAULT_CORPUS = HERE.parents[2] / "shared" / "conformance" / "problog"
DEFAULT_OUT = REPO / "docs" / "benchmarks.md"

SYSTEMS = ("plait", "problog")
LABEL = {"plait": "plait", "problog": "ProbLog"}
TOL = 1e-6
# Extra wall time the parent allows a worker beyond --timeout, for interpreter
# start-up, imports and the warm-up query (the worker enforces --timeout itself
# on the timed call with SIGALRM; this is only the backstop).
GRACE_S = 90.0
# The timed call is repeated (up to --repeat times, the minimum is reported) only
# while the repeats so far took less than this; longer runs are timed once.
REPEAT_BUDGET_S = 1.0
WARMUP_PROGRAM = "0.5::a. 0.4::b. c :- a, b. c :- \\+ a. query(c).\n"

# Known, checked explanations for corpus disagreements; printed only when the
# disagreement shows up (see also the skip list in tests/test_conformance.py).
KNOWN_NOTES = {
    "smokers_csv.pl": "ProbLog 2.3 quirk, not a plait bug: ProbLog itself gives smokes(bob) = 0.62021314 (plait's "
    "value, which also matches brute-force enumeration) when the program asks query(smokes(X)) "
    "or when the CSV rows are written as facts; only query(smokes(bob)) against the loaded, "
    "quoted-atom table gives 0.73289.",
    "smokers_db.pl": "same ProbLog quirk as smokers_csv.pl, for the SQLite table.",
    "scope_manipulation.pl": "plait bug/limitation: library(scope) is accepted but `:`/2 is an ordinary predicate, so "
    "queries on a conjunction or a list of scopes (`scope(3):(a,b)`, "
    "`[scope(1),scope(2)]:b`, `scope(1):c`) silently get 0 instead of 1 (or an error); "
    "plait also prints the key as `scope(3):((a,b))`.",
}

FAMILIES = ("grid", "grid_cyclic", "smokers", "issue7", "random")
FAMILY_TITLE = {
    "grid": "Reachability on an acyclic n x n grid (edges right and down)",
    "grid_cyclic": "Reachability on a cyclic n x n grid (edges in both directions)",
    "smokers": "Smokers/friends with n people",
    "issue7": "Two annotated disjunctions, probabilities computed in rule bodies, n evidence atoms (issue 7)",
    "random": "Random programs with evidence, annotated disjunctions and probabilities from rule bodies",
}
FAMILY_START_STEP = {"grid": (2, 1), "grid_cyclic": (2, 1), "smokers": (4, 2), "issue7": (1, 1), "random": (0, 1)}
FAMILY_MAX_N = {"grid": 30, "grid_cyclic": 30, "smokers": 200, "issue7": 12, "random": 39}
QUICK_MAX_N = {"grid": 3, "grid_cyclic": 3, "smokers": 6, "issue7": 3, "random": 2}
# families whose n is a seed, not a size: every n runs (no stop after a timeout)
SEEDED_FAMILIES = ("random",)
QUICK_CORPUS = (
    "00_trivial_and.pl",
    "4_bayesian_net.pl",
    "7_probabilistic_graph.pl",
    "8_smokers_network.pl",
    "01_inconsistent.pl",
    "consult.pl",
)


# ----------------------------------------------------------------------------------------
# worker (runs in the subprocess)
# ----------------------------------------------------------------------------------------


def _worker(system: str, program: Path, result_file: Path, timeout: float, repeat: int, mem_limit_gb: float) -> None:
    out: dict = {"system": system, "program": str(program)}

    def dump() -> None:
        tmp = result_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(out))
        os.replace(tmp, result_file)

    if mem_limit_gb > 0:
        import resource

        limit = int(mem_limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    # Phase times of the timed call (plait only), also written to a progress file at
    # each phase start so that the parent can tell in which phase a timeout hit.
    # (pwrite on a descriptor opened once: a few microseconds, where write_text costs
    # milliseconds on some file systems and would bias the timings.)
    phases: dict[str, float] = {}
    progress_fd = os.open(result_file.with_name("progress.json"), os.O_RDWR | os.O_CREAT, 0o600)

    def mark(phase: str) -> None:
        os.pwrite(progress_fd, json.dumps({"phase": phase, "done": phases}).encode()[:4000].ljust(4096), 0)

    t0 = time.perf_counter()
    if system == "plait":
        import plait
        import plait.program as plait_program

        out["module_file"] = plait.__file__

        # Time the two stages Program.query() goes through by wrapping the module-level
        # functions it calls (no behaviour change; skipped if they are renamed).
        def wrap(name: str, phase: str) -> None:
            fn = getattr(plait_program, name, None)
            if not callable(fn):
                return

            def timed(*a, **k):
                mark(phase)
                t = time.perf_counter()
                try:
                    return fn(*a, **k)
                finally:
                    phases[phase] = phases.get(phase, 0.0) + time.perf_counter() - t

            setattr(plait_program, name, timed)

        wrap("ground_program", "ground")
        wrap("compile_ground_program", "compile")

        def run(path: Path) -> dict[str, float]:
            phases.clear()
            mark("parse")
            t = time.perf_counter()
            prog = plait.Program.from_file(path)
            phases["parse"] = time.perf_counter() - t
            t = time.perf_counter()
            res = prog.query()
            total = time.perf_counter() - t
            phases["other"] = max(0.0, total - phases.get("ground", 0.0) - phases.get("compile", 0.0))
            mark("done")
            return {str(k): float(v) for k, v in res.items()}
    elif system == "problog":
        from problog import get_evaluatable
        from problog.program import PrologFile

        def run(path: Path) -> dict[str, float]:
            res = get_evaluatable("sdd").create_from(PrologFile(str(path))).evaluate()
            return {str(k): _to_float(v) for k, v in res.items()}
    else:
        raise SystemExit(f"unknown system {system!r}")
    out["import_s"] = time.perf_counter() - t0

    # Warm up (lazy grammar construction, first torch ops, ...) on a trivial program,
    # so that the timed call measures the benchmark program only.
    with tempfile.TemporaryDirectory(prefix="plait-bench-warm-") as d:
        warm = Path(d) / "warmup.pl"
        warm.write_text(WARMUP_PROGRAM)
        t0 = time.perf_counter()
        try:
            run(warm)
            out["warmup_s"] = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - recorded, not fatal
            out["warmup_error"] = f"{type(e).__name__}: {e}"

    os.chdir(program.parent)
    # Default action of SIGALRM terminates the process even while C code (PySDD)
    # holds the GIL; the parent reports that as a timeout.
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    times: list[float] = []
    t0 = time.perf_counter()
    try:
        best_phases: dict[str, float] = {}
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            result = run(program)
            times.append(time.perf_counter() - t0)
            if times[-1] == min(times):
                best_phases = dict(phases)
            if sum(times) >= REPEAT_BUDGET_S:  # repeat only cheap runs
                break
        out.update(status="ok", seconds=min(times), runs=len(times), result=result)
        if best_phases:
            out["phases"] = best_phases
    except BaseException as e:  # noqa: BLE001 - MemoryError, RecursionError, SystemExit...
        signal.setitimer(signal.ITIMER_REAL, 0)
        msg = str(e).strip().replace("\n", " ")
        out.update(status="error", seconds=time.perf_counter() - t0, error_type=type(e).__name__, error=msg[:400])
    signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        import resource

        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except Exception:  # noqa: BLE001
        pass
    dump()


def _to_float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


# ----------------------------------------------------------------------------------------
# parent side
# ----------------------------------------------------------------------------------------

# Set by main(): a copy of plait's source taken at the start of the run, put first on the
# workers' PYTHONPATH, so that edits to the working tree during a long run do not mix
# two versions of plait into one report.
_SNAPSHOT_DIR: Path | None = None


def _plait_root() -> Path | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec("plait")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def run_one(system: str, program: Path, timeout: float, repeat: int, mem_limit_gb: float) -> dict:
    """Run one system on one program in a fresh subprocess; never raises."""
    with tempfile.TemporaryDirectory(prefix="plait-bench-") as d:
        result_file = Path(d) / "result.json"
        cmd = [
            sys.executable,
            str(HERE),
            "--worker",
            system,
            "--worker-program",
            str(program),
            "--worker-result",
            str(result_file),
            "--timeout",
            str(timeout),
            "--repeat",
            str(repeat),
            "--mem-limit-gb",
            str(mem_limit_gb),
        ]
        env = dict(os.environ)
        env.setdefault("PYTHONWARNINGS", "ignore")
        if _SNAPSHOT_DIR is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(_SNAPSHOT_DIR), *filter(None, [env.get("PYTHONPATH")])])
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, cwd=program.parent, capture_output=True, text=True, timeout=timeout + GRACE_S, env=env
            )
            rc: int | None = proc.returncode
            stderr = proc.stderr
        except subprocess.TimeoutExpired as e:
            rc = None
            stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        wall = time.perf_counter() - t0
        if result_file.exists():
            out = json.loads(result_file.read_text())
        else:
            out = {"system": system, "program": str(program)}
            if rc is None or rc in (-signal.SIGALRM, -signal.SIGKILL):
                out.update(status="timeout", seconds=None)
                try:
                    prog = json.loads((Path(d) / "progress.json").read_text().strip(" \0"))
                    out.update(timeout_phase=prog["phase"], phases=prog["done"])
                except (OSError, ValueError, KeyError):
                    pass
            else:
                tail = [ln for ln in stderr.strip().splitlines() if ln.strip()]
                out.update(
                    status="crash",
                    seconds=None,
                    error_type=f"exit code {rc}",
                    error=(tail[-1] if tail else "(no output)")[:400],
                )
        out["process_wall_s"] = wall
        return out


def python_startup_s() -> float:
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=False)
        best = min(best, time.perf_counter() - t0)
    return best


def _progress(items, desc: str):
    if _tqdm is not None:
        return _tqdm(items, desc=desc, file=sys.stderr, leave=False)
    return items


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _fmt_run(r: dict) -> str:
    if r["status"] == "ok":
        return f"{r['seconds']:.3f}s"
    if r["status"] == "timeout":
        return "TIMEOUT"
    return f"{r['status'].upper()} {r.get('error_type', '')}"


# ---- agreement ---------------------------------------------------------------------------

_TOKEN = re.compile(r"'((?:[^'\\]|\\.)*)'|\b([A-Z_][A-Za-z0-9_]*)\b")


def _norm_key(k: str) -> str:
    """Canonical text of a query atom for matching the two systems' results.

    Whitespace, atom quoting (ProbLog writes cmp('<'), plait cmp(<)) and variable
    names in non-ground answers (X1 vs V_0) differ between the two printers.
    """
    names: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        if m.group(2) is None:
            return m.group(1)
        return names.setdefault(m.group(2), f"_V{len(names)}")

    return _TOKEN.sub(sub, re.sub(r"\s+", "", k))


def compare(a: dict, b: dict) -> dict:
    """Compare the plait result a with the ProbLog result b (both run dicts)."""
    if a["status"] != "ok" or b["status"] != "ok":
        if a["status"] == "skipped" or b["status"] == "skipped":
            note = "–"
        elif a["status"] != "ok" and b["status"] != "ok":
            note = "both fail" if a["status"] == "timeout" or b["status"] == "timeout" else "both reject"
        elif a["status"] != "ok":
            note = f"**plait {a['status']} only**"
        else:
            note = f"ProbLog {b['status']} only"
        return {"verdict": "n/a", "note": note}
    ra = {_norm_key(k): v for k, v in a["result"].items()}
    rb = {_norm_key(k): v for k, v in b["result"].items()}
    out: dict = {"verdict": "agree", "max_diff": _max_diff(ra, rb)}
    if set(ra) != set(rb):
        out.update(verdict="keys differ", only_plait=sorted(set(ra) - set(rb)), only_problog=sorted(set(rb) - set(ra)))
    d = out["max_diff"]
    if d is not None and d > TOL:
        worst = max((k for k in ra if k in rb), key=lambda k: _diff(ra[k], rb[k]))
        out.update(verdict="DISAGREE", worst=worst, plait=ra[worst], problog=rb[worst])
    return out


def _diff(x: float, y: float) -> float:
    if math.isnan(x) and math.isnan(y):
        return 0.0
    if math.isnan(x) or math.isnan(y):
        return math.inf
    return abs(x - y)


def _max_diff(ra: dict, rb: dict) -> float | None:
    common = set(ra) & set(rb)
    if not common:
        return None
    return max(_diff(ra[k], rb[k]) for k in common)


# ---- program generators ------------------------------------------------------------------

PATH_RULES = "path(X,Y) :- edge(X,Y).\npath(X,Y) :- edge(X,Z), path(Z,Y).\n"


def _prob(rng: random.Random | None) -> str:
    return "0.5" if rng is None else f"{rng.uniform(0.1, 0.9):.3f}"


def gen_grid(n: int, seed: int | None, cyclic: bool) -> str:
    rng = random.Random(f"grid-{cyclic}-{n}-{seed}") if seed is not None else None
    lines = [f"% {'cyclic' if cyclic else 'acyclic'} {n}x{n} grid, seed {seed}"]
    for i in range(n):
        for j in range(n):
            for di, dj in ((0, 1), (1, 0)):
                i2, j2 = i + di, j + dj
                if i2 < n and j2 < n:
                    lines.append(f"{_prob(rng)}::edge(n_{i}_{j},n_{i2}_{j2}).")
                    if cyclic:
                        lines.append(f"{_prob(rng)}::edge(n_{i2}_{j2},n_{i}_{j}).")
    lines.append(PATH_RULES)
    lines.append(f"query(path(n_0_0,n_{n - 1}_{n - 1})).")
    return "\n".join(lines) + "\n"


def gen_smokers(n: int, seed: int | None) -> str:
    rng = random.Random(f"smokers-{n}-{seed}")
    lines = [f"% smokers with {n} people, seeded random friendships (2 each), seed {seed}"]
    lines += [f"person({i})." for i in range(n)]
    for i in range(n):
        for j in sorted(rng.sample([k for k in range(n) if k != i], 2)):
            lines.append(f"friend({i},{j}).")
    lines += [
        "0.3::stress(X) :- person(X).",
        "0.2::influences(X,Y) :- friend(X,Y).",
        "smokes(X) :- stress(X).",
        "smokes(X) :- influences(Y,X), smokes(Y).",
        "query(smokes(0)).",
    ]
    return "\n".join(lines) + "\n"


ISSUE7_HEAD = """\
0.2::w(0) ; 0.2::w(0.25) ; 0.2::w(0.5) ; 0.2::w(0.75) ; 0.2::w(1.0).
0.2::v(0) ; 0.2::v(0.25) ; 0.2::v(0.5) ; 0.2::v(0.75) ; 0.2::v(1.0).
P::obs(C,T) :- w(P), C=yes.
P::obs(C,T) :- v(P).
"""


def gen_issue7(n: int) -> str:
    """The program of issue 7 (which has n = 3) with n evidence atoms: yes/no/yes/no..., true except the 3rd."""
    lines = [ISSUE7_HEAD.rstrip()]
    for t in range(n):
        c = "no" if t % 3 == 2 else "yes"
        lines.append(f"evidence(obs({c},{t}), {'false' if t == 2 else 'true'}).")
    lines.append("query(w(V)).")
    return "\n".join(lines) + "\n"


def _test_generator():
    """``generate_program`` of tests/test_random_programs.py (imports pytest, problog and plait)."""
    import importlib.util

    path = REPO / "tests" / "test_random_programs.py"
    if str(REPO / "src") not in sys.path:  # this repository's plait, whatever is installed
        sys.path.insert(0, str(REPO / "src"))
    spec = importlib.util.spec_from_file_location("_plait_random_programs", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # (dataclasses look their module up there)
    spec.loader.exec_module(mod)
    return mod.generate_program


def gen_random(n: int, seed: int | None) -> str:
    """Random program number ``n``: the test suite's random program ``n`` plus a seeded block that
    hunts for compilation blow-ups: 1-3 annotated disjunctions over 3-6 numeric values, observation
    predicates whose probability comes from the body (``P::obs(C,T) :- w(P), ...``), 1-6 evidence
    atoms on them, queries on the choices."""
    rng = random.Random(f"random-{n}-{seed}")
    base = _test_generator()(n)
    lines = [f"% random program {n} (seed {seed}): tests/test_random_programs.py generate_program({n}) + hunt block"]
    lines.append(base.rstrip())
    n_ads = rng.randint(1, 3)
    ads = []
    for a in range(n_ads):
        k = rng.randint(3, 6)
        vals = sorted({round(rng.uniform(0.05, 0.95), 2) for _ in range(k)})
        cut = sorted(rng.sample(range(1, 100), len(vals) - 1)) if len(vals) > 1 else []
        shares = [b - x for x, b in zip([0, *cut], [*cut, 100])]
        name = f"h{a}"
        ads.append(name)
        lines.append(" ; ".join(f"{p / 100:g}::{name}({v:g})" for p, v in zip(shares, vals)) + ".")
    n_obs = rng.randint(1, 2)
    for o in range(n_obs):
        for a in rng.sample(ads, rng.randint(1, len(ads))):
            cond = rng.choice(["C=yes", "C\\=no", "true"])
            lines.append(f"P::ob{o}(C,T) :- {a}(P), {cond}.")
        if rng.random() < 0.5:
            lines.append(f"ob{o}(C,T) :- {rng.choice(ads)}(P), P > 0.5, C=yes.")
    for t in range(rng.randint(1, 6)):
        # (C = yes satisfies every body condition, so the evidence is rarely impossible)
        o = rng.randrange(n_obs)
        lines.append(f"evidence(ob{o}(yes,{t}), {'true' if rng.random() < 0.7 else 'false'}).")
    for a in rng.sample(ads, rng.randint(1, len(ads))):
        lines.append(f"query({a}(V)).")
    return "\n".join(lines) + "\n"


def generate(family: str, n: int, seed: int | None) -> str:
    if family == "issue7":
        return gen_issue7(n)
    if family == "random":
        return gen_random(n, seed)
    if family == "grid":
        return gen_grid(n, seed, cyclic=False)
    if family == "grid_cyclic":
        return gen_grid(n, seed, cyclic=True)
    if family == "smokers":
        return gen_smokers(n, seed)
    raise ValueError(family)


# ---- the two benchmark parts -------------------------------------------------------------


def bench_corpus(corpus: Path, args) -> list[dict]:
    files = sorted(corpus.glob("*.pl"))
    if args.quick:
        files = [f for f in files if f.name in QUICK_CORPUS] or files[:6]
    rows = []
    for i, f in enumerate(_progress(files, "corpus")):
        row = {"program": f.name, "expected_error": _expects_error(f)}
        for s in SYSTEMS:
            row[s] = run_one(s, f, args.timeout, args.repeat, args.mem_limit_gb)
        row["cmp"] = compare(row["plait"], row["problog"])
        _log(
            f"[corpus {i + 1}/{len(files)}] {f.name}: plait {_fmt_run(row['plait'])}, "
            f"ProbLog {_fmt_run(row['problog'])}, {row['cmp']['verdict']}"
        )
        rows.append(row)
    return rows


def _expects_error(path: Path) -> bool:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    m = re.search(r"^\s*%\s*Expected outcome.*?$(.*?)(?:^\s*[^%\s]|\Z)", text, re.I | re.M | re.S)
    return bool(m and re.search(r"%\s*(?:Error|ERROR)\b", m.group(1)))


def bench_family(family: str, workdir: Path, args) -> list[dict]:
    start, step = FAMILY_START_STEP[family]
    max_n = args.max_n if args.max_n is not None else (QUICK_MAX_N if args.quick else FAMILY_MAX_N)[family]
    active = {s: True for s in SYSTEMS}
    rows = []
    n = start
    while n <= max_n and any(active.values()):
        path = workdir / f"{family}_{n}.pl"
        path.write_text(generate(family, n, args.seed))
        row: dict = {"n": n}
        for s in SYSTEMS:
            if not active[s]:
                row[s] = {"status": "skipped", "seconds": None}
                continue
            r = run_one(s, path, args.timeout, args.repeat, args.mem_limit_gb)
            row[s] = r
            if (r["status"] != "ok" or r["seconds"] > args.timeout) and family not in SEEDED_FAMILIES:
                active[s] = False
        row["cmp"] = compare(row["plait"], row["problog"])
        _log(
            f"[{family} n={n}] plait {_fmt_run(row['plait'])}, ProbLog {_fmt_run(row['problog'])}, "
            f"{row['cmp']['verdict']}"
        )
        if row["cmp"]["verdict"] in ("DISAGREE", "keys differ"):
            _log(f"!!! {family} n={n}: plait and ProbLog DISAGREE: {row['cmp']}")
        rows.append(row)
        n += step
    return rows


# ---- report ------------------------------------------------------------------------------


def _secs(r: dict, timeout: float) -> str:
    st = r["status"]
    if st == "ok":
        return f"{r['seconds']:.3f}"
    if st == "timeout":
        return f"timeout (>{timeout:g} s)"
    if st == "skipped":
        return "–"
    return f"**{st}**: {r.get('error_type', '')}"


def _ratio(a: dict, b: dict) -> float | None:
    """ProbLog seconds / plait seconds (>1: plait is faster)."""
    if a["status"] == "ok" and b["status"] == "ok" and a["seconds"] > 0:
        return b["seconds"] / a["seconds"]
    return None


def _fmt_ratio(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


def _verdict(c: dict) -> str:
    v = c["verdict"]
    if v == "agree":
        return "agree"
    if v == "n/a":
        return c.get("note", "–")
    if v == "DISAGREE":
        return f"**DISAGREE** (max diff {c['max_diff']:.3g})"
    return f"**{v}**"


def _phases(r: dict) -> str:
    ph = r.get("phases") or {}
    if r.get("status") == "ok" and ph:
        return " / ".join(f"{ph.get(k, 0.0):.3f}" for k in ("parse", "ground", "compile", "other"))
    if r.get("status") == "timeout" and r.get("timeout_phase"):
        done = ", ".join(f"{k} {v:.2f} s" for k, v in ph.items())
        return f"timed out in {r['timeout_phase']}" + (f" ({done} before)" if done else "")
    return "–"


def _mb(r: dict) -> str:
    return f"{r['peak_rss_mb']:.0f}" if r.get("status") == "ok" and "peak_rss_mb" in r else "–"


def _esc(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def machine_facts() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def ver(pkg: str) -> str:
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "plait": ver("plait"),
        "torch": ver("torch"),
        "problog": ver("problog"),
        "pysdd": ver("pysdd"),
    }


def plait_fingerprint(root: Path | None = None) -> str:
    """Short hash of plait's source files (found without importing plait)."""
    import hashlib

    root = root or _plait_root()
    if root is None:
        return "unknown"
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in (".py", ".lark") and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _loadavg() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _median(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _fmt_s(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f} s"


def _ratio_summary(common: list[dict]) -> str:
    """Worst and geometric-mean ratios over the programs both systems finish (seeded families)."""
    ratios = [_ratio(r["plait"], r["problog"]) for r in common]
    worst = min(common, key=lambda r: _ratio(r["plait"], r["problog"]))
    wx = _ratio(worst["plait"], worst["problog"])
    gm = math.exp(statistics.fmean(math.log(x) for x in ratios))
    sizable = [r for r in common if max(r["plait"]["seconds"], r["problog"]["seconds"]) >= 0.1]
    out = (
        f"Over the {len(common)} programs both finish: worst plait/ProbLog time ratio {1 / wx:.2f} "
        f"(n={worst['n']}: plait {worst['plait']['seconds']:.3f} s, ProbLog {worst['problog']['seconds']:.3f} s); "
        f"geometric-mean ProbLog/plait {gm:.2f}; plait over 1 s where ProbLog needs under 1 s: "
        + (
            ", ".join(f"n={r['n']}" for r in common if r["plait"]["seconds"] > 1.0 and r["problog"]["seconds"] < 1.0)
            or "never"
        )
        + "."
    )
    if sizable:
        gms = math.exp(statistics.fmean(math.log(_ratio(r["plait"], r["problog"])) for r in sizable))
        slower = [r["n"] for r in sizable if _ratio(r["plait"], r["problog"]) < 1]
        out += (
            f" Where either needs at least 0.1 s ({len(sizable)} programs): geometric-mean ProbLog/plait "
            f"{gms:.2f}; plait slower at n = {slower or 'none'}."
        )
    return out


def write_report(
    out: Path,
    args,
    facts: dict,
    startup: float,
    corpus_rows: list[dict] | None,
    family_rows: dict[str, list[dict]],
    started: _dt.datetime,
    elapsed: float,
    load_before: str,
    load_after: str,
    command: str,
) -> str:
    T = args.timeout
    L: list[str] = []
    w = L.append
    w("# plait vs ProbLog: inference benchmarks")
    w("")
    w(
        "(Digit addition with neural predicates, against a pure-neural reference and DeepProbLog, is the last "
        "section: [Digit addition](#digit-addition-plait-vs-pure-neural-reference-vs-deepproblog).)"
    )
    w("")
    w("Generated by `benchmarks/inference.py`; regenerate with (from the repository root):")
    w("")
    w("```")
    w(command)
    w("```")
    w("")
    w(f"- Date: {started.strftime('%Y-%m-%d %H:%M %Z').strip()} (total benchmark wall time {elapsed / 60:.1f} min)")
    w(f"- CPU: {facts['cpu']}, {facts['cores']} cores, {facts['memory']} RAM, {facts['os']}")
    w(
        f"- Python {facts['python']}, plait {facts['plait']} (source hash {facts.get('plait_source', '?')}), "
        f"torch {facts['torch']}, ProbLog {facts['problog']}, PySDD {facts['pysdd']}"
    )
    if facts.get("plait_source_end", facts.get("plait_source")) != facts.get("plait_source"):
        if facts.get("snapshot"):
            w(
                f"- plait's working tree changed during this run (hash {facts['plait_source_end']} at the end); "
                f"every plait run used the copy taken at the start (hash {facts['plait_source']})."
            )
        else:
            w(
                f"- **Warning: plait's source files changed during this run** (hash {facts['plait_source']} at "
                f"the start, {facts['plait_source_end']} at the end), so the timings mix two versions of plait."
            )
    w(
        f"- Load average (1/5/15 min) at start: {load_before}; at end: {load_after}. The machine is small and "
        "other processes (for example a concurrently running test suite) may have shared it, so individual "
        "timings carry noise of tens of percent; small differences mean nothing."
    )
    w(
        f"- Settings: timeout {T:g} s per run, the timed call repeated up to {args.repeat} times while the repeats take "
        f"under {REPEAT_BUDGET_S:g} s in all (minimum reported; a timeout applies to the first call), "
        f"seed {args.seed}, memory limit {args.mem_limit_gb:g} GiB per run (0 = none)"
        + (", **--quick smoke run**" if args.quick else "")
    )
    w("")

    # ---- summary numbers
    summary: list[str] = []
    if corpus_rows is not None:
        both = [r for r in corpus_rows if r["plait"]["status"] == "ok" and r["problog"]["status"] == "ok"]
        tp = sum(r["plait"]["seconds"] for r in both)
        tq = sum(r["problog"]["seconds"] for r in both)
        ratios = [_ratio(r["plait"], r["problog"]) for r in both]
        ratios = [x for x in ratios if x]
        gmean = math.exp(statistics.fmean(math.log(x) for x in ratios)) if ratios else None
        slower = [r for r in both if r["plait"]["seconds"] > r["problog"]["seconds"]]
        dis = [r for r in corpus_rows if r["cmp"]["verdict"] in ("DISAGREE", "keys differ")]
        p_fail = [r for r in corpus_rows if r["plait"]["status"] != "ok" and r["problog"]["status"] == "ok"]
        q_fail = [r for r in corpus_rows if r["problog"]["status"] != "ok" and r["plait"]["status"] == "ok"]
        both_fail = [r for r in corpus_rows if r["problog"]["status"] != "ok" and r["plait"]["status"] != "ok"]
        s = (
            f"**Corpus** ({len(corpus_rows)} programs): both systems finish {len(both)}; over those, plait "
            f"takes {tp:.2f} s in total and ProbLog {tq:.2f} s (ProbLog/plait = {tq / tp if tp else float('nan'):.2f}; "
            f"above 1 means plait is faster). Per program the geometric-mean ratio is "
            f"{_fmt_ratio(gmean)} and the median {_fmt_ratio(_median(ratios))}; plait is slower on "
            f"{len(slower)} of {len(both)} programs"
        )
        if slower:
            worst = min(both, key=lambda r: _ratio(r["plait"], r["problog"]) or math.inf)
            s += (
                f" (worst: `{worst['program']}`, plait {worst['plait']['seconds']:.3f} s vs ProbLog "
                f"{worst['problog']['seconds']:.3f} s, {1 / _ratio(worst['plait'], worst['problog']):.1f}x slower)"
            )
        big = [r for r in both if max(r["plait"]["seconds"], r["problog"]["seconds"]) >= 0.05]
        if big:
            bp = sum(r["plait"]["seconds"] for r in big)
            bq = sum(r["problog"]["seconds"] for r in big)
            s += (
                f". On the {len(big)} programs where either system needs at least 50 ms, plait takes {bp:.2f} s "
                f"and ProbLog {bq:.2f} s (ratio {bq / bp:.2f}); the rest are dominated by fixed per-call costs"
            )
        s += (
            f". Only plait fails on {len(p_fail)} program(s), only ProbLog on {len(q_fail)}, both reject "
            f"{len(both_fail)}; results disagree on {len(dis)}."
        )
        if p_fail:
            s += (
                " Programs only plait fails: "
                + ", ".join(
                    f"`{r['program']}` ({r['plait']['status']}: {r['plait'].get('error_type', '')})" for r in p_fail
                )
                + "."
            )
        if dis:
            s += (
                " **Disagreements:** "
                + ", ".join(
                    f"`{r['program']}`"
                    + (
                        " (known ProbLog quirk, plait is right)"
                        if "ProbLog 2.3 quirk" in KNOWN_NOTES.get(r["program"], "")
                        or "ProbLog quirk" in KNOWN_NOTES.get(r["program"], "")
                        else " (plait wrong)"
                        if "plait bug" in KNOWN_NOTES.get(r["program"], "")
                        else ""
                    )
                    for r in dis
                )
                + " (details below)."
            )
        summary.append(s)
    for fam, rows in family_rows.items():
        if not rows:
            continue
        big = {s: max((r["n"] for r in rows if r[s]["status"] == "ok"), default=None) for s in SYSTEMS}
        s = (
            f"**{FAMILY_TITLE[fam]}**: largest n finished within {T:g} s: plait {big['plait']}, "
            f"ProbLog {big['problog']}."
        )
        slow = [r for r in rows if r["problog"]["status"] == "ok" and r["problog"]["seconds"] > 1.0]
        slow_ok = [r for r in slow if r["plait"]["status"] == "ok"]
        slow_miss = [r for r in slow if r["plait"]["status"] != "ok"]
        if slow_ok:
            s += (
                " Where ProbLog needs more than 1 s, ProbLog/plait = "
                + ", ".join(
                    f"{_fmt_ratio(_ratio(r['plait'], r['problog']))} (n={r['n']}: plait {r['plait']['seconds']:.2f} s, "
                    f"ProbLog {r['problog']['seconds']:.2f} s)"
                    for r in slow_ok
                )
                + "."
            )
        if slow_miss:
            s += (
                " plait did not finish (timeout, error, or not run after its first timeout) at the sizes where "
                "ProbLog needs more than 1 s: "
                + ", ".join(f"n={r['n']} (ProbLog {r['problog']['seconds']:.2f} s)" for r in slow_miss)
                + "."
            )
        if not slow:
            s += " ProbLog never needed more than 1 s."
        common = [r for r in rows if _ratio(r["plait"], r["problog"])]
        if common:
            r = common[-1]
            x = _ratio(r["plait"], r["problog"])
            rel = f"plait {1 / x:.1f}x slower" if x < 1 else f"plait {x:.1f}x faster"
            s += (
                f" At the largest n both finish (n={r['n']}): plait {r['plait']['seconds']:.3f} s, "
                f"ProbLog {r['problog']['seconds']:.3f} s ({rel})."
            )
        sizable = [r for r in common if max(r["plait"]["seconds"], r["problog"]["seconds"]) >= 0.1]
        slower = [r for r in sizable if _ratio(r["plait"], r["problog"]) < 1]
        if slower:
            r = min(slower, key=lambda r: _ratio(r["plait"], r["problog"]))
            s += (
                f" plait is slower at {len(slower)} of the {len(sizable)} sizes where either system needs at "
                f"least 0.1 s (n = {', '.join(str(x['n']) for x in slower)}); worst n={r['n']}: plait "
                f"{r['plait']['seconds']:.2f} s vs ProbLog {r['problog']['seconds']:.2f} s "
                f"({1 / _ratio(r['plait'], r['problog']):.1f}x slower)."
            )
        elif sizable:
            s += f" plait is faster at every size where either system needs at least 0.1 s ({len(sizable)} of them)."
        only = next((r for r in rows if (r["plait"]["status"] == "ok") != (r["problog"]["status"] == "ok")), None)
        if only:
            who, other = ("ProbLog", "plait") if only["problog"]["status"] == "ok" else ("plait", "ProbLog")
            oth = only["plait" if other == "plait" else "problog"]
            mine = only["problog" if who == "ProbLog" else "plait"]
            s += (
                f" From n={only['n']} only {who} finishes ({mine['seconds']:.2f} s there; {other}: "
                f"{oth['status']}{f' after >{T:g} s' if oth['status'] == 'timeout' else ''})."
            )
        fails = [r for r in rows if r["plait"]["status"] in ("error", "crash")]
        if fails:
            r = fails[0]
            s += (
                f" plait **{r['plait']['status']}** at n={r['n']}: {r['plait'].get('error_type', '')} "
                f"{_esc(r['plait'].get('error', ''))[:200]}."
            )
        fails = [r for r in rows if r["problog"]["status"] in ("error", "crash")]
        if fails:
            r = fails[0]
            s += (
                f" ProbLog **{r['problog']['status']}** at n={r['n']}: {r['problog'].get('error_type', '')} "
                f"{_esc(r['problog'].get('error', ''))[:200]}."
            )
        dis = [r["n"] for r in rows if r["cmp"]["verdict"] in ("DISAGREE", "keys differ")]
        s += (
            f" **Probabilities DISAGREE at n = {dis}.**" if dis else " Probabilities agree (1e-6) wherever both finish."
        )
        if fam in SEEDED_FAMILIES and common:
            s += " " + _ratio_summary(common)
        summary.append(s)

    runs_all = [r[s_] for r in (corpus_rows or []) for s_ in SYSTEMS]
    runs_all += [r[s_] for rows in family_rows.values() for r in rows for s_ in SYSTEMS]
    imp = {s_: _median([r.get("import_s") for r in runs_all if r.get("system") == s_]) for s_ in SYSTEMS}
    warm = {s_: _median([r.get("warmup_s") for r in runs_all if r.get("system") == s_]) for s_ in SYSTEMS}
    if imp["plait"] is not None and imp["problog"] is not None:
        summary.append(
            f"**Start-up** (excluded from all timings): importing plait takes {imp['plait']:.2f} s (mostly torch) "
            f"against {imp['problog']:.2f} s for ProbLog, and plait's first query in a process costs another "
            f"{warm['plait'] or 0:.2f} s (ProbLog {warm['problog'] or 0:.3f} s); for a one-shot command-line query "
            "on a small program these dominate."
        )
    w("## Summary")
    w("")
    w(
        "Ratios are ProbLog seconds / plait seconds: above 1 plait is faster, below 1 plait is slower "
        "(0.5 = plait takes twice as long)."
    )
    w("")
    for s in summary:
        w(f"- {s}")
    w("")

    # ---- start-up
    runs = [r[s] for r in (corpus_rows or []) for s in SYSTEMS]
    runs += [r[s] for rows in family_rows.values() for r in rows for s in SYSTEMS]
    w("## Start-up cost (not included in the timings below)")
    w("")
    w(
        "Every run is a fresh subprocess. The timed region is one parse + ground + compile + evaluate call, "
        "after importing the system and one warm-up query on a trivial program in the same process. "
        "The costs outside the timed region (medians over all runs):"
    )
    w("")
    w("| | plait | ProbLog |")
    w("|---|---|---|")
    w(f"| Python interpreter start (`python -c pass`) | {_fmt_s(startup)} | {_fmt_s(startup)} |")
    for key, title in (("import_s", "import"), ("warmup_s", "first (warm-up) query on a trivial program")):
        vals = {s: _median([r.get(key) for r in runs if r.get("system") == s]) for s in SYSTEMS}
        w(f"| {title} | {_fmt_s(vals['plait'])} | {_fmt_s(vals['problog'])} |")
    w("")

    # ---- corpus
    if corpus_rows is not None:
        w("## Conformance corpus")
        w("")
        w(
            f"Every `*.pl` in `{_rel(args.corpus)}` (ProbLog's own system tests). "
            '"expects error" marks programs whose expected outcome is an error; both systems rejecting those is '
            "correct. Agreement compares the two systems' results with each other (1e-6), not with the expected "
            "outcomes (the test suite does that)."
        )
        w("")
        w("| program | expects error | plait s | ProbLog s | ratio | agreement |")
        w("|---|---|---|---|---|---|")
        for r in corpus_rows:
            w(
                f"| `{r['program']}` | {'yes' if r['expected_error'] else ''} | {_secs(r['plait'], T)} | "
                f"{_secs(r['problog'], T)} | {_fmt_ratio(_ratio(r['plait'], r['problog']))} | {_verdict(r['cmp'])} |"
            )
        both = [r for r in corpus_rows if r["plait"]["status"] == "ok" and r["problog"]["status"] == "ok"]
        tp = sum(r["plait"]["seconds"] for r in both)
        tq = sum(r["problog"]["seconds"] for r in both)
        w(
            f"| **total over the {len(both)} programs both finish** | | **{tp:.3f}** | **{tq:.3f}** | "
            f"**{_fmt_ratio(tq / tp if tp else None)}** | |"
        )
        w("")
        errs = [(r["program"], s, r[s]) for r in corpus_rows for s in SYSTEMS if r[s]["status"] not in ("ok",)]
        if errs:
            w("Errors, crashes and timeouts:")
            w("")
            for prog, s, e in errs:
                w(
                    f"- `{prog}`, {LABEL[s]}: {e['status']} `{e.get('error_type', '')}`: {_esc(e.get('error', ''))[:300]}"
                )
            w("")
        dis = [r for r in corpus_rows if r["cmp"]["verdict"] in ("DISAGREE", "keys differ")]
        if dis:
            w("**Disagreements:**")
            w("")
            for r in dis:
                c = r["cmp"]
                note = KNOWN_NOTES.get(r["program"])
                w(f"- `{r['program']}`: {_esc(json.dumps(c))}" + (f"<br>Note: {note}" if note else ""))
            w("")

    # ---- families
    for fam, rows in family_rows.items():
        w(f"## {FAMILY_TITLE[fam]}")
        w("")
        if fam.startswith("grid"):
            w(
                "Edges to the right and down neighbour"
                + (" and back" if fam == "grid_cyclic" else "")
                + (
                    f", each with a seeded random probability in [0.1, 0.9] (seed {args.seed})"
                    if args.seed is not None
                    else ", each with probability 0.5"
                )
                + "; `path/2` is the right-recursive transitive closure; query `path(n_0_0, n_{n-1}_{n-1})`."
            )
        elif fam == "issue7":
            w(
                "The program of issue 7 (`0.2::w(0) ; ... ; 0.2::w(1.0).`, the same for `v`, "
                "`P::obs(C,T) :- w(P), C=yes.`, `P::obs(C,T) :- v(P).`, `query(w(V))`) with n evidence atoms "
                "`obs(yes,0)`, `obs(yes,1)`, `obs(no,2)` (false), `obs(yes,3)`, ...; the issue's program is n = 3. "
                "Before the variable order was chosen from the program's structure, plait needed 71 s at n = 3 "
                "(an SDD of 2.5 million nodes) and minutes at n = 4."
            )
        elif fam == "random":
            w(
                "Program n is the test suite's random program n (`generate_program(n)` in "
                "`tests/test_random_programs.py`: strata, recursion, negation, arithmetic, annotated "
                "disjunctions, sometimes evidence) plus a seeded block that hunts for compilation blow-ups: "
                "1-3 annotated disjunctions over 3-6 numeric values, observation predicates whose probability "
                "is computed in the rule body (`P::ob0(C,T) :- h0(P), C=yes.`), 1-6 evidence atoms on them and "
                "queries on the choices (see `gen_random` in `benchmarks/inference.py`). Every n runs, also "
                "after a timeout."
            )
        else:
            w(
                "`person(0..n-1)`, each person has 2 seeded random friends; `0.3::stress(X) :- person(X).`, "
                "`0.2::influences(X,Y) :- friend(X,Y).`, `smokes(X) :- stress(X).`, "
                "`smokes(X) :- influences(Y,X), smokes(Y).`; query `smokes(0)`. Each n draws its own random "
                "graph, so the cost is not monotone in n: it depends on how much of the graph reaches person 0 "
                "and how cyclic that part is."
            )
        w("")
        w(
            "plait's phases: parse (`Program.from_file`), ground (grounding to the relevant ground program), "
            "compile (SDD compilation and circuit construction), other (building the clause database and "
            "evaluating the circuit). Peak MB is the process's peak resident memory (plait's includes ~240 MB "
            "for torch)."
        )
        w("")
        w(
            "| n | plait s | ProbLog s | ratio | agreement | plait parse / ground / compile / other s "
            "| plait peak MB | ProbLog peak MB |"
        )
        w("|---|---|---|---|---|---|---|---|")
        for r in rows:
            w(
                f"| {r['n']} | {_secs(r['plait'], T)} | {_secs(r['problog'], T)} | "
                f"{_fmt_ratio(_ratio(r['plait'], r['problog']))} | {_verdict(r['cmp'])} | {_phases(r['plait'])} | "
                f"{_mb(r['plait'])} | {_mb(r['problog'])} |"
            )
        w("")
        for s in SYSTEMS:
            big = max((r["n"] for r in rows if r[s]["status"] == "ok"), default=None)
            last = rows[-1][s]["status"] if rows else "–"
            stop = next((r for r in rows if r[s]["status"] not in ("ok", "skipped")), None)
            why = (
                f"stopped at n={stop['n']} ({stop[s]['status']})"
                if stop
                else f"did not hit the limit up to n={rows[-1]['n']}"
                if rows
                else ""
            )
            _ = last
            w(f"- Largest n finished within {T:g} s, {LABEL[s]}: **{big}** ({why})")
        w("")
        errs = [(r["n"], s, r[s]) for r in rows for s in SYSTEMS if r[s]["status"] in ("error", "crash")]
        for n, s, r in errs:
            w(f"- {LABEL[s]} {r['status']} at n={n}: `{r.get('error_type', '')}`: {_esc(r.get('error', ''))}")
        dis = [r for r in rows if r["cmp"]["verdict"] in ("DISAGREE", "keys differ")]
        for r in dis:
            w(
                f"- **DISAGREEMENT at n={r['n']}**: {json.dumps(r['cmp'])} (plait {r['plait'].get('result')}, "
                f"ProbLog {r['problog'].get('result')})"
            )
        if errs or dis:
            w("")

    text = "\n".join(L).rstrip() + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    # keep the sections that benchmarks/addition.py and benchmarks/threads.py maintain in the same file
    if out.exists():
        old = out.read_text()
        for name in ("addition", "threads"):
            start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
            if start in old and end in old:
                text = text + "\n" + old[old.index(start) : old.index(end) + len(end)] + "\n"
    out.write_text(text)
    return text


def _rel(p: Path) -> str:
    try:
        return os.path.relpath(p, REPO)
    except ValueError:
        return str(p)


def _command_line(argv: list[str]) -> str:
    py = sys.executable
    try:
        rel = os.path.relpath(py, REPO)
        if not rel.startswith(".."):
            py = rel
    except ValueError:
        pass
    return " ".join([shlex.quote(py), "benchmarks/inference.py", *map(shlex.quote, argv)])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per run (default 60)")
    ap.add_argument(
        "--max-n",
        type=int,
        default=None,
        help="largest n for every family (default: grow until both systems time out; caps grid 30, smokers 200, "
        "issue7 12, random 39)",
    )
    ap.add_argument(
        "--families",
        default=",".join(FAMILIES),
        help=f"comma-separated subset of {','.join(FAMILIES)}, or 'none' (default: all)",
    )
    ap.add_argument("--corpus-only", action="store_true", help="run the corpus only, no scaling families")
    ap.add_argument("--no-corpus", action="store_true", help="run the scaling families only")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="directory of *.pl programs")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 6 corpus programs, tiny sizes, writes to a temp file unless --out",
    )
    ap.add_argument("--out", type=Path, default=None, help=f"report path (default {_rel(DEFAULT_OUT)})")
    ap.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for random edge probabilities and friendships (grids use 0.5 with --seed -1)",
    )
    ap.add_argument(
        "--json",
        type=Path,
        default=None,
        help="also write the raw results as JSON here (default: <tempdir>/plait-benchmarks-last.json)",
    )
    ap.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="do not run anything: re-render the report from a JSON file written by an earlier run",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help=f"timed calls per run, the minimum is reported; calls are repeated only while they "
        f"took less than {REPEAT_BUDGET_S:g} s in all (default 3)",
    )
    ap.add_argument(
        "--no-snapshot",
        dest="snapshot",
        action="store_false",
        help="run the live plait source instead of a copy taken at the start of the run",
    )
    ap.add_argument(
        "--mem-limit-gb", type=float, default=8.0, help="address-space limit per run in GiB, 0 for none (default 8)"
    )
    # internal: worker mode
    ap.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    ap.add_argument("--worker-program", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--worker-result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        _worker(
            args.worker, args.worker_program.resolve(), args.worker_result, args.timeout, args.repeat, args.mem_limit_gb
        )
        return 0

    if args.seed == -1:
        args.seed = None
    if args.quick and args.timeout == 60.0:
        args.timeout = 30.0
    out = args.out
    if out is None:
        out = Path(tempfile.gettempdir()) / "plait-benchmarks-quick.md" if args.quick else DEFAULT_OUT
    args.corpus = args.corpus.resolve()
    families = (
        []
        if args.corpus_only or args.families.strip().lower() == "none"
        else [f.strip() for f in args.families.split(",") if f.strip()]
    )
    for f in families:
        if f not in FAMILIES:
            ap.error(f"unknown family {f!r}; choose from {', '.join(FAMILIES)}")

    if args.from_json:
        raw = json.loads(args.from_json.read_text())
        for k in ("timeout", "repeat", "seed", "mem_limit_gb", "quick"):
            setattr(args, k, raw["settings"][k])
        args.corpus = Path(raw["settings"]["corpus"])
        for row in [*(raw["corpus_rows"] or []), *(r for rows in raw["family_rows"].values() for r in rows)]:
            row["cmp"] = compare(row["plait"], row["problog"])
        text = write_report(
            out,
            args,
            raw["facts"],
            raw["startup"],
            raw["corpus_rows"],
            raw["family_rows"],
            _dt.datetime.fromisoformat(raw["started"]),
            raw["elapsed"],
            raw["load_before"],
            raw["load_after"],
            raw["command"],
        )
        _log(f"wrote {out} ({len(text.splitlines())} lines) from {args.from_json}")
        return 0

    started = _dt.datetime.now().astimezone()
    t_start = time.perf_counter()
    load_before = _loadavg()
    facts = machine_facts()
    global _SNAPSHOT_DIR
    snapshot_tmp = None
    live_root = _plait_root()
    if args.snapshot and live_root is not None:
        import shutil

        snapshot_tmp = tempfile.TemporaryDirectory(prefix="plait-bench-snapshot-")
        shutil.copytree(
            live_root, Path(snapshot_tmp.name) / "plait", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        _SNAPSHOT_DIR = Path(snapshot_tmp.name)
        facts["plait_source"] = plait_fingerprint(_SNAPSHOT_DIR / "plait")
        facts["snapshot"] = True
        _log(f"measuring a snapshot of {live_root} (hash {facts['plait_source']}) in {_SNAPSHOT_DIR}")
    else:
        facts["plait_source"] = plait_fingerprint()
        facts["snapshot"] = False
    _log(f"plait benchmark: {facts['cpu']}, {facts['cores']} cores; report -> {out}")
    startup = python_startup_s()

    corpus_rows = None
    if not args.no_corpus:
        if not args.corpus.is_dir():
            _log(f"corpus directory {args.corpus} not found; skipping the corpus")
        else:
            corpus_rows = bench_corpus(args.corpus, args)
    family_rows: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="plait-bench-families-") as d:
        for fam in families:
            family_rows[fam] = bench_family(fam, Path(d), args)

    elapsed = time.perf_counter() - t_start
    load_after = _loadavg()
    facts["plait_source_end"] = plait_fingerprint()
    if facts["plait_source_end"] != facts["plait_source"]:
        _log(
            "!!! plait's source files changed during the run"
            + (
                "; the report measures the snapshot taken at the start"
                if facts["snapshot"]
                else ": the timings mix two versions of plait"
            )
        )
    if snapshot_tmp is not None:
        used = {
            r.get("module_file")
            for rows in [corpus_rows or [], *family_rows.values()]
            for r in rows
            for r in [r["plait"]]
            if r.get("module_file")
        }
        if any(not str(u).startswith(str(_SNAPSHOT_DIR)) for u in used):
            _log(f"!!! some plait workers did not import the snapshot: {sorted(used)}")
            facts["snapshot"] = False
        snapshot_tmp.cleanup()
    command = _command_line(argv)
    json_path = args.json or Path(tempfile.gettempdir()) / "plait-benchmarks-last.json"
    json_path.write_text(
        json.dumps(
            {
                "settings": {
                    "timeout": args.timeout,
                    "repeat": args.repeat,
                    "seed": args.seed,
                    "mem_limit_gb": args.mem_limit_gb,
                    "quick": args.quick,
                    "corpus": str(args.corpus),
                },
                "facts": facts,
                "startup": startup,
                "corpus_rows": corpus_rows,
                "family_rows": family_rows,
                "started": started.isoformat(),
                "elapsed": elapsed,
                "load_before": load_before,
                "load_after": load_after,
                "command": command,
            },
            indent=1,
        )
    )
    _log(f"raw results: {json_path}")
    text = write_report(
        out, args, facts, startup, corpus_rows, family_rows, started, elapsed, load_before, load_after, command
    )
    _log(f"wrote {out} ({len(text.splitlines())} lines, {elapsed / 60:.1f} min)")
    disagreements = sum(
        r["cmp"]["verdict"] in ("DISAGREE", "keys differ")
        for rows in [corpus_rows or [], *family_rows.values()]
        for r in rows
    )
    if disagreements:
        _log(f"!!! {disagreements} DISAGREEMENT(S) between plait and ProbLog; see the report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
