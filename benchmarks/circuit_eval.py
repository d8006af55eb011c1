"""Circuit evaluation candidates on the digit-addition templates: time per training batch.

    python benchmarks/circuit_eval.py                 # N = 1, 2, 4, 15; rewrites its section of docs/benchmarks.md
    python benchmarks/circuit_eval.py --n 1 2 --compile --no-docs

For each template (compiled as ``plait.Model`` compiles it: the programs of
``benchmarks/addition.py``) and one batch of 32 leaf weights from the untrained
network, every candidate evaluates the circuit forward and backward (a gradient
for every leaf) in the probability and the log semiring:

* ``layered``: batch-major values ``[B, size]``, a gather-multiply and a segment
  sum per layer, hand-written backward (:mod:`plait.circuit.layered`);
* ``fused``: node-major values ``[size, B]``, one gather and one scatter per layer
  (:mod:`plait.circuit.fused`);
* ``klay``: KLay's own kernels (``klaycircuits``, :mod:`plait.circuit.klay_backend`);
* ``compiled`` (``--compile``, slow to build): ``torch.compile`` of the fused
  forward and backward with static shapes; its compile time is reported.

The candidates run in turn, round after round (so that load on a shared machine
hits all alike), and the median time per round is reported. The gradients of
every candidate are checked against the layered evaluator's.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import addition  # noqa: E402
from doc_section import replace_section  # noqa: E402

import plait  # noqa: E402
from plait.circuit.fused import FusedLogCircuit, FusedProbCircuit, fused_values  # noqa: E402
from plait.circuit.klay_backend import KlayCircuit, klay_available  # noqa: E402
from plait.circuit.semiring import LOG_PROBABILITY, PROBABILITY  # noqa: E402
from plait.nn.networks import DigitNet  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- circuit-eval:start -->", "<!-- circuit-eval:end -->"


def template_batch(n: int, batch: int = 32, seed: int = 0) -> tuple[plait.Model, object, torch.Tensor]:
    """The digit-addition template for N digits and the leaf weights of one batch (as addition.py trains it)."""
    torch.manual_seed(seed)
    split = addition.load("digits", seed)
    net = DigitNet(image_size=split.image_shape[-1])
    a, b = split.train_images[:batch], split.train_images[batch : 2 * batch]
    if n <= 2:
        program = addition.DPL_PROGRAM if addition.DPL_PROGRAM.exists() else ROOT / "examples" / "addition.pl"
        name = "mnist_net" if addition.DPL_PROGRAM.exists() else "digit_net"
        model = plait.Model.from_file(program, {name: net})
        query = "addition(A, B, Z)" if n == 1 else "multi_addition(A, B, Z)"
        inputs = {"A": a, "B": b} if n == 1 else {"A": [a] * n, "B": [b] * n}
    else:
        model = plait.Model.from_file(
            ROOT / "examples" / "multi_digit_addition.pl", {"digit_net": net, "observed": addition.OneHot()}
        )
        query = "sum_ok(A, B, S)"
        s = torch.eye(10)[torch.randint(0, 10, (batch,))]
        inputs = {"A": [a] * n, "B": [b] * n, "S": [s] * (n + 1)}
    t = model.template(query, inputs)
    with torch.no_grad():
        w = model.leaf_weights(t, inputs)
    return model, t, w


def _manual_fwd_bwd(circuit, fn: type, log: bool):  # noqa: ANN001, ANN202
    """Forward and backward of the fused evaluator as one plain function (what torch.compile traces)."""

    def run(pos: torch.Tensor, neg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        buf = fused_values(pos, neg, circuit, log)
        ctx = SimpleNamespace(saved_tensors=(buf,), circuit=circuit)
        g_roots = torch.ones(pos.shape[0], circuit.roots.shape[0], dtype=pos.dtype)
        gp, gn, _ = (
            fn.backward.__wrapped__(ctx, g_roots) if hasattr(fn.backward, "__wrapped__") else fn.backward(ctx, g_roots)
        )
        return gp, gn

    return run


def candidates(t, use_compile: bool) -> dict[str, dict]:  # noqa: ANN001
    """name -> {semiring name -> a function of the weights that returns d(sum of roots)/d(weights)}."""
    from plait.circuit.layered import LayeredCircuit

    c: LayeredCircuit = t.compiled.circuit
    out: dict[str, dict] = {}

    def by_circuit(circuit, evaluation: str | None):  # noqa: ANN001, ANN202
        def grad(w: torch.Tensor, sr) -> torch.Tensor:  # noqa: ANN001
            old = getattr(circuit, "evaluation", None)
            if evaluation is not None:
                circuit.evaluation = evaluation
            try:
                x = w.clone().requires_grad_(True)
                circuit(x, sr).sum().backward()
                return x.grad
            finally:
                if evaluation is not None:
                    circuit.evaluation = old

        return {"probability": lambda w: grad(w, PROBABILITY), "log": lambda w: grad(w, LOG_PROBABILITY)}

    out["layered"] = by_circuit(c, "layered")
    out["fused"] = by_circuit(c, "fused")
    if klay_available():
        _comp, roots = t.compiled._sdd
        out["klay"] = by_circuit(KlayCircuit(roots, c.n_vars), None)
    if use_compile:
        compiled = {}
        for name, fn, log, pos_neg in (
            ("probability", FusedProbCircuit, False, lambda w: (w, 1 - w)),
            ("log", FusedLogCircuit, True, lambda w: (torch.log(w), torch.log1p(-w))),
        ):
            run = torch.compile(_manual_fwd_bwd(c, fn, log), dynamic=False)
            compiled[name] = _chain(run, pos_neg, log)
        out["compiled"] = compiled
    return out


def _chain(run, pos_neg, log: bool):  # noqa: ANN001, ANN202
    """d/dw of the roots through pos(w), neg(w), given the gradients with respect to pos and neg."""

    def grad(w: torch.Tensor) -> torch.Tensor:
        pos, neg = pos_neg(w)
        gp, gn = run(pos, neg)
        return gp / w - gn / (1 - w) if log else gp - gn

    return grad


def measure(n: int, rounds: int, use_compile: bool) -> dict:
    _model, t, w = template_batch(n)
    c = t.compiled.circuit
    cands = candidates(t, use_compile)
    row: dict = {"n": n, "layers": c.n_layers, "edges": c.n_edges, "roots": int(c.roots.numel()), "batch": w.shape[0]}
    compile_s: dict[str, float] = {}
    reference = {sr: cands["layered"][sr](w) for sr in ("probability", "log")}
    for name, fns in cands.items():
        for sr, fn in fns.items():
            t0 = time.perf_counter()
            got = fn(w)  # the first call of "compiled" compiles
            if name == "compiled":
                compile_s[sr] = time.perf_counter() - t0
            err = float((got - reference[sr]).abs().max())
            scale = float(reference[sr].abs().max())
            if err > 1e-9 * max(1.0, scale):
                raise AssertionError(f"{name} {sr} N={n}: gradient differs from the layered one by {err:g}")
    times: dict[tuple[str, str], list[float]] = {(name, sr): [] for name, fns in cands.items() for sr in fns}
    inner = 10
    for _ in range(rounds):
        for name, fns in cands.items():
            for sr, fn in fns.items():
                t0 = time.perf_counter()
                for _ in range(inner):
                    fn(w)
                times[name, sr].append((time.perf_counter() - t0) / inner * 1e3)
    row["ms"] = {f"{name}/{sr}": sorted(v)[len(v) // 2] for (name, sr), v in times.items()}
    row["compile_seconds"] = compile_s
    return row


def report(rows: list[dict], meta: dict) -> str:
    names = sorted({k.split("/")[0] for r in rows for k in r["ms"]}, key=["layered", "fused", "klay", "compiled"].index)
    cols = [f"{name} {sr}" for name in names for sr in ("probability", "log")]
    lines = [
        START,
        "## Circuit evaluation: layered vs. fused vs. KLay vs. torch.compile",
        "",
        f"Regenerate: `{meta['command']}`. Machine: {meta['machine']}, torch {meta['torch']}, 1 thread; "
        f"{meta['date']}; load average {meta['load']} (a 2-core machine shared with other jobs: absolute "
        "times are noisy, the candidates run in turn so that the ratios are fair).",
        "",
        "Milliseconds per training batch (32 examples, float64): forward and backward to every leaf weight, "
        "median over rounds. Gradients of every candidate agree with the layered evaluator's to 1e-9.",
        "",
        "| N | layers | edges | answers | " + " | ".join(cols) + " | fused speed-up (prob / log) |",
        "|---|---|---|---|" + "---|" * len(cols) + "---|",
    ]
    for r in rows:
        ms = r["ms"]
        cells = [
            f"{ms[f'{name}/{sr}']:.2f}" if f"{name}/{sr}" in ms else "—"
            for name in names
            for sr in ("probability", "log")
        ]
        sp = f"{ms['layered/probability'] / ms['fused/probability']:.1f}x / {ms['layered/log'] / ms['fused/log']:.1f}x"
        lines.append(f"| {r['n']} | {r['layers']} | {r['edges']} | {r['roots']} | " + " | ".join(cells) + f" | {sp} |")
    comp = [r for r in rows if r["compile_seconds"]]
    if comp:
        lines += ["", "torch.compile (inductor, static shapes) compile time per template and semiring:", ""]
        for r in comp:
            shown = ", ".join(f"{sr} {s:.0f} s" for sr, s in r["compile_seconds"].items())
            lines.append(f"- N={r['n']}: {shown}")
    lines += ["", "Raw numbers: `benchmarks/out/circuit_eval.json` (not committed).", END]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    replace_section(DOCS, START, END, text)
    print(f"wrote {DOCS}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", nargs="+", type=int, default=[1, 2, 4, 15])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (minutes of compilation)")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for n in args.n:
        rows.append(measure(n, args.rounds, args.compile))
        print(json.dumps(rows[-1]), flush=True)
    import os

    meta = {
        "command": "python benchmarks/circuit_eval.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "load": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "circuit_eval.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    text = report(rows, meta)
    print(text)
    if not args.no_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
