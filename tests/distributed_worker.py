"""A training run for tests/test_distributed.py: under torchrun (several processes) or called in-process (one).

It trains a small float64 model on synthetic "digit" pairs with the distributed
sampler's order, optionally stops after ``--interrupt`` epochs and resumes from
its training state, answers the test pairs with ``plait.answer_all``, and (rank 0)
saves the weights, answers and metrics to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch
from safetensors.torch import save_file

import plait

PROGRAM = """
nn(digit_net, [X], Y, [0..3]) :: digit(X, Y).
addition(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.
"""
QUERY = "addition(A, B, Z)"


def pairs(n: int, seed: int) -> plait.QueryData:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=g)
    images = torch.eye(4, 6, dtype=torch.float64)[labels] * 3 + 0.5 * torch.randn(n, 6, generator=g).double()
    a, b = torch.randint(0, n, (n,), generator=g), torch.randint(0, n, (n,), generator=g)
    return plait.QueryData({"A": plait.Gather(images, a), "B": plait.Gather(images, b)}, labels[a] + labels[b])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--interrupt", type=int, default=0, help="stop after this many epochs, then resume")
    ap.add_argument("--global-batch", type=int, default=16)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    out = Path(args.out)
    train, test = pairs(64, 0), pairs(40, 1)

    def run(epochs: int, resume: bool) -> tuple[plait.Model, plait.History]:
        torch.manual_seed(0)
        net = torch.nn.Sequential(
            torch.nn.Linear(6, 12, dtype=torch.float64), torch.nn.Tanh(),
            torch.nn.Linear(12, 4, dtype=torch.float64), torch.nn.Softmax(-1),
        )  # fmt: skip
        model = plait.Model(PROGRAM, {"digit_net": net}, dtype=torch.float64)
        history = plait.fit(
            model, QUERY, train, test=test, epochs=epochs, batch_size=args.global_batch // world, lr=1e-2, seed=0,
            log_dir=out / "run", resume=resume, plot=False, progress=False, distributed=plait.DistributedOptions(),
        )  # fmt: skip
        return model, history

    if args.interrupt:
        run(args.interrupt, False)
    model, history = run(args.epochs, args.interrupt > 0)
    answers = plait.answer_all(model, QUERY, test, batch_size=7, progress=False)
    if answers is not None:  # rank 0
        plait.save_checkpoint(model, out / "weights.safetensors")
        save_file({"answers": answers}, str(out / "answers.safetensors"))
        (out / "rows.json").write_text(json.dumps(history.rows))
        print(f"rank 0 of {world}: {len(history)} epochs, {len(answers)} answers")
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
