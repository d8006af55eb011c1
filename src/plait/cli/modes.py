"""The subcommands for ProbLog's other modes: ``plait mpe|sample|lfi|explain|dt FILE``.

:func:`add_parsers` registers them with the main parser; :func:`run` answers
one. Their output follows ProbLog's for the same mode (see docs/language.md,
"Modes"); errors are reported by ``plait.cli.main`` as for every command.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..program import Program

__all__ = ["COMMANDS", "add_parsers", "run"]

COMMANDS = ("mpe", "sample", "lfi", "explain", "dt")

# what ProbLog prints between two samples
SAMPLE_SEPARATOR = "----------------"


def add_parsers(sub, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the mode subcommands to ``sub``; ``common`` adds FILE and the grounding limits."""
    p = sub.add_parser("mpe", help="the most probable assignment to the choices, given the evidence")
    common(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = sub.add_parser("sample", help="sample possible worlds; print the true queries of each")
    common(p)
    p.add_argument("-N", "-n", dest="n", type=int, default=1, metavar="N", help="number of samples (default 1)")
    p.add_argument("--seed", type=int, default=None, metavar="S", help="random seed (default: a fresh one)")
    p.add_argument("--oneline", action="store_true", help="print each sample on one line")
    p.add_argument("--estimate", action="store_true", help="print the fraction of samples in which each query holds")
    p = sub.add_parser("lfi", help="learn the t(...) probabilities from partial interpretations (EM)")
    common(p)
    p.add_argument("examples", metavar="EXAMPLES", nargs="+", help="evidence files; examples separated by ---")
    p.add_argument("-n", dest="max_iter", type=int, default=10000, metavar="N", help="maximum iterations")
    p.add_argument(
        "-d", dest="min_improv", type=float, default=1e-10, metavar="D", help="minimum improvement (default 1e-10)"
    )
    p.add_argument("--seed", type=int, default=None, metavar="S", help="random seed for t(_) initial values")
    p.add_argument("-O", "--output-model", default=None, metavar="FILE", help="also write the learned program here")
    p = sub.add_parser("explain", help="the mutually exclusive proofs of each query, the most probable first")
    common(p)
    p = sub.add_parser("dt", help="DTProbLog: the decisions (?::a) that maximise the expected utility")
    common(p)


def run(args: argparse.Namespace, program: Program) -> int:
    """Answer the mode ``args.command`` for ``program``; the exit status."""
    # imported here, as Program in main: `plait --help` need not load torch
    from ..modes.dt import dt
    from ..modes.explain import proofs
    from ..modes.mpe import mpe

    if args.command == "mpe":
        world = mpe(program)
        if args.json:
            print(
                json.dumps(
                    {
                        "probability": world.probability,
                        "choices": {c.atom: c.value for c in world.choices},
                        "queries": dict(world.queries),
                    }
                )
            )
        else:
            print(world.text)
    elif args.command == "sample":
        return _sample(args, program)
    elif args.command == "lfi":
        return _lfi(args, program)
    elif args.command == "explain":
        for qp in proofs(program):
            print(qp.text)
            print(f"% P({qp.query}) = {qp.probability!r}")
    else:
        print(dt(program).text)
    return 0


def _sample(args: argparse.Namespace, program: Program) -> int:
    from ..modes.sample import sample

    if args.n < 1:
        print(f"plait sample: error: -N must be at least 1, not {args.n}", file=sys.stderr)
        return 2
    worlds = sample(program, args.n, args.seed)
    if args.estimate:
        print(f"% Probability estimate after {len(worlds)} samples:")
        for q in worlds[0] if worlds else {}:
            print(f"{q}\t{sum(w[q] for w in worlds) / len(worlds)!r}")
        return 0
    for i, w in enumerate(worlds):
        lines = [f"{q}." for q, v in w.items() if v]
        if args.oneline:
            print(" ".join(lines))
            continue
        if i:
            print(SAMPLE_SEPARATOR)
        print("\n".join(lines))
    return 0


def _lfi(args: argparse.Namespace, program: Program) -> int:
    from ..modes.lfi import lfi, read_examples

    for f in args.examples:
        if not Path(f).is_file():
            print(f"plait: error: no such file: {f}", file=sys.stderr)
            return 2
    examples = [ex for f in args.examples for ex in read_examples(f)]
    learned = lfi(program, examples, args.max_iter, args.min_improv, args.seed)
    for i, ll in enumerate(learned.log_likelihoods, 1):
        print(f"% iteration {i}: log-likelihood {ll!r}")
    print(learned.program)
    if args.output_model:
        Path(args.output_model).write_text(learned.program + "\n")
    return 0
