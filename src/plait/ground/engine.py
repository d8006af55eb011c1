"""Relevant grounding by tabled top-down evaluation.

For every call of a predicate with rules, a *table* keyed by the call's variant
collects its answers; each answer is a derived node whose rule bodies record the
ground literals it was derived from. Recursive calls read the answers found so
far; the leader of a recursive component re-evaluates it until nothing changes
(a fixpoint), so cycles through positive recursion terminate and every ground
rule instance ends up in the ground program. Negation and findall need the
called goal complete: calling back into an unfinished table from inside them is
a negative cycle (the program is not stratified) and is reported as such.

Predicates made only of facts are not tabled: each matching fact is its own
solution, as in ProbLog (so findall sees duplicate facts twice).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import (
    CallModeError,
    GroundingError,
    GroundingLimitError,
    NonGroundError,
    NonStratifiedError,
    PlaitError,
    ProgramError,
    SourceSpan,
    UnknownPredicateError,
)
from ..syntax.terms import TRUE, Int, Struct, Term, Var, fresh_var, is_ground
from .arithmetic import evaluate
from .builtins import BUILTINS
from .database import AD, ClauseDB, ClauseDef, Predicate
from .ground_program import (
    CHOICE,
    COIN,
    DERIVED,
    ADGroup,
    GroundProgram,
    NeuralSource,
    Node,
)
from .libraries import library_of
from .libraries.native import NATIVE
from .meta_calls import MetaCalls
from .unify import Subst, rename, resolve, unify, variant_key, walk

__all__ = ["Limits", "Grounder"]

Lits = tuple[int, ...]
Solution = tuple[Subst, Lits]
# the probability of the one query of a ground program (subquery/2..5; given by the inference layer)
Evaluate = Callable[[GroundProgram], float]

NEW, ACTIVE, INCOMPLETE, COMPLETE = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that stop runaway grounding with a clear error instead of a hang.

    ``max_depth``: nested calls of tabled predicates; ``max_term_depth``: nesting
    of answer terms (catches ``nat(s(X)) :- nat(X)``); ``max_nodes``: ground
    atoms and choices; ``timeout``: seconds for the whole grounding;
    ``max_findall_uncertain``: probabilistic solutions of one findall (it
    enumerates their subsets).
    """

    max_depth: int = 5000
    max_term_depth: int = 200
    max_nodes: int = 2_000_000
    timeout: float | None = None
    max_findall_uncertain: int = 16


class Table:
    __slots__ = ("key", "goal", "pred", "answers", "terms", "neg", "status", "index", "low", "epoch")

    def __init__(self, key: Term, pred: Predicate) -> None:
        self.key = key
        self.goal = key
        self.pred = pred
        self.answers: dict[Term, int] = {}
        self.terms: dict[Term, Term] = {}
        self.neg: dict[Term, set[Lits]] = {}
        self.status = NEW
        self.index = -1
        self.low = -1
        self.epoch = -1


def _term_depth(t: Term) -> int:
    """Nesting depth, not counting list spines (long lists are fine, deep terms are suspicious)."""
    best = 0
    stack = [(t, 1)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, Struct) and x.args:
            if d > best:
                best = d
            if x.functor == "." and len(x.args) == 2:
                stack.append((x.args[0], d + 1))
                stack.append((x.args[1], d))
            else:
                stack.extend((a, d + 1) for a in x.args)
    return best


def _sig(t: Term) -> str:
    if isinstance(t, Struct):
        return f"{t.functor}/{len(t.args)}"
    return str(t)


class Grounder(MetaCalls):
    def __init__(self, db: ClauseDB, limits: Limits | None = None, evaluate: Evaluate | None = None) -> None:
        self.db = db
        self.limits = limits or Limits()
        self.evaluate = evaluate  # subquery/2..5: the probability of a ground program's one query
        self.nodes: list[Node] = [Node(DERIVED)]
        self.node_index: dict[object, int] = {}
        self.groups: list[ADGroup] = []
        self.group_index: dict[object, int] = {}
        self.tables: dict[Term, Table] = {}
        self.stack: list[Table] = []
        self.pending: list[Table] = []
        self.epoch = 0
        self.changes = 0
        self.barrier = 0
        self.steps = 0
        self.start = time.monotonic()
        self.span: SourceSpan | None = None
        self.try_depth = 0  # inside try_call/N: unknown predicates fail

    # ------------------------------------------------------------ nodes

    def _new_node(self, node: Node) -> int:
        if len(self.nodes) > self.limits.max_nodes:
            raise GroundingLimitError(
                f"grounding created more than {self.limits.max_nodes} ground atoms and choices",
                hint="the program may have unbounded recursion; raise Limits.max_nodes if it is just large",
            )
        self.nodes.append(node)
        return len(self.nodes) - 1

    def coin(self, key: object, prob: float, label: Term, neural: NeuralSource | None = None) -> int:
        nid = self.node_index.get(key)
        if nid is None:
            nid = self.node_index[key] = self._new_node(Node(COIN, label, prob=prob, neural=neural))
        return nid

    def choice(
        self,
        gkey: object,
        probs: tuple[float, ...],
        labels: tuple[Term, ...],
        index: int,
        neural: NeuralSource | None = None,
    ) -> int:
        g = self.group_index.get(gkey)
        if g is None:
            g = self.group_index[gkey] = len(self.groups)
            self.groups.append(ADGroup(probs, labels, neural=neural))
        key = ("choice", g, index)
        nid = self.node_index.get(key)
        if nid is None:
            nid = self.node_index[key] = self._new_node(Node(CHOICE, labels[index], group=g, index=index))
            self.groups[g].choices.append(nid)
        return nid

    def aux(self, bodies: list[Lits], label: Term | None = None) -> int | None:
        """A derived node true iff one of ``bodies`` holds; None if certainly true."""
        norm = []
        for b in bodies:
            nb = self.normalize(b)
            if nb is None:
                continue
            if not nb:
                return None
            norm.append(nb)
        if not norm:
            return 0
        if len(norm) == 1 and len(norm[0]) == 1:
            return norm[0][0]
        key = ("aux", frozenset(norm))
        nid = self.node_index.get(key)
        if nid is None:
            nid = self.node_index[key] = self._new_node(Node(DERIVED, label, bodies=set(norm)))
        return nid

    def normalize(self, lits: Lits) -> Lits | None:
        """Drop literals of certain atoms; None if the body is contradictory or false."""
        if not lits:
            return lits
        out: set[int] = set()
        nodes = self.nodes
        for lit in lits:
            if lit == 0:
                return None
            n = nodes[abs(lit)]
            if n.certain:
                if lit > 0:
                    continue
                return None
            if -lit in out:
                return None
            out.add(lit)
        return tuple(sorted(out))

    # ------------------------------------------------------------ bookkeeping

    def _tick(self) -> None:
        self.steps += 1
        if self.steps & 1023 == 0 and self.limits.timeout is not None:
            if time.monotonic() - self.start > self.limits.timeout:
                raise GroundingLimitError(
                    f"grounding did not finish within {self.limits.timeout:g} s"
                    + (f" (busy with {_sig(self.stack[-1].goal)})" if self.stack else ""),
                    hint="the program may have unbounded recursion; raise the timeout if it is just large",
                )

    def _neural_source(self, c: ClauseDef, s: Subst, mapping: dict[Var, Var]) -> NeuralSource:
        """The network (with its ground inputs) or parameter behind a neural clause's probability."""
        ns = c.neural
        assert ns is not None
        if ns.kind == "t":
            return NeuralSource("t", ns.name, (), ns.predicate, c.span)
        inputs = tuple(resolve(rename(x, mapping), s) for x in ns.inputs)
        for x in inputs:
            if not is_ground(x):
                raise NonGroundError(
                    f"the input {x} of neural predicate {ns.predicate} (network {ns.name}) is unbound when it is called",
                    c.span,
                    "bind the network's input arguments, e.g. to tensor(...) terms or to a query template's inputs",
                )
        return NeuralSource("nn", ns.name, inputs, ns.predicate, c.span)

    def _clause_coin(self, c: ClauseDef, s: Subst, mapping: dict[Var, Var], key: object, inst: Term, prob: Term) -> int:
        """The coin of one ground instance of a probabilistic clause: its number, or its network or parameter."""
        if c.neural is not None:  # the probability is an input of the circuit; 0.5 is a placeholder
            return self.coin(key, 0.5, inst, self._neural_source(c, s, mapping))
        return self.coin(key, self._prob(prob, s, c), inst)

    def _prob(self, t: Term, s: Subst, c: ClauseDef) -> float:
        try:
            p = evaluate(t, s)
        except CallModeError as e:
            raise ProgramError(f"cannot evaluate the probability {resolve(t, s)}: {e.message}", c.span) from None
        if not (0.0 <= p <= 1.0) or p != p:
            raise ProgramError(
                f"probability {p} is outside [0, 1] in a clause for {_sig(c.head)}",
                c.span,
                "probabilities must lie between 0 and 1",
            )
        return float(p)

    # ------------------------------------------------------------ solving

    def solve(self, goal: Term, s: Subst) -> Iterator[Solution]:
        self._tick()
        goal = walk(goal, s)
        if isinstance(goal, Var):
            raise CallModeError("a goal is an unbound variable", hint="bind the goal before calling it")
        if not isinstance(goal, Struct):
            raise CallModeError(f"{goal} is not callable", hint="goals are atoms or compound terms")
        name = goal.functor
        n = len(goal.args)
        args = goal.args
        if n == 2 and name == ",":
            for s1, l1 in self.solve(args[0], s):
                for s2, l2 in self.solve(args[1], s1):
                    yield s2, l1 + l2
            return
        if n == 0:
            if name == "true":
                yield s, ()
                return
            if name in ("fail", "false"):
                return
            if name == "!":
                raise GroundingError("cut (!) is not supported", hint="write the alternatives with negation instead")
        if n == 2 and name == ";":
            c = walk(args[0], s)
            if isinstance(c, Struct) and c.functor == "->" and len(c.args) == 2:
                yield from self._if_then_else(c.args[0], c.args[1], args[1], s)
                return
            if isinstance(c, Struct) and c.functor == "*->" and len(c.args) == 2:
                yield from self._soft_cut(c.args[0], c.args[1], args[1], s)
                return
            yield from self.solve(args[0], s)
            yield from self.solve(args[1], s)
            return
        if n == 2 and name == "->":
            yield from self._if_then_else(args[0], args[1], Struct("fail"), s)
            return
        if n == 1 and name in ("\\+", "not"):
            yield from self._negation(args[0], s)
            return
        if name == "call" and n >= 1:
            g = walk(args[0], s)
            if n > 1:
                if not isinstance(g, Struct):
                    raise CallModeError(f"call/{n}: {resolve(g, s)} is not callable")
                g = Struct(g.functor, g.args + args[1:])
            yield from self.solve(g, s)
            return
        if name == "findall" and n in (3, 4):
            yield from self._findall(args, s, n)
            return
        if name in ("all", "all_or_none") and n == 3:
            yield from self._collect(args[0], args[1], args[2], s, name)
            return
        if name == "try_call" and n >= 1:
            yield from self._try_call(args, s)
            return
        if name == "forall" and n == 2:
            yield from self._negation(Struct(",", (args[0], Struct("\\+", (args[1],)))), s)
            return
        if name == "aggregate_all" and n == 3:
            yield from self._aggregate_all(args, s)
            return
        if name == "once" and n == 1:
            yield from self._if_then_else(args[0], TRUE, Struct("fail"), s)
            return
        if name == "maplist" and 2 <= n <= 5 and "apply" in self.db.libraries and (name, n) not in self.db.predicates:
            yield from self._maplist(args, s)
            return
        if name == "subquery" and n in (2, 3, 4, 5):
            yield from self._subquery(args, s)
            return
        if name in ("clause",) and n in (2, 3):
            yield from self._clause(args, s)
            return
        key = (name, n)
        pred = self.db.predicates.get(key)
        if pred is None:
            fn = BUILTINS.get(key)
            lib = NATIVE.get(key)
            if fn is None and lib is not None and lib[0] in self.db.libraries:
                fn = lib[1]
            if fn is not None:
                for s2 in fn(args, s):
                    yield s2, ()
                return
            if self.db.unknown_fail or self.try_depth:
                return
            raise self._unknown(name, n, lib[0] if lib is not None else library_of(name, n))
        goal_r = resolve(goal, s)
        if pred.only_facts:
            yield from self._call_facts(pred, goal_r, s)
            return
        for ans, lit in self.call_tabled(goal_r, pred):
            a = ans if is_ground(ans) else rename(ans, {})
            s2 = unify(a, goal_r, s)
            if s2 is not None:
                yield s2, ((lit,) if lit is not None else ())

    def _call_facts(self, pred: Predicate, goal: Struct, s: Subst) -> Iterator[Solution]:
        clauses = pred.clauses
        positions: list[int] | range
        if pred.index is not None and goal.args:
            first = goal.args[0]
            if isinstance(first, Var):
                positions = range(len(clauses))
            else:
                k = (
                    Struct(first.functor, (Int(len(first.args)),))
                    if isinstance(first, Struct) and first.args
                    else first
                )
                hit = pred.index.get(k, [])
                positions = sorted(hit + pred.var_first) if pred.var_first else hit
        else:
            positions = range(len(clauses))
        for i in positions:
            c = clauses[i]
            mapping: dict[Var, Var] = {}
            head = c.head if is_ground(c.head) else rename(c.head, mapping)
            s2 = unify(head, goal, s)
            if s2 is None:
                continue
            if c.prob is None:
                yield s2, ()
                continue
            inst = resolve(head, s2)
            if not is_ground(inst):
                raise NonGroundError(
                    f"probabilistic fact {resolve(c.head, {})} is called with unbound arguments ({inst})",
                    c.span,
                    "a non-ground probabilistic fact stands for one coin per ground instance; call it with its arguments bound",
                )
            yield s2, (self._clause_coin(c, s2, mapping, ("c", c.cid, inst), inst, rename(c.prob, mapping)),)

    # ------------------------------------------------------------ tabling

    def call_tabled(self, goal: Struct, pred: Predicate) -> list[tuple[Term, int | None]]:
        key = variant_key(goal)
        t = self.tables.get(key)
        if t is None:
            t = self.tables[key] = Table(key, pred)
            self._evaluate(t)
            if t.status == INCOMPLETE and t.low < self.barrier:
                raise self._cycle_error(t)
        elif t.status == ACTIVE:
            if t.index < self.barrier:
                raise self._cycle_error(t)
            if self.stack:
                top = self.stack[-1]
                if t.index < top.low:
                    top.low = t.index
        elif t.status == INCOMPLETE:
            if t.epoch != self.epoch:
                self._evaluate(t)
            if t.low < self.barrier:
                raise self._cycle_error(t)
            elif self.stack and t.low < self.stack[-1].low:
                self.stack[-1].low = t.low
        nodes = self.nodes
        return [(t.terms[k], None if nodes[nid].certain else nid) for k, nid in list(t.answers.items())]

    def _unknown(self, name: str, n: int, library: str | None) -> UnknownPredicateError:
        if library is not None:
            hint = f"{name}/{n} is in library({library}): add ':- use_module(library({library})).'"
        elif name == "maplist" and 2 <= n <= 5:
            hint = "maplist/2..5 is in library(apply): add ':- use_module(library(apply)).'"
        else:
            similar = sorted(f"{p}/{a}" for (p, a) in self.db.predicates if p == name)
            hint = (
                f"{name} is defined with arity {', '.join(similar)}"
                if similar
                else "define it, or add ':- unknown(fail).' to make unknown predicates fail"
            )
        return UnknownPredicateError(f"unknown predicate {name}/{n}", hint=hint)

    def _try_call(self, args: tuple[Term, ...], s: Subst) -> Iterator[Solution]:
        """try_call/N: call/N in which unknown predicates fail instead of raising (ProbLog's)."""
        g = walk(args[0], s)
        if len(args) > 1:
            if not isinstance(g, Struct):
                raise CallModeError(f"try_call/{len(args)}: {resolve(g, s)} is not callable")
            g = Struct(g.functor, g.args + args[1:])
        self.try_depth += 1
        try:
            sols = list(self.solve(g, s))
        finally:
            self.try_depth -= 1
        yield from sols

    def _cycle_error(self, t: Table) -> NonStratifiedError:
        return NonStratifiedError(
            f"{_sig(t.goal)} depends on itself through negation, findall or an aggregate ({t.goal})",
            hint="the program is not stratified: a goal under \\+ or findall must not call back into the "
            "predicate being defined",
        )

    def _evaluate(self, t: Table) -> None:
        if len(self.stack) >= self.limits.max_depth:
            raise GroundingLimitError(
                f"grounding recursion deeper than {self.limits.max_depth} calls (in {_sig(t.goal)}, goal {t.goal})",
                hint="the program may recurse without bound; add a bound or raise Limits.max_depth",
            )
        t.status = ACTIVE
        t.index = len(self.stack)
        t.low = t.index
        self.stack.append(t)
        pending_start = len(self.pending)
        try:
            while True:
                t.epoch = self.epoch
                before = self.changes
                for c in t.pred.clauses:
                    self._eval_clause(t, c)
                if t.low < t.index or self.changes == before:
                    break
                self.epoch += 1
        finally:
            self.stack.pop()
        if t.low < t.index:
            t.status = INCOMPLETE
            self.pending.append(t)
            if self.stack and t.low < self.stack[-1].low:
                self.stack[-1].low = t.low
        else:
            t.status = COMPLETE
            for u in self.pending[pending_start:]:
                u.status = COMPLETE
            del self.pending[pending_start:]

    def _eval_clause(self, t: Table, c: ClauseDef) -> None:
        mapping: dict[Var, Var] = {}
        head = rename(c.head, mapping)
        s = unify(head, t.goal, {})
        if s is None:
            return
        body = rename(c.body, mapping)
        try:
            for s2, lits in self.solve(body, s):
                inst = resolve(head, s2)
                if c.kind == AD:
                    lit = self._ad_choice(c, s2, mapping, inst)
                    lits = lits + (lit,)
                elif c.prob is not None:
                    if not is_ground(inst):
                        raise NonGroundError(
                            f"probabilistic clause for {_sig(inst)} has a non-ground head {inst} after its body",
                            c.span,
                            "every variable of a probabilistic head must be bound by the body or the call",
                        )
                    ikey = variant_key(Struct("i", tuple(resolve(mapping.get(v, v), s2) for v in c.vars)))
                    coin = self._clause_coin(c, s2, mapping, ("c", c.cid, ikey), inst, rename(c.prob, mapping))
                    lits = lits + (coin,)
                self._record(t, inst, lits, c)
        except PlaitError as e:
            raise e.with_span(c.span) from None

    def _ad_choice(self, c: ClauseDef, s: Subst, mapping: dict[Var, Var], inst: Term) -> int:
        if not is_ground(inst):
            raise NonGroundError(
                f"annotated disjunction head {inst} is non-ground after its body",
                c.span,
                "every variable of a head must be bound by the body or the call",
            )
        probs = tuple(self._prob(rename(p, mapping), s, c) for p, _ in c.ad_heads)
        total = sum(probs)
        if total > 1.0 + 1e-9:
            raise ProgramError(
                f"the probabilities of an annotated disjunction sum to {total:g} > 1",
                c.span,
                "the heads are mutually exclusive; their probabilities must sum to at most 1",
            )
        labels = tuple(resolve(rename(h, mapping), s) for _, h in c.ad_heads)
        ikey = variant_key(Struct("i", tuple(resolve(mapping.get(v, v), s) for v in c.vars)))
        src = self._neural_source(c, s, mapping) if c.neural is not None else None
        return self.choice(("ad", c.cid, ikey), probs, labels, c.ad_index, src)

    def _record(self, t: Table, answer: Term, lits: Lits, c: ClauseDef) -> None:
        self._tick()
        body = self.normalize(lits)
        if body is None:
            return
        if c.negated:
            if not is_ground(answer):
                raise NonGroundError(f"negative head \\+{answer} is non-ground", c.span)
            akey = answer
            bodies = t.neg.setdefault(akey, set())
            if body not in bodies:
                bodies.add(body)
                self.changes += 1
            return
        akey = variant_key(answer)
        nid = t.answers.get(akey)
        if nid is None:
            if _term_depth(answer) > self.limits.max_term_depth:
                raise GroundingLimitError(
                    f"grounding {_sig(answer)} produced a term nested deeper than {self.limits.max_term_depth} "
                    f"levels; the recursion of {_sig(answer)} is probably unbounded",
                    c.span,
                    "bound the recursion (e.g. with a counter), query with bound arguments, or raise Limits.max_term_depth",
                )
            nid = self._new_node(Node(DERIVED, answer))
            t.answers[akey] = nid
            t.terms[akey] = answer
            self.changes += 1
        node = self.nodes[nid]
        if node.certain:
            return
        if body not in node.bodies:
            node.bodies.add(body)
            self.changes += 1
            if not body and not t.pred.has_negated:
                node.certain = True
                node.bodies = {()}

    # ------------------------------------------------------------ control constructs

    def _complete_solutions(self, goal: Term, s: Subst) -> list[Solution]:
        """All solutions of ``goal``, which must not depend on unfinished tables above."""
        old = self.barrier
        self.barrier = len(self.stack)
        try:
            return list(self.solve(goal, s))
        finally:
            self.barrier = old

    def _negation(self, goal: Term, s: Subst) -> Iterator[Solution]:
        sols = self._complete_solutions(goal, s)
        if not sols:
            yield s, ()
            return
        bodies = [lits for _, lits in sols]
        lit = self.aux(bodies, label=resolve(goal, s))
        if lit is None:
            return  # the goal certainly holds
        if lit == 0:
            yield s, ()
            return
        yield s, (-lit,)

    def _if_then_else(self, cond: Term, then: Term, other: Term, s: Subst) -> Iterator[Solution]:
        sols = self._complete_solutions(cond, s)
        if not sols:
            yield from self.solve(other, s)
            return
        s1, lits = sols[0]
        if lits:
            raise GroundingError(
                f"the condition of if-then-else ({resolve(cond, s)}) is probabilistic",
                hint="if-then-else commits to the first solution, which is only defined for deterministic conditions; "
                "write (C, T ; \\+C, E) instead",
            )
        yield from self.solve(then, s1)

    def _soft_cut(self, cond: Term, then: Term, other: Term, s: Subst) -> Iterator[Solution]:
        sols = self._complete_solutions(cond, s)
        if not sols:
            yield from self.solve(other, s)
            return
        for s1, l1 in sols:
            for s2, l2 in self.solve(then, s1):
                yield s2, l1 + l2

    # ------------------------------------------------------------ queries and evidence

    def directive_terms(self, name: str, arity: int) -> list[tuple[tuple[Term, ...], SourceSpan | None]]:
        pred = self.db.predicates.get((name, arity))
        if pred is None:
            return []
        span = pred.clauses[0].span if pred.clauses else None
        goal = Struct(name, tuple(fresh_var() for _ in range(arity)))
        out = []
        seen: set[Term] = set()
        try:
            for s, _lits in self.solve(goal, {}):
                # ProbLog declares a query even if the clause deriving it is probabilistic
                inst = resolve(goal, s)
                k = variant_key(inst)
                if k in seen:
                    continue
                seen.add(k)
                assert isinstance(inst, Struct)
                out.append((inst.args, span))
        except PlaitError as e:
            raise e.with_span(span) from None
        return out

    def ground_goal(self, goal: Term) -> list[tuple[Term, int | None]]:
        """Ground answers of a top-level goal with their literal (None: certain, 0: impossible)."""
        answers: dict[Term, tuple[Term, list[Lits]]] = {}
        for s, lits in self.solve(goal, {}):
            ans = resolve(goal, s)
            k = variant_key(ans)
            if k not in answers:
                answers[k] = (ans, [])
            answers[k][1].append(lits)
        out = []
        for ans, bodies in answers.values():
            lit = self.aux(bodies, label=ans)
            out.append((ans, lit))
        return out
