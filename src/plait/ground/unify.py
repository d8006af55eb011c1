"""Substitutions and unification.

A substitution is a plain ``dict`` from :class:`Var` to term (triangular: a
binding may mention other bound variables). ``unify`` never mutates its input;
it copies the dict once, on the first new binding, so failed branches cost
nothing and solutions can be shared freely between generators.
"""

from __future__ import annotations

from ..syntax.terms import Struct, Term, Var, fresh_var, is_ground

Subst = dict

__all__ = ["walk", "resolve", "unify", "rename", "variant_key", "Subst"]


def walk(t: Term, s: Subst) -> Term:
    while isinstance(t, Var):
        b = s.get(t)
        if b is None:
            return t
        t = b
    return t


def resolve(t: Term, s: Subst) -> Term:
    """Apply ``s`` to ``t`` completely."""
    t = walk(t, s)
    if isinstance(t, Struct) and not t._ground:
        return Struct(t.functor, tuple([resolve(a, s) for a in t.args]))
    return t


def _occurs(v: Var, t: Term, s: Subst) -> bool:
    t = walk(t, s)
    if t == v:
        return True
    if isinstance(t, Struct) and not t._ground:
        return any(_occurs(v, a, s) for a in t.args)
    return False


def unify(a: Term, b: Term, s: Subst) -> Subst | None:
    """Most general unifier of ``a`` and ``b`` extending ``s`` (no occurs check), or None."""
    out = s
    copied = False
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        x = walk(x, out)
        y = walk(y, out)
        if x is y:
            continue
        if isinstance(x, Var):
            if isinstance(y, Var) and x == y:
                continue
            if not copied:
                out = dict(out)
                copied = True
            out[x] = y
            continue
        if isinstance(y, Var):
            if not copied:
                out = dict(out)
                copied = True
            out[y] = x
            continue
        if isinstance(x, Struct):
            if not isinstance(y, Struct) or x.functor != y.functor or len(x.args) != len(y.args):
                return None
            if x._ground and y._ground:
                if x == y:
                    continue
                return None
            stack.extend(zip(x.args, y.args))
            continue
        # numbers and strings: equal type and value
        if type(x) is not type(y) or x != y:
            return None
    return out


def rename(t: Term, mapping: dict[Var, Var]) -> Term:
    """Copy ``t`` with fresh variables (``mapping`` collects the renaming)."""
    if isinstance(t, Var):
        v = mapping.get(t)
        if v is None:
            v = mapping[t] = fresh_var(t.name)
        return v
    if isinstance(t, Struct) and not t._ground:
        return Struct(t.functor, tuple([rename(a, mapping) for a in t.args]))
    return t


def variant_key(t: Term) -> Term:
    """A key equal for two terms iff they are variants (equal up to variable renaming)."""
    if is_ground(t):
        return t
    mapping: dict[Var, Var] = {}

    def go(x: Term) -> Term:
        if isinstance(x, Var):
            v = mapping.get(x)
            if v is None:
                v = mapping[x] = Var("_", -(len(mapping) + 1))
            return v
        if isinstance(x, Struct) and not x._ground:
            return Struct(x.functor, tuple([go(a) for a in x.args]))
        return x

    return go(t)
