"""Family 3, cooperative: abductive learning of digits from sums (network proposes, reasoner abduces).

    python examples/family_cooperative.py         # about 25 seconds on 1 CPU thread

Each round the reasoner abduces the most probable digits of every training pair
consistent with its observed sum (the MPE given the sum); the network retrains
on these pseudo-labels; the loop stops when they no longer change. Prints one
line per round, then the test sum and digit accuracy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import plait
import plait.families as fam
from plait.nn.data import addition_split, load_digits
from plait.nn.networks import DigitNet
from plait.nn.train import QueryData

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=2, help="epochs of retraining per round")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    split = load_digits(seed=args.seed)
    tr, te = addition_split(split, n_digits=1, n_train=args.pairs, seed=args.seed)
    torch.manual_seed(args.seed)
    net = DigitNet(image_size=8)
    model = plait.Model.from_file(HERE / "addition.pl", {"digit_net": net})
    abl = fam.AbductiveLearning(model, "addition(A, B, Z)", "digit_net")
    inputs = {"A": split.train_images[tr.a[:, 0]], "B": split.train_images[tr.b[:, 0]]}
    for r in abl.fit(inputs, tr.sums, rounds=args.rounds, epochs=args.epochs, tolerance=0.005, seed=args.seed):
        print(f"round {r.round}: {r.changed:.3f} of the pseudo-labels changed, train loss {r.train_loss:.3f}")
    test = QueryData({"A": split.test_images[te.a[:, 0]], "B": split.test_images[te.b[:, 0]]}, te.sums)
    out = {
        "sum_accuracy": plait.evaluate(model, "addition(A, B, Z)", test)["accuracy"],
        "digit_accuracy": fam.class_accuracy(net, split.test_images, split.test_labels),
        "rounds": float(len(abl.rounds)),
    }
    print(f"test sum accuracy {out['sum_accuracy']:.3f}, digit accuracy {out['digit_accuracy']:.3f}")
    return out


if __name__ == "__main__":
    main()
