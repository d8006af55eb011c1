"""The GPU path: correctness against CPU, digit-addition training and the inference families on a device.

    python benchmarks/gpu.py                          # on CUDA; rewrites its section of docs/benchmarks.md
    python benchmarks/gpu.py --device cpu --tiny      # the same code path on CPU, small (what the tests run)

Three parts, all on ``--device`` (float64 unless said):

1. **Correctness.** Every program of the ProbLog conformance corpus that compiles
   (``../shared/conformance/problog``), evaluated by its compiled circuit on the
   device and on CPU, in the probability and the log semiring and with both circuit
   evaluators (fused and layered): the answers must agree to 1e-6. The same for the
   digit-addition templates (N = 1, 2, 4): a batch of answer log-probabilities from
   the same model on CPU and on the device.
2. **Training.** Digit addition for N = 1, 2, 4, 15 (``benchmarks/addition.py``'s
   programs, data and settings): plait and the pure-neural reference, epochs
   alternating; epoch time, throughput (examples/s), accuracy, peak device memory.
   On CUDA, the same plait training also runs on CPU, and its accuracy is reported
   beside the device's.
3. **Inference families** (``benchmarks/inference.py``'s generators: grids, smokers,
   issue 7, random programs): compile once, then evaluate the circuit on CPU and on
   the device (median of repeats, after a warm-up), answers compared to 1e-6.

Nothing here is a stub: ``--device cpu`` runs exactly these steps on CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import addition  # noqa: E402
import inference as inference_bench  # noqa: E402
from doc_section import replace_section  # noqa: E402

import plait  # noqa: E402
from plait.nn.data import addition_split  # noqa: E402

CORPUS = ROOT.parent / "shared" / "conformance" / "problog"
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- gpu:start -->", "<!-- gpu:end -->"
TOL = 1e-6


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _compare(cq, device: torch.device) -> float:  # noqa: ANN001
    """Largest difference between CPU and device answers over both semirings and both evaluators."""
    worst = 0.0
    for evaluation in ("fused", "layered"):
        cq.circuit.evaluation = evaluation
        for semiring in ("probability", "log"):
            cq.to("cpu")
            cpu = cq(semiring=semiring)
            cq.to(device)
            dev = cq(semiring=semiring)
            if dev.device.type != device.type:
                raise AssertionError(f"answers came back on {dev.device}, not on {device}")
            worst = max(worst, float((dev.cpu() - cpu).abs().max()) if cpu.numel() else 0.0)
    cq.to("cpu")
    return worst


def check_corpus(device: torch.device, limit: int | None) -> dict:
    """Conformance programs: CPU vs device answers. Programs that do not compile (or raise) are counted apart."""
    paths = sorted(CORPUS.glob("*.pl"))[:limit] if CORPUS.exists() else []
    checked, skipped, worst, failures = 0, 0, 0.0, []
    for path in paths:
        try:
            cq = plait.Program.from_file(path).compile()
        except Exception:  # noqa: BLE001 - error programs of the corpus, non-circuit features: not this check's concern
            skipped += 1
            continue
        if getattr(cq.circuit, "evaluation", None) is None or not cq.queries:
            skipped += 1
            continue
        try:
            diff = _compare(cq, device)
        except plait.PlaitError:  # e.g. evidence of probability 0
            skipped += 1
            continue
        checked += 1
        worst = max(worst, diff)
        if diff > TOL:
            failures.append(f"{path.name}: {diff:.2e}")
    return {"programs": len(paths), "checked": checked, "skipped": skipped, "max_diff": worst, "failures": failures}


def check_templates(device: torch.device, ns: list[int]) -> list[dict]:
    """Digit-addition templates: answer log-probabilities of one batch, same model on CPU and on the device."""
    from circuit_eval import template_batch

    rows = []
    for n in ns:
        model, t, _w = template_batch(n, batch=16)
        inputs = _template_inputs(t, n)
        with torch.no_grad():
            cpu = model.answer_log_probs(t.text, inputs)
            model.to(device)
            dev = model.answer_log_probs(t.text, _to(inputs, device))
        finite = torch.isfinite(cpu)
        same_inf = bool(torch.equal(finite, torch.isfinite(dev.cpu())))
        diff = float((dev.cpu()[finite] - cpu[finite]).abs().max())
        rows.append(
            {"n": n, "answers": len(t.answers), "max_diff": diff, "same_zeros": same_inf, "device": str(dev.device)}
        )
    return rows


def _template_inputs(t, n: int) -> dict:  # noqa: ANN001
    """A batch of 16 inputs for the template (images from the bundled digits, as template_batch uses)."""
    split = addition.load("digits", 0)
    a, b = split.train_images[:16], split.train_images[16:32]
    if n == 1:
        return {"A": a, "B": b}
    if n == 2:
        return {"A": [a] * n, "B": [b] * n}
    s = torch.eye(10)[torch.arange(16) % 10]
    return {"A": [a] * n, "B": [b] * n, "S": [s] * (n + 1)}


def _to(inputs: dict, device: torch.device) -> dict:
    return {k: [x.to(device) for x in v] if isinstance(v, list) else v.to(device) for k, v in inputs.items()}


def train(device: torch.device, ns: list[int], tiny: bool, cpu_baseline: bool, seed: int = 0) -> list[dict]:
    """Digit addition on the device: plait and the reference, epochs alternating (benchmarks/addition.py)."""
    split = addition.load("digits", seed)
    rows = []
    for n in ns:
        cfg = addition.settings("digits", n, quick=False)
        if tiny:
            cfg.update(n_train=64, n_test=32, epochs=1)
        tr, te = addition_split(split, n, n_train=cfg["n_train"], n_test=cfg["n_test"], seed=seed)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        ref, p = addition.interleave(
            addition.run_reference(split, tr, te, n, cfg, seed, str(device)),
            addition.run_plait(split, tr, te, n, cfg, seed, str(device)),
        )
        row = {
            "n": n,
            "examples": len(tr),
            "epochs": cfg["epochs"],
            "plait_s": p["seconds_per_epoch"],
            "reference_s": ref["seconds_per_epoch"],
            "plait_examples_per_s": len(tr) / p["seconds_per_epoch"],
            "plait_sum_accuracy": p["sum_accuracy"],
            "plait_digit_accuracy": p["digit_accuracy"],
            "reference_digit_accuracy": ref["digit_accuracy"],
            "peak_device_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
        }
        if cpu_baseline and device.type != "cpu":
            gen = addition.run_plait(split, tr, te, n, cfg, seed, "cpu")
            try:
                while True:
                    next(gen)
            except StopIteration as stop:
                row["cpu_plait_s"] = stop.value["seconds_per_epoch"]
                row["cpu_sum_accuracy"] = stop.value["sum_accuracy"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def families(device: torch.device, sizes: dict[str, list[int]], repeat: int) -> list[dict]:
    """The inference benchmark's families: compile once, evaluate on CPU and on the device, compare."""
    rows = []
    for family, ns in sizes.items():
        for n in ns:
            text = inference_bench.generate(family, n, 0)
            t0 = time.perf_counter()
            try:
                cq = plait.Program.from_string(text).compile()
            except plait.PlaitError as e:
                rows.append({"family": family, "n": n, "error": e.message})
                continue
            compile_s = time.perf_counter() - t0
            row = {"family": family, "n": n, "compile_s": compile_s, "edges": getattr(cq.circuit, "n_edges", None)}
            try:
                for where in ("cpu", device):
                    cq.to(where)
                    cq()  # warm-up (and the CUDA context)
                    times = []
                    for _ in range(repeat):
                        _sync(torch.device(where))
                        t1 = time.perf_counter()
                        out = cq()
                        _sync(torch.device(where))
                        times.append(time.perf_counter() - t1)
                    row[f"{torch.device(where).type}_ms"] = 1e3 * statistics.median(times)
                    row[f"answers_{'cpu' if where == 'cpu' else 'device'}"] = out.detach().cpu()
            except plait.PlaitError as e:
                rows.append({**row, "error": e.message})
                continue
            a, b = row.pop("answers_cpu"), row.pop("answers_device")
            row["max_diff"] = float((a - b).abs().max()) if a.numel() else 0.0
            cq.to("cpu")
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def report(result: dict) -> str:
    meta = result["meta"]
    lines = [
        START,
        "## GPU path (`benchmarks/gpu.py`)",
        "",
        f"Regenerate: `{meta['command']}`. Device: {meta['device_name']}; torch {meta['torch']}; {meta['date']}.",
        "",
        "### Correctness against CPU (float64, tolerance 1e-6)",
        "",
    ]
    c = result["corpus"]
    lines.append(
        f"- Conformance corpus: {c['checked']} of {c['programs']} programs checked ({c['skipped']} do not compile "
        f"to a circuit or raise by design), both semirings, both evaluators; largest difference {c['max_diff']:.1e}"
        + (f"; failures: {', '.join(c['failures'])}" if c["failures"] else "")
        + "."
    )
    for t in result["templates"]:
        lines.append(
            f"- Digit addition N={t['n']} ({t['answers']} answers): largest log-probability difference "
            f"{t['max_diff']:.1e}, same zero answers: {'yes' if t['same_zeros'] else 'no'}."
        )
    lines += [
        "",
        "### Training digit addition on the device",
        "",
        "| N | examples/epoch | epochs | plait s/epoch | reference s/epoch | plait / reference | plait examples/s "
        "| plait sum acc | plait digit acc | reference digit acc | peak device MB | CPU plait s/epoch | CPU plait sum acc |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["training"]:

        def f(k: str, fmt: str = "{:.2f}", r: dict = r) -> str:
            return fmt.format(r[k]) if r.get(k) is not None else "—"

        lines.append(
            f"| {r['n']} | {r['examples']} | {r['epochs']} | {f('plait_s')} | {f('reference_s')} | "
            f"{r['plait_s'] / r['reference_s']:.2f}x | {f('plait_examples_per_s', '{:.0f}')} | "
            f"{f('plait_sum_accuracy', '{:.1%}')} | {f('plait_digit_accuracy', '{:.1%}')} | "
            f"{f('reference_digit_accuracy', '{:.1%}')} | {f('peak_device_mb', '{:.0f}')} | {f('cpu_plait_s')} | "
            f"{f('cpu_sum_accuracy', '{:.1%}')} |"
        )
    lines += [
        "",
        "### Inference families (circuit evaluation only; compiled once on CPU)",
        "",
        "| family | n | compile s | circuit edges | CPU ms | device ms | max diff |",
        "|---|---|---|---|---|---|---|",
    ]
    dev_key = f"{meta['device_type']}_ms"
    for r in result["families"]:
        if "error" in r:
            lines.append(f"| {r['family']} | {r['n']} | error: {r['error'][:80]} | | | | |")
            continue
        lines.append(
            f"| {r['family']} | {r['n']} | {r['compile_s']:.2f} | {r['edges']} | {r['cpu_ms']:.2f} | "
            f"{r[dev_key]:.2f} | {r['max_diff']:.1e} |"
        )
    lines.append(END)
    return "\n".join(lines)


def write_docs(text: str, path: Path = DOCS) -> None:
    replace_section(path, START, END, text)
    print(f"wrote {path}")


FULL_SIZES = {
    "grid": [4, 6, 8],
    "grid_cyclic": [3, 4, 5],
    "smokers": [8, 12, 16],
    "issue7": [4, 8],
    "random": [0, 1, 2],
}
TINY_SIZES = {"grid": [3], "smokers": [4], "issue7": [2]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="a few programs, N = 1 and 2, 64 examples, one epoch")
    ap.add_argument("--n", nargs="+", type=int, default=None, help="training N (default 1 2 4 15; tiny: 1 2)")
    ap.add_argument("--no-cpu-baseline", action="store_true", help="skip the CPU training run beside the device's")
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "gpu.json")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here: run on a GPU machine, or pass --device cpu to exercise the same code")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    ns = args.n or ([1, 2] if args.tiny else [1, 2, 4, 15])
    result = {
        "meta": {
            "command": "python benchmarks/gpu.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "device_type": device.type,
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine(),
            "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d"),
        }
    }
    result["corpus"] = check_corpus(device, 8 if args.tiny else None)
    print(json.dumps(result["corpus"]), flush=True)
    result["templates"] = check_templates(device, [1, 2] if args.tiny else [1, 2, 4])
    print(json.dumps(result["templates"]), flush=True)
    result["training"] = train(device, ns, args.tiny, not args.no_cpu_baseline)
    result["families"] = families(device, TINY_SIZES if args.tiny else FULL_SIZES, 3 if args.tiny else 10)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str))
    text = report(result)
    print(text)
    if not args.no_docs and device.type == "cuda":
        write_docs(text)
    return result


if __name__ == "__main__":
    main()
