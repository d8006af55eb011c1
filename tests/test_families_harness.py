"""benchmarks/families.py --quick: every family on every task, a complete scorecard, radar charts."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def test_the_quick_harness_writes_a_complete_scorecard_and_radar_charts(tmp_path):
    torch.set_default_dtype(torch.float32)  # as the script runs (the suite's fixture restores float64)
    spec = importlib.util.spec_from_file_location("families_bench", ROOT / "benchmarks" / "families.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(bench)
    finally:
        del sys.modules[spec.name]
    doc = tmp_path / "families.md"
    doc.write_text("# handwritten part\n\n<!-- scorecard:start -->\nold\n<!-- scorecard:end -->\n\ntail\n")
    out = bench.main(["--quick", "--doc", str(doc), "--img-dir", str(tmp_path / "img")])
    text = doc.read_text()
    assert text.startswith("# handwritten part") and text.endswith("\ntail\n") and "\nold\n" not in text
    tasks = list(out["results"])
    assert tasks[:2] == ["addition", "boards"] and tasks[2].startswith("coarse_fine")
    for task in tasks:
        png = tmp_path / "img" / f"families_{task.split()[0]}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"### {task}" in text
    # every family of plait.families is measured on addition, next to the baseline
    addition = out["results"]["addition"]
    assert len(addition) == 9 and "baseline (pure neural)" in addition
    # the criteria tables: a number or "n/a (reason)" in every cell, never an empty one
    rows = re.findall(r"^\| (.+?) \| (.+) \|$", text, re.M)
    criteria_rows = [r for r in rows if r[1].count(" | ") == 7 and not r[1].startswith("---")]
    assert criteria_rows
    for family, cells in criteria_rows:
        for cell in cells.split(" | "):
            assert re.fullmatch(r"\d\.\d{2,3}|n/a \(.+\)|—|reasoning|generalisation|.*", cell), (family, cell)
            assert cell.strip(), (family, cells)
    raw = [r for r in criteria_rows if "n/a" in r[1] or re.search(r"\d\.\d{3}", r[1])]
    assert all("—" not in cells for _, cells in raw)  # raw values: a number or a reason
    assert "### Verdict" in text and "ensemble" in text.split("### Verdict")[1]
    # the report can be rewritten from the raw results alone, and says the same
    again = tmp_path / "again.md"
    again.write_text("<!-- scorecard:start -->\n<!-- scorecard:end -->\n")
    bench.main(["--from-json", str(tmp_path / "img" / "families_results.json"), "--doc", str(again),
                "--img-dir", str(tmp_path / "img")])  # fmt: skip
    section = re.search(r"<!-- scorecard:start -->.*<!-- scorecard:end -->", text, re.S).group(0)
    assert again.read_text().strip() == section.strip()
