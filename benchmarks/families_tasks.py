"""The tasks and the family runners of ``benchmarks/families.py`` (a module of that script, not a script).

Every runner trains one family on one task's training data and returns a
:class:`Trained`: how it answers, its concept network (the digit or fine-class
classifier) when it has one, and how long training took. The measurement code
in ``families.py`` is the same for all of them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

import plait
import plait.families as fam
from plait.nn.networks import DigitNet
from plait.nn.train import QueryData

ADDITION = """
nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).
addition(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.
"""
MULTIPLICATION = """
nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).
product(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 * N2.
"""
TWO_VIEWS = """
nn(view_a, [X], D, [0..9]) :: a(X, D).
nn(view_b, [X], D, [0..9]) :: b(X, D).
digit(X, T, D) :- a(X, D), b(T, D).
addition(X, XT, Y, YT, Z) :- digit(X, XT, N1), digit(Y, YT, N2), Z is N1 + N2.
"""
ALL_DIFFERENT = """
nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).
valid(A, B, C) :- digit(A, X), digit(B, Y), digit(C, Z), X =\\= Y, X =\\= Z, Y =\\= Z.
"""
DIGIT_SUPER = [0, 1, 2, 2, 1, 2, 0, 1, 0, 0]  # round 0 6 8 9, straight 1 4 7, curvy 2 3 5
FASHION_SUPER = [0, 1, 0, 2, 0, 3, 0, 3, 4, 3]  # tops, bottoms, dresses, footwear, bags


@dataclass
class Trained:
    """A trained family, as the measurements see it."""

    answer: Callable[..., torch.Tensor]  # task inputs -> [n] answers
    concept: nn.Module | None  # images -> [n, classes] probabilities (the symbols), None for no symbols
    from_program: bool  # the answer is the program's answer over the concepts (so it satisfies the program)
    seconds: float
    epochs: int
    extra: dict = field(default_factory=dict)


def two_view(net_a: nn.Module, net_b: nn.Module) -> nn.Module:
    """The ensemble's concept: the normalised product of the two views' distributions."""

    class Agree(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = net_a, net_b

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p = self.a(x) * self.b(x.transpose(-1, -2))
            return p / p.sum(-1, keepdim=True).clamp_min(1e-30)

    return Agree()


def _loop(loss_fn: Callable, params, data: list[torch.Tensor], epochs: int, seed: int, lr: float = 1e-3) -> None:
    """A plain training loop over row-aligned tensors: ``loss_fn(*batch)``."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params, lr=lr)
    n = len(data[0])
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        for s in range(0, n, 32):
            rows = perm[s : s + 32]
            loss = loss_fn(*(d[rows] for d in data))
            opt.zero_grad()
            loss.backward()
            opt.step()


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


# ----------------------------------------------------------------------------- addition (N = 1)


def _program_answer(model: plait.Model, query: str) -> Callable[..., torch.Tensor]:
    def answer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([model.predict(query, A=a[s : s + 512], B=b[s : s + 512]) for s in range(0, len(a), 512)])

    return answer


def _argmax_sum(net: nn.Module) -> Callable[..., torch.Tensor]:
    def answer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return net(a).argmax(-1) + net(b).argmax(-1)

    return answer


def add_baseline(d: dict, epochs: int, seed: int) -> Trained:
    torch.manual_seed(seed)
    net = DigitNet(8, 19, in_channels=2)
    _, s = _timed(
        lambda: fam.train_classifier(net, torch.cat([d["a"], d["b"]], 1), d["sums"], epochs=epochs, seed=seed)
    )

    def answer(a, b):
        with torch.no_grad():
            return net(torch.cat([a, b], 1)).argmax(-1)

    return Trained(answer, None, False, s, epochs)


def add_sequential(d: dict, epochs: int, seed: int) -> Trained:
    torch.manual_seed(seed)
    net = DigitNet(8)
    seq = fam.Sequential(ADDITION, {"digit_net": net}, symbols="distribution")
    x, y = torch.cat([d["a"], d["b"]]), torch.cat([d["la"], d["lb"]])
    _, s = _timed(lambda: seq.train_network("digit_net", x, y, epochs=epochs, seed=seed))
    return Trained(_program_answer(seq.model, "addition(A, B, Z)"), net, True, s, epochs)


def add_nested_sn(d: dict, epochs: int, seed: int) -> Trained:
    torch.manual_seed(seed)
    net = DigitNet(8)
    model = plait.Model(ADDITION, {"digit_net": net})
    data = QueryData({"A": d["a"], "B": d["b"]}, d["sums"])
    _, s = _timed(lambda: plait.fit(model, "addition(A, B, Z)", data, epochs=epochs, seed=seed, progress=False))
    net.eval()
    return Trained(_program_answer(model, "addition(A, B, Z)"), net, True, s, epochs)


class _LogicLayerNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = DigitNet(8)
        self.logic = fam.LogicLayer(ADDITION, "addition(A, B, Z)", ["A", "B"], log=True)
        self.head = nn.Linear(19, 19)
        nn.init.eye_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.head(self.logic(self.encoder(a), self.encoder(b)).clamp_min(-50.0).float())


def add_nested_ns(d: dict, epochs: int, seed: int) -> Trained:
    torch.manual_seed(seed)
    m = _LogicLayerNet()
    loss = lambda a, b, y: nn.functional.cross_entropy(m(a, b), y)  # noqa: E731
    _, s = _timed(lambda: _loop(loss, m.parameters(), [d["a"], d["b"], d["sums"]], epochs, seed))
    m.eval()

    def answer(a, b):
        with torch.no_grad():
            return m(a, b).argmax(-1)

    return Trained(answer, m.encoder, False, s, epochs)


def add_cooperative(d: dict, epochs: int, seed: int) -> Trained:
    torch.manual_seed(seed)
    net = DigitNet(8)
    model = plait.Model(ADDITION, {"digit_net": net})
    abl = fam.AbductiveLearning(model, "addition(A, B, Z)", "digit_net")
    rounds = epochs + 3  # abduction needs a few rounds to get going from a random network
    _, s = _timed(lambda: abl.fit({"A": d["a"], "B": d["b"]}, d["sums"], rounds=rounds, epochs=2, seed=seed))
    return Trained(_program_answer(model, "addition(A, B, Z)"), net, True, s, len(abl.rounds), {"rounds": rounds})


def _constraint_net(loss: nn.Module, d: dict, epochs: int, seed: int) -> tuple[nn.Module, float]:
    torch.manual_seed(seed)
    net = DigitNet(8)
    fn = lambda a, b, y: loss(net(a), net(b), target=y)  # noqa: E731
    _, s = _timed(lambda: _loop(fn, net.parameters(), [d["a"], d["b"], d["sums"]], epochs, seed))
    net.eval()
    return net, s


def add_semantic(d: dict, epochs: int, seed: int) -> Trained:
    net, s = _constraint_net(fam.SemanticLoss(ADDITION, "addition(A, B, Z)", ["A", "B"]), d, epochs, seed)
    return Trained(_argmax_sum(net), net, True, s, epochs)


def add_fuzzy(d: dict, epochs: int, seed: int) -> Trained:
    loss = fam.FuzzyLoss(ADDITION, "addition(A, B, Z)", ["A", "B"], tnorm="product", loss="log")
    net, s = _constraint_net(loss, d, epochs, seed)
    return Trained(_argmax_sum(net), net, True, s, epochs)


def add_distill(d: dict, epochs: int, seed: int) -> Trained:
    """The semantic-loss network with the program teaches a pair network on 3x as many synthetic pairs."""
    teacher_net, s1 = _constraint_net(fam.SemanticLoss(ADDITION, "addition(A, B, Z)", ["A", "B"]), d, epochs, seed)
    g = torch.Generator().manual_seed(seed)
    pool = d["pool"]  # the training images (unlabelled)
    idx = torch.randint(0, len(pool), (3 * len(d["a"]), 2), generator=g)
    sa, sb = pool[idx[:, 0]], pool[idx[:, 1]]
    torch.manual_seed(seed)
    student = DigitNet(8, 19, in_channels=2)
    teacher = fam.reasoner(ADDITION)

    def run():
        with torch.no_grad():
            targets = fam.soft_targets(teacher, "addition(A, B, Z)", {"A": teacher_net(sa), "B": teacher_net(sb)})
        fam.train_classifier(student, torch.cat([sa, sb], 1), targets, epochs=epochs, seed=seed)

    _, s2 = _timed(run)

    def answer(a, b):
        with torch.no_grad():
            return student(torch.cat([a, b], 1)).argmax(-1)

    return Trained(answer, None, False, s1 + s2, epochs)


def add_ensemble(d: dict, epochs: int, seed: int) -> Trained:
    torch.manual_seed(seed)
    va, vb = DigitNet(8), DigitNet(8)
    ens = fam.Ensemble(TWO_VIEWS, {"view_a": va, "view_b": vb})
    q = "addition(A, AT, B, BT, Z)"
    t = lambda x: x.transpose(-1, -2)  # noqa: E731  # the second view: the image transposed
    data = QueryData({"A": d["a"], "AT": t(d["a"]), "B": d["b"], "BT": t(d["b"])}, d["sums"])
    _, s = _timed(lambda: plait.fit(ens, q, data, epochs=epochs, seed=seed, progress=False))
    ens.eval()

    def answer(a, b):
        with torch.no_grad():
            return torch.cat(
                [
                    ens.predict(q, A=a[i : i + 512], AT=t(a[i : i + 512]), B=b[i : i + 512], BT=t(b[i : i + 512]))
                    for i in range(0, len(a), 512)
                ]
            )

    return Trained(answer, two_view(va, vb), True, s, epochs)


ADDITION_FAMILIES: dict[str, Callable[[dict, int, int], Trained]] = {
    "baseline (pure neural)": add_baseline,
    "sequential": add_sequential,
    "nested S[N] (gradient through inference)": add_nested_sn,
    "nested N[S] (logic layer)": add_nested_ns,
    "cooperative (abduction)": add_cooperative,
    "compiled: semantic loss": add_semantic,
    "compiled: fuzzy loss": add_fuzzy,
    "compiled: distillation": add_distill,
    "ensemble (two views)": add_ensemble,
}


# ----------------------------------------------------------------------------- all-different boards


def _valid_answer(model: plait.Model) -> Callable[..., torch.Tensor]:
    def answer(a, b, c):
        with torch.no_grad():
            return (model("valid(A, B, C)", A=a, B=b, C=c)[:, 0] > 0.5).long()

    return answer


def _board_loss(logp: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``-log P(valid)`` for valid boards, ``-log(1 - P(valid))`` for invalid ones."""
    lp = logp[:, 0].clamp_min(-30.0)  # a saturated softmax can make P(valid) exactly 0: a floor, not inf
    log_not = torch.log1p(-lp.exp().clamp_max(1 - 1e-7))
    return -torch.where(y.bool(), lp, log_not).mean()


def board_baseline(d: dict, epochs: int, seed: int) -> Trained:
    torch.manual_seed(seed)
    net = DigitNet(8, 2, in_channels=3)
    x = torch.cat([d["a"], d["b"], d["c"]], 1)
    _, s = _timed(lambda: fam.train_classifier(net, x, d["valid"], epochs=epochs, seed=seed))

    def answer(a, b, c):
        with torch.no_grad():
            return net(torch.cat([a, b, c], 1)).argmax(-1)

    return Trained(answer, None, False, s, epochs)


def board_sequential(d: dict, epochs: int, seed: int) -> Trained:
    torch.manual_seed(seed)
    net = DigitNet(8)
    seq = fam.Sequential(ALL_DIFFERENT, {"digit_net": net})
    x, y = torch.cat([d["a"], d["b"], d["c"]]), torch.cat([d["la"], d["lb"], d["lc"]])
    _, s = _timed(lambda: seq.train_network("digit_net", x, y, epochs=epochs, seed=seed))
    return Trained(_valid_answer(seq.model), net, True, s, epochs)


def board_nested_sn(d: dict, epochs: int, seed: int) -> Trained:
    torch.manual_seed(seed)
    net = DigitNet(8)
    model = plait.Model(ALL_DIFFERENT, {"digit_net": net})
    data = QueryData({"A": d["a"], "B": d["b"], "C": d["c"]}, d["valid"].bool().tolist())
    _, s = _timed(lambda: plait.fit(model, "valid(A, B, C)", data, epochs=epochs, seed=seed, progress=False))
    net.eval()
    return Trained(_valid_answer(model), net, True, s, epochs)


def board_semantic(d: dict, epochs: int, seed: int, layer: nn.Module | None = None) -> Trained:
    torch.manual_seed(seed)
    net = DigitNet(8)
    layer = layer or fam.LogicLayer(ALL_DIFFERENT, "valid(A, B, C)", ["A", "B", "C"], log=True)
    fn = lambda a, b, c, y: _board_loss(layer(net(a), net(b), net(c)), y)  # noqa: E731
    _, s = _timed(lambda: _loop(fn, net.parameters(), [d["a"], d["b"], d["c"], d["valid"]], epochs, seed))
    net.eval()

    def answer(a, b, c):  # the network alone: its digits, checked for all-different
        with torch.no_grad():
            ds = torch.stack([net(a).argmax(-1), net(b).argmax(-1), net(c).argmax(-1)], 1)
        return all_different(ds).long()

    return Trained(answer, net, True, s, epochs)


def board_fuzzy(d: dict, epochs: int, seed: int) -> Trained:
    """The all-different rule's product-t-norm degree d as the loss: -log d (valid boards), -log(1 - d) (invalid)."""
    loss = fam.FuzzyLoss(ALL_DIFFERENT, "valid(A, B, C)", ["A", "B", "C"], tnorm="product")
    return board_semantic(d, epochs, seed, layer=loss.layer)


def board_distill(d: dict, epochs: int, seed: int) -> Trained:
    """The semantic-loss network with the program labels 3x as many synthetic boards for a board network."""
    teacher = board_semantic(d, epochs, seed)
    g = torch.Generator().manual_seed(seed)
    pool = torch.cat([d["a"], d["b"], d["c"]])  # the training images (unlabelled)
    idx = torch.randint(0, len(pool), (3 * len(d["a"]), 3), generator=g)
    cells = [pool[idx[:, i]] for i in range(3)]
    torch.manual_seed(seed)
    student = DigitNet(8, 2, in_channels=3)
    program = fam.reasoner(ALL_DIFFERENT)

    def run():
        with torch.no_grad():
            p = fam.soft_targets(program, "valid(A, B, C)", {k: teacher.concept(x) for k, x in zip("ABC", cells)})
        # column 0 is P(valid): the student's class 1 means valid, as the labels do
        targets = torch.stack([1 - p[:, 0], p[:, 0]], 1).clamp(0, 1)
        fam.train_classifier(student, torch.cat(cells, 1), targets, epochs=epochs, seed=seed)

    _, s = _timed(run)

    def answer(a, b, c):
        with torch.no_grad():
            return student(torch.cat([a, b, c], 1)).argmax(-1)

    return Trained(answer, None, False, teacher.seconds + s, epochs)


TWO_VIEW_BOARD = """
nn(view_a, [X], D, [0..9]) :: a(X, D).
nn(view_b, [X], D, [0..9]) :: b(X, D).
digit(X, T, D) :- a(X, D), b(T, D).
valid(A, AT, B, BT, C, CT) :- digit(A, AT, X), digit(B, BT, Y), digit(C, CT, Z), X =\\= Y, X =\\= Z, Y =\\= Z.
"""


def board_ensemble(d: dict, epochs: int, seed: int) -> Trained:
    """Two networks, one on each cell image and one on its transpose, joined by the all-different program."""
    torch.manual_seed(seed)
    va, vb = DigitNet(8), DigitNet(8)
    ens = fam.Ensemble(TWO_VIEW_BOARD, {"view_a": va, "view_b": vb})
    q = "valid(A, AT, B, BT, C, CT)"
    t = lambda x: x.transpose(-1, -2)  # noqa: E731

    def inputs(a, b, c):
        return {"A": a, "AT": t(a), "B": b, "BT": t(b), "C": c, "CT": t(c)}

    data = QueryData(inputs(d["a"], d["b"], d["c"]), d["valid"].bool().tolist())
    _, s = _timed(lambda: plait.fit(ens, q, data, epochs=epochs, seed=seed, progress=False))
    ens.eval()

    def answer(a, b, c):
        with torch.no_grad():
            return (ens(q, **inputs(a, b, c))[:, 0] > 0.5).long()

    return Trained(answer, two_view(va, vb), True, s, epochs)


BOARD_FAMILIES: dict[str, Callable[[dict, int, int], Trained]] = {
    "baseline (pure neural)": board_baseline,
    "sequential": board_sequential,
    "nested S[N] (gradient through inference)": board_nested_sn,
    "compiled: semantic loss": board_semantic,
    "compiled: fuzzy loss": board_fuzzy,
    "compiled: distillation": board_distill,
    "ensemble (two views)": board_ensemble,
}
BOARD_NOT_RUN = {
    "nested N[S] (logic layer)": "not run on this task: a head after P(valid) adds nothing to a yes/no answer",
    "cooperative (abduction)": "not run: an invalid board abduces only 'some two digits are equal', too weak to learn from",
}


def all_different(ds: torch.Tensor) -> torch.Tensor:
    """``[n]`` bool: the digits of each row are pairwise different."""
    k = ds.shape[1]
    eq = ds[:, :, None] == ds[:, None, :]
    return eq.sum((1, 2)) == k


# ----------------------------------------------------------------------------- coarse and fine


def _fine_coarse_nets(d: dict, seed: int) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    size = d["x"].shape[-1]
    return DigitNet(size, 10), DigitNet(size, max(d["supers"]) + 1)


def fine_epochs(d: dict, epochs: int) -> int:
    """Epochs over the few fine labels that take as many steps as ``epochs`` over all images (at most 200)."""
    return min(200, max(epochs, round(epochs * len(d["x"]) / max(len(d["xf"]), 1))))


def cf_baseline(d: dict, epochs: int, seed: int) -> Trained:
    fine, _ = _fine_coarse_nets(d, seed)
    _, s = _timed(lambda: fam.train_classifier(fine, d["xf"], d["yf"], epochs=fine_epochs(d, epochs), seed=seed))

    def answer(x):
        with torch.no_grad():
            return fine(x).argmax(-1)

    return Trained(answer, fine, False, s, epochs)


def _cf_experts(d: dict, epochs: int, seed: int) -> tuple[fam.Ensemble, nn.Module, nn.Module, float]:
    fine, coarse = _fine_coarse_nets(d, seed)
    ens = fam.Ensemble(fam.coarse_fine_program(d["supers"]), {"fine_net": fine, "coarse_net": coarse})

    def train():
        fam.train_classifier(fine, d["xf"], d["yf"], epochs=fine_epochs(d, epochs), seed=seed)
        fam.train_classifier(coarse, d["x"], d["yc"], epochs=epochs, seed=seed)

    _, s = _timed(train)
    return ens, fine, coarse, s


def cf_sequential(d: dict, epochs: int, seed: int) -> Trained:
    """Both experts trained on their own labels; the program reasons over their top-2 symbols (renormalised)."""
    _, fine, coarse, s = _cf_experts(d, epochs, seed)
    seq = fam.Sequential(fam.coarse_fine_program(d["supers"]), {"fine_net": fine, "coarse_net": coarse}, symbols="topk")

    def answer(x):
        with torch.no_grad():
            return seq.predict("label(X, F)", X=x)

    return Trained(answer, fine, True, s, epochs)


def cf_ensemble(d: dict, epochs: int, seed: int) -> Trained:
    ens, fine, _, s = _cf_experts(d, epochs, seed)

    def answer(x):
        with torch.no_grad():
            return ens.predict("label(X, F)", X=x)

    return Trained(answer, fine, True, s, epochs)


def cf_edcr(d: dict, epochs: int, seed: int) -> Trained:
    ens, fine, coarse, s = _cf_experts(d, epochs, seed)
    with torch.no_grad():
        edcr = fam.EDCR(d["supers"]).learn(fine(d["xh"]), coarse(d["xh"]), d["yh"])

    def answer(x):
        with torch.no_grad():
            return edcr.apply(fine(x), coarse(x))

    return Trained(answer, fine, False, s, epochs, {"rules": len(edcr.rules)})


def cf_semantic(d: dict, epochs: int, seed: int) -> Trained:
    """The fine net alone, trained on its fine labels plus the semantic loss of the coarse labels of all images."""
    fine, _ = _fine_coarse_nets(d, seed)
    n_coarse = max(d["supers"]) + 1
    program = f"nn(fine_net, [X], F, [0..9]) :: fine(X, F).\n{' '.join(f'super({f}, {c}).' for f, c in enumerate(d['supers']))}\ncoarse(X, C) :- fine(X, F), super(F, C).\n"
    sl = fam.SemanticLoss(program, "coarse(X, C)", ["X"])
    assert sl.layer.answers == list(range(n_coarse))
    xf, yf = d["xf"], d["yf"]
    g = torch.Generator().manual_seed(seed)

    def loss(x, yc):
        rows = torch.randint(0, len(xf), (min(32, len(xf)),), generator=g)
        sup = nn.functional.nll_loss(fine(xf[rows]).clamp_min(1e-12).log(), yf[rows])
        return sup + sl(fine(x), target=yc)

    _, s = _timed(lambda: _loop(loss, fine.parameters(), [d["x"], d["yc"]], epochs, seed))
    fine.eval()

    def answer(x):
        with torch.no_grad():
            return fine(x).argmax(-1)

    return Trained(answer, fine, False, s, epochs)


CF_FAMILIES: dict[str, Callable[[dict, int, int], Trained]] = {
    "baseline (pure neural)": cf_baseline,
    "sequential": cf_sequential,
    "compiled: semantic loss": cf_semantic,
    "ensemble (coarse + fine)": cf_ensemble,
    "ensemble + EDCR rules": cf_edcr,
}
CF_NOT_RUN = {
    "nested S[N] / N[S], cooperative, fuzzy, distillation": "not run on this task: one image, one label, nothing "
    "for a composed program, a logic layer or abduction to add beyond the ensemble program (time)",
}


def ece(probs: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> float:
    """Expected calibration error (equal-width confidence bins)."""
    conf, pred = probs.max(-1)
    right = (pred == labels).float()
    total = 0.0
    edges = torch.linspace(0, 1, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += float(m.float().mean()) * abs(float(right[m].mean()) - float(conf[m].mean()))
    return total


def log_mean(xs: list[float]) -> float:
    return math.exp(sum(math.log(max(x, 1e-12)) for x in xs) / len(xs))


# ----------------------------------------------------------------------------- scalability with input size


def board_program(k: int) -> tuple[str, str, list[str]]:
    """The all-different program, query and input names for boards of ``k`` cells."""
    cells = [f"C{i}" for i in range(k)]
    digits = [f"D{i}" for i in range(k)]
    body = ", ".join(f"digit({c}, {d})" for c, d in zip(cells, digits))
    diff = ", ".join(f"{digits[i]} =\\= {digits[j]}" for i in range(k) for j in range(i + 1, k))
    head = f"valid({', '.join(cells)})"
    program = f"nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).\n{head} :- {body}, {diff}.\n"
    return program, head, cells


def scaling_probe(family: str, k: int, cells: list[torch.Tensor], labels: torch.Tensor, valid: torch.Tensor) -> dict:
    """One epoch of ``family`` on boards of ``k`` cells: training seconds (after compiling), the
    compile seconds, and inference milliseconds per board.

    ``cells`` are k ``[n, 1, 8, 8]`` image tensors, ``labels`` ``[n, k]`` their digits,
    ``valid`` ``[n]`` 0/1 board labels. Every family sees the same boards and batches of 32.
    """
    torch.manual_seed(0)
    program, query, names = board_program(k)
    compile_s = 0.0
    if family == "baseline (pure neural)":
        net = DigitNet(8, 2, in_channels=k)
        x = torch.cat(cells, 1)
        _, s = _timed(lambda: fam.train_classifier(net, x, valid, epochs=1))
        with torch.no_grad():
            _, inf = _timed(lambda: net(x).argmax(-1))
        return {"train_s": s, "compile_s": 0.0, "inference_ms": 1000 * inf / len(valid)}
    net = DigitNet(8)
    if family == "sequential":
        seq = fam.Sequential(program, {"digit_net": net})
        _, s = _timed(lambda: seq.train_network("digit_net", torch.cat(cells), labels.T.reshape(-1), epochs=1))
        model = seq.model
        _, compile_s = _timed(lambda: model.template(query, names))  # the program compiles at its first answer
    elif family == "nested S[N] (gradient through inference)":
        model = plait.Model(program, {"digit_net": net})
        data = QueryData(dict(zip(names, cells)), valid.bool().tolist())
        _, compile_s = _timed(lambda: model.template(query, names))
        _, s = _timed(lambda: plait.fit(model, query, data, epochs=1, progress=False))
    elif family in ("compiled: semantic loss", "compiled: fuzzy loss"):
        if family == "compiled: semantic loss":
            layer, compile_s = _timed(lambda: fam.LogicLayer(program, query, names, log=True))
        else:
            layer, compile_s = _timed(lambda: fam.FuzzyLoss(program, query, names, tnorm="product").layer)
        fn = lambda *xs: _board_loss(layer(*(net(x) for x in xs[:-1])), xs[-1])  # noqa: E731
        _, s = _timed(lambda: _loop(fn, net.parameters(), [*cells, valid], 1, 0))
        model = None
    else:
        raise ValueError(f"no scaling probe for {family!r}")
    with torch.no_grad():
        if model is not None:  # the program answers
            _, inf = _timed(lambda: model(query, **dict(zip(names, cells))))
        else:  # the network alone answers
            _, inf = _timed(lambda: all_different(torch.stack([net(x).argmax(-1) for x in cells], 1)))
    return {"train_s": s, "compile_s": compile_s, "inference_ms": 1000 * inf / len(valid)}


SCALING_FAMILIES = (
    "baseline (pure neural)",
    "sequential",
    "nested S[N] (gradient through inference)",
    "compiled: semantic loss",
    "compiled: fuzzy loss",
)
