"""The README's Python example runs and prints what it claims."""

from __future__ import annotations

import re
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    scope: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)  # the README's own example code
    compiled = scope["compiled"]
    assert torch.allclose(scope["p"].detach(), torch.tensor([0.44, 0.18], dtype=torch.float64))
    assert scope["probs"].grad is not None and scope["probs"].grad.shape == compiled.fact_probs.shape
    assert compiled(scope["batch"]).shape == (1024, 2)


def test_readme_shows_the_example_output():
    text = README.read_text()
    from plait.cli.main import main

    assert "path(a,b)\t0.6" in text
    assert main(["query", str(README.parent / "examples" / "graph.pl")]) == 0
