"""Two networks constrained only by a rule collapse; a regulariser or a few labels fix it.

    python examples/two_views.py                  # about 25 seconds on 1 CPU thread

Two views of a digit (the image, and the image transposed, each seen by its own
network) must show the same digit, and the digit's observed parity must hold:

    nn(view_a, [X], D, [0..9]) :: a(X, D).
    nn(view_b, [X], D, [0..9]) :: b(X, D).
    parity(X, Y, P) :- a(X, D), b(Y, D), P is D mod 2.

Trained on parities alone, both networks put all their mass on one digit per
parity class: that satisfies every observation, so nothing asks for more (a
reasoning shortcut). Printed: how many distinct digits each network uses, and
its digit accuracy, for three runs: the rule alone; the rule plus a regulariser
through fit's loss hook (the entropy of each network's mean prediction over the
batch, maximised, so that all digits get used); the rule plus the regulariser
plus 5 labelled images per digit (a supervised term in the same hook), which
also fixes which digit is which. "Up to renaming" is the accuracy under the best
one-to-one renaming of the predicted digits: the regulariser alone finds the
digit clusters but cannot know their names (any renaming within a parity class
satisfies the rule equally well).
"""

from __future__ import annotations

import argparse

import torch

import plait
from plait.nn.data import load_digits
from plait.nn.networks import DigitNet
from plait.nn.train import QueryData

PROGRAM = """
nn(view_a, [X], D, [0..9]) :: a(X, D).
nn(view_b, [X], D, [0..9]) :: b(X, D).
parity(X, Y, P) :- a(X, D), b(Y, D), P is D mod 2.
"""


def spread(step: plait.Step) -> torch.Tensor:
    """Minus the entropy of each network's mean prediction in the batch: low when all digits are used."""
    total = torch.zeros((), dtype=torch.float64)
    for net in ("view_a", "view_b"):
        mean = step.outputs(net).mean((0, 1)).clamp_min(1e-12)
        total = total + (mean * mean.log()).sum()
    return total


def matched_accuracy(pred: torch.Tensor, labels: torch.Tensor) -> float:
    """Digit accuracy under the best one-to-one renaming of the predicted digits (Hungarian matching):
    how pure the network's digit clusters are, whatever it calls them."""
    from scipy.optimize import linear_sum_assignment

    counts = torch.zeros(10, 10)
    counts.index_put_((pred, labels), torch.ones(len(pred)), accumulate=True)
    rows, cols = linear_sum_assignment(-counts.numpy())
    return float(counts[rows, cols].sum() / len(pred))


def run(split, fix: str, epochs: int, seed: int, n_train: int) -> dict[str, float]:
    torch.manual_seed(seed)
    nets = {"view_a": DigitNet(8), "view_b": DigitNet(8)}
    model = plait.Model(PROGRAM, nets)
    x, y = split.train_images[:n_train], split.train_labels[:n_train]
    train = QueryData({"X": x, "Y": x.transpose(-1, -2)}, (y % 2).tolist())
    few = torch.cat([torch.nonzero(y == d)[:5, 0] for d in range(10)])

    def hook(step: plait.Step) -> dict[str, torch.Tensor]:
        terms = {"spread": spread(step)}
        if fix == "labels":
            for name, view in (("view_a", x[few]), ("view_b", x[few].transpose(-1, -2))):
                logp = nets[name](view).clamp_min(1e-12).log()
                terms[f"labels_{name}"] = torch.nn.functional.nll_loss(logp, y[few])
        return terms

    plait.fit(model, "parity(X, Y, P)", train, epochs=epochs, seed=seed, progress=False,
              extra_loss=None if fix == "none" else hook)  # fmt: skip
    out = {}
    with torch.no_grad():
        for name, view in (("view_a", split.test_images), ("view_b", split.test_images.transpose(-1, -2))):
            pred = nets[name](view).argmax(-1)
            out[f"{name}_digits_used"] = float(len(pred.unique()))
            out[f"{name}_accuracy"] = float((pred == split.test_labels).float().mean())
            out[f"{name}_matched_accuracy"] = matched_accuracy(pred, split.test_labels)
    return out


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--n-train", type=int, default=1348, help="training images (of the 1,348)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    split = load_digits(seed=args.seed)
    results = {}
    for fix, what in (("none", "the rule alone"), ("spread", "+ regulariser"), ("labels", "+ regulariser + 50 labels")):
        r = results[fix] = run(split, fix, args.epochs, args.seed, args.n_train)
        print(f"{what:>26}: digits used {r['view_a_digits_used']:.0f} and {r['view_b_digits_used']:.0f}, "
              f"digit accuracy {r['view_a_accuracy']:.3f} and {r['view_b_accuracy']:.3f}, "
              f"up to renaming {r['view_a_matched_accuracy']:.3f} and {r['view_b_matched_accuracy']:.3f}")  # fmt: skip
    return results


if __name__ == "__main__":
    main()
