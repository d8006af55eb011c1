"""Family 5, ensemble: a fine and a coarse classifier feed one program; EDCR rules correct the fine one.

    python examples/family_ensemble.py            # about 10 seconds on 1 CPU thread

The task is coarse-and-fine classification: each digit's fine class (0..9) and
its super-class by shape (round 0 6 8 9, straight 1 4 7, curvy 2 3 5), or
Fashion-MNIST's classes and super-classes (tops, bottoms, dresses, footwear,
bags) with --fashion where it is installed. The fine network trains on few
labels, the coarse one on many (coarse labels are cheaper). The program
``label(X, F) :- fine(X, F), coarse(X, C), super(F, C).`` arbitrates; EDCR
rules, learned on held-out data, flag and correct fine predictions that
contradict the coarse network.
"""

from __future__ import annotations

import argparse

import torch

import plait.families as fam
from plait.nn.data import load_digits, load_fashion_mnist
from plait.nn.networks import DigitNet

DIGIT_SUPER = [0, 1, 2, 2, 1, 2, 0, 1, 0, 0]  # 0 round, 1 straight, 2 curvy
FASHION_SUPER = [0, 1, 0, 2, 0, 3, 0, 3, 4, 3]  # tops, bottoms, dresses, footwear, bags


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fine-labels", type=int, default=100)
    ap.add_argument("--coarse-labels", type=int, default=800)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--fashion", action="store_true", help="Fashion-MNIST (installed by dataset-fashion-mnist)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.fashion:
        split, supers, size = load_fashion_mnist(), FASHION_SUPER, 28
    else:
        split, supers, size = load_digits(seed=args.seed), DIGIT_SUPER, 8
    to_super = torch.tensor(supers)
    torch.manual_seed(args.seed)
    experts = {"fine_net": DigitNet(size, 10), "coarse_net": DigitNet(size, max(supers) + 1)}
    ens = fam.Ensemble(fam.coarse_fine_program(supers), experts)
    x, y = split.train_images, split.train_labels
    nf, nc = args.fine_labels, args.coarse_labels
    held = slice(nc, nc + 300)  # held-out labelled images: where the EDCR rules are learned
    ens.train_experts(
        {"fine_net": (x[:nf], y[:nf]), "coarse_net": (x[:nc], to_super[y[:nc]])}, epochs=args.epochs, seed=args.seed
    )
    tx, ty = split.test_images[:2000], split.test_labels[:2000]
    with torch.no_grad():
        joint = ens.predict("label(X, F)", X=tx)
        fine_h, coarse_h = experts["fine_net"](x[held]), experts["coarse_net"](x[held])
        fine_t, coarse_t = experts["fine_net"](tx), experts["coarse_net"](tx)
    edcr = fam.EDCR(supers, min_precision=0.5).learn(fine_h, coarse_h, y[held])
    corrected = edcr.apply(fine_t, coarse_t)
    out = {
        "fine_accuracy": float((fine_t.argmax(-1) == ty).float().mean()),
        "coarse_accuracy": float((coarse_t.argmax(-1) == to_super[ty]).float().mean()),
        "ensemble_accuracy": float((joint == ty).float().mean()),
        "edcr_accuracy": float((corrected == ty).float().mean()),
        "rules": float(len(edcr.rules)),
    }
    print(f"{split.name}: fine network alone {out['fine_accuracy']:.3f} ({nf} labels), "
          f"coarse network {out['coarse_accuracy']:.3f} ({nc} coarse labels)")  # fmt: skip
    print(f"ensemble through the program: {out['ensemble_accuracy']:.3f}")
    print(f"fine network + {len(edcr.rules)} EDCR rules: {out['edcr_accuracy']:.3f}")
    for rule in edcr.rules[:3]:
        print(f"  {rule.text}")
    return out


if __name__ == "__main__":
    main()
