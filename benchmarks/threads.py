"""How many torch threads for a small network: digit-addition training speed per thread count.

    python benchmarks/threads.py            # about 2 minutes; rewrites its section in docs/benchmarks.md
    python benchmarks/threads.py --no-docs  # print the table only

Trains ``DigitNet`` through ``examples/addition.pl`` (scikit-learn's 8x8
digits, batches of 32) for one epoch with ``torch.set_num_threads(n)`` for
each n, every run in a fresh process, the thread counts interleaved over the
repeats so that the machine's load hits them alike; reports the median
training examples per second. The load average is recorded: the point is how
the thread count behaves on a machine whose cores are already busy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- threads:start -->", "<!-- threads:end -->"


def one_run(threads: int, n_train: int) -> float:
    """Examples per second of one training epoch (after a warm-up epoch) with ``threads`` torch threads."""
    sys.path.insert(0, str(ROOT / "src"))
    import torch

    torch.set_num_threads(threads)
    import plait
    from plait.nn.data import addition_split, load_digits
    from plait.nn.networks import DigitNet
    from plait.nn.train import Gather, QueryData

    split = load_digits(seed=0)
    train_ex, _ = addition_split(split, n_digits=1, n_train=n_train, seed=0)
    torch.manual_seed(0)
    model = plait.Model.from_file(ROOT / "examples" / "addition.pl", {"digit_net": DigitNet(image_size=8)})
    data = QueryData(
        {"A": Gather(split.train_images, train_ex.a[:, 0]), "B": Gather(split.train_images, train_ex.b[:, 0])},
        train_ex.sums,
    )
    plait.fit(model, "addition(A, B, Z)", data, epochs=1, progress=False)  # warm-up: compile, allocate
    start = time.perf_counter()
    plait.fit(model, "addition(A, B, Z)", data, epochs=1, progress=False)
    return len(data) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=None, help="default: 1, 2, cores, 2 x cores")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n-train", type=int, default=2000)
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # a worker process
    args = ap.parse_args(argv)
    if args.one is not None:
        print(json.dumps(one_run(args.one, args.n_train)))
        return
    cores = os.cpu_count() or 1
    counts = args.threads or sorted({1, 2, cores, 2 * cores})
    load_start = os.getloadavg()
    began = time.time()
    speeds: dict[int, list[float]] = {n: [] for n in counts}
    for _ in range(args.repeat):
        for n in counts:
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(n), "--n-train", str(args.n_train)],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "OMP_NUM_THREADS": str(n)},
            )
            speeds[n].append(json.loads(out.stdout.strip().splitlines()[-1]))
    load_end = os.getloadavg()
    import torch

    best = max(statistics.median(v) for v in speeds.values())
    lines = [
        START,
        "## Torch threads for small networks",
        "",
        f"Regenerate: `python benchmarks/threads.py` (took {time.time() - began:.0f} s). Machine: "
        f"{platform.machine()}, {cores} cores; torch {torch.__version__}; {time.strftime('%Y-%m-%d')}. "
        f"Load average (1 min) {load_start[0]:.2f} at start, {load_end[0]:.2f} at end.",
        "",
        f"One training epoch of digit addition (`examples/addition.pl`, `DigitNet` on 8x8 digits, "
        f"{args.n_train} examples in batches of 32) after a warm-up epoch, each run in a fresh process with "
        f"`torch.set_num_threads(n)` and `OMP_NUM_THREADS=n`; median of {args.repeat} runs, thread counts interleaved.",
        "",
        "| torch threads | examples / s (median) | runs | relative to the best |",
        "|---|---|---|---|",
    ]
    for n in counts:
        med = statistics.median(speeds[n])
        runs = ", ".join(f"{v:.0f}" for v in speeds[n])
        lines.append(f"| {n} | {med:.0f} | {runs} | {med / best:.2f} |")
    lines.append(END)
    section = "\n".join(lines)
    print(section)
    if not args.no_docs:
        text = DOCS.read_text()
        if START in text and END in text:
            text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
        else:
            text = text.rstrip() + "\n\n" + section + "\n"
        DOCS.write_text(text)


if __name__ == "__main__":
    main()
