"""benchmarks/gpu.py runs its whole code path on CPU (--device cpu --tiny): no stub, answers agree."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_gpu_benchmark_runs_on_cpu(tmp_path: Path) -> None:
    gpu = _load("gpu")
    threads = torch.get_num_threads()
    torch.set_default_dtype(torch.float32)  # as the script runs (the suite's default is float64)
    try:
        result = gpu.main(["--device", "cpu", "--tiny", "--no-docs", "--json", str(tmp_path / "gpu.json")])
    finally:
        torch.set_num_threads(threads)
    assert (tmp_path / "gpu.json").exists()
    corpus = result["corpus"]
    if gpu.CORPUS.exists():  # (the conformance corpus sits beside the repository, as for test_conformance)
        assert corpus["checked"] >= 5
    assert not corpus["failures"] and corpus["max_diff"] <= 1e-6
    assert [t["n"] for t in result["templates"]] == [1, 2]
    assert all(t["max_diff"] <= 1e-6 and t["same_zeros"] and t["device"] == "cpu" for t in result["templates"])
    assert [r["n"] for r in result["training"]] == [1, 2]
    for r in result["training"]:
        assert r["examples"] == 64 and r["plait_s"] > 0 and r["reference_s"] > 0
        assert 0.0 <= r["plait_sum_accuracy"] <= 1.0 and math.isfinite(r["plait_examples_per_s"])
    fams = result["families"]
    assert {f["family"] for f in fams} == {"grid", "smokers", "issue7"}
    assert all("error" not in f and f["max_diff"] <= 1e-6 for f in fams)
    text = gpu.report(result)
    assert text.startswith(gpu.START) and text.endswith(gpu.END) and "| 2 | 64 | 1 |" in text
