"""The clause database: the program's clauses, indexed by predicate.

Built from a :class:`~plait.syntax.ast.ProgramAST`. Probabilistic facts and
rules, annotated disjunctions and negative heads become :class:`ClauseDef`
entries of their head's predicate; directives set flags or load other files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NeedsNetworkError, ProgramError, SourceSpan
from ..syntax.ast import ADClause, Clause, Directive, NeuralClause, ProgramAST
from ..syntax.parser import parse_program
from ..syntax.source import read_source
from ..syntax.terms import (
    TRUE,
    Float,
    Int,
    Str,
    Struct,
    Term,
    Var,
    list_items,
    term_vars,
)
from .datafiles import csv_facts, sqlite_facts
from .libraries import LIBRARIES, aggregate_clause, library_program
from .unify import resolve

__all__ = ["ClauseDef", "ClauseDB", "NeuralSpec", "Predicate", "build_database", "FACT", "RULE", "AD"]

FACT, RULE, AD = "fact", "rule", "ad"

# Predicates plait implements itself that a program may not redefine.
PROTECTED = {
    ("=", 2),
    ("\\=", 2),
    ("==", 2),
    ("\\==", 2),
    ("is", 2),
    ("<", 2),
    (">", 2),
    ("=<", 2),
    (">=", 2),
    ("=:=", 2),
    ("=\\=", 2),
    ("@<", 2),
    ("@>", 2),
    ("@=<", 2),
    ("@>=", 2),
    ("compare", 3),
    ("var", 1),
    ("nonvar", 1),
    ("atom", 1),
    ("number", 1),
    ("integer", 1),
    ("float", 1),
    ("atomic", 1),
    ("compound", 1),
    ("callable", 1),
    ("is_list", 1),
    ("ground", 1),
    ("functor", 3),
    ("arg", 3),
    ("=..", 2),
    ("copy_term", 2),
    ("between", 3),
    ("succ", 2),
    ("plus", 3),
    ("findall", 3),
    ("forall", 2),
    ("call", 1),
    ("call", 2),
    ("call", 3),
    ("call", 4),
    ("call", 5),
    ("call", 6),
    ("\\+", 1),
    ("not", 1),
    (",", 2),
    (";", 2),
    ("->", 2),
    ("true", 0),
    ("fail", 0),
    ("false", 0),
    ("length", 2),
}


@dataclass(frozen=True, slots=True)
class NeuralSpec:
    """A clause whose probability is learned: ``nn(...)`` or ``t(...)``.

    ``kind``: ``"nn"`` (a network ``name`` applied to ``inputs``, a list term of
    the clause's variables), or ``"t"`` (the learnable parameter ``name``).
    ``init`` holds the initial probabilities of ``t(...)`` heads (None for ``t(_)``).
    """

    kind: str
    name: str
    inputs: tuple[Term, ...] = ()
    predicate: str = ""
    init: tuple[float | None, ...] = ()


@dataclass(slots=True)
class ClauseDef:
    """One clause of a predicate, in the form the grounder uses."""

    kind: str  # FACT, RULE or AD
    head: Term
    body: Term
    prob: Term | None  # probability expression (None = deterministic)
    cid: int  # clause number, part of every probabilistic choice's identity
    span: SourceSpan | None
    negated: bool = False  # head was written '\+h': the clause makes h false
    ad_heads: tuple[tuple[Term, Term], ...] = ()  # for AD: all (prob, head) pairs
    ad_index: int = 0  # for AD: which head this entry stands for
    vars: tuple[Var, ...] = ()  # every variable of the clause, for instance keys
    neural: NeuralSpec | None = None  # probability from a network or a learnable parameter


@dataclass(slots=True)
class Predicate:
    name: str
    arity: int
    clauses: list[ClauseDef] = field(default_factory=list)
    only_facts: bool = True
    has_negated: bool = False  # some clause has a negative head
    # first-argument index for fact-only predicates: key -> clause positions
    index: dict[Term, list[int]] | None = None
    var_first: list[int] = field(default_factory=list)

    def build_index(self) -> None:
        if not self.only_facts or len(self.clauses) < 8:
            self.index = None
            return
        index: dict[Term, list[int]] = {}
        var_first: list[int] = []
        for i, c in enumerate(self.clauses):
            a = c.head.args[0] if isinstance(c.head, Struct) and c.head.args else None
            if a is None or isinstance(a, Var):
                var_first.append(i)
            else:
                index.setdefault(_index_key(a), []).append(i)
        self.index = index
        self.var_first = var_first


def _index_key(t: Term) -> Term:
    if isinstance(t, Struct) and t.args:
        return Struct(t.functor, (Int(len(t.args)),))
    return t


@dataclass(slots=True)
class ClauseDB:
    predicates: dict[tuple[str, int], Predicate] = field(default_factory=dict)
    unknown_fail: bool = False
    n_clauses: int = 0
    allow_neural: bool = False  # nn(...)/t(...) clauses are accepted (plait.Model), else rejected
    neural_specs: list[tuple[NeuralSpec, SourceSpan | None]] = field(default_factory=list)
    libraries: set[str] = field(default_factory=set)  # loaded by use_module(library(...))

    def add(self, c: ClauseDef) -> None:
        head = c.head
        assert isinstance(head, Struct)
        key = (head.functor, len(head.args))
        pred = self.predicates.get(key)
        if pred is None:
            pred = self.predicates[key] = Predicate(head.functor, len(head.args))
        pred.clauses.append(c)
        if c.kind != FACT or c.negated:
            pred.only_facts = False
        if c.negated:
            pred.has_negated = True

    def get(self, name: str, arity: int) -> Predicate | None:
        return self.predicates.get((name, arity))

    def finish(self) -> None:
        for p in self.predicates.values():
            p.build_index()


def _clause_vars(*terms: Term) -> tuple[Var, ...]:
    acc: dict[Var, None] = {}
    for t in terms:
        term_vars(t, acc)
    return tuple(acc)


def _probability_literal(prob: Term, span: SourceSpan | None) -> None:
    """Reject constant probabilities outside [0, 1] when the program is loaded."""
    if isinstance(prob, (Int, Float)):
        v = prob.value
        if not (0.0 <= v <= 1.0):
            raise ProgramError(f"probability {v} is outside [0, 1]", span, "write a probability between 0 and 1")


def build_database(
    ast: ProgramAST,
    base_dir: Path | None = None,
    _seen: set[Path] | None = None,
    db: ClauseDB | None = None,
    neural: bool = False,
) -> ClauseDB:
    """Index the clauses of ``ast``; run its directives (consult, unknown/1, ...).

    With ``neural`` the neural predicates (``nn(...) ::``) and learnable
    probabilities (``t(...) ::``) are accepted; their specs are collected in
    ``db.neural_specs`` so that :class:`plait.Model` can check the networks.
    """
    if db is None:
        db = ClauseDB()
        db.allow_neural = neural
    seen = _seen if _seen is not None else set()
    for item in ast.items:
        if isinstance(item, Directive):
            _directive(item, db, base_dir, seen)
            continue
        if isinstance(item, NeuralClause) and db.allow_neural:
            _neural_clause(item, db)
            continue
        if isinstance(item, ADClause) and any(_is_t(p) for p, _ in item.heads):
            if db.allow_neural:
                _learnable_ad(item, db)
                continue
            raise NeedsNetworkError(
                "an annotated disjunction with learnable t(...) probabilities needs a parameter store, "
                "which plain inference does not have",
                item.span,
                "evaluate it with plait.Model, or give the heads numbers",
            )
        if isinstance(item, NeuralClause):
            spec = item.spec
            what = "neural predicate" if isinstance(spec, Struct) and spec.functor == "nn" else "learnable probability"
            raise NeedsNetworkError(
                f"{what} {spec} :: {item.head} needs a network or parameter store, which plain inference does not have",
                item.span,
                "neural predicates and t(...) parameters are evaluated by plait's neural API (plait.nn); "
                "for plain inference give the fact a number, e.g. 0.5::" + str(item.head),
            )
        cid = db.n_clauses
        db.n_clauses += 1
        if isinstance(item, ADClause):
            for prob, _h in item.heads:
                _probability_literal(prob, item.span)
            total = sum(p.value for p, _ in item.heads if isinstance(p, (Int, Float)))
            if all(isinstance(p, (Int, Float)) for p, _ in item.heads) and total > 1.0 + 1e-9:
                raise ProgramError(
                    f"the probabilities of an annotated disjunction sum to {total:g} > 1",
                    item.span,
                    "the heads of an annotated disjunction are mutually exclusive; their probabilities must sum to at most 1",
                )
            vs = _clause_vars(*(h for _, h in item.heads), *(p for p, _ in item.heads), item.body)
            for i, (_prob, h) in enumerate(item.heads):
                _check_head(h, item.span, db)
                db.add(ClauseDef(AD, h, item.body, None, cid, item.span, False, item.heads, i, vs))
            continue
        assert isinstance(item, Clause)
        head, body = aggregate_clause(item.head, item.body, item.span)
        negated = False
        if isinstance(head, Struct) and head.functor in ("\\+", "not") and len(head.args) == 1:
            negated = True
            head = head.args[0]
        _check_head(head, item.span, db)
        if item.prob is not None:
            _probability_literal(item.prob, item.span)
        kind = FACT if body == TRUE else RULE
        vs = _clause_vars(head, body) + (() if item.prob is None else _clause_vars(item.prob))
        db.add(ClauseDef(kind, head, body, item.prob, cid, item.span, negated, (), 0, vs))
    if _seen is None:
        db.finish()
    return db


def _is_t(prob: Term) -> bool:
    return isinstance(prob, Struct) and prob.functor == "t" and len(prob.args) == 1


def _t_init(prob: Term, span: SourceSpan | None) -> float | None:
    """The initial value of ``t(P)``: a number in [0, 1], or None for ``t(_)``."""
    (arg,) = prob.args  # type: ignore[union-attr]
    if isinstance(arg, Var):
        return None
    if isinstance(arg, (Int, Float)) and 0.0 <= arg.value <= 1.0:
        return float(arg.value)
    if isinstance(arg, Struct) and arg.functor == "/" and len(arg.args) == 2:
        a, b = arg.args
        if isinstance(a, (Int, Float)) and isinstance(b, (Int, Float)) and b.value != 0:
            v = a.value / b.value
            if 0.0 <= v <= 1.0:
                return float(v)
    raise ProgramError(
        f"t({arg}) is not a valid learnable probability",
        span,
        "write t(P) with a number P in [0, 1] as the initial value, or t(_) for a random one",
    )


def _domain(term: Term, span: SourceSpan | None) -> tuple[Term, ...]:
    """An nn/4 domain: a list of ground terms; ``[0..9]`` expands to 0, 1, ..., 9."""
    items, tail = list_items(term)
    if items is None or tail != Struct("[]"):
        raise ProgramError(
            f"the domain of a neural predicate must be a list, not {term}", span, "write e.g. [0,1,2] or [0..9]"
        )
    out: list[Term] = []
    for it in items:
        if isinstance(it, Struct) and it.functor == ".." and len(it.args) == 2:
            lo, hi = it.args
            if not (isinstance(lo, Int) and isinstance(hi, Int)) or hi.value < lo.value:
                raise ProgramError(f"bad range {it} in a neural predicate's domain", span, "write a range as [0..9]")
            out.extend(Int(v) for v in range(lo.value, hi.value + 1))
        else:
            out.append(it)
    if not out:
        raise ProgramError("the domain of a neural predicate is empty", span, "list its values, e.g. [0..9]")
    for it in out:
        if term_vars(it, {}):
            raise ProgramError(
                f"the domain value {it} of a neural predicate is not ground",
                span,
                "domain values are constants (numbers, atoms or ground terms) the network chooses among",
            )
    if len(set(out)) != len(out):
        raise ProgramError(
            f"the domain {term} of a neural predicate repeats a value",
            span,
            "each domain value is one output of the network: list every value once",
        )
    return tuple(out)


def _neural_clause(item: NeuralClause, db: ClauseDB) -> None:
    """``nn(Net, Inputs, Y, Domain) :: h`` (an AD over the domain), ``nn(Net, Inputs) :: h`` or ``t(P) :: h``."""
    spec, head, span = item.spec, item.head, item.span
    assert isinstance(spec, Struct)
    _check_head(head, span, db)
    assert isinstance(head, Struct)
    sig = f"{head.functor}/{len(head.args)}"
    cid = db.n_clauses
    db.n_clauses += 1
    kind = FACT if item.body == TRUE else RULE
    if spec.functor == "t":
        if len(spec.args) != 1:
            raise ProgramError(f"t/{len(spec.args)} is not a learnable probability", span, "write t(0.5) or t(_)")
        ns = NeuralSpec("t", f"t{cid}", predicate=sig, init=(_t_init(spec, span),))
        vs = _clause_vars(head, item.body)
        db.add(ClauseDef(kind, head, item.body, Float(0.5), cid, span, False, (), 0, vs, ns))
        db.neural_specs.append((ns, span))
        return
    if spec.functor != "nn" or len(spec.args) not in (2, 3, 4):
        raise ProgramError(
            f"{spec.functor}/{len(spec.args)} is not a neural annotation",
            span,
            "write nn(Net, [X], Y, [v1,...,vn]) :: p(X, Y), nn(Net, [X]) :: p(X) or nn(Net, [X], T) :: p(X, T)",
        )
    net = spec.args[0]
    if not (isinstance(net, Struct) and not net.args):
        raise ProgramError(f"the network name of a neural predicate must be an atom, not {net}", span)
    inputs, tail = list_items(spec.args[1])
    if inputs is None or tail != Struct("[]") or not inputs:
        raise ProgramError(
            f"the inputs of neural predicate {sig} must be a non-empty list of terms, not {spec.args[1]}",
            span,
            "write nn(Net, [X], ...) with the input variables in a list",
        )
    if len(spec.args) == 3:
        # nn(Net, Inputs, T) :: p(..., T): a deterministic fact whose T is the network's output
        # tensor, as a term '$tensor'(Net, Inputs) that other networks take as input
        out_var = spec.args[2]
        if not isinstance(out_var, Var) or out_var not in term_vars(head):
            raise ProgramError(
                f"the output of neural predicate {sig} must be a variable of its head, not {out_var}",
                span,
                "write nn(Net, [X], T) :: p(X, T)",
            )
        value = Struct("$tensor", (net, spec.args[1]))
        ns = NeuralSpec("nn", net.functor, tuple(inputs), sig)
        db.add(ClauseDef(kind, resolve(head, {out_var: value}), item.body, None, cid, span, False, (), 0, ()))
        db.neural_specs.append((ns, span))
        return
    if len(spec.args) == 2:
        ns = NeuralSpec("nn", net.functor, tuple(inputs), sig)
        vs = _clause_vars(head, item.body, spec.args[1])
        db.add(ClauseDef(kind, head, item.body, Float(0.5), cid, span, False, (), 0, vs, ns))
        db.neural_specs.append((ns, span))
        return
    out_var = spec.args[2]
    if not isinstance(out_var, Var):
        raise ProgramError(f"the output of neural predicate {sig} must be a variable, not {out_var}", span)
    if out_var not in term_vars(head) or out_var in term_vars(item.body):
        raise ProgramError(
            f"the output variable {out_var.name} of neural predicate {sig} must appear in its head and not in its body",
            span,
            "write nn(Net, [X], Y, Domain) :: p(X, Y): the network chooses Y among the domain",
        )
    domain = _domain(spec.args[3], span)
    ns = NeuralSpec("nn", net.functor, tuple(inputs), sig)
    heads = tuple((Float(1.0 / len(domain)), resolve(head, {out_var: d})) for d in domain)
    vs = _clause_vars(*(h for _, h in heads), item.body, spec.args[1])
    for i, (_p, h) in enumerate(heads):
        db.add(ClauseDef(AD, h, item.body, None, cid, span, False, heads, i, vs, ns))
    db.neural_specs.append((ns, span))


def _learnable_ad(item: ADClause, db: ClauseDB) -> None:
    """``t(0.2)::a; t(0.8)::b.``: one learnable distribution over the heads."""
    if not all(_is_t(p) for p, _ in item.heads):
        raise ProgramError(
            "mix of t(...) and fixed probabilities in one annotated disjunction",
            item.span,
            "make every head learnable with t(...), or none",
        )
    init = tuple(_t_init(p, item.span) for p, _ in item.heads)
    known = [v for v in init if v is not None]
    if sum(known) > 1.0 + 1e-9:
        raise ProgramError(
            f"the initial probabilities of a learnable annotated disjunction sum to {sum(known):g} > 1",
            item.span,
            "the heads are mutually exclusive: give initial values that sum to at most 1, or t(_)",
        )
    cid = db.n_clauses
    db.n_clauses += 1
    first = item.heads[0][1]
    sig = f"{first.functor}/{len(first.args)}" if isinstance(first, Struct) else str(first)
    ns = NeuralSpec("t", f"t{cid}", predicate=sig, init=init)
    n = len(item.heads)
    heads = tuple((Float(1.0 / n), h) for _, h in item.heads)
    vs = _clause_vars(*(h for _, h in heads), item.body)
    for i, (_p, h) in enumerate(heads):
        _check_head(h, item.span, db)
        db.add(ClauseDef(AD, h, item.body, None, cid, item.span, False, heads, i, vs, ns))
    db.neural_specs.append((ns, item.span))


def _check_head(head: Term, span: SourceSpan | None, db: ClauseDB) -> None:
    if not isinstance(head, Struct):
        raise ProgramError(f"a clause head must be an atom or compound term, not {head}", span)
    if (head.functor, len(head.args)) in PROTECTED:
        raise ProgramError(
            f"cannot redefine the builtin {head.functor}/{len(head.args)}",
            span,
            "rename your predicate; builtins are provided by plait",
        )


def _directive(d: Directive, db: ClauseDB, base_dir: Path | None, seen: set[Path]) -> None:
    g = d.goal
    if isinstance(g, Struct) and g.functor == "," and len(g.args) == 2:
        _directive(Directive(g.args[0], d.span), db, base_dir, seen)
        _directive(Directive(g.args[1], d.span), db, base_dir, seen)
        return
    if not isinstance(g, Struct):
        raise ProgramError(f"a directive must be a goal, not {g}", d.span)
    name, n = g.functor, len(g.args)
    if name == "unknown" and n == 1:
        flag = g.args[0]
        if flag == Struct("fail"):
            db.unknown_fail = True
        elif flag == Struct("error"):
            db.unknown_fail = False
        else:
            raise ProgramError(f"unknown/1 takes 'fail' or 'error', not {flag}", d.span)
        return
    if name == "use_module" and n in (1, 2):
        lib = g.args[0]
        if isinstance(lib, Struct) and lib.functor == "library" and len(lib.args) == 1:
            libname = str(lib.args[0])
            if libname not in LIBRARIES:
                raise ProgramError(
                    f"library({libname}) is not available in plait",
                    d.span,
                    "available: " + ", ".join(sorted(LIBRARIES)),
                )
            _use_library(libname, db, seen)
            return
        try:
            target = _name_of(lib)
        except ProgramError:
            target = str(lib)
        if target.endswith(".py"):
            raise ProgramError(
                f"use_module({target}): Python extension modules are not supported",
                d.span,
                "plait never runs code named by a program text; define the predicate in the program instead",
            )
        _consult(_name_of(lib), d, db, base_dir, seen)
        return
    if name in ("consult", "include", "ensure_loaded") and n == 1:
        arg = g.args[0]
        from ..syntax.terms import list_items

        items, _ = list_items(arg)
        for f in items or [arg]:
            _consult(_name_of(f), d, db, base_dir, seen)
        return
    if name == "csv_load" and n == 2:
        _csv_load(_name_of(g.args[0]), _name_of(g.args[1]), d, db, base_dir)
        return
    if name == "sqlite_load" and n == 1:
        _sqlite_load(_name_of(g.args[0]), d, db, base_dir)
        return
    if name in ("set_prolog_flag", "style_check", "discontiguous", "dynamic"):
        return  # declarations without meaning for plait
    raise ProgramError(
        f"unsupported directive :- {g}",
        d.span,
        "supported directives: consult/1, use_module/1 (a file, or library(Name) for "
        + ", ".join(sorted(LIBRARIES))
        + "), unknown/1, csv_load/2, sqlite_load/1",
    )


def _use_library(name: str, db: ClauseDB, seen: set[Path]) -> None:
    """Load library ``name`` (and the libraries it uses) once: its clauses join the program's."""
    if name in db.libraries:
        return
    db.libraries.add(name)
    lib = LIBRARIES[name]
    for used in lib.uses:
        _use_library(used, db, seen)
    if lib.prolog:
        build_database(library_program(name), None, seen, db)


def _name_of(t: Term) -> str:
    if isinstance(t, Struct) and not t.args:
        return t.functor
    if isinstance(t, Str):
        return t.value
    if isinstance(t, Struct) and t.functor == "/" and len(t.args) == 2:
        return _name_of(t.args[0]) + "/" + _name_of(t.args[1])
    raise ProgramError(f"expected a file name, got {t}")


def _resolve_path(name: str, base_dir: Path | None, suffixes: tuple[str, ...]) -> Path | None:
    base = base_dir or Path.cwd()
    for suffix in ("",) + suffixes:
        p = (base / (name + suffix)).resolve()
        if p.is_file():
            return p
    return None


def _consult(name: str, d: Directive, db: ClauseDB, base_dir: Path | None, seen: set[Path]) -> None:
    path = _resolve_path(name, base_dir, (".pl", ".plait"))
    if path is None:
        raise ProgramError(
            f"consult: cannot find the file '{name}'",
            d.span,
            "file names are relative to the consulting file; '.pl' is added if missing",
        )
    if path in seen:
        return
    seen.add(path)
    try:
        text = read_source(path, "consult")
    except ProgramError as e:
        if e.span is None:  # unreadable: point at the consulting directive
            e.span = d.span
        raise
    build_database(parse_program(text, str(path)), path.parent, seen, db)


def _csv_load(name: str, pred: str, d: Directive, db: ClauseDB, base_dir: Path | None) -> None:
    path = _resolve_path(name, base_dir, ())
    if path is None:
        raise ProgramError(f"csv_load: cannot find the file '{name}'", d.span)
    _add_facts(csv_facts(path, pred), d, db)


def _sqlite_load(name: str, d: Directive, db: ClauseDB, base_dir: Path | None) -> None:
    path = _resolve_path(name, base_dir, (".sqlite", ".db"))
    if path is None:
        raise ProgramError(f"sqlite_load: cannot find the file '{name}'", d.span)
    try:
        facts = sqlite_facts(path)
    except ProgramError as e:
        raise e.with_span(d.span) from None
    _add_facts(facts, d, db)


def _add_facts(facts: list[Struct], d: Directive, db: ClauseDB) -> None:
    for fact in facts:
        cid = db.n_clauses
        db.n_clauses += 1
        db.add(ClauseDef(FACT, fact, TRUE, None, cid, d.span))
