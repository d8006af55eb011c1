#!/usr/bin/env python
"""Approximate inference against exact inference on the benchmark grids (issue 8, item 3).

For the acyclic and the cyclic n x n reachability grids of ``benchmarks/inference.py``
(seeded random edge probabilities in [0.1, 0.9], seed 0), and for every n where exact
inference finishes quickly, this measures:

- top-k (``method="topk"``): the error ``exact - lower bound`` for several k, and the time;
- sampling (``method="sample"``, 10,000 worlds, seed 0): the error, the half-width of the
  95% Wilson interval, whether exact lies inside it, and the time.

The table replaces the section between the ``approx-benchmark`` markers of
``docs/benchmarks.md`` (appended when absent). Usage, from the repository root::

    .venv/bin/python benchmarks/approx.py            # writes docs/benchmarks.md
    .venv/bin/python benchmarks/approx.py --print    # prints the table only
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import plait
from plait.errors import PlaitError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doc_section import replace_section  # noqa: E402
from inference import gen_grid  # noqa: E402  (the same programs as the exact benchmark)

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- approx-benchmark:begin -->", "<!-- approx-benchmark:end -->"
KS = (1, 10, 100)


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def row(n: int, cyclic: bool) -> str:
    prog = plait.Program.from_string(gen_grid(n, 0, cyclic))
    (exact,), t_exact = _timed(lambda: [float(v) for v in prog.query().values()])
    cells = [str(n), f"{exact:.6f}", f"{t_exact:.3f}"]
    for k in KS:
        try:
            (e,), t = _timed(lambda k=k: list(prog.estimate(method="topk", k=k).values()))
            cells.append(f"{exact - e.low:.1e} / {t:.2f}")
        except PlaitError as err:
            cells.append(type(err).__name__)
    (s,), t = _timed(lambda: list(prog.estimate(method="sample", samples=10_000, seed=0).values()))
    inside = "yes" if s.low <= exact <= s.high else "**no**"
    cells += [f"{s.value - exact:+.4f}", f"{(s.high - s.low) / 2:.4f}", inside, f"{t:.2f}"]
    return "| " + " | ".join(cells) + " |"


def report() -> str:
    head = (
        "| n | exact P | exact s | "
        + " | ".join(f"top-{k}: error / s" for k in KS)
        + " | sample error | 95% half-width | exact inside | sample s |"
    )
    rule = "|" + "---|" * (3 + len(KS) + 4)
    parts = [
        BEGIN,
        "## Approximate inference on the grids (`benchmarks/approx.py`)",
        "",
        "Top-k error is exact minus the lower bound (0: k covers every proof); sampling draws 10,000 worlds "
        "(seed 0). Times include grounding, not parsing.",
    ]
    for cyclic, sizes in ((False, range(3, 8)), (True, range(3, 6))):
        parts += ["", f"### {'Cyclic' if cyclic else 'Acyclic'} grid", "", head, rule]
        parts += [row(n, cyclic) for n in sizes]
    return "\n".join(parts + [END]) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--print", action="store_true", help="print the table instead of writing docs/benchmarks.md")
    args = ap.parse_args()
    text = report()
    if args.print:
        print(text)
        return
    replace_section(ROOT / "docs" / "benchmarks.md", BEGIN, END, text.rstrip("\n"))


if __name__ == "__main__":
    main()
