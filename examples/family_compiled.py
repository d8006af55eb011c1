"""Family 4, compiled: the program as a loss (semantic and fuzzy), and the program as a teacher (distillation).

    python examples/family_compiled.py            # about 25 seconds on 1 CPU thread

Neuro_{Symbolic}: a plain digit network trains on pairs of images with the
semantic loss of "the two digits add up to the observed sum" (its exact
probability, by the compiled circuit), or with its fuzzy version (product
t-norm). At test time the network runs alone: each image's most probable digit,
added.

Neuro:Symbolic -> Neuro: the program, with that network, labels unlabelled
pairs with soft targets P(sum); a student network that sees both images at once
learns them and then answers with no program at all.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch

import plait.families as fam
from plait.nn.data import addition_split, load_digits
from plait.nn.networks import DigitNet

ADDITION = """
nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).
addition(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.
"""


def train_with(loss_fn: Callable, net: torch.nn.Module, a, b, sums, epochs: int, seed: int) -> None:
    """A plain training loop: the constraint's loss is the only signal (no digit labels)."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        perm = torch.randperm(len(sums), generator=g)
        for s in range(0, len(sums), 32):
            rows = perm[s : s + 32]
            loss = loss_fn(net(a[rows]), net(b[rows]), target=sums[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--synthetic", type=int, default=6000, help="unlabelled pairs the program labels for the student")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    split = load_digits(seed=args.seed)
    tr, te = addition_split(split, n_digits=1, n_train=args.pairs, seed=args.seed)
    a, b = split.train_images[tr.a[:, 0]], split.train_images[tr.b[:, 0]]
    ta, tb = split.test_images[te.a[:, 0]], split.test_images[te.b[:, 0]]
    losses = {
        "semantic": fam.SemanticLoss(ADDITION, "addition(A, B, Z)", ["A", "B"]),
        "fuzzy": fam.FuzzyLoss(ADDITION, "addition(A, B, Z)", ["A", "B"], tnorm="product", loss="log"),
    }
    out: dict[str, float] = {}
    nets = {}
    for name, loss in losses.items():
        torch.manual_seed(args.seed)
        nets[name] = net = DigitNet(image_size=8)
        train_with(loss, net, a, b, tr.sums, args.epochs, args.seed)
        with torch.no_grad():  # the network alone: no reasoner at test time
            pred = net(ta).argmax(-1) + net(tb).argmax(-1)
        out[f"{name}_sum_accuracy"] = float((pred == te.sums).float().mean())
        out[f"{name}_digit_accuracy"] = fam.class_accuracy(net, split.test_images, split.test_labels)
        print(f"{name:>8} loss: test sum accuracy {out[f'{name}_sum_accuracy']:.3f} (network alone), "
              f"digit accuracy {out[f'{name}_digit_accuracy']:.3f}")  # fmt: skip

    # distillation: the program with the semantic-loss network teaches a student on unlabelled pairs
    teacher = fam.reasoner(ADDITION)  # the program, fed by the trained network's distributions
    teacher_net = nets["semantic"]
    torch.manual_seed(args.seed)
    student = DigitNet(image_size=8, n_classes=19, in_channels=2)  # both images as channels -> the sum
    d = fam.Distillation(teacher, "addition(A, B, Z)", student, join=lambda A, B: torch.cat([A, B], dim=1))
    # synthetic training data: new pairs of training images (unlabelled), labelled by the program
    g = torch.Generator().manual_seed(args.seed)
    idx = torch.randint(0, split.n_train, (args.synthetic, 2), generator=g)
    sa, sb = split.train_images[idx[:, 0]], split.train_images[idx[:, 1]]
    with torch.no_grad():
        pa, pb = teacher_net(sa), teacher_net(sb)  # the teacher's symbols; the student gets the raw images
    targets = fam.soft_targets(teacher, "addition(A, B, Z)", {"A": pa, "B": pb})
    fam.train_classifier(student, torch.cat([sa, sb], dim=1), targets, epochs=args.epochs, seed=args.seed)
    pred = d.predict(A=ta, B=tb)
    out["distilled_sum_accuracy"] = float((pred == te.sums).float().mean())
    print(f"student distilled from the program: test sum accuracy {out['distilled_sum_accuracy']:.3f} (no program)")
    return out


if __name__ == "__main__":
    main()
