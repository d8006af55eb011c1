"""Reading the DAG below a set of SDD roots into index arrays, without a Python loop per node.

PySDD hands out nodes one at a time (``node.elements()`` wraps and
reference-counts two Python objects per element), which costs tens of
microseconds per node: minutes for SDDs with millions of nodes. The SDD library
itself can write an SDD to a file in one C call, children before parents; that
text is parsed here with numpy in a few vectorised passes.

A file holds one root. To keep the nodes that several roots share shared, the
roots are first copied (one C call) into a scratch manager whose vtree gets one
fresh *selector* variable per extra root on top, and a chain
``N_i = (x_i and r_i) or (not x_i and N_{i-1})`` ties them into one SDD. Every
``r_i`` is a node of that SDD (SDDs are canonical, so ``N_i`` is a decision node
with exactly those two elements unless the library trims it, which the decoding
below undoes). The chain nodes and selector literals are then dropped.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pysdd.sdd import SddNode

__all__ = ["SddArrays", "read_sdd", "read_sdd_by_file", "read_sdd_by_walk"]

# total SDD size (elements) up to which read_sdd walks the nodes one by one
WALK_BELOW = 200

_SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None

# the token that stands for a line end (no node id or literal is this negative)
_EOL = -(2**62)
_EOL_TEXT = b" %d " % _EOL

# node kinds in the arrays (the file's letters F, T, L, D)
FALSE, TRUE, LITERAL, DECISION = 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class SddArrays:
    """The nodes below some roots.

    ``kind[i]`` is FALSE, TRUE, LITERAL or DECISION; ``literal[i]`` the SDD
    literal of a literal node (1-based variable, negative when negated). Element
    ``e`` of decision node ``elem_node[e]`` is ``(elem_prime[e], elem_sub[e])``;
    elements are grouped by node, and children come before their parents in
    node order. ``roots[j]`` is the node of root ``j``. The last two nodes are
    always a true and a false node (roots that are constants point there).
    """

    kind: np.ndarray
    literal: np.ndarray
    elem_node: np.ndarray
    elem_prime: np.ndarray
    elem_sub: np.ndarray
    roots: np.ndarray


def read_sdd(roots: Sequence[SddNode]) -> SddArrays:
    """The DAG below ``roots`` (shared nodes once) as :class:`SddArrays`.

    >>> from pysdd.sdd import SddManager
    >>> m = SddManager(2)
    >>> a, b = m.literal(1), m.literal(2)
    >>> dag = read_sdd([a & b, a | b])
    >>> len(dag.roots), int((dag.kind == DECISION).sum())
    (2, 2)
    """
    if not roots:
        return _parse(b"", 0, 0)
    # Small SDDs are walked node by node: below a few hundred elements (all the
    # manager holds, an upper bound of the DAG below the roots) that is
    # faster than the file round trip (the tests compare both readers).
    if roots[0].manager.size() <= WALK_BELOW:
        return read_sdd_by_walk(roots)
    return read_sdd_by_file(roots)


def read_sdd_by_walk(roots: Sequence[SddNode]) -> SddArrays:
    """:func:`read_sdd` through PySDD's node-by-node interface (for small SDDs)."""
    index: dict[int, int] = {}
    kind: list[int] = []
    literal: list[int] = []
    elem_node: list[int] = []
    elem_prime: list[int] = []
    elem_sub: list[int] = []
    elements: dict[int, list] = {}
    for root in roots:
        stack = [root]
        while stack:
            node = stack[-1]
            nid = node.id
            if nid in index:
                stack.pop()
                continue
            if node.is_decision():
                es = elements.get(nid)
                if es is None:
                    es = elements[nid] = node.elements()
                    todo = [c for e in es for c in e if c.id not in index]
                    if todo:
                        stack.extend(todo)
                        continue
                stack.pop()
                index[nid] = len(kind)
                kind.append(DECISION)
                literal.append(0)
                for p, q in es:
                    elem_node.append(index[nid])
                    elem_prime.append(index[p.id])
                    elem_sub.append(index[q.id])
                continue
            stack.pop()
            index[nid] = len(kind)
            if node.is_literal():
                kind.append(LITERAL)
                literal.append(node.literal)
            else:
                kind.append(TRUE if node.is_true() else FALSE)
                literal.append(0)
    return SddArrays(
        np.array(kind + [TRUE, FALSE], dtype=np.int8),
        np.array(literal + [0, 0], dtype=np.int64),
        np.array(elem_node, dtype=np.int64),
        np.array(elem_prime, dtype=np.int64),
        np.array(elem_sub, dtype=np.int64),
        np.array([index[r.id] for r in roots], dtype=np.int64),
    )


def read_sdd_by_file(roots: Sequence[SddNode]) -> SddArrays:
    """:func:`read_sdd` through the SDD library's file writer and numpy (for large SDDs)."""
    if not roots:
        return _parse(b"", 0, 0)
    nodes = list(roots)
    n_roots = len(nodes)
    mgr = nodes[0].manager
    n_vars = mgr.var_count()
    # in memory where there is a tmpfs: creating and removing a file on a disk can
    # cost milliseconds (longer than reading a small SDD node by node)
    fd, path = tempfile.mkstemp(prefix="plait-", suffix=".sdd", dir=_SCRATCH)
    os.close(fd)
    minimizing = mgr.is_auto_gc_and_minimize_on()
    if minimizing:  # the vtree must stay as it is while the selectors are in it
        mgr.auto_gc_and_minimize_off()
    try:
        if n_roots == 1:
            nodes[0].save(path.encode())
        else:
            # The selectors go into the caller's manager and are removed again below
            # (copying a large manager instead costs more than writing it out).
            for _ in range(n_roots - 1):
                # a new leaf as left sibling of the vtree's root: each selector sits on top
                mgr.add_var_before_lca(array("q", range(1, mgr.var_count() + 1)))
            chain = nodes[0]
            for i in range(1, n_roots):
                x = mgr.literal(n_vars + i)
                chain = (x & nodes[i]) | (~x & chain)
            mgr.save(path.encode(), chain)
            del chain, x
            # the chain nodes are dead now; collect them so that the selectors are unused
            mgr.garbage_collect()
            for _ in range(n_roots - 1):
                mgr.remove_var_added_last()
        with open(path, "rb") as f:
            text = f.read()
    finally:
        os.unlink(path)
        if minimizing:
            mgr.auto_gc_and_minimize_on()
    return _parse(text, n_roots, n_vars)


def _parse(text: bytes, n_roots: int, n_vars: int) -> SddArrays:
    """Parse the SDD file format (see the library's manual) and undo the selector chain."""
    # the body starts after the "sdd <count>" line; comments ("c ...") come before it
    start = text.find(b"\nsdd ")
    body = text[text.index(b"\n", start + 1) + 1 :] if start >= 0 else b""
    # Node lines start with a letter: map the letters to numbers and the line ends
    # to a marker token, so that numpy reads the whole file in one call.
    body = body.translate(bytes.maketrans(b"FTLD", b"1234")).replace(b"\n", _EOL_TEXT)
    tokens = np.fromstring(body, dtype=np.int64, sep=" ") if body else np.zeros(0, np.int64)
    ends = np.flatnonzero(tokens == _EOL)
    line_start = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64) if len(ends) else np.zeros(0, np.int64)
    n_file = len(line_start)
    kind = tokens[line_start]
    file_id = tokens[line_start + 1]
    # file ids are 0..count-1; node index = line number
    index_of = np.empty(int(file_id.max()) + 1 if n_file else 0, dtype=np.int64)
    index_of[file_id] = np.arange(n_file)
    literal = np.zeros(n_file + 2, dtype=np.int64)
    is_lit = kind == LITERAL
    literal[:n_file][is_lit] = tokens[line_start[is_lit] + 3]
    is_dec = np.flatnonzero(kind == DECISION)
    n_elem = tokens[line_start[is_dec] + 3]
    total = int(n_elem.sum())
    # the element tokens of each decision node, flattened: prime, sub, prime, sub, ...
    first = line_start[is_dec] + 4
    offsets = np.repeat(first - np.concatenate(([0], np.cumsum(2 * n_elem)[:-1])), 2 * n_elem)
    flat = tokens[offsets + np.arange(2 * total)] if total else np.zeros(0, np.int64)
    elem_node = np.repeat(is_dec, n_elem)
    elem_prime = index_of[flat[0::2]]
    elem_sub = index_of[flat[1::2]]
    kinds = np.concatenate((kind, [TRUE, FALSE])).astype(np.int8)
    true_node, false_node = n_file, n_file + 1
    if not n_roots:
        return SddArrays(kinds, literal, elem_node, elem_prime, elem_sub, np.zeros(0, np.int64))

    # undo the chain from the top: N_i = (x_i and r_i) or (not x_i and N_{i-1}), x_i = n_vars + i
    dropped = np.zeros(n_file + 2, dtype=bool)
    roots = [0] * n_roots
    node = n_file - 1  # the file's root is its last line
    if n_roots > 1:
        dec_pos = np.full(n_file, -1, dtype=np.int64)
        dec_pos[is_dec] = np.arange(len(is_dec))
        elem_start = np.concatenate(([0], np.cumsum(n_elem)))
    for i in range(n_roots - 1, 0, -1):
        sel = n_vars + i
        lit = int(literal[node])
        if kinds[node] == LITERAL and abs(lit) == sel:
            dropped[node] = True
            roots[i], node = (true_node, false_node) if lit > 0 else (false_node, true_node)
            continue
        if kinds[node] == DECISION:
            d = dec_pos[node]
            es = range(int(elem_start[d]), int(elem_start[d + 1]))
            primes = [int(literal[elem_prime[e]]) for e in es]
            if sel in primes or -sel in primes:
                dropped[node] = True
                for e in es:
                    p = int(elem_prime[e])
                    dropped[p] = True
                    if literal[p] == sel:
                        roots[i] = int(elem_sub[e])
                    else:
                        nxt = int(elem_sub[e])
                node = nxt
                continue
        roots[i] = node  # trimmed: r_i and N_{i-1} are the same node
    roots[0] = node
    if dropped.any():
        keep = ~dropped[elem_node]
        elem_node, elem_prime, elem_sub = elem_node[keep], elem_prime[keep], elem_sub[keep]
        kinds = kinds.copy()
        kinds[dropped] = 0  # neither leaf nor decision: not part of the circuit
    return SddArrays(kinds, literal, elem_node, elem_prime, elem_sub, np.asarray(roots, dtype=np.int64))
