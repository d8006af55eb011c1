"""Differential testing: random stratified ProbLog programs, plait against ProbLog.

``generate_program(seed)`` builds a small, deterministic (per seed) ProbLog
program: a few constants, 2-5 predicates of arity 0-2 arranged in strata
(positive recursion, cycles included, inside a stratum; negation only of lower
strata), probabilistic and deterministic facts, probabilistic rules, annotated
disjunctions with and without bodies, arithmetic (``+ - * / // mod max min abs``
and comparisons, on integers and on floats such as 1.5), ``between/3``, ``=`` and
``\\=``, queries (ground and non-ground) and sometimes evidence.  Every rule is
range-restricted: head variables and the variables of negated goals and of
comparisons / arithmetic inputs are bound by earlier positive goals, and
arithmetic is guarded (or kept out of recursive rules) so that grounding stays finite.

The oracle is ProbLog 2.3 (``get_evaluatable("sdd")``); plait (by default, and with
``cycles="tp"``) must give the same answer keys and the same probabilities (abs tol
1e-6), or raise ``InconsistentEvidenceError`` exactly when ProbLog does.  Known
ProbLog quirks are kept out of the comparison: repeated variables in queries are
not generated, answers of probability 0 may be missing on either side (see
``disagreement``), and programs on which ProbLog itself fails are skipped (see
``run_problog``).

Run the generator by hand with ``python tests/test_random_programs.py SEED``.
"""

from __future__ import annotations

import functools
import json
import math
import random
import re
import subprocess
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip(
    "problog", reason="the random-program tests need ProbLog 2.3 as the oracle (pip install problog==2.3.0)"
)

import plait  # noqa: E402

TOL = 1e-6

# ---------------------------------------------------------------------------
# the generator
# ---------------------------------------------------------------------------

ALL_CONSTS = ["a", "b", "c", "d"]
INTS = [0, 1, 2, 3]
BASE_NAMES = ["e", "n", "f"]
DERIVED_NAMES = ["p", "q", "r", "s", "t"]


@dataclass(frozen=True)
class Pred:
    name: str
    # per argument: "c" a constant a..d, "i" an integer, "n" a number (an integer or a float such as 1.5)
    types: tuple[str, ...]
    stratum: int  # 0: extensional (facts and body-less ADs only)

    @property
    def arity(self) -> int:
        return len(self.types)


def _atom(name: str, args: list[str] | tuple[str, ...]) -> str:
    return f"{name}({','.join(args)})" if args else name


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        self.consts = sorted(rng.sample(ALL_CONSTS, rng.randint(2, 4)))
        n_base = rng.randint(1, 2)
        n_derived = rng.randint(1, 3)
        self.base = [Pred(BASE_NAMES[i], self._types("ci" if rng.random() < 0.3 else "c"), 0) for i in range(n_base)]
        # non-decreasing strata 1..: equal strata allow mutual recursion
        strata = sorted(rng.randint(1, n_derived) for _ in range(n_derived))
        self.derived = [Pred(DERIVED_NAMES[i], self._types("cin"), s) for i, s in enumerate(strata)]
        self.preds = self.base + self.derived
        self.lines: list[str] = []
        self.var_counter = 0

    # -- small helpers -----------------------------------------------------
    def _types(self, kinds: str) -> tuple[str, ...]:
        rng = self.rng
        arity = rng.choices([0, 1, 2], weights=[1, 3, 4])[0]
        weights = {"c": 12, "i": 5, "n": 3}
        return tuple(rng.choices(kinds, weights=[weights[k] for k in kinds])[0] for _ in range(arity))

    def prob(self) -> str:
        return f"{self.rng.randint(1, 99) / 100:g}"

    def value(self, t: str) -> str:
        return self.rng.choice(self.domain(t))

    def domain(self, t: str) -> list[str]:
        if t == "c":
            return list(self.consts)
        return [str(i) for i in INTS] + (["0.5", "1.5"] if t == "n" else [])

    def ground_args(self, p: Pred) -> tuple[str, ...]:
        return tuple(self.value(t) for t in p.types)

    def fresh(self) -> str:
        self.var_counter += 1
        return f"V{self.var_counter}"

    def split_probs(self, k: int) -> list[str]:
        """k probabilities (two decimals) whose sum is <= 1 (sometimes exactly 1)."""
        rng = self.rng
        total = 100 if rng.random() < 0.2 else rng.randint(k, 95)
        cuts = sorted(rng.sample(range(1, total), k - 1)) if k > 1 else []
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, total])]
        return [f"{x / 100:g}" for x in parts]

    # -- facts -------------------------------------------------------------
    def gen_facts(self) -> None:
        rng = self.rng
        for p in self.base:
            space = math.prod(len(self.domain(t)) for t in p.types)
            n = rng.randint(1, min(space, 6))
            tuples = [self.ground_args(p) for _ in range(n)]
            if p.types == ("c", "c") and len(self.consts) >= 2 and rng.random() < 0.5:
                # a cycle through (some of) the constants, so recursion sees cyclic graphs
                cyc = rng.sample(self.consts, rng.randint(2, len(self.consts)))
                tuples += [(x, y) for x, y in zip(cyc, cyc[1:] + cyc[:1])]
            for args in tuples:
                if rng.random() < 0.25:
                    self.lines.append(f"{_atom(p.name, args)}.")
                else:
                    self.lines.append(f"{self.prob()}::{_atom(p.name, args)}.")
            if p.arity and rng.random() < 0.3:
                # a body-less annotated disjunction over distinct ground atoms of this predicate
                k = rng.randint(2, 3)
                pos = rng.randrange(p.arity)
                vals = self.domain(p.types[pos])
                k = min(k, len(vals))
                chosen = rng.sample(vals, k)
                rest = self.ground_args(p)
                heads = [_atom(p.name, rest[:pos] + (v,) + rest[pos + 1 :]) for v in chosen]
                probs = self.split_probs(k)
                self.lines.append("; ".join(f"{pr}::{h}" for pr, h in zip(probs, heads)) + ".")
        for p in self.derived:
            if rng.random() < 0.15:
                pre = "" if rng.random() < 0.4 else f"{self.prob()}::"
                self.lines.append(f"{pre}{_atom(p.name, self.ground_args(p))}.")

    # -- rule bodies ---------------------------------------------------------
    def gen_body(self, head: Pred) -> tuple[list[str], dict[str, str]]:
        """A range-restricted body; returns (goals, bound variables -> type)."""
        rng = self.rng
        bound: dict[str, str] = {}
        goals: list[str] = []
        lower = [p for p in self.preds if p.stratum < head.stratum]
        # A body without goals of its own stratum is not part of a recursive cycle, so it may
        # use arithmetic that would not terminate under recursion (X is Y/2).
        nonrec = rng.random() < 0.5
        callable_ = lower if nonrec else [p for p in self.preds if p.stratum <= head.stratum]

        def pick_bound(t: str) -> str | None:
            """A bound variable that fits an argument of type t (an "n" argument takes integers too)."""
            cands = [v for v, vt in bound.items() if vt == t or (t == "n" and vt == "i")]
            return rng.choice(cands) if cands else None

        def positive() -> None:
            # prefer lower strata for the first goal so that something can ground
            p = rng.choice(lower if not goals and lower else callable_)
            args: list[str] = []
            new: dict[str, str] = {}
            for t in p.types:
                r = rng.random()
                b = pick_bound(t)
                if b is not None and r < 0.4:
                    args.append(b)
                elif r < 0.6:
                    args.append(self.value(t))
                elif new and r < 0.68 and any(nt == t for nt in new.values()):
                    args.append(rng.choice([v for v, nt in new.items() if nt == t]))  # e.g. e(X,X)
                else:
                    v = self.fresh()
                    new[v] = t
                    args.append(v)
            goals.append(_atom(p.name, args))
            bound.update(new)

        def negative() -> None:
            p = rng.choice(lower)
            args = []
            for t in p.types:
                b = pick_bound(t)
                args.append(b if b is not None and rng.random() < 0.8 else self.value(t))
            goals.append("\\+ " + _atom(p.name, args))

        def between() -> None:
            lo = rng.randint(0, 2)
            hi = rng.randint(lo, 3)
            b = pick_bound("i")
            if b is not None and rng.random() < 0.3:
                goals.append(f"between({lo},{hi},{b})")
            else:
                v = self.fresh()
                goals.append(f"between({lo},{hi},{v})")
                bound[v] = "i"

        def arith() -> None:
            y = pick_bound("n")
            if y is None:
                between()
                y = pick_bound("n")
                assert y is not None
            ty = bound[y]
            x = self.fresh()
            kind = rng.randrange(8 if nonrec else 7)
            # Guards keep every number that recursion can produce inside [-3, 4] and the set of
            # them finite: +1, -1 and *2 only below/above a bound, the others do not grow.
            if kind == 0:
                goals.extend([f"{y} < 3", f"{x} is {y}+1"])
            elif kind == 1:
                goals.extend([f"{y} > -1", f"{x} is {y}-1"])
            elif kind == 2:
                goals.extend([f"{y} > -2", f"{y} < 3", f"{x} is {y}*2"])
            elif kind == 3:
                z = pick_bound("n")
                ty = "n" if "n" in (ty, bound[z]) else "i"  # type: ignore[index]
                goals.extend([f"{x} is {y}+{z}", f"{x} < 4", f"{x} > -3"])
            elif kind == 4:
                goals.append(f"{x} is {rng.choice(['max', 'min'])}({y},{rng.randint(0, 2)})")
            elif kind == 5:
                goals.append(f"{x} is abs({y})")
            elif kind == 6:
                y = pick_bound("i")  # integer division on non-negative integers only
                if y is None:
                    between()
                    y = pick_bound("i")
                ty = "i"
                goals.extend([f"{y} >= 0", f"{x} is {y} {rng.choice(['//', 'mod'])} 2"])
            else:
                goals.append(f"{x} is {y}/2")  # a float, or an integer when exact? ProbLog: always a float
                ty = "n"
            bound[x] = ty

        def compare() -> None:
            y = pick_bound("n")
            if y is None:
                return
            op = rng.choice(["<", ">", "=<", ">=", "=:=", "=\\="])
            other = pick_bound("n") if rng.random() < 0.3 else None
            goals.append(f"{y} {op} {other if other is not None else rng.randint(0, 3)}")

        def unify() -> None:
            t = rng.choice(["c", "c", "i", "n"])
            b = pick_bound(t)
            if b is None:
                v = self.fresh()
                goals.append(f"{v} = {self.value(t)}")
                bound[v] = t
            elif rng.random() < 0.5:
                v = self.fresh()
                goals.append(f"{v} = {b}" if rng.random() < 0.5 else f"{b} = {v}")
                bound[v] = bound[b]
            else:
                goals.append(f"{b} = {self.value(t)}")

        def differ() -> None:
            t = rng.choice(["c", "i", "n"])
            b = pick_bound(t)
            if b is None:
                return
            other = pick_bound(t)
            if other is None or other == b or rng.random() < 0.4:
                other = self.value(t)
            goals.append(f"{b} \\= {other}")

        steps = ["pos"] * rng.choices([0, 1, 2, 3], weights=[1, 8, 6, 2])[0]
        steps += rng.choices(
            ["between", "arith", "compare", "unify", "differ"], k=rng.choices([0, 1, 2], weights=[5, 3, 1])[0]
        )
        if lower and rng.random() < 0.4:
            steps.append("neg")
        rng.shuffle(steps)
        if not steps:
            steps = ["pos"]
        for s in steps:
            if s == "pos" and not callable_:
                continue
            {
                "pos": positive,
                "neg": negative,
                "between": between,
                "arith": arith,
                "compare": compare,
                "unify": unify,
                "differ": differ,
            }[s]()
        if not goals:
            if callable_:
                positive()
            else:
                between()
        return goals, bound

    def head_args(self, p: Pred, bound: dict[str, str]) -> list[str]:
        # A head argument of type "n" takes no "i" variable: a caller may pass a float there, and
        # an "i" variable may be bound by between/3, which raises on a bound float.
        args = []
        for t in p.types:
            cands = [v for v, vt in bound.items() if vt == t]
            args.append(self.rng.choice(cands) if cands and self.rng.random() < 0.85 else self.value(t))
        return args

    # -- rules ---------------------------------------------------------------
    def gen_rules(self) -> None:
        rng = self.rng
        for p in self.derived:
            # the path/2 pattern over a base relation of the right type (transitive closure; cycles)
            graphs = (
                [b for b in self.base if b.types == (p.types[0],) * 2]
                if p.types and len(set(p.types)) == 1 and p.arity == 2
                else []
            )
            if graphs and rng.random() < 0.6:
                g = rng.choice(graphs)
                pre = f"{self.prob()}::" if rng.random() < 0.2 else ""
                self.lines.append(f"{p.name}(X,Y) :- {g.name}(X,Y).")
                if rng.random() < 0.5:
                    self.lines.append(f"{pre}{p.name}(X,Y) :- {g.name}(X,Z), {p.name}(Z,Y).")
                else:
                    self.lines.append(f"{pre}{p.name}(X,Y) :- {p.name}(X,Z), {p.name}(Z,Y).")
            for _ in range(rng.randint(1, 3)):
                goals, bound = self.gen_body(p)
                body = ", ".join(goals)
                r = rng.random()
                if r < 0.2:
                    self.gen_ad(p, goals, bound)
                    continue
                head = _atom(p.name, self.head_args(p, bound))
                pre = f"{self.prob()}::" if r < 0.5 else ""
                self.lines.append(f"{pre}{head} :- {body}.")

    def gen_ad(self, p: Pred, goals: list[str], bound: dict[str, str]) -> None:
        rng = self.rng
        body = ", ".join(goals)
        peers = [q for q in self.derived if q.stratum == p.stratum and q != p]
        if p.arity and (not peers or rng.random() < 0.7):
            # heads of p that differ in one argument position (so they are distinct atoms)
            pos = rng.randrange(p.arity)
            vals = self.domain(p.types[pos])
            k = min(rng.randint(2, 3), len(vals))
            chosen = rng.sample(vals, k)
            shared = self.head_args(p, bound)
            heads = [_atom(p.name, shared[:pos] + [v] + shared[pos + 1 :]) for v in chosen]
        elif peers:
            # heads of different predicates of the same stratum
            qs = [p] + rng.sample(peers, min(len(peers), rng.randint(1, 2)))
            heads = [_atom(q.name, self.head_args(q, bound)) for q in qs]
        else:
            self.lines.append(f"{self.prob()}::{_atom(p.name, [])} :- {body}.")
            return
        probs = self.split_probs(len(heads))
        self.lines.append("; ".join(f"{pr}::{h}" for pr, h in zip(probs, heads)) + f" :- {body}.")

    # -- queries and evidence -------------------------------------------------
    def gen_queries(self) -> None:
        rng = self.rng
        targets = list(self.derived) + rng.sample(self.base, rng.randint(0, len(self.base)))
        queries: list[str] = []
        for p in targets:
            for _ in range(rng.randint(1, 2)):
                args = []
                for i, t in enumerate(p.types):
                    r = rng.random()
                    # No repeated variables (query(p(X,X))): ProbLog 2.3 answers them with atoms that
                    # do not match the pattern (n(d). q(V,c) :- n(V). query(q(X,X)). gives q(d,c)).
                    if r < 0.5:
                        args.append("XYZ"[i])
                    else:
                        args.append(self.value(t))
                queries.append(f"query({_atom(p.name, args)}).")
        for q in dict.fromkeys(queries):
            self.lines.append(q)
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 2)):
                p = rng.choice(self.preds)
                val = "true" if rng.random() < 0.6 else "false"
                self.lines.append(f"evidence({_atom(p.name, self.ground_args(p))}, {val}).")

    def program(self) -> str:
        self.gen_facts()
        self.gen_rules()
        self.gen_queries()
        return "\n".join(self.lines) + "\n"


def generate_program(seed: int) -> str:
    """A random stratified, range-restricted ProbLog program (deterministic per seed)."""
    return _Gen(seed).program()


# ---------------------------------------------------------------------------
# running both engines
# ---------------------------------------------------------------------------

INCONSISTENT = "InconsistentEvidence"


class OracleFailure(Exception):
    """ProbLog failed on a program that is fine (stratified, range-restricted); nothing to compare."""


def run_problog(text: str, evaluator: str = "sdd") -> dict[str, float] | str:
    """ProbLog's answer, or the marker INCONSISTENT when it rejects the evidence.

    Raises OracleFailure for two known ProbLog 2.3 failures on valid programs:
    ``NegativeCycle`` on stratified programs (``p :- p. q :- q. q :- \\+ p. query(q).``),
    and an ``AssertionError`` in its cycle breaking when evidence is put on an atom
    that is certainly true and also cyclic
    (``0.5::n. q :- n. q :- q. q. evidence(q, true). query(n).``).
    """
    from problog import get_evaluatable
    from problog.eval_nodes import NegativeCycle
    from problog.evaluator import InconsistentEvidenceError
    from problog.program import PrologString

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = get_evaluatable(evaluator).create_from(PrologString(text)).evaluate()
        except InconsistentEvidenceError:
            return INCONSISTENT
        except NegativeCycle as e:
            raise OracleFailure(f"ProbLog NegativeCycle on a stratified program: {e}") from e
        except AssertionError as e:
            files = [f.filename for f in traceback.extract_tb(e.__traceback__)]
            if any(Path(f).name == "cycles.py" and "problog" in Path(f).parts for f in files):
                raise OracleFailure("ProbLog AssertionError while breaking cycles") from e
            raise
    return {str(k): float(v) for k, v in res.items()}


def run_plait(text: str, cycles: str | None = None) -> dict[str, float] | str:
    """plait's answer (``cycles``: None for the default, or ``"tp"``/``"break"``), or INCONSISTENT."""
    try:
        program = plait.Program.from_string(text)
        res = program.query() if cycles is None else program.compile(cycles=cycles).as_dict()
    except plait.InconsistentEvidenceError:
        return INCONSISTENT
    return {k: float(v) for k, v in res.items()}


_VAR = re.compile(r"\b[A-Z_][A-Za-z0-9_]*\b")


def normalize_key(key: str) -> str:
    """Rename the variables of a (non-ground) answer key V0, V1, ... in order of appearance.

    A non-ground query without answers comes back as itself; ProbLog names its
    variables after internal counters (``q(X3,X4)``), so only the pattern counts.
    """
    names: dict[str, str] = {}
    return _VAR.sub(lambda m: names.setdefault(m.group(0), f"V{len(names)}"), key)


def normalize(res: dict[str, float] | str) -> dict[str, float] | str:
    if isinstance(res, str):
        return res
    return {normalize_key(k): v for k, v in res.items()}


def _fmt(res: dict[str, float] | str) -> str:
    if isinstance(res, str):
        return res
    return "\n".join(f"  {k}: {v!r}" for k, v in sorted(res.items())) or "  (no answers)"


def disagreement(expected: dict[str, float] | str, got: dict[str, float] | str) -> str | None:
    """None when the answers agree, else a one-line description of the difference.

    Keys must match, except for answers of probability 0: which impossible answers
    ProbLog lists for a non-ground query depends on the order of body goals (with
    ``0.5::f. 0.5::e(a).``, ``p(X) :- f, \\+ f, e(X).`` gives ``p(a): 0.0`` but
    ``p(X) :- e(X), \\+ f, f.`` gives no answer), so such a key may be missing on
    either side, and a non-ground query may then come back as itself.
    """
    expected, got = normalize(expected), normalize(got)
    if isinstance(expected, str) or isinstance(got, str):
        if expected == got:
            return None
        return f"ProbLog: {_kind(expected)}, plait: {_kind(got)}"
    problems = []
    only_e = sorted(k for k in set(expected) - set(got) if not expected[k] <= TOL)
    only_g = sorted(k for k in set(got) - set(expected) if not got[k] <= TOL)
    if only_e or only_g:
        problems.append(f"answers of nonzero probability on one side only: ProbLog {only_e}, plait {only_g}")
    bad = [k for k in set(expected) & set(got) if not (abs(expected[k] - got[k]) <= TOL)]
    if bad:
        problems.append(
            "values differ: " + ", ".join(f"{k} ProbLog {expected[k]!r} plait {got[k]!r}" for k in sorted(bad))
        )
    return "; ".join(problems) or None


def _kind(res: dict[str, float] | str) -> str:
    return res if isinstance(res, str) else "answers"


def _report(seed: int, text: str, expected: object, got: object, why: str) -> str:
    return (
        f"seed {seed}: plait disagrees with ProbLog: {why}\n--- program ---\n{text}"
        f"--- ProbLog ---\n{_fmt(expected)}\n--- plait ---\n{_fmt(got)}"
    )  # type: ignore[arg-type]


# ProbLog needs more than 20 s for these (mostly a doubly recursive closure
# p(X,Y) :- p(X,Z), p(Z,Y) over a cyclic probabilistic graph); plait answers them in
# under a second, but there is no oracle within the time budget of this file.
PROBLOG_TOO_SLOW = {35, 38}
# Seeds beyond the first ones that found plait bugs (regression tests):
#   935: X is Y/2 with an even Y gave an integer in plait, a float in ProbLog
#        (r(X) :- X is 2/2. query(r(X)).  ProbLog r(1.0), plait r(1)).
FOUND_BUGS = [935]
SEEDS = [s for s in range(62) if s not in PROBLOG_TOO_SLOW] + FOUND_BUGS


@functools.cache
def _oracle(seed: int) -> tuple[str, dict[str, float] | str]:
    """The program of ``seed`` and ProbLog's answer (computed once for all tests of the seed)."""
    text = generate_program(seed)
    return text, run_problog(text)


def _check(seed: int, cycles: str | None) -> None:
    try:
        text, expected = _oracle(seed)
    except OracleFailure as e:
        pytest.skip(str(e))
    try:
        got = run_plait(text, cycles)
    except plait.PlaitError as e:  # a program ProbLog accepts must not be rejected
        pytest.fail(_report(seed, text, expected, f"{type(e).__name__}: {e}", "plait raised"))
    why = disagreement(expected, got)
    if cycles is not None:
        why = why and f"(cycles={cycles!r}) {why}"
    assert why is None, _report(seed, text, expected, got, why)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_program_matches_problog(seed: int) -> None:
    _check(seed, None)


@pytest.mark.parametrize("seed", SEEDS[:30])
def test_random_program_tp_compilation_matches_problog(seed: int) -> None:
    """The same programs with cycles handled by TP-compilation instead of cycle breaking."""
    _check(seed, "tp")


def test_generator_is_deterministic() -> None:
    assert generate_program(7) == generate_program(7)
    assert generate_program(7) != generate_program(8)


def _plait_cli() -> list[str]:
    script = Path(sys.executable).parent / "plait"
    return [str(script)] if script.exists() else [sys.executable, "-m", "plait.cli"]


@pytest.mark.parametrize("seed", [3, 11])
def test_random_program_cli_json(seed: int, tmp_path: Path) -> None:
    text = generate_program(seed)
    try:
        expected = run_problog(text)
    except OracleFailure as e:
        pytest.skip(str(e))
    if isinstance(expected, str):
        pytest.skip("ProbLog rejects this program's evidence")
    f = tmp_path / "prog.pl"
    f.write_text(text)
    proc = subprocess.run([*_plait_cli(), "query", "--json", str(f)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (
        f"plait query --json failed ({proc.returncode}):\n{proc.stderr}\n--- program ---\n{text}"
    )
    got = json.loads(proc.stdout)
    assert isinstance(got, dict)
    why = disagreement(expected, {k: float(v) for k, v in got.items()})
    assert why is None, _report(seed, text, expected, got, why)


if __name__ == "__main__":  # print the program of a seed
    for a in sys.argv[1:]:
        print(f"% seed {a}\n{generate_program(int(a))}")
