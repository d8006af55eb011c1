"""Digit-addition benchmark: plait vs. a pure-neural reference vs. DeepProbLog, same data and network.

    python benchmarks/addition.py                     # full run, rewrites the section in docs/benchmarks.md
    python benchmarks/addition.py --quick             # a few minutes, smaller sets, no docs rewrite
    python benchmarks/addition.py --datasets digits --n 1 2 --deepproblog

For every dataset (scikit-learn's bundled 8x8 digits; Fashion-MNIST from Debian's
``dataset-fashion-mnist`` when installed) and every N (digits per number):

* **plait**: ``DigitNet`` trained through the logic from the sums alone. N = 1
  and 2 use DeepProbLog's own ``addition``/``multi_addition`` program; N >= 4
  use ``examples/multi_digit_addition.pl`` (digit-wise with a carry, linear in N).
* **reference**: the same network, same initial weights, same batches of the
  same images, trained with the digit labels (cross-entropy). Its digit accuracy
  r gives the ideal sum accuracy r^(2N); its epoch time is the speed limit of a
  pure-neural pass over the same images.
* **DeepProbLog 2.1.0** (N = 1, 2, with ``--deepproblog``): run in its own venv
  (``benchmarks/peers/install_deepproblog.sh``) on the very same split and network.

Sum accuracy is measured on test examples built from test images only; the
prediction is the answer with the most probable world (for the carry program,
whose sum is an input, that world is the per-digit argmax). Everything runs with
``torch.set_num_threads`` as given (default 1) for all systems alike.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import plait  # noqa: E402
from plait.nn.data import AdditionExamples, ImageSplit, addition_split, load_digits, load_fashion_mnist  # noqa: E402
from plait.nn.networks import DigitNet  # noqa: E402
from plait.nn.train import Gather, QueryData  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
DOCS = ROOT / "docs" / "benchmarks.md"
DPL_PROGRAM = ROOT.parent / "shared" / "conformance" / "deepproblog" / "MNIST__models__addition.pl"
DPL_PYTHON = OUT / "peers" / "deepproblog-venv" / "bin" / "python"
START, END = "<!-- addition:start -->", "<!-- addition:end -->"
NOTES_START, NOTES_END = "<!-- addition-notes:start -->", "<!-- addition-notes:end -->"


class OneHot(torch.nn.Module):
    """The "network" of ``sum_digit/2``: the observed digit, already one-hot, is its own distribution."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def settings(dataset: str, n: int, quick: bool) -> dict:
    """Examples per epoch, epochs, batch size. Digits reuse images across examples (1,347 train images)."""
    if dataset == "digits":
        n_train = {1: 3000, 2: 3000, 4: 3000, 15: 3000}[n]
        epochs = {1: 5, 2: 6, 4: 15, 15: 20}[n]
        n_test = 1000
    else:
        n_train = None  # every train image once per epoch
        epochs = {1: 2, 2: 3, 4: 4, 15: 8}[n]
        n_test = None
    if quick:
        n_train, n_test, epochs = 600, 200, max(1, epochs // 3)
    return {"n_train": n_train, "n_test": n_test, "epochs": epochs, "batch_size": 32, "lr": 1e-3}


def load(dataset: str, seed: int) -> ImageSplit:
    return load_digits(seed=seed) if dataset == "digits" else load_fashion_mnist()


def _device_of(net: torch.nn.Module) -> torch.device:
    return next(net.parameters()).device


def digit_accuracy(net: torch.nn.Module, split: ImageSplit) -> float:
    net.eval()
    dev = _device_of(net)
    with torch.no_grad():
        correct = 0
        for s in range(0, split.n_test, 2048):
            x = split.test_images[s : s + 2048].to(dev)
            correct += int((net(x).argmax(-1).cpu() == split.test_labels[s : s + 2048]).sum())
    net.train()
    return correct / split.n_test


def digits_to_number(d: torch.Tensor) -> torch.Tensor:
    """[m, N] digits, most significant first -> [m] int64 numbers."""
    out = torch.zeros(d.shape[0], dtype=torch.long)
    for j in range(d.shape[1]):
        out = out * 10 + d[:, j]
    return out


def argmax_sum_accuracy(net: torch.nn.Module, images: torch.Tensor, ex: AdditionExamples) -> float:
    """Sum accuracy when the prediction is the most probable world of independent digits: per-digit argmax."""
    net.eval()
    with torch.no_grad():
        pred = net(images.to(_device_of(net))).argmax(-1).cpu()
    net.train()
    got = digits_to_number(pred[ex.a]) + digits_to_number(pred[ex.b])
    return float((got == ex.sums).float().mean())


def run_plait(
    split: ImageSplit, tr: AdditionExamples, te: AdditionExamples, n: int, cfg: dict, seed: int, device: str = "cpu"
) -> dict:
    """plait's training, one epoch per ``next()`` (a generator, see :func:`interleave`), on ``device``."""
    torch.manual_seed(seed)
    net = DigitNet(image_size=split.image_shape[-1])
    if n <= 2:
        model = plait.Model.from_file(
            DPL_PROGRAM if DPL_PROGRAM.exists() else ROOT / "examples" / "addition.pl",
            {"mnist_net": net} if DPL_PROGRAM.exists() else {"digit_net": net},
            circuit_eval=cfg.get("circuit_eval", "auto"),
        )
        if n == 1:
            query = "addition(A, B, Z)"
            train = QueryData(
                {"A": Gather(split.train_images, tr.a[:, 0]), "B": Gather(split.train_images, tr.b[:, 0])}, tr.sums
            )
            test = QueryData(
                {"A": Gather(split.test_images, te.a[:, 0]), "B": Gather(split.test_images, te.b[:, 0])}, te.sums
            )
        else:
            query = "multi_addition(A, B, Z)"
            train = QueryData(
                {
                    "A": [Gather(split.train_images, tr.a[:, j]) for j in range(n)],
                    "B": [Gather(split.train_images, tr.b[:, j]) for j in range(n)],
                },
                tr.sums,
            )
            test = QueryData(
                {
                    "A": [Gather(split.test_images, te.a[:, j]) for j in range(n)],
                    "B": [Gather(split.test_images, te.b[:, j]) for j in range(n)],
                },
                te.sums,
            )
    else:
        model = plait.Model.from_file(
            ROOT / "examples" / "multi_digit_addition.pl",
            {"digit_net": net, "observed": OneHot()},
            circuit_eval=cfg.get("circuit_eval", "auto"),
        )
        query = "sum_ok(A, B, S)"
        eye = torch.eye(10)
        s_tr = eye[tr.digits_of_sum().flip(1)]  # least significant first, one-hot [m, N+1, 10]
        train = QueryData(
            {
                "A": [Gather(split.train_images, tr.a[:, n - 1 - j]) for j in range(n)],
                "B": [Gather(split.train_images, tr.b[:, n - 1 - j]) for j in range(n)],
                "S": [s_tr[:, j] for j in range(n + 1)],
            },
            None,
        )
        test = None
    model.to(device)
    t0 = time.perf_counter()
    template = model.template(query, train.inputs)
    compile_s = time.perf_counter() - t0
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    rows = []
    for epoch in range(cfg["epochs"]):
        last = epoch == cfg["epochs"] - 1
        # one epoch per call, so that the driver can interleave plait's and the reference's epochs
        h = plait.fit(
            model,
            query,
            train,
            test=test if last else None,
            epochs=1,
            batch_size=cfg["batch_size"],
            optimizer=opt,
            seed=seed + epoch,
            progress=False,
            device=device,
        )
        rows.append(h.last)
        if not last:
            yield
    hist = plait.History(rows)
    if test is not None:
        sum_acc = hist.last["test_accuracy"]
        how = "most probable world over all answers"
    else:
        sum_acc = argmax_sum_accuracy(net, split.test_images, te)
        how = "per-digit argmax (the most probable world)"
    secs = hist["epoch_seconds"]
    return {
        "sum_accuracy": sum_acc,
        "digit_accuracy": digit_accuracy(net, split),
        "seconds_per_epoch": float(np.median(secs)),
        "epoch_seconds": secs,
        "compile_seconds": compile_s,
        "circuit_layers": template.compiled.circuit.n_layers,
        "circuit_edges": template.compiled.circuit.n_edges,
        "answers": len(template.answers),
        "prediction": how,
        "train_loss": hist["train_loss"],
    }


def run_reference(
    split: ImageSplit, tr: AdditionExamples, te: AdditionExamples, n: int, cfg: dict, seed: int, device: str = "cpu"
) -> dict:
    """The same network on the same batches of the same images, with digit labels (on ``device``)."""
    torch.manual_seed(seed)
    net = DigitNet(image_size=split.image_shape[-1]).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    gen = plait.nn.train.seed_everything(seed)
    torch.manual_seed(seed)  # the same init as plait's network was drawn above; reseed for parity of later draws
    idx = torch.cat([tr.a, tr.b], dim=1)  # [m, 2N] image indices per example
    secs = []
    for epoch in range(cfg["epochs"]):
        if epoch:
            yield
        perm = torch.randperm(len(tr), generator=gen)
        t0 = time.perf_counter()
        for s in range(0, len(tr), cfg["batch_size"]):
            rows = perm[s : s + cfg["batch_size"]]
            ids = idx[rows].reshape(-1)
            x, y = split.train_images[ids].to(device), split.train_labels[ids].to(device)
            loss = torch.nn.functional.nll_loss(torch.log(net(x).clamp_min(1e-12)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()  # (plait's loop syncs on every batch's loss already)
        secs.append(time.perf_counter() - t0)
    r = digit_accuracy(net, split)
    return {
        "digit_accuracy": r,
        "ideal_sum_accuracy": r ** (2 * n),
        "argmax_sum_accuracy": argmax_sum_accuracy(net, split.test_images, te),
        "seconds_per_epoch": float(np.median(secs)),
        "epoch_seconds": secs,
    }


def interleave(*runs):
    """Run generator-based trainings one epoch each in turn (so slow phases of a shared machine
    hit all of them alike); return their results."""
    results = [None] * len(runs)
    done = [False] * len(runs)
    while not all(done):
        for i, run in enumerate(runs):
            if done[i]:
                continue
            try:
                next(run)
            except StopIteration as stop:
                results[i], done[i] = stop.value, True
    return results


def _rss_kb(field: str) -> int:
    """A line of /proc/self/status in kB (VmRSS: resident now, VmHWM: peak resident since the last reset)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_probe(system: str, dataset: str, n: int, seed: int) -> dict:
    """Peak memory of one training epoch of ``system`` ("plait" or "reference"), in this (fresh) process.

    Epoch 1 runs first (allocator caches and lazily built state settle); then the kernel's
    peak-RSS counter is reset (``/proc/self/clear_refs``) and epoch 2 runs. ``peak_mb`` is the
    process's peak resident memory during epoch 2 (Python, torch, the data, the model and,
    for plait, its compiled templates included), ``extra_mb`` that peak minus the resident
    memory at the start of the epoch: what training itself allocates on top.
    """
    torch.set_num_threads(1)
    split = load(dataset, seed)
    cfg = {**settings(dataset, n, False), "epochs": 3}
    tr, te = addition_split(split, n, n_train=cfg["n_train"], n_test=cfg["n_test"], seed=seed)
    run = (run_plait if system == "plait" else run_reference)(split, tr, te, n, cfg, seed)
    next(run)  # epoch 1
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident size
    before = _rss_kb("VmRSS")
    next(run)  # epoch 2
    peak = _rss_kb("VmHWM")
    return {"peak_mb": peak / 1024, "extra_mb": (peak - before) / 1024, "start_mb": before / 1024}


def measure_memory(dataset: str, n: int, seed: int) -> dict:
    """:func:`memory_probe` for plait and the reference, each in a fresh subprocess (peaks are per process)."""
    out = {}
    for system in ("reference", "plait"):
        cmd = [sys.executable, __file__, "--memory-probe", system, "--datasets", dataset, "--n", str(n)]
        cmd += ["--seed", str(seed)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            out[system] = {"error": proc.stderr[-500:]}
            continue
        out[system] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def run_deepproblog(
    split: ImageSplit, tr: AdditionExamples, te: AdditionExamples, n: int, cfg: dict, seed: int, budget: float
) -> dict:
    if not DPL_PYTHON.exists():
        return {"error": "not installed: run benchmarks/peers/install_deepproblog.sh"}
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / f"dpl-data-{split.name}-n{n}.npz"
    np.savez(
        data,
        train_images=split.train_images.numpy(), train_labels=split.train_labels.numpy(),
        test_images=split.test_images.numpy(), test_labels=split.test_labels.numpy(),
        train_a=tr.a.numpy(), train_b=tr.b.numpy(), train_sums=tr.sums.numpy(),
        test_a=te.a.numpy(), test_b=te.b.numpy(), test_sums=te.sums.numpy(),
    )  # fmt: skip
    out = OUT / f"dpl-result-{split.name}-n{n}.json"
    init = OUT / f"dpl-init-{split.name}-n{n}.pt"
    torch.manual_seed(seed)  # the very initial weights plait and the reference start from
    torch.save(DigitNet(image_size=split.image_shape[-1]).state_dict(), init)
    cmd = [
        str(DPL_PYTHON), str(ROOT / "benchmarks" / "peers" / "deepproblog_addition.py"),
        "--data", str(data), "--n-digits", str(n), "--epochs", "1", "--batch-size", "2", "--lr", str(cfg["lr"]),
        "--seed", str(seed), "--out", str(out), "--network-file", str(ROOT / "src" / "plait" / "nn" / "networks.py"),
        "--program", str(DPL_PROGRAM), "--max-seconds", str(budget), "--max-eval-seconds", str(budget / 2),
        "--threads", str(torch.get_num_threads()), "--init-weights", str(init),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=budget * 3 + 600)
    if proc.returncode != 0 or not out.exists():
        return {"error": f"exit {proc.returncode}: {proc.stderr[-800:]}"}
    return json.loads(out.read_text())


def fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "—"
    return f"{100 * x:.1f}%" if pct else f"{x:.2f}"


def report(results: list[dict], meta: dict) -> str:
    lines = [
        START,
        "## Digit addition: plait vs. pure-neural reference vs. DeepProbLog",
        "",
        f"Regenerate: `{meta['command']}` (took {meta['total_minutes']:.1f} min). Machine: {meta['machine']}; "
        f"torch {meta['torch']}, {meta['threads']} thread(s) for every system; {meta['date']}.",
        "",
        "Same images, same split (no image in both train and test), same network (`plait.nn.networks.DigitNet`, "
        "same initial weights), same batches (32 examples) and optimizer (Adam, lr 1e-3) for plait and the reference. "
        "plait sees only the sums; the reference sees the digit labels of the same images. "
        "Sum accuracy is on test pairs of test images; `ideal` is r^(2N) from the reference's digit accuracy r. "
        "Time per epoch is the median over epochs, training only (no evaluation); plait's and the reference's "
        "epochs alternate, so that load on the shared machine hits both alike.",
        "",
        "| data | N | examples/epoch | epochs | plait sum acc | ideal r^(2N) | gap (points) | plait digit acc | reference digit acc r | plait s/epoch | reference s/epoch | plait / reference time | DeepProbLog s/epoch (cached circuits / first epoch) | DeepProbLog sum acc | speed-up vs DeepProbLog (cached) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p, ref, dpl = r["plait"], r["reference"], r.get("deepproblog")
        gap = 100 * (p["sum_accuracy"] - ref["ideal_sum_accuracy"])
        ratio = p["seconds_per_epoch"] / ref["seconds_per_epoch"]
        if dpl and "error" not in dpl:
            # like for like: plait compiles before training, so DeepProbLog's epoch
            # without its circuit building (a later epoch, once its circuits are cached)
            later = dpl.get("seconds_per_epoch_excluding_ac_compile") or dpl.get(
                "seconds_per_epoch_extrapolated_excluding_ac_compile"
            )
            first = dpl.get("seconds_per_epoch") or dpl.get("seconds_per_epoch_extrapolated")
            mark = "" if dpl.get("seconds_per_epoch") else " (extrapolated)"
            d_time = f"{later:.0f} / {first:.0f}{mark}" if later and first else "—"
            d_acc = fmt(dpl.get("test_sum_accuracy"), True)
            if dpl.get("stopped_early"):
                d_acc += f" (after {dpl.get('iterations_measured')} of {dpl.get('iterations_per_epoch')} iterations)"
            speed = f"{later / p['seconds_per_epoch']:.0f}x" if later else "—"
        elif dpl:
            d_time, d_acc, speed = "not run", "—", "—"
        else:
            d_time, d_acc, speed = "—", "—", "—"
        lines.append(
            f"| {r['dataset']} | {r['n']} | {r['n_train']} | {r['epochs']} | {fmt(p['sum_accuracy'], True)} | "
            f"{fmt(ref['ideal_sum_accuracy'], True)} | {gap:+.1f} | {fmt(p['digit_accuracy'], True)} | {fmt(ref['digit_accuracy'], True)} | "
            f"{p['seconds_per_epoch']:.2f} | {ref['seconds_per_epoch']:.2f} | {ratio:.2f}x | {d_time} | {d_acc} | {speed} |"
        )
    mem_rows = [r for r in results if r.get("memory")]
    if mem_rows:
        lines += [
            "",
            "### Peak memory per training epoch (CPU)",
            "",
            "Each system trains in a fresh process: one epoch to settle, then the kernel's peak-RSS counter is "
            "reset (`/proc/self/clear_refs`) and a second epoch runs. `peak` is the process's peak resident memory "
            "during that epoch (Python, torch, the images, the network and, for plait, the compiled templates); "
            "`extra` is that peak minus the resident memory when the epoch started, i.e. what the training steps "
            "allocate on top. (tracemalloc does not see torch's allocations, so it is not used.)",
            "",
            "| data | N | reference peak MB | plait peak MB | plait / reference (peak) | reference extra MB | plait extra MB |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in mem_rows:
            m = r["memory"]
            ref, p = m.get("reference", {}), m.get("plait", {})
            if "peak_mb" not in ref or "peak_mb" not in p:
                lines.append(f"| {r['dataset']} | {r['n']} | error | error | — | — | — |")
                continue
            lines.append(
                f"| {r['dataset']} | {r['n']} | {ref['peak_mb']:.0f} | {p['peak_mb']:.0f} | "
                f"{p['peak_mb'] / ref['peak_mb']:.2f}x | {ref['extra_mb']:.1f} | {p['extra_mb']:.1f} |"
            )
    lines += ["", "### Targets (computed from the tables above)", ""]
    lines += ["| target | data | N | measured | met? |", "|---|---|---|---|---|"]
    for r in results:
        p, ref, dpl = r["plait"], r["reference"], r.get("deepproblog")
        if r["n"] in (1, 2, 4):
            gap = 100 * (p["sum_accuracy"] - ref["ideal_sum_accuracy"])
            lines.append(
                f"| sum accuracy within 2 points of r^(2N) | {r['dataset']} | {r['n']} | {gap:+.1f} points | "
                f"{'yes' if gap >= -2 else 'no'} |"
            )
            ratio = p["seconds_per_epoch"] / ref["seconds_per_epoch"]
            lines.append(
                f"| epoch time <= 1.2x the reference | {r['dataset']} | {r['n']} | {ratio:.2f}x | "
                f"{'yes' if ratio <= 1.2 else 'no'} |"
            )
            m = r.get("memory") or {}
            if "peak_mb" in m.get("plait", {}) and "peak_mb" in m.get("reference", {}):
                mr = m["plait"]["peak_mb"] / m["reference"]["peak_mb"]
                lines.append(
                    f"| peak training memory <= 1.5x the reference | {r['dataset']} | {r['n']} | {mr:.2f}x | "
                    f"{'yes' if mr <= 1.5 else 'no'} |"
                )
        if dpl and "error" not in dpl and r["n"] in (1, 2):
            later = dpl.get("seconds_per_epoch_excluding_ac_compile") or dpl.get(
                "seconds_per_epoch_extrapolated_excluding_ac_compile"
            )
            if later:
                need = 20 if r["n"] == 1 else 100
                speed = later / p["seconds_per_epoch"]
                lines.append(
                    f"| >= {need}x faster per epoch than DeepProbLog | {r['dataset']} | {r['n']} | {speed:.0f}x | "
                    f"{'yes' if speed >= need else 'no'} |"
                )
        if r["n"] == 15:
            lines.append(
                f"| N = 15 trains (exact inference) | {r['dataset']} | 15 | sum accuracy "
                f"{fmt(p['sum_accuracy'], True)}, ideal {fmt(ref['ideal_sum_accuracy'], True)} | reported |"
            )
    lines += ["", "Circuits (compiled once per template, before training):", ""]
    for r in results:
        p = r["plait"]
        lines.append(
            f"- {r['dataset']} N={r['n']}: {p['answers']} answer(s), {p['circuit_layers']} layers, {p['circuit_edges']} edges, "
            f"compiled in {p['compile_seconds']:.2f} s; prediction: {p['prediction']}."
        )
    dpl_notes = [
        f"- N={r['n']} ({r['dataset']}): " + "; ".join(r["deepproblog"].get("notes", []))
        for r in results
        if r.get("deepproblog") and r["deepproblog"].get("notes")
    ]
    dpl_errors = [
        f"- N={r['n']} ({r['dataset']}): {r['deepproblog']['error']}"
        for r in results
        if r.get("deepproblog") and "error" in r["deepproblog"]
    ]
    reused = sorted({r["deepproblog"]["reused_from"] for r in results if r.get("deepproblog", {}).get("reused_from")})
    if reused:
        dpl_notes.append(
            "- The DeepProbLog rows were measured by an earlier run of this script on the same data, split, "
            f"network, initial weights and machine, and reused (`--reuse-deepproblog {reused[0]}`)."
        )
    if dpl_notes or dpl_errors:
        lines += ["", "DeepProbLog runs:", "", *dpl_notes, *dpl_errors]
    lines += ["", "Raw numbers: `benchmarks/out/addition.json` (not committed).", END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["digits", "fashion"], choices=["digits", "fashion"])
    ap.add_argument("--n", nargs="+", type=int, default=[1, 2, 4, 15])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--deepproblog", action="store_true", help="also run DeepProbLog (N = 1, 2) from its venv")
    ap.add_argument("--dpl-budget", type=float, default=300.0, help="seconds DeepProbLog may train per run")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs (a fresh process each)")
    ap.add_argument(
        "--circuit-eval", default="auto", choices=["auto", "fused", "layered"], help="plait's circuit evaluator"
    )
    ap.add_argument("--memory-probe", choices=["plait", "reference"], help=argparse.SUPPRESS)
    ap.add_argument("--from-json", help="re-render docs/benchmarks.md from a saved addition.json, without running")
    ap.add_argument(
        "--reuse-deepproblog",
        metavar="JSON",
        help="take the DeepProbLog results from a saved addition.json (same data and settings) instead of rerunning it",
    )
    args = ap.parse_args(argv)
    if args.memory_probe:  # internal: one system, one N, in this fresh process (see measure_memory)
        print(json.dumps(memory_probe(args.memory_probe, args.datasets[0], args.n[0], args.seed)))
        return
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        write_docs(report(saved["results"], saved["meta"]))
        return
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    results = []
    for dataset in args.datasets:
        try:
            split = load(dataset, args.seed)
        except plait.PlaitError as e:
            print(f"skipping {dataset}: {e}", flush=True)
            continue
        for n in args.n:
            cfg = {**settings(dataset, n, args.quick), "circuit_eval": args.circuit_eval}
            tr, te = addition_split(split, n, n_train=cfg["n_train"], n_test=cfg["n_test"], seed=args.seed)
            cfg_row = {"dataset": dataset, "n": n, "n_train": len(tr), "n_test": len(te), "epochs": cfg["epochs"]}
            print(f"== {dataset} N={n}: {len(tr)} train / {len(te)} test examples, {cfg['epochs']} epochs", flush=True)
            ref, p = interleave(
                run_reference(split, tr, te, n, cfg, args.seed), run_plait(split, tr, te, n, cfg, args.seed)
            )
            print(f"   reference: {json.dumps({k: v for k, v in ref.items() if k != 'epoch_seconds'})}", flush=True)
            print(
                f"   plait:     {json.dumps({k: v for k, v in p.items() if k not in ('epoch_seconds', 'train_loss')})}",
                flush=True,
            )
            row = {**cfg_row, "plait": p, "reference": ref}
            if not args.no_memory and n <= 4 and not args.quick:
                row["memory"] = measure_memory(dataset, n, args.seed)
                print(f"   memory: {json.dumps(row['memory'])}", flush=True)
            if args.reuse_deepproblog and n <= 2:
                saved = json.loads(Path(args.reuse_deepproblog).read_text())["results"]
                match = [r for r in saved if r["dataset"] == dataset and r["n"] == n and "deepproblog" in r]
                if match and match[0]["n_train"] == len(tr):
                    row["deepproblog"] = {**match[0]["deepproblog"], "reused_from": args.reuse_deepproblog}
            elif args.deepproblog and n <= 2:
                row["deepproblog"] = run_deepproblog(split, tr, te, n, cfg, args.seed, args.dpl_budget)
                print(f"   deepproblog: {json.dumps(row['deepproblog'])[:400]}", flush=True)
            results.append(row)
    meta = {
        "command": "python benchmarks/addition.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "total_minutes": (time.perf_counter() - t_start) / 60,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread(s) of {__import__('os').cpu_count()} cores",
        "torch": torch.__version__,
        "threads": args.threads,
        "date": time.strftime("%Y-%m-%d"),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "addition.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    text = report(results, meta)
    print(text)
    if not args.no_docs and not args.quick:
        write_docs(text)


def write_docs(text: str) -> None:
    """Replace the addition section of docs/benchmarks.md (keeping its hand-written notes)."""
    doc = DOCS.read_text()
    if START in doc and END in doc:
        old = doc[doc.index(START) : doc.index(END)]
        if NOTES_START in old and NOTES_END in old:  # the hand-written analysis survives a rerun
            notes = old[old.index(NOTES_START) : old.index(NOTES_END) + len(NOTES_END)]
            text = text.replace(END, notes + "\n" + END)
        doc = doc[: doc.index(START)] + text + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip() + "\n\n" + text + "\n"
    DOCS.write_text(doc)
    print(f"wrote {DOCS}")


if __name__ == "__main__":
    main()
