"""What a neural program asks of Python, read without its networks (``plait check`` on ``nn(...)`` programs).

A neural program cannot be evaluated without its networks, but it can be
checked: every neural predicate and learnable parameter with its domain, and
the query templates a :class:`~plait.nn.model.Model` would compile. A template
is a predicate that reaches a neural predicate and that no clause calls (an
entry point such as ``addition/3``); its *inputs* are the argument positions
whose values flow into a network's inputs (bound to tensors in Python), the
other variables are its answers. Each template is grounded and compiled as the
model would do it, so a problem shows up here, located, before any training.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PlaitError, SourceSpan
from ..ground.database import ClauseDB, NeuralSpec, build_database
from ..program import Program
from ..syntax.ast import NeuralClause
from ..syntax.printing import format_term
from ..syntax.terms import Struct, Term, Var, term_vars
from .templates import compile_template

__all__ = ["NeuralPredicateInfo", "TemplateInfo", "NeuralReport", "inspect_neural"]

# A list input is compiled for this many tensors to show its template (one circuit per list length).
SHOWN_LIST_LENGTH = 2


@dataclass(frozen=True, slots=True)
class NeuralPredicateInfo:
    """One ``nn(...)`` or ``t(...)`` clause: what it needs from Python."""

    predicate: str  # "digit/2"
    kind: str  # "network" (a distribution over a domain), "network fact", "tensor network", "learnable"
    name: str  # the network name, or the parameter's clause text for "learnable"
    inputs: tuple[str, ...]  # the network's input terms as written
    domain: tuple[str, ...] | None  # the values a network chooses among (None: no domain)
    location: str  # FILE:LINE:COL

    @property
    def text(self) -> str:
        what = {
            "network": f"network {self.name}",
            "network fact": f"network {self.name} (one probability per example)",
            "tensor network": f"network {self.name} (a tensor-valued output)",
            "learnable": f"learnable probability: {self.name}",
        }[self.kind]
        if self.inputs:
            what += f", inputs [{', '.join(self.inputs)}]"
        if self.domain is not None:
            what += f", domain [{', '.join(self.domain)}] ({len(self.domain)} values)"
        return f"{self.predicate}  {self.location}  {what}"


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """A query template the program offers: its inputs, and what compiling it gave."""

    query: str  # "addition(X, Y, Z)"
    inputs: tuple[str, ...]  # variables bound to tensors (a list of tensors when marked in list_inputs)
    list_inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    answers: int | None  # number of answers (output columns), None when compiling failed
    problem: str | None  # the error compiling it raised

    @property
    def text(self) -> str:
        ins = ", ".join(f"{v} (a list of tensors)" if v in self.list_inputs else v for v in self.inputs)
        head = f"{self.query}  inputs {ins or 'none'}"
        if self.problem is not None:
            return f"{head}  ->  does not compile: {self.problem}"
        over = f" over {', '.join(self.outputs)}" if self.outputs else " (the query itself)"
        shown = f", shown for lists of {SHOWN_LIST_LENGTH}" if self.list_inputs else ""
        return f"{head}  ->  {self.answers} answer{'s' if self.answers != 1 else ''}{over}{shown}"


@dataclass(frozen=True, slots=True)
class NeuralReport:
    """Everything :func:`inspect_neural` found; :meth:`lines` is what ``plait check`` prints."""

    predicates: tuple[NeuralPredicateInfo, ...]
    templates: tuple[TemplateInfo, ...]

    def lines(self, filename: str) -> list[str]:
        nets = sorted({p.name for p in self.predicates if p.kind != "learnable"})
        n_t = sum(1 for p in self.predicates if p.kind == "learnable")
        n_nn = len(self.predicates) - n_t
        given = ", ".join(f"'{n}': module" for n in nets)
        out = [
            f"{filename}: ok, a neural program ({n_nn} neural predicate{'s' if n_nn != 1 else ''}, "
            f"{n_t} learnable parameter{'s' if n_t != 1 else ''}"
            + (f"; its networks come from Python: plait.Model(program, {{{given}}}))" if nets else ")"),
            "neural predicates:",
            *(f"  {p.text}" for p in self.predicates),
        ]
        if self.templates:
            out.append("query templates (inputs are bound to tensors in Python; the other variables are the answers):")
            out.extend(f"  {t.text}" for t in self.templates)
        else:
            out.append(
                "query templates: none found (no predicate that no clause calls passes its arguments to a network); "
                "compile one in Python with model.template(query, inputs)"
            )
        return out


def inspect_neural(program: Program) -> NeuralReport | None:
    """The neural predicates and query templates of ``program``; None if it has no ``nn``/``t`` clauses.

    >>> import plait
    >>> report = inspect_neural(plait.Program.from_string('''
    ...     nn(net, [X], Y, [0, 1]) :: bit(X, Y).
    ...     both(A, B, S) :- bit(A, X), bit(B, Y), S is X + Y.
    ... '''))
    >>> report.templates[0].text
    'both(A, B, S)  inputs A, B  ->  3 answers over S'
    """
    db = build_database(program.ast, program.base_dir, neural=True)
    if not db.neural_specs:
        return None
    syntax = {
        (item.span.filename, item.span.start): item
        for item in program.ast.items
        if isinstance(item, NeuralClause) and item.span is not None
    }  # the main file's nn clauses as written (a consulted file's are known by their heads only)
    infos = tuple(_predicate_info(db, spec, span, syntax) for spec, span in db.neural_specs)
    return NeuralReport(infos, tuple(_templates(program, db)))


def _location(span: SourceSpan | None) -> str:
    return span.location() if span is not None else "?"


def _predicate_info(db: ClauseDB, spec: NeuralSpec, span: SourceSpan | None, syntax: dict) -> NeuralPredicateInfo:
    inputs = tuple(format_term(t) for t in spec.inputs)
    if spec.kind == "t":
        text = " ".join(span.text[span.start : span.end].split()) if span is not None else spec.name
        return NeuralPredicateInfo(spec.predicate, "learnable", text, (), None, _location(span))
    clause = syntax.get((span.filename, span.start)) if span is not None else None
    n_args = len(clause.spec.args) if isinstance(clause, NeuralClause) and isinstance(clause.spec, Struct) else None
    heads = next((c.ad_heads for p in db.predicates.values() for c in p.clauses if c.neural is spec), ())
    if n_args == 2 or (n_args is None and not heads):
        return NeuralPredicateInfo(spec.predicate, "network fact", spec.name, inputs, None, _location(span))
    if n_args == 3:
        return NeuralPredicateInfo(spec.predicate, "tensor network", spec.name, inputs, None, _location(span))
    domain = _domain_values(clause, heads)
    return NeuralPredicateInfo(spec.predicate, "network", spec.name, inputs, domain, _location(span))


def _domain_values(clause: NeuralClause | None, heads: tuple) -> tuple[str, ...]:
    """The domain as values: read from the heads, at the position of the output variable."""
    if clause is not None and isinstance(clause.head, Struct) and isinstance(clause.spec, Struct):
        out = clause.spec.args[2]
        for i, a in enumerate(clause.head.args):
            if a == out:
                return tuple(format_term(h.args[i]) for _, h in heads)
    return tuple(format_term(h) for _, h in heads)


# ----------------------------------------------------------------------------- templates


def _goals(body: Term):
    """The called goals of a clause body (through conjunction, disjunction, negation, if-then-else, call)."""
    if isinstance(body, Struct):
        if body.functor in (",", ";", "->", "*->") and len(body.args) == 2:
            yield from _goals(body.args[0])
            yield from _goals(body.args[1])
            return
        if body.functor in ("\\+", "not", "call", "once", "findall", "forall") and body.args:
            for a in body.args:
                yield from _goals(a)
            return
        yield body


def _input_positions(db: ClauseDB) -> tuple[dict[tuple[str, int], set[int]], dict[tuple[str, int], set[int]]]:
    """Per predicate, the argument positions that flow into a network's inputs, and which of them are lists."""
    inputs: dict[tuple[str, int], set[int]] = {}
    lists: dict[tuple[str, int], set[int]] = {}
    for key, pred in db.predicates.items():
        for c in pred.clauses:
            if c.neural is not None and c.neural.kind == "nn" and isinstance(c.head, Struct):
                wanted = {v for t in c.neural.inputs for v in term_vars(t)}
                for i, a in enumerate(c.head.args):
                    if wanted & set(term_vars(a)):
                        inputs.setdefault(key, set()).add(i)
    changed = True
    while changed:  # a fixpoint: positions whose variables reach an input position of a callee
        changed = False
        for key, pred in db.predicates.items():
            for c in pred.clauses:
                if not isinstance(c.head, Struct):
                    continue
                for goal in _goals(c.body):
                    callee = (goal.functor, len(goal.args))
                    for j in inputs.get(callee, ()):
                        reach = set(term_vars(goal.args[j]))
                        is_list = j in lists.get(callee, set())
                        for i, a in enumerate(c.head.args):
                            if not reach & set(term_vars(a)):
                                continue
                            if i not in inputs.setdefault(key, set()):
                                inputs[key].add(i)
                                changed = True
                            # a list here, or a variable that the callee takes as a list
                            as_list = _is_list(a) or (is_list and isinstance(a, Var))
                            if as_list and i not in lists.setdefault(key, set()):
                                lists[key].add(i)
                                changed = True
    return inputs, lists


def _is_list(t: Term) -> bool:
    return isinstance(t, Struct) and ((t.functor == "." and len(t.args) == 2) or t == Struct("[]"))


def _templates(program: Program, db: ClauseDB):
    inputs, lists = _input_positions(db)
    called = {  # by another predicate (a recursive predicate calling itself is still an entry point)
        (g.functor, len(g.args))
        for key, p in db.predicates.items()
        for c in p.clauses
        for g in _goals(c.body)
        if (g.functor, len(g.args)) != key
    }
    neural = {k for k, p in db.predicates.items() if any(c.neural is not None for c in p.clauses)}
    entries = [k for k in inputs if k not in called and k not in neural and inputs[k]]
    for key in sorted(entries, key=lambda k: _first_line(db, k)):
        names = _argument_names(db, key)
        query = f"{key[0]}({', '.join(names)})" if names else key[0]
        ins = tuple(names[i] for i in sorted(inputs[key]))
        list_ins = tuple(names[i] for i in sorted(lists.get(key, ())))
        outs = tuple(n for i, n in enumerate(names) if i not in inputs[key])
        shape = {v: (SHOWN_LIST_LENGTH if v in list_ins else None) for v in ins}
        try:
            t = compile_template(db, program.limits, query, shape)
        except PlaitError as e:
            yield TemplateInfo(query, ins, list_ins, outs, None, e.render().splitlines()[0])
            continue
        yield TemplateInfo(query, ins, list_ins, outs, len(t.answers), None)


def _first_line(db: ClauseDB, key: tuple[str, int]) -> int:
    span = db.predicates[key].clauses[0].span
    return span.start if span is not None else 0


def _argument_names(db: ClauseDB, key: tuple[str, int]) -> list[str]:
    """Variable names for the template's arguments: as the first clause names them, else A1, A2, ..."""
    names: list[str] = []
    head = db.predicates[key].clauses[0].head
    args = head.args if isinstance(head, Struct) else ()
    for i, a in enumerate(args):
        name = a.name if isinstance(a, Var) and not a.name.startswith("_") else f"A{i + 1}"
        names.append(name if name not in names else f"A{i + 1}")
    return names
