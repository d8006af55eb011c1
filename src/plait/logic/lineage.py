"""From the ground program to an ordered system of propositional definitions.

The derived atoms the queries and evidence depend on are split into strongly
connected components (Tarjan, iterative) and ordered so every component comes
after the components it uses. A component with a cycle is marked *cyclic*: the
compiler iterates it to a least fixpoint (TP-compilation) instead of using the
Clark completion, which would be wrong on positive cycles. A negative literal
inside a component means negation through recursion: the program is not
stratified and is rejected here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NonStratifiedError
from ..ground.ground_program import DERIVED, GroundProgram
from ..syntax.printing import format_term

__all__ = ["Component", "Lineage", "build_lineage"]


@dataclass(frozen=True, slots=True)
class Component:
    nodes: tuple[int, ...]
    cyclic: bool


@dataclass(frozen=True, slots=True)
class Lineage:
    program: GroundProgram
    components: tuple[Component, ...]  # dependencies first
    roots: tuple[int, ...]  # literals of queries and evidence (0 = false, None filtered)


def _deps(program: GroundProgram, nid: int) -> set[int]:
    n = program.nodes[nid]
    out: set[int] = set()
    for body in n.bodies:
        out.update(body)
    for body in n.neg_bodies:
        out.update(-x for x in body)  # a negative head makes its body a negative dependency
    return out


def build_lineage(program: GroundProgram) -> Lineage:
    nodes = program.nodes
    roots = [q.literal for q in program.queries if q.literal] + [e.literal for e in program.evidence if e.literal]
    # collect reachable derived nodes
    reach: dict[int, list[int]] = {}
    todo = [abs(r) for r in roots]
    while todo:
        nid = todo.pop()
        if nid in reach or nodes[nid].kind != DERIVED:
            continue
        deps = sorted(_deps(program, nid), key=abs)
        reach[nid] = deps
        todo.extend(abs(d) for d in deps)
    # Tarjan's algorithm, iterative
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    comps: list[Component] = []
    counter = 0
    for start in sorted(reach):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            succs = [abs(d) for d in reach[v] if abs(d) in reach]
            recurse = False
            while i < len(succs):
                w = succs[i]
                i += 1
                if w not in index:
                    work.append((v, i))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                members = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    members.append(w)
                    if w == v:
                        break
                member_set = set(members)
                cyclic = len(members) > 1 or any(abs(d) == v for d in reach[v])
                if cyclic:
                    for m in members:
                        for d in reach[m]:
                            if d < 0 and -d in member_set:
                                a = nodes[m].label
                                b = nodes[-d].label
                                raise NonStratifiedError(
                                    "negation through recursion: "
                                    f"{format_term(a) if a is not None else m} depends on the negation of "
                                    f"{format_term(b) if b is not None else -d}, which depends back on it",
                                    hint="the program is not stratified; plait (like ProbLog) needs every negated "
                                    "goal to be fully defined before it is negated",
                                )
                comps.append(Component(tuple(sorted(members)), cyclic))
            if work:
                parent, _ = work[-1]
                low[parent] = min(low[parent], low[v])
    return Lineage(program, tuple(comps), tuple(roots))
