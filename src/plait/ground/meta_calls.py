"""The meta-calls of the grounder: findall/bagof/setof, aggregate_all, maplist, clause and subquery.

They call back into the grounder (``solve``, complete solutions, auxiliary
atoms), so they are a mixin of :class:`plait.ground.engine.Grounder`, kept apart
because each is a self-contained reading of one ProbLog builtin, and the engine
proper (tabling, negation, fixpoints) is long enough on its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from ..errors import CallModeError, GroundingError, GroundingLimitError, NonGroundError
from ..syntax.terms import NIL, TRUE, Float, Int, Struct, Term, Var, fresh_var, is_ground, list_items, mk_list
from .arithmetic import evaluate
from .builtins import sort_unique
from .database import AD
from .ground_program import DERIVED, GroundEvidence, GroundProgram, GroundQuery
from .unify import Subst, rename, resolve, unify, walk

Lits = tuple[int, ...]
Solution = tuple[Subst, Lits]


class MetaCalls:
    """Builtins that call goals and collect their solutions (a mixin of the grounder)."""

    def _subsets(self, template: Term, goal: Term, s: Subst) -> Iterator[tuple[list[Term], Lits]]:
        """Each possible outcome of collecting ``template`` over ``goal``: items and condition."""
        sols = self._complete_solutions(goal, s)
        items: list[tuple[Term, int | None]] = []
        for s2, lits in sols:
            inst = resolve(template, s2)
            if not is_ground(inst):
                inst = rename(inst, {})
            lit = self.aux([tuple(self._alias(x) for x in lits)]) if lits else None
            if lit == 0:
                continue
            if lit is not None:
                lit = self._alias(lit)
            items.append((inst, lit))
        uncertain = sorted({lit for _, lit in items if lit is not None}, key=abs)
        if len(uncertain) > self.limits.max_findall_uncertain:
            raise GroundingLimitError(
                f"findall over {resolve(goal, s)} has {len(uncertain)} probabilistic solutions; plait enumerates "
                f"their 2^{len(uncertain)} outcomes and stops above {self.limits.max_findall_uncertain}",
                hint="aggregate over fewer uncertain solutions, or raise Limits.max_findall_uncertain",
            )
        for mask in itertools.product((True, False), repeat=len(uncertain)):
            chosen = dict(zip(uncertain, mask))
            out = [inst for inst, lit in items if lit is None or chosen[lit]]
            cond = tuple(lit if on else -lit for lit, on in chosen.items())
            body = self.normalize(cond)
            if body is None:
                continue
            yield out, body

    def _alias(self, lit: int) -> int:
        """Follow atoms defined by exactly one single-literal body (complete tables only)."""
        seen = 0
        while seen < 1000:
            n = self.nodes[abs(lit)]
            if n.kind != DERIVED or n.neg_bodies or len(n.bodies) != 1:
                return lit
            (body,) = n.bodies
            if len(body) != 1:
                return lit
            lit = body[0] if lit > 0 else -body[0]
            seen += 1
        return lit

    def _findall(self, args: tuple[Term, ...], s: Subst, n: int) -> Iterator[Solution]:
        result = walk(args[2], s)
        items, tail = list_items(resolve(result, s))
        if not isinstance(tail, Var) and tail != NIL:
            raise CallModeError(f"findall/3: argument 3 must be a list or unbound, got {resolve(result, s)}")
        for out, body in self._subsets(args[0], args[1], s):
            lst = mk_list(out, args[3] if n == 4 else NIL)
            s2 = unify(result, lst, s)
            if s2 is not None:
                yield s2, body

    def _collect(self, template: Term, goal: Term, result: Term, s: Subst, how: str) -> Iterator[Solution]:
        for out, body in self._subsets(template, goal, s):
            if how in ("all", "all_or_none"):
                out = sort_unique(out)
                if not out and how == "all":
                    continue
            s2 = unify(result, mk_list(out), s)
            if s2 is not None:
                yield s2, body

    def _aggregate_all(self, args: tuple[Term, ...], s: Subst) -> Iterator[Solution]:
        spec = walk(args[0], s)
        if isinstance(spec, Struct) and spec.functor == "count" and not spec.args:
            kind, template = "count", TRUE
        elif (
            isinstance(spec, Struct)
            and len(spec.args) == 1
            and spec.functor in ("count", "sum", "max", "min", "bag", "set")
        ):
            kind, template = spec.functor, spec.args[0]
        else:
            raise CallModeError(
                f"aggregate_all/3: unsupported aggregate {resolve(spec, s)}",
                hint="use count, count(T), sum(E), max(E), min(E), bag(T) or set(T)",
            )
        for out, body in self._subsets(template, args[1], s):
            if kind == "count":
                value: Term | None = Int(len(out))
            elif kind == "bag":
                value = mk_list(out)
            elif kind == "set":
                value = mk_list(sort_unique(out))
            else:
                nums = [evaluate(x, {}) for x in out]
                if kind == "sum":
                    total = sum(nums)
                    value = Int(total) if isinstance(total, int) else Float(total)
                elif not nums:
                    value = None
                else:
                    v = max(nums) if kind == "max" else min(nums)
                    value = Int(v) if isinstance(v, int) else Float(v)
            if value is None:
                continue
            s2 = unify(args[2], value, s)
            if s2 is not None:
                yield s2, body

    def _maplist(self, args: tuple[Term, ...], s: Subst) -> Iterator[Solution]:
        goal = args[0]
        lists = [list_items(resolve(a, s)) for a in args[1:]]
        lengths = {len(items) for items, tail in lists if tail == NIL}
        if not lengths:
            raise CallModeError("maplist: at least one list must be a proper list")
        if len(lengths) > 1:
            return
        n = lengths.pop()
        s0 = s
        for (_items, tail), a in zip(lists, args[1:]):
            if tail != NIL:
                s0 = unify(a, mk_list([fresh_var() for _ in range(n)]), s0)
                if s0 is None:
                    return
        cols = [list_items(resolve(a, s0))[0] for a in args[1:]]

        def step(i: int, s1: Subst) -> Iterator[Solution]:
            if i == n:
                yield s1, ()
                return
            g = walk(goal, s1)
            if not isinstance(g, Struct):
                raise CallModeError(f"maplist: {resolve(g, s1)} is not callable")
            call = Struct(g.functor, g.args + tuple(col[i] for col in cols))
            for s2, l1 in self.solve(call, s1):
                for s3, l2 in step(i + 1, s2):
                    yield s3, l1 + l2

        yield from step(0, s0)

    def _clause(self, args: tuple[Term, ...], s: Subst) -> Iterator[Solution]:
        head = walk(args[0], s)
        if isinstance(head, Struct):
            pred = self.db.predicates.get((head.functor, len(head.args)))
            preds = [pred] if pred is not None else []
        elif isinstance(head, Var):
            preds = [
                p for k, p in self.db.predicates.items() if k not in (("query", 1), ("evidence", 1), ("evidence", 2))
            ]
        else:
            raise CallModeError(f"clause/{len(args)}: the head must be a callable term, got {head}")
        for c in (c for p in preds for c in p.clauses):
            if c.kind == AD or c.negated:
                continue
            mapping: dict[Var, Var] = {}
            s2 = unify(head, rename(c.head, mapping), s)
            if s2 is None:
                continue
            s3 = unify(args[1], rename(c.body, mapping), s2)
            if s3 is None:
                continue
            if len(args) == 3:
                p = Float(1.0) if c.prob is None else Float(evaluate(rename(c.prob, mapping), s3))
                s3 = unify(args[2], p, s3)
                if s3 is None:
                    continue
            yield s3, ()

    def _subquery(self, args: tuple[Term, ...], s: Subst) -> Iterator[Solution]:
        """subquery(Goal, P [, Evidence, Semiring, Evaluator]): P is the probability of ground Goal."""
        if self.evaluate is None:
            raise GroundingError(
                f"subquery/{len(args)} needs inference, and this grounding was started without it",
                hint="ground through plait.Program (or pass evaluate= to ground_program)",
            )
        goal = resolve(args[0], s)
        if not is_ground(goal):
            raise NonGroundError(f"subquery/{len(args)}: the goal {goal} must be ground")
        evidence: list[tuple[Term, bool]] = []
        if len(args) >= 3:
            for e in list_items(resolve(args[2], s))[0]:
                if isinstance(e, Struct) and e.functor in ("\\+", "not") and len(e.args) == 1:
                    evidence.append((e.args[0], False))
                else:
                    evidence.append((e, True))
        sub = type(self)(self.db, self.limits, self.evaluate)
        answers = sub.ground_goal(goal)
        lit = answers[0][1] if answers else 0
        ev = []
        for e, value in evidence:
            ans = sub.ground_goal(e)
            ev.append(GroundEvidence(e, ans[0][1] if ans else 0, value))
        prog = GroundProgram(sub.nodes, sub.groups, [GroundQuery(goal, lit)], ev)
        p = self.evaluate(prog)
        yield from ((s2, ()) for s2 in [unify(args[1], Float(p), s)] if s2 is not None)
