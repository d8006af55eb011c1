"""Two processes against one: digit-addition training with torch.distributed (gloo) on this machine's CPU cores.

    python benchmarks/distributed.py            # a few minutes; rewrites its section in docs/benchmarks.md
    python benchmarks/distributed.py --no-docs  # print the table only

Trains ``DigitNet`` through ``examples/addition.pl`` (scikit-learn's 8x8 digits,
single-digit sums) with the same seed and the same *global* batch on 1 process
and on 2 processes started by ``torchrun`` (``DistributedDataParallel``, gloo,
1 torch thread each), every run in fresh processes, the two set-ups interleaved
over the repeats so that the machine's load hits them alike. Reports the
median training time per epoch (the first epoch, with its warm-up, left out),
examples per second, the final test accuracy and loss, and how far the
2-process weights end from the 1-process weights (they should agree to float
rounding). The load average is recorded: on a shared machine the timings move.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- distributed:start -->", "<!-- distributed:end -->"


def worker(args: argparse.Namespace) -> None:
    """One training run (in a torchrun process or alone); rank 0 writes its metrics and weights to --out."""
    sys.path.insert(0, str(ROOT / "src"))
    import torch

    torch.set_num_threads(1)
    if args.float64:
        torch.set_default_dtype(torch.float64)
    import plait
    from plait.nn.data import addition_split, load_digits
    from plait.nn.networks import DigitNet

    world = int(os.environ.get("WORLD_SIZE", "1"))
    split = load_digits(seed=0)
    train_images, test_images = (x.to(torch.get_default_dtype()) for x in (split.train_images, split.test_images))
    train_ex, test_ex = addition_split(split, n_digits=1, n_train=args.n_train, seed=0)
    torch.manual_seed(0)
    model = plait.Model.from_file(ROOT / "examples" / "addition.pl", {"digit_net": DigitNet(image_size=8)})

    def pairs(images: torch.Tensor, ex) -> plait.QueryData:
        return plait.QueryData({"A": plait.Gather(images, ex.a[:, 0]), "B": plait.Gather(images, ex.b[:, 0])}, ex.sums)

    history = plait.fit(
        model, "addition(A, B, Z)", pairs(train_images, train_ex), test=pairs(test_images, test_ex),
        epochs=args.epochs, batch_size=args.global_batch // world, seed=0, progress=False,
        distributed=plait.DistributedOptions(backend="gloo"),
    )  # fmt: skip
    if torch.distributed.is_initialized():
        rank = torch.distributed.get_rank()
        torch.distributed.destroy_process_group()
        if rank != 0:
            return
    out = Path(args.out)
    plait.save_checkpoint(model, out.with_suffix(".safetensors"))
    out.write_text(json.dumps({"rows": history.rows, "world": world}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(processes: int, global_batch: int, args: argparse.Namespace, out: Path, float64: bool = False) -> dict:
    me = [__file__, "--worker", "--out", str(out), "--global-batch", str(global_batch)]
    me += ["--n-train", str(args.n_train), "--epochs", str(args.epochs)] + (["--float64"] if float64 else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    env.pop("WORLD_SIZE", None)
    if processes == 1:
        cmd = [sys.executable, *me]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", str(processes)]
        cmd += ["--master_addr", "127.0.0.1", "--master_port", str(_free_port()), *me]
    subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
    return json.loads(out.read_text())


def weight_gap(a: Path, b: Path) -> float:
    from safetensors.torch import load_file

    x, y = load_file(a), load_file(b)
    return max(float((x[k] - y[k]).abs().max()) for k in x)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--global-batch", type=int, nargs="+", default=[32, 256])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--n-train", type=int, default=3000)
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--float64", action="store_true", help=argparse.SUPPRESS)  # a worker in float64
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        args.global_batch = args.global_batch[0]
        worker(args)
        return
    cores = os.cpu_count() or 1
    load_start = os.getloadavg()
    began = time.time()
    runs: dict[tuple[int, int], list[dict]] = {}
    gaps: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeat):
            for gb in args.global_batch:
                for procs in (1, 2):
                    out = Path(tmp) / f"r{rep}-b{gb}-p{procs}.json"
                    runs.setdefault((gb, procs), []).append(one_run(procs, gb, args, out))
                    print(f"repeat {rep + 1}, global batch {gb}, {procs} process(es): done", flush=True)
                gaps[gb] = max(
                    gaps.get(gb, 0.0),
                    weight_gap(*(Path(tmp) / f"r{rep}-b{gb}-p{p}.safetensors" for p in (1, 2))),
                )
        # the same pair of runs in float64: is the float32 weight gap rounding, or a difference of the runs?
        gb = args.global_batch[0]
        for procs in (1, 2):
            one_run(procs, gb, args, Path(tmp) / f"f64-p{procs}.json", float64=True)
        gap64 = weight_gap(*(Path(tmp) / f"f64-p{p}.safetensors" for p in (1, 2)))
    load_end = os.getloadavg()
    import torch

    sys.path.insert(0, str(ROOT / "src"))
    from plait.nn.networks import DigitNet

    n_weights = sum(p.numel() for p in DigitNet(image_size=8).parameters())
    lines = [
        START,
        "## Two processes against one (`torch.distributed`, gloo, CPU)",
        "",
        f"Regenerate: `python benchmarks/distributed.py` (took {time.time() - began:.0f} s). Machine: "
        f"{platform.machine()}, {cores} cores, **shared with other jobs** (load average, 1 min: "
        f"{load_start[0]:.2f} at start, {load_end[0]:.2f} at end); torch {torch.__version__}; {time.strftime('%Y-%m-%d')}.",
        "",
        f"Digit addition (`examples/addition.pl`, `DigitNet` on 8x8 digits, {args.n_train} training pairs, "
        f"{args.epochs} epochs, Adam lr 1e-3, seed 0) with one global batch: 1 process takes the whole batch, "
        "2 processes (`torchrun --nproc_per_node=2`, DDP, 1 torch thread each) half each. Time per epoch is "
        f"training only, the median over epochs 2-{args.epochs} of all {args.repeat} runs (fresh processes, the "
        "set-ups interleaved); accuracy and loss are on the test pairs after the last epoch. "
        "Weight gap: the largest difference of any weight between the 1- and 2-process runs.",
        "",
        "| global batch | processes | s / epoch (median) | examples / s | speed-up vs 1 process | test accuracy "
        "| test loss | weight gap (1 vs 2) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for gb in args.global_batch:
        base = None
        for procs in (1, 2):
            rs = runs[(gb, procs)]
            secs = statistics.median(r["epoch_seconds"] for run in rs for r in run["rows"][1:])
            base = base or secs
            last = rs[0]["rows"][-1]
            gap = f"{gaps[gb]:.1e}" if procs == 2 else "—"
            lines.append(
                f"| {gb} | {procs} | {secs:.2f} | {args.n_train / secs:.0f} | {base / secs:.2f}x | "
                f"{last['test_accuracy']:.3f} | {last['test_loss']:.4f} | {gap} |"
            )
    lines += [
        "",
        "Per step, each process runs its half of the batch and then all-reduces the gradients (DigitNet: "
        f"{n_weights:,} numbers) through gloo over the loopback interface; with 2 cores and 2 processes, "
        "every other job on the machine takes a core from one of them, and the other then waits at the "
        "all-reduce. Larger global batches amortise the all-reduce over more work. The accuracy is the "
        "same because the runs are the same: the weight gap is float32 rounding (the 2-process gradient "
        "adds the same numbers in another order), amplified over the steps; the same pair of runs in float64 "
        f"(networks and data; global batch {args.global_batch[0]}, {args.epochs} epochs, "
        f"{args.epochs * -(-args.n_train // args.global_batch[0])} steps) ends {gap64:.1e} apart.",
        END,
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_docs:
        text = DOCS.read_text()
        if START in text:
            head, rest = text.split(START, 1)
            text = head + section + rest.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        DOCS.write_text(text)


if __name__ == "__main__":
    main()
