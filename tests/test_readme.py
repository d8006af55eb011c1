"""The README's Python example runs and prints what it claims."""

from __future__ import annotations

import re
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs():
    text = README.read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "Program.from_string" in b]
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


def test_readme_neural_example_runs(capsys):
    text = README.read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "plait.Model(" in b]
    torch.set_default_dtype(torch.float32)  # as a user runs it (the suite's fixture restores float64)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)  # the README's own example code
    assert scope["probs"].shape == (16, 19)
    assert torch.allclose(scope["probs"].sum(-1), torch.ones(16, dtype=scope["probs"].dtype), atol=1e-5)
    assert scope["net"][1].weight.grad is not None
    assert "addition(A,B," in capsys.readouterr().out
    assert len(scope["history"].rows) == 2


def test_readme_first_command_is_the_digit_addition_example():
    text = README.read_text()
    first = re.findall(r"```sh\n(.*?)```", text, re.S)[0]
    assert "examples/digit_addition.py" in first and (README.parent / "examples" / "digit_addition.py").exists()
