"""Family 2, nested: a module program over scenes of digits (Symbolic[Neuro]), and a logic layer inside a
network (Neuro[Symbolic]).

    python examples/family_nested.py              # about 25 seconds on 1 CPU thread

Symbolic[Neuro]: each scene holds three digit images; the query program
``[Filter("even"), Count()]`` counts its even digits, calling the digit network
inside inference. The network learns from the counts alone.

Neuro[Symbolic]: encoder (a digit CNN) -> LogicLayer(addition) -> a learned
read-out head, trained end to end with cross-entropy on the sums.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import plait
import plait.families as fam
from plait.nn.data import addition_split, load_digits
from plait.nn.networks import DigitNet
from plait.nn.train import Gather, QueryData

MODULES = """
nn(digit_net, [X], D, [0..9]) :: digit(X, D).
even(X) :- digit(X, D), D mod 2 =:= 0.
greater(X, Y) :- digit(X, D), digit(Y, E), D > E.
"""
ADDITION = """
nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).
addition(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.
"""


class AdditionWithLogicLayer(nn.Module):
    """Neural layers before and after a compiled query: images -> digits -> P(sum) -> read-out."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = DigitNet(image_size=8)
        self.logic = fam.LogicLayer(ADDITION, "addition(A, B, Z)", ["A", "B"], log=True)
        self.head = nn.Linear(19, 19)  # learned read-out over the 19 sums' log probabilities
        # it starts as the identity (the logic's answer), so the encoder gets a useful gradient from the start
        nn.init.eye_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # a saturated float32 softmax can make a sum impossible (log 0): the head gets a floor instead of -inf
        return self.head(self.logic(self.encoder(a), self.encoder(b)).clamp_min(-50.0).float())


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=600)
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    split = load_digits(seed=args.seed)
    out: dict[str, float] = {}

    # Symbolic[Neuro]: the program composes modules; the digit network runs inside inference
    torch.manual_seed(args.seed)
    net = DigitNet(image_size=8)
    scenes = fam.SceneProgram(MODULES, {"digit_net": net})
    steps = [fam.Filter("even"), fam.Count()]
    g = torch.Generator().manual_seed(args.seed)

    def scene_data(images, labels, n):
        idx = torch.randint(0, len(labels), (n, 3), generator=g)
        counts = (labels[idx] % 2 == 0).sum(1)
        return QueryData({"S": [Gather(images, idx[:, i]) for i in range(3)]}, counts.tolist()), idx

    train, _ = scene_data(split.train_images, split.train_labels, args.scenes)
    test, _ = scene_data(split.test_images, split.test_labels, 300)
    h = plait.fit(scenes.model(steps), scenes.query(steps), train, test=test, epochs=args.epochs, progress=False)
    with torch.no_grad():
        even = net(split.test_images)[:, 0::2].sum(-1) > 0.5
    out["count_accuracy"] = h.last["test_accuracy"]
    out["even_concept_accuracy"] = float((even == (split.test_labels % 2 == 0)).float().mean())
    print(f"Symbolic[Neuro]  {scenes.query(steps)}: test count accuracy {out['count_accuracy']:.3f}, "
          f"'even' concept accuracy {out['even_concept_accuracy']:.3f}")  # fmt: skip

    # Neuro[Symbolic]: a logic layer between an encoder and a head, trained end to end
    torch.manual_seed(args.seed)
    model = AdditionWithLogicLayer()
    tr, te = addition_split(split, n_digits=1, n_train=args.pairs, seed=args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ta, tb = split.train_images[tr.a[:, 0]], split.train_images[tr.b[:, 0]]
    for _ in range(args.epochs):
        perm = torch.randperm(len(tr), generator=g)
        for s in range(0, len(tr), 32):
            rows = perm[s : s + 32]
            loss = nn.functional.cross_entropy(model(ta[rows], tb[rows]), tr.sums[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(split.test_images[te.a[:, 0]], split.test_images[te.b[:, 0]]).argmax(-1)
        digits = model.encoder(split.test_images).argmax(-1)
    out["sum_accuracy"] = float((pred == te.sums).float().mean())
    out["digit_accuracy"] = float((digits == split.test_labels).float().mean())
    print(f"Neuro[Symbolic]  encoder -> LogicLayer(addition) -> head: test sum accuracy {out['sum_accuracy']:.3f}, "
          f"digit accuracy {out['digit_accuracy']:.3f}")  # fmt: skip
    return out


if __name__ == "__main__":
    main()
