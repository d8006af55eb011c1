"""Shortest paths on digit-cost grids, learned through IndeCateR (a synthetic stand-in for Warcraft maps).

Each cell of a k x k map shows one of scikit-learn's bundled 8x8 digit images; the
digit (1..9) is the cost of entering the cell. The label of a map is its shortest
path from the top-left to the bottom-right cell (8-neighbour moves, the cost of a path
is the sum of its cells' costs, both ends included, as in the Warcraft benchmark)
and that path's cost. The network never sees a cost.

The model is a neural annotated disjunction per cell (one shared digit network, values
1..9); the program says that the costs of the labelled path's cells add up to the
labelled cost. Grounding that sum as a plait program enumerates every combination of
costs (9^L for a path of L cells), so the constraint is a batched tensor function and
the gradient comes from :func:`plait.inference.approx.indecater` over the path's cells.
At test time the network's most likely cost per cell goes to Dijkstra (here a batched
Bellman-Ford); a map counts as solved when the predicted path is optimal under the
true costs.
"""

from __future__ import annotations

import time

import torch

from plait.inference.approx import indecater, log_estimate
from plait.nn.data import ImageSplit
from plait.nn.networks import DigitNet

_MOVES = [(di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1) if (di, dj) != (0, 0)]


def distances(costs: torch.Tensor) -> torch.Tensor:
    """``[B, k, k]`` shortest distances from the top-left cell (its cost included), by batched Bellman-Ford."""
    b, k, _ = costs.shape
    inf = torch.full_like(costs, float("inf"))
    dist = inf.clone()
    dist[:, 0, 0] = costs[:, 0, 0]
    padded = torch.full((b, k + 2, k + 2), float("inf"), dtype=costs.dtype)
    while True:
        padded[:, 1:-1, 1:-1] = dist
        best = torch.stack([padded[:, 1 + di : k + 1 + di, 1 + dj : k + 1 + dj] for di, dj in _MOVES]).amin(0)
        new = torch.minimum(dist, costs + best)
        if torch.equal(new, dist):
            return dist
        dist = new


def shortest_paths(costs: torch.Tensor) -> torch.Tensor:
    """``[B, k, k]`` 0/1 masks of a shortest path per map (ties broken by a fixed move order)."""
    dist = distances(costs)
    b, k, _ = costs.shape
    masks = torch.zeros(b, k, k, dtype=torch.bool)
    for n in range(b):
        i, j = k - 1, k - 1
        masks[n, i, j] = True
        while (i, j) != (0, 0):
            target = dist[n, i, j] - costs[n, i, j]
            for di, dj in _MOVES:
                a, c = i + di, j + dj
                if 0 <= a < k and 0 <= c < k and abs(float(dist[n, a, c]) - float(target)) < 1e-6:
                    i, j = a, c
                    break
            masks[n, i, j] = True
    return masks


def make_maps(split: ImageSplit, k: int, n: int, train: bool, seed: int) -> dict[str, torch.Tensor]:
    """``n`` k x k maps: image index per cell, true costs, a shortest path mask and its cost."""
    g = torch.Generator().manual_seed(seed)
    labels = split.train_labels if train else split.test_labels
    costs = torch.randint(1, 10, (n, k, k), generator=g)
    pools = [torch.nonzero(labels == d)[:, 0] for d in range(10)]
    image = torch.empty(n, k, k, dtype=torch.long)
    for d in range(1, 10):
        where = costs == d
        pick = torch.randint(0, len(pools[d]), (int(where.sum()),), generator=g)
        image[where] = pools[d][pick]
    path = shortest_paths(costs.double())
    return {"image": image, "costs": costs, "path": path, "cost": (costs * path).sum((1, 2))}


def _path_accuracy(pred_costs: torch.Tensor, maps: dict[str, torch.Tensor]) -> tuple[float, float]:
    """Share of maps whose predicted path is optimal under the true costs, and that equal the label exactly."""
    pred = shortest_paths(pred_costs.double())
    true_cost = (maps["costs"] * pred).sum((1, 2))
    optimal = (true_cost == maps["cost"]).float().mean()
    exact = (pred == maps["path"]).flatten(1).all(1).float().mean()
    return float(optimal), float(exact)


def sum_probability(probs: torch.Tensor, mask: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``[B]`` exact ``P(sum of the masked cells' costs == target)`` by convolving the cells' distributions."""
    b, lmax, d = probs.shape
    dist = torch.zeros(b, d * lmax + 1, dtype=probs.dtype)
    dist[:, 0] = 1
    for i in range(lmax):
        shifted = torch.stack([torch.roll(dist, v + 1, 1) for v in range(d)], 1)  # cost v + 1
        new = (probs[:, i, :, None] * shifted).sum(1)
        dist = torch.where(mask[:, i, None], new, dist)
    return dist.gather(1, target[:, None].clamp_max(d * lmax))[:, 0]


def train_plait(
    split: ImageSplit,
    k: int,
    n_train: int,
    n_test: int,
    epochs: int,
    samples: int = 4,
    seed: int = 0,
    estimator: str = "indecater",
    lr: float = 3e-3,
) -> dict[str, float]:
    """The digit network trained through IndeCateR on the path-cost constraint; path accuracy on test maps."""
    torch.manual_seed(seed)
    tr = make_maps(split, k, n_train, True, seed)
    te = make_maps(split, k, n_test, False, seed + 1)
    net = DigitNet(image_size=8, n_classes=9)  # cost 1..9 as class 0..8
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    # the labelled path's cells per map, padded to the longest path (pad cells are masked out of the sum)
    flat = tr["path"].flatten(1)
    length = flat.sum(1)
    lmax = int(length.max())
    order = torch.argsort((~flat).to(torch.int8), dim=1, stable=True)[:, :lmax]  # path cells first
    mask = torch.arange(lmax)[None] < length[:, None]
    cells = tr["image"].flatten(1).gather(1, order)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n_train, generator=gen)
        for s in range(0, n_train, 32):
            rows = perm[s : s + 32]
            m, c = mask[rows], tr["cost"][rows]
            probs = net(split.train_images[cells[rows].flatten()]).view(len(rows), lmax, 9)
            probs = torch.where(m[..., None], probs, torch.nn.functional.one_hot(torch.tensor(0), 9).to(probs))

            def holds(x: torch.Tensor, m=m, c=c) -> torch.Tensor:
                return ((((x + 1) * m).sum(-1) == c).to(torch.float32)).unsqueeze(-1)

            if estimator == "exact":
                loss = -torch.log(sum_probability(probs, m, c)).mean()
            else:
                est = indecater(probs, holds, samples, gen)
                loss = -log_estimate(est, samples).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    train_s = time.perf_counter() - start
    with torch.no_grad():
        net.eval()
        pred = net(split.test_images[te["image"].flatten()]).argmax(-1).view(n_test, k, k) + 1
        cell_acc = float((pred == te["costs"]).float().mean())
    optimal, exact = _path_accuracy(pred, te)
    return {"optimal": optimal, "exact": exact, "cell_accuracy": cell_acc, "train_s": train_s, "epochs": epochs}


class _MapNet(torch.nn.Module):
    """Pure-neural reference: cell features from a digit CNN, then an MLP over the whole map to path logits."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k
        self.cell = DigitNet(image_size=8, n_classes=16, softmax=False)
        self.head = torch.nn.Sequential(torch.nn.Linear(16 * k * k, 256), torch.nn.ReLU(), torch.nn.Linear(256, k * k))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        b = images.shape[0] // (self.k * self.k)
        return self.head(self.cell(images).view(b, -1))


def train_neural(split: ImageSplit, k: int, n_train: int, n_test: int, epochs: int, seed: int = 0) -> dict[str, float]:
    """The pure-neural reference, trained on the path masks (binary cross-entropy per cell)."""
    torch.manual_seed(seed)
    tr = make_maps(split, k, n_train, True, seed)
    te = make_maps(split, k, n_test, False, seed + 1)
    net = _MapNet(k)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n_train, generator=gen)
        for s in range(0, n_train, 32):
            rows = perm[s : s + 32]
            logits = net(split.train_images[tr["image"][rows].flatten()])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, tr["path"][rows].flatten(1).float())
            opt.zero_grad()
            loss.backward()
            opt.step()
    train_s = time.perf_counter() - start
    with torch.no_grad():
        net.eval()
        pred = net(split.test_images[te["image"].flatten()]).view(n_test, k, k) > 0
    exact = float((pred == te["path"]).flatten(1).all(1).float().mean())
    return {"exact": exact, "train_s": train_s, "epochs": epochs}
