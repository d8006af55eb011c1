"""The ``plait`` command line: ``plait query|check|ground FILE``.

Exit status: 0 on success, 1 for a problem with the user's program (reported as
``FILE:LINE:COL: error: message`` on stderr, never a traceback), 2 for a usage
error (also a FILE that is missing, a directory or unreadable), 141 when the
reader of the output goes away (``plait ground big.pl | head``), as for a
command killed by SIGPIPE. ``-`` as FILE reads the program from standard input.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import PlaitError
from ..ground.engine import Limits
from . import modes

__all__ = ["main"]


# The semirings that answer queries (plait.circuit.semiring and plait.inference.fuzzy register them; listed
# here so that `plait --help` need not import torch; a test checks the two agree).
SEMIRING_CHOICES = ("log", "probability", "auto", "max-log", "max-min", "godel", "product-tnorm", "lukasiewicz")


def _count(text: str) -> int:
    """A limit that counts something: a whole number, at least 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _size(text: str) -> int:
    """A budget that counts something: a whole number above 0."""
    value = _count(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _seconds(text: str) -> float:
    """A time limit: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="plait",
        description="plait: exact probabilistic logic programming (ProbLog dialect) on PyTorch circuits.",
    )
    p.add_argument("--version", action="version", version=f"plait {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True

    defaults = Limits()

    def limits(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("file", metavar="FILE", help="program file (ProbLog syntax); - reads standard input")
        sp.add_argument(
            "--timeout",
            type=_seconds,
            default=None,
            metavar="SECONDS",
            help="stop grounding after this many seconds (default: no limit)",
        )
        sp.add_argument(
            "--max-depth",
            type=_count,
            default=defaults.max_depth,
            metavar="N",
            help=f"maximum nesting of recursive calls while grounding (default {defaults.max_depth})",
        )
        sp.add_argument(
            "--max-term-depth",
            type=_count,
            default=defaults.max_term_depth,
            metavar="N",
            help=f"maximum nesting of ground terms (default {defaults.max_term_depth})",
        )
        sp.add_argument(
            "--max-atoms",
            type=_count,
            default=defaults.max_nodes,
            metavar="N",
            help=f"maximum ground atoms and choices (default {defaults.max_nodes})",
        )

    q = sub.add_parser("query", help="print the probability of every query")
    limits(q)
    q.add_argument("--json", action="store_true", help="print one JSON object {atom: probability}")
    q.add_argument(
        "--max-sdd-size",
        type=_size,
        default=None,
        metavar="N",
        help="budget for the compiled SDDs in elements (default 10 million, about 6 GB); past it a clear "
        "error names the queries instead of memory running out",
    )
    q.add_argument(
        "--semiring",
        choices=SEMIRING_CHOICES,
        default="log",
        help="log or probability (exact probabilities), max-log (the most probable world), max-min "
        "(possibility degrees), godel, product-tnorm or lukasiewicz (fuzzy truth degrees); default log",
    )
    c = sub.add_parser("check", help="parse and ground the program, report problems, do not evaluate")
    limits(c)
    g = sub.add_parser("ground", help="print the relevant ground program")
    limits(g)
    modes.add_parsers(sub, limits)
    return p


def _command(args: argparse.Namespace, program, name: str) -> int:
    """Run a subcommand on a parsed program; print the result."""
    if args.command in modes.COMMANDS:
        return modes.run(args, program)
    if args.command == "check":
        from ..nn.inspect import inspect_neural

        report = inspect_neural(program)
        if report is not None:  # without its networks: what it needs and the templates it offers
            print("\n".join(report.lines(name)))
            return 0
        gp = program.check()
        n_atoms = sum(1 for n in gp.nodes[1:] if n.kind == "derived")
        print(
            f"{name}: ok ({len(gp.queries)} queries, {len(gp.evidence)} evidence, "
            f"{n_atoms} ground atoms, {len(gp.nodes) - 1 - n_atoms} probabilistic choices)"
        )
        return 0
    if args.command == "ground":
        print(program.ground().describe())
        return 0
    budget = {} if args.max_sdd_size is None else {"max_sdd_size": args.max_sdd_size}
    values = {k: float(v) for k, v in program.query(semiring=args.semiring, **budget).items()}
    if args.json:
        print(json.dumps(values))
    else:
        for k, v in values.items():
            print(f"{k}\t{_fmt_prob(v)}")
    return 0


def _fmt_prob(x: float) -> str:
    return repr(float(x))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    if not (sys.argv[1:] if argv is None else argv):
        # no command: list them (the help is generated from the registered subcommands)
        print(parser.format_help(), end="", file=sys.stderr)
        return 2
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code) if isinstance(e.code, int) else 2

    limits = Limits(
        max_depth=args.max_depth, max_term_depth=args.max_term_depth, max_nodes=args.max_atoms, timeout=args.timeout
    )
    source = _read_source(args.file)
    if isinstance(source, str):
        print(f"plait: error: {source}", file=sys.stderr)
        return 2
    if args.timeout is not None:
        return _with_deadline(lambda: _run(args, source, limits), args.timeout, source.name)
    return _run(args, source, limits)


@dataclass(frozen=True, slots=True)
class _Source:
    """The program's bytes, the name errors give it, and the folder its consults are relative to."""

    data: bytes
    name: str
    base_dir: Path


def _read_source(file: str) -> _Source | str:
    """The program named on the command line (``-``: standard input), or why it cannot be read."""
    if file == "-":
        stdin = getattr(sys.stdin, "buffer", None)  # bytes, decoded like a file's (a replaced stdin may be text)
        data = stdin.read() if stdin is not None else sys.stdin.read().encode()
        return _Source(data, "<stdin>", Path.cwd())
    path = Path(file)
    if path.is_dir():
        return f"{file} is a directory, not a program file (hint: name a .pl file in it)"
    if not path.exists():
        return f"no such file: {file}"
    try:
        data = path.read_bytes()
    except OSError as e:
        return f"cannot read {file}: {e.strerror or e} (hint: check the file's permissions)"
    return _Source(data, file, path.resolve().parent)


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
    if pid == 0:  # child: never returns into the parent's code, whatever happens
        code = 1
        try:
            code = work()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except OSError:  # the reader went away: nothing more to say
                pass
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


def _run(args: argparse.Namespace, source: _Source, limits: Limits) -> int:
    from ..program import Program
    from ..syntax.parser import parse_program
    from ..syntax.source import decode_source

    try:
        text = decode_source(source.data, source.name)  # not UTF-8: a located error, as for Program.from_file
        program = Program(parse_program(text, source.name), source.base_dir, limits)
        code = _command(args, program, source.name)
        sys.stdout.flush()  # here, so that a reader that went away is noticed below and not at exit
        return code
    except PlaitError as e:
        print(e.render(source.name), file=sys.stderr)
        return 1
    except RecursionError:
        print(f"{source.name}: error: the program recursed too deeply", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"{source.name}: error: out of memory while processing the program", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("plait: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader stopped early (`plait ground big.pl | head`): not an error of
        # plait. Point stdout at /dev/null so the flush at exit stays quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141
    except Exception as e:  # a bug in plait, not in the user's program
        if os.environ.get("PLAIT_DEBUG"):
            raise
        print(
            f"{source.name}: internal error: {type(e).__name__}: {e} "
            "(this is a bug in plait; set PLAIT_DEBUG=1 for a traceback and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
