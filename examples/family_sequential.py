"""Family 1, sequential: a digit classifier trained on a few labelled digits feeds the addition program.

    python examples/family_sequential.py          # about 10 seconds on 1 CPU thread

The network learns from its own labels only (``--labelled`` digit images); the
program then adds what it hands on: hard facts, the top-2 digits or the whole
distribution. Prints the test sum accuracy for each, and the digit accuracy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import plait.families as fam
from plait.nn.data import addition_split, load_digits
from plait.nn.networks import DigitNet

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labelled", type=int, default=200, help="labelled digit images the network trains on")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    split = load_digits(seed=args.seed)
    _, test = addition_split(split, n_digits=1, seed=args.seed)
    a, b = split.test_images[test.a[:, 0]], split.test_images[test.b[:, 0]]
    torch.manual_seed(args.seed)
    net = DigitNet(image_size=8)
    out: dict[str, float] = {}
    for symbols in ("hard", "topk", "distribution"):
        seq = fam.Sequential(HERE / "addition.pl", {"digit_net": net}, symbols=symbols, k=2)
        if symbols == "hard":  # one network, trained once, on its own labels
            n = args.labelled
            seq.train_network("digit_net", split.train_images[:n], split.train_labels[:n], epochs=args.epochs)
            out["digit_accuracy"] = seq.accuracy("digit_net", split.test_images, split.test_labels)
        pred = seq.predict("addition(A, B, Z)", A=a, B=b)
        out[f"sum_accuracy_{symbols}"] = float((pred == test.sums).float().mean())
    print(f"digit accuracy (trained on {args.labelled} labelled digits): {out['digit_accuracy']:.3f}")
    for symbols in ("hard", "topk", "distribution"):
        print(f"test sum accuracy, {symbols:>12} symbols: {out[f'sum_accuracy_{symbols}']:.3f}  ({len(test)} pairs)")
    (why,) = seq.explain("addition(A, B, Z)", A=a[:1], B=b[:1])
    print(f"explained: {why.text}")
    return out


if __name__ == "__main__":
    main()
