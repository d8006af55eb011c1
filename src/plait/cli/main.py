"""The ``plait`` command line: ``plait query|check|ground FILE``.

Exit status: 0 on success, 1 for a problem with the user's program (reported as
``FILE:LINE:COL: error: message`` on stderr, never a traceback), 2 for a usage
error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from .. import __version__
from ..errors import PlaitError
from ..ground.engine import Limits
from . import modes

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="plait",
        description="plait: exact probabilistic logic programming (ProbLog dialect) on PyTorch circuits.",
    )
    p.add_argument("--version", action="version", version=f"plait {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    defaults = Limits()

    def limits(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("file", metavar="FILE", help="program file (ProbLog syntax)")
        sp.add_argument(
            "--timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="stop grounding after this many seconds (default: no limit)",
        )
        sp.add_argument(
            "--max-depth",
            type=int,
            default=defaults.max_depth,
            metavar="N",
            help=f"maximum nesting of recursive calls while grounding (default {defaults.max_depth})",
        )
        sp.add_argument(
            "--max-term-depth",
            type=int,
            default=defaults.max_term_depth,
            metavar="N",
            help=f"maximum nesting of ground terms (default {defaults.max_term_depth})",
        )
        sp.add_argument(
            "--max-atoms",
            type=int,
            default=defaults.max_nodes,
            metavar="N",
            help=f"maximum ground atoms and choices (default {defaults.max_nodes})",
        )

    q = sub.add_parser("query", help="print the probability of every query")
    limits(q)
    q.add_argument("--json", action="store_true", help="print one JSON object {atom: probability}")
    c = sub.add_parser("check", help="parse and ground the program, report problems, do not evaluate")
    limits(c)
    g = sub.add_parser("ground", help="print the relevant ground program")
    limits(g)
    modes.add_parsers(sub, limits)
    return p


def _fmt_prob(x: float) -> str:
    return repr(float(x))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code) if isinstance(e.code, int) else 2

    limits = Limits(
        max_depth=args.max_depth, max_term_depth=args.max_term_depth, max_nodes=args.max_atoms, timeout=args.timeout
    )
    path = Path(args.file)
    if not path.is_file():
        print(f"plait: error: no such file: {args.file}", file=sys.stderr)
        return 2
    if args.timeout is not None:
        return _with_deadline(lambda: _run(args, path, limits), args.timeout, args.file)
    return _run(args, path, limits)


def _with_deadline(work, timeout: float, filename: str) -> int:
    """Run ``work`` in a forked child; give up (exit 1) after ``timeout`` seconds.

    Knowledge compilation can sit inside one long C call that holds the GIL, so
    neither a signal handler nor another thread could stop it: a child process
    can be killed.
    """
    if not hasattr(os, "fork"):  # pragma: no cover - non-POSIX: grounding still checks its deadline
        return work()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            code = work()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = time.monotonic() + timeout + 1.0
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            print(
                f"{filename}: error: gave up after the --timeout of {timeout:g} s "
                "(hint: the program may be too large for exact inference; raise --timeout)",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.02)


def _run(args: argparse.Namespace, path: Path, limits: Limits) -> int:
    from ..program import Program

    try:
        program = Program.from_file(path, limits=limits)
        if args.command == "check":
            gp = program.check()
            n_atoms = sum(1 for n in gp.nodes[1:] if n.kind == "derived")
            print(
                f"{args.file}: ok ({len(gp.queries)} queries, {len(gp.evidence)} evidence, "
                f"{n_atoms} ground atoms, {len(gp.nodes) - 1 - n_atoms} probabilistic choices)"
            )
            return 0
        if args.command == "ground":
            print(program.ground().describe())
            return 0
        if args.command in modes.COMMANDS:
            return modes.run(args, program)
        result = program.query()
        values = {k: float(v) for k, v in result.items()}
        if args.json:
            print(json.dumps(values))
        else:
            for k, v in values.items():
                print(f"{k}\t{_fmt_prob(v)}")
        return 0
    except PlaitError as e:
        print(e.render(args.file), file=sys.stderr)
        return 1
    except RecursionError:
        print(f"{args.file}: error: the program recursed too deeply", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"{args.file}: error: out of memory while processing the program", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("plait: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug in plait, not in the user's program
        if os.environ.get("PLAIT_DEBUG"):
            raise
        print(
            f"{args.file}: internal error: {type(e).__name__}: {e} "
            "(this is a bug in plait; set PLAIT_DEBUG=1 for a traceback and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
