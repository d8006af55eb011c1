"""Train a digit classifier from sums alone through sampled worlds instead of a compiled circuit.

    python examples/sampled_training.py                      # about 30 s on one CPU core
    python examples/sampled_training.py --estimator indecater --samples 8

The program and data are those of examples/digit_addition.py, but the model answers its
query with ``method="sample"``: nothing is compiled, each example's sum is estimated from
``--samples`` worlds drawn from the network's outputs, and the gradient comes from an
unbiased estimator (RLOO, REINFORCE with a leave-one-out baseline, or IndeCateR). This
is how plait trains programs whose exact compilation does not finish. Prints the test
digit accuracy of the network next to the gradient of one batch, estimated and exact.
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
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--n-train", type=int, default=1500)
    ap.add_argument("--samples", type=int, default=64, help="worlds per example")
    ap.add_argument("--estimator", choices=["rloo", "indecater"], default="rloo")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    split = load_digits(seed=args.seed)
    train_ex, _ = addition_split(split, n_digits=1, n_train=args.n_train, seed=args.seed)
    torch.manual_seed(args.seed)
    net = DigitNet(image_size=8)
    options = {"method": "sample", "samples": args.samples, "estimator": args.estimator, "seed": args.seed}
    model = plait.Model.from_file(HERE / "addition.pl", {"digit_net": net}, **options)
    exact = plait.Model.from_file(HERE / "addition.pl", {"digit_net": net})  # the same network, exact inference

    # one batch: the estimated gradient of the loss against the exact one
    a, b = split.train_images[train_ex.a[:64, 0]], split.train_images[train_ex.b[:64, 0]]
    cosine = _gradient_agreement(model, exact, net, a, b, train_ex.sums[:64])
    print(f"gradient of one batch: cosine {cosine:.2f} between the {args.estimator} estimate and the exact one")

    train = QueryData(
        {"A": Gather(split.train_images, train_ex.a[:, 0]), "B": Gather(split.train_images, train_ex.b[:, 0])},
        train_ex.sums,
    )
    history = plait.fit(model, "addition(A, B, Z)", train, epochs=args.epochs, lr=1e-3, seed=args.seed, progress=False)
    with torch.no_grad():
        accuracy = float((net(split.test_images).argmax(-1) == split.test_labels).float().mean())
    print(f"test digit accuracy after {args.epochs} epochs through sampled worlds: {accuracy:.3f}")
    return {"digit_accuracy": accuracy, "cosine": cosine, "epoch_seconds": history.last["epoch_seconds"]}


def _gradient_agreement(model, exact, net, a, b, sums) -> float:
    grads = []
    for m in (model, exact):
        net.zero_grad()
        logp = m.log_prob("addition(A, B, Z)", A=a, B=b)
        cols = m.template("addition(A, B, Z)", ["A", "B"]).targets(sums)
        (-logp.gather(1, cols[:, None]).mean()).backward()
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
    net.zero_grad()
    return float(torch.nn.functional.cosine_similarity(grads[0], grads[1], 0))


if __name__ == "__main__":
    main()
