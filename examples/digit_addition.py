"""Train a digit classifier from sums alone, through the logic of examples/addition.pl.

    python examples/digit_addition.py            # about a minute on 2 CPU cores

Data: scikit-learn's bundled handwritten digits (1,797 real 8x8 images, no
download), split into train and test images; each example is two train images
and the sum of their digits. The network never sees a digit label. Prints the
test sum accuracy, the digit accuracy of the learned network, and one
explained prediction; logs, curves and a checkpoint go to --log-dir.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import plait
from plait.nn.data import addition_split, load_digits
from plait.nn.networks import DigitNet
from plait.nn.train import Gather, QueryData

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--n-train", type=int, default=4000, help="training examples (pairs of train images)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-dir", default="runs/digit_addition")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)  # the network is tiny: one thread avoids OpenMP overhead on small ops
    split = load_digits(seed=args.seed)
    train_ex, test_ex = addition_split(split, n_digits=1, n_train=args.n_train, seed=args.seed)
    torch.manual_seed(args.seed)
    net = DigitNet(image_size=8)
    model = plait.Model.from_file(HERE / "addition.pl", {"digit_net": net})

    def column(images: torch.Tensor, idx: torch.Tensor) -> Gather:
        return Gather(images, idx[:, 0])

    train = QueryData(
        {"A": column(split.train_images, train_ex.a), "B": column(split.train_images, train_ex.b)}, train_ex.sums
    )
    test = QueryData(
        {"A": column(split.test_images, test_ex.a), "B": column(split.test_images, test_ex.b)}, test_ex.sums
    )

    def digit_accuracy(m: plait.Model) -> float:
        with torch.no_grad():
            pred = net(split.test_images).argmax(-1)
        return float((pred == split.test_labels).float().mean())

    history = plait.fit(
        model,
        "addition(A, B, Z)",
        train,
        test=test,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        metrics={"digit_accuracy": digit_accuracy},
        log_dir=args.log_dir,
        progress=not args.no_progress,
    )
    last = history.last
    print(f"test sum accuracy:   {last['test_accuracy']:.3f}  ({len(test)} test pairs, images never seen in training)")
    print(f"test digit accuracy: {last['digit_accuracy']:.3f}  (the network alone, on {split.n_test} test images)")
    a, b = split.test_images[test_ex.a[:1, 0]], split.test_images[test_ex.b[:1, 0]]
    (why,) = model.explain("addition(A, B, Z)", A=a, B=b)
    truth = f"true digits {int(split.test_labels[test_ex.a[0, 0]])} and {int(split.test_labels[test_ex.b[0, 0]])}"
    print(f"explained prediction: {why.text}  ({truth})")
    print(f"logs, curves.png and checkpoint.safetensors in {args.log_dir}/")
    return last


if __name__ == "__main__":
    main()
