"""Visual Sudoku classification (4x4 and 9x9) from scikit-learn's bundled 8x8 digit images.

Boards: valid solutions drawn by shuffling a base pattern (digit relabelling, rows within
bands, bands, columns within stacks, stacks); an invalid board is a valid one with one cell
replaced by another digit (so one row, column and box hold a repeat). Each cell shows a
random image of its digit (train images for train boards, test images for test boards).
Fashion-MNIST is not installed here, so only the digit images are used.

plait's program (:func:`program`) says a board is valid when no two peer cells (same row,
column or box) show the same digit, with a neural annotated disjunction per cell. Training
uses the validity labels only:

- ``full``: the query ``valid(Cells)`` observed true or false, answered by sampling
  (``method="sample"``; exact compilation of even the 4x4 query does not finish, see
  docs/benchmarks.md). An untrained network makes a valid board so unlikely
  (about 4^-16 for 4x4) that no sampled world is ever valid: the estimate and its gradient
  are 0, and nothing is learnt (measured and reported, not hidden);
- ``entailed``: a valid board entails, through the program, that every peer pair differs,
  so the pairs of the valid boards are trained on ``differ(A, B)`` observed true (exact
  inference, one tiny circuit); invalid boards say only that some pair repeats and are not
  used. The network learns the digits up to a relabelling, which validity cannot see.

A board is then classified by the program on the network's most likely digit per cell.
The pure-neural reference is a CNN per cell and an MLP over the whole board, trained on
the validity labels with binary cross-entropy.
"""

from __future__ import annotations

import itertools
import time

import torch

import plait
from plait.nn.data import ImageSplit
from plait.nn.networks import DigitNet
from plait.nn.train import Gather, QueryData


def peers(n: int) -> list[tuple[int, int]]:
    """The pairs of cells (row-major indices, i < j) that share a row, a column or a box."""
    b = int(round(n**0.5))
    return [
        (i, j)
        for i, j in itertools.combinations(range(n * n), 2)
        if i // n == j // n or i % n == j % n or ((i // n) // b == (j // n) // b and (i % n) // b == (j % n) // b)
    ]


def program(n: int) -> str:
    """The validity program of an n x n board whose cells are images."""
    facts = "".join(f"peer({i},{j}).\n" for i, j in peers(n))
    return (
        ":- use_module(library(lists)).\n"
        f"nn(cell_net, [X], V, [{','.join(str(v) for v in range(1, n + 1))}]) :: digit(X, V).\n"
        + facts
        + "conflict(Cells) :- peer(I, J), nth0(I, Cells, A), nth0(J, Cells, B), digit(A, V), digit(B, V).\n"
        "valid(Cells) :- \\+ conflict(Cells).\n"
        "differ(A, B) :- digit(A, V), digit(B, W), V \\= W.\n"
    )


def solutions(n: int, count: int, g: torch.Generator) -> torch.Tensor:
    """``[count, n, n]`` valid boards (digits 1..n) from a shuffled base pattern."""
    b = int(round(n**0.5))
    r = torch.arange(n)
    base = (b * (r[:, None] % b) + r[:, None] // b + r[None, :]) % n  # a valid board, digits 0..n-1
    out = torch.empty(count, n, n, dtype=torch.long)
    for k in range(count):
        rows = torch.cat([band * b + torch.randperm(b, generator=g) for band in torch.randperm(b, generator=g)])
        cols = torch.cat([stack * b + torch.randperm(b, generator=g) for stack in torch.randperm(b, generator=g)])
        out[k] = torch.randperm(n, generator=g)[base[rows][:, cols]] + 1
    return out


def is_valid(boards: torch.Tensor) -> torch.Tensor:
    """``[B]`` whether each board ``[B, n*n]`` has no repeat among peers."""
    n = int(round(boards.shape[1] ** 0.5))
    i, j = torch.tensor(peers(n)).T
    return ~(boards[:, i] == boards[:, j]).any(1)


def make_boards(split: ImageSplit, n: int, count: int, train: bool, seed: int) -> dict[str, torch.Tensor]:
    """Half valid, half with one corrupted cell: digits, labels and an image index per cell."""
    g = torch.Generator().manual_seed(seed)
    boards = solutions(n, count, g).flatten(1)
    label = torch.arange(count) % 2 == 0
    for k in torch.nonzero(~label)[:, 0]:
        cell = int(torch.randint(0, n * n, (1,), generator=g))
        shift = int(torch.randint(1, n, (1,), generator=g))
        boards[k, cell] = (boards[k, cell] - 1 + shift) % n + 1
    labels = split.train_labels if train else split.test_labels
    pools = [torch.nonzero(labels == d)[:, 0] for d in range(10)]
    image = torch.empty_like(boards)
    for d in range(1, n + 1):
        where = boards == d
        image[where] = pools[d][torch.randint(0, len(pools[d]), (int(where.sum()),), generator=g)]
    assert torch.equal(is_valid(boards), label)
    return {"digits": boards, "valid": label, "image": image}


def _cells(split_images: torch.Tensor, image: torch.Tensor) -> list[Gather]:
    return [Gather(split_images, image[:, c]) for c in range(image.shape[1])]


def train_full(split: ImageSplit, n: int, n_train: int, samples: int = 16, seed: int = 0) -> dict[str, float]:
    """One epoch of ``valid(Cells)`` observed true/false, answered by sampling; how often a sample was valid."""
    torch.manual_seed(seed)
    tr = make_boards(split, n, n_train, True, seed)
    net = DigitNet(image_size=8, n_classes=n)
    model = plait.Model(program(n), {"cell_net": net}, method="sample", samples=samples, seed=seed, estimator="rloo")
    data = QueryData({"C": _cells(split.train_images, tr["image"])}, tr["valid"].tolist())
    start = time.perf_counter()
    hist = plait.fit(model, "valid(C)", data, epochs=1, batch_size=32, lr=1e-3, seed=seed, progress=False)
    train_s = time.perf_counter() - start
    # afterwards: how many of 1,000 worlds sampled for each of 64 valid training boards are valid
    check = plait.Model(program(n), {"cell_net": net}, method="sample", samples=1000, seed=seed + 1)
    with torch.no_grad():
        rows = torch.nonzero(tr["valid"])[:, 0][:64]
        smoothed = check("valid(C)", C=[x[rows] for x in _cells(split.train_images, tr["image"])])
    hits = (smoothed * 1001 - 0.5).round()  # the model's estimate is (hits + 1/2) / (samples + 1)
    return {"train_s": train_s, "valid_worlds": int(hits.sum()), "worlds": 64 * 1000, "loss": hist.last["train_loss"]}


def train_entailed(
    split: ImageSplit, n: int, n_train: int, n_test: int, epochs: int, pairs_per_board: int = 40, seed: int = 0
) -> dict[str, float]:
    """The digit network trained on the peer pairs that the valid boards entail to differ; board accuracy."""
    torch.manual_seed(seed)
    tr = make_boards(split, n, n_train, True, seed)
    te = make_boards(split, n, n_test, False, seed + 1)
    net = DigitNet(image_size=8, n_classes=n)
    model = plait.Model(program(n), {"cell_net": net})
    g = torch.Generator().manual_seed(seed)
    pp = torch.tensor(peers(n))
    valid_rows = torch.nonzero(tr["valid"])[:, 0]
    pick = torch.randint(0, len(pp), (len(valid_rows), pairs_per_board), generator=g)
    a = tr["image"][valid_rows[:, None], pp[pick][..., 0]].flatten()
    b = tr["image"][valid_rows[:, None], pp[pick][..., 1]].flatten()
    data = QueryData({"A": Gather(split.train_images, a), "B": Gather(split.train_images, b)})
    start = time.perf_counter()
    plait.fit(model, "differ(A, B)", data, epochs=epochs, batch_size=256, lr=3e-3, seed=seed, progress=False)
    train_s = time.perf_counter() - start
    with torch.no_grad():
        net.eval()
        pred = net(split.test_images[te["image"].flatten()]).argmax(-1).view(n_test, -1) + 1
    board_acc = float((is_valid(pred) == te["valid"]).float().mean())
    return {
        "board_accuracy": board_acc,
        "digit_accuracy": _relabelled_accuracy(pred, te["digits"], n),
        "train_s": train_s,
    }


def _relabelled_accuracy(pred: torch.Tensor, truth: torch.Tensor, n: int) -> float:
    """Cell accuracy under the best one-to-one relabelling of the predicted classes (validity cannot fix it)."""
    from scipy.optimize import linear_sum_assignment

    confusion = torch.zeros(n, n)
    confusion.index_put_((pred.flatten() - 1, truth.flatten() - 1), torch.ones(pred.numel()), accumulate=True)
    r, c = linear_sum_assignment(-confusion.numpy())
    return float(confusion[r, c].sum() / pred.numel())


class _BoardNet(torch.nn.Module):
    """Pure-neural reference: a CNN per cell, then an MLP over the whole board to one validity logit."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.cells = n * n
        self.cell = DigitNet(image_size=8, n_classes=16, softmax=False)
        self.head = torch.nn.Sequential(torch.nn.Linear(16 * n * n, 256), torch.nn.ReLU(), torch.nn.Linear(256, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.cell(images).view(-1, 16 * self.cells))[:, 0]


def train_neural(split: ImageSplit, n: int, n_train: int, n_test: int, epochs: int, seed: int = 0) -> dict[str, float]:
    """The pure-neural reference on the same boards and labels."""
    torch.manual_seed(seed)
    tr = make_boards(split, n, n_train, True, seed)
    te = make_boards(split, n, n_test, False, seed + 1)
    net = _BoardNet(n)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n_train, generator=g)
        for s in range(0, n_train, 32):
            rows = perm[s : s + 32]
            logits = net(split.train_images[tr["image"][rows].flatten()])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, tr["valid"][rows].float())
            opt.zero_grad()
            loss.backward()
            opt.step()
    train_s = time.perf_counter() - start
    with torch.no_grad():
        net.eval()
        acc = float(((net(split.test_images[te["image"].flatten()]) > 0) == te["valid"]).float().mean())
    return {"board_accuracy": acc, "train_s": train_s}


def all_boards(n: int) -> torch.Tensor:
    """``[288, 16]`` every valid 4x4 board (rows are permutations; filtered by the peer constraints)."""
    assert n == 4, "only the 4x4 boards can be enumerated"
    perms = torch.tensor(list(itertools.permutations(range(1, 5))))
    idx = torch.cartesian_prod(*[torch.arange(24)] * 4)
    boards = perms[idx].flatten(1)
    return boards[is_valid(boards)]


def make_puzzles(
    split: ImageSplit, count: int, given: int, train: bool, seed: int, boards: torch.Tensor
) -> dict[str, torch.Tensor]:
    """4x4 puzzles with a unique solution: ``given`` cells shown as images, the others blank."""
    g = torch.Generator().manual_seed(seed)
    labels = split.train_labels if train else split.test_labels
    pools = [torch.nonzero(labels == d)[:, 0] for d in range(10)]
    sol, masks = [], []
    while len(sol) < count:
        s = boards[int(torch.randint(0, len(boards), (1,), generator=g))]
        m = torch.zeros(16, dtype=torch.bool)
        m[torch.randperm(16, generator=g)[:given]] = True
        if int((boards[:, m] == s[m]).all(1).sum()) == 1:  # the givens determine the board
            sol.append(s)
            masks.append(m)
    solution, mask = torch.stack(sol), torch.stack(masks)
    image = torch.empty_like(solution)
    for d in range(1, 5):
        where = solution == d
        image[where] = pools[d][torch.randint(0, len(pools[d]), (int(where.sum()),), generator=g)]
    return {"solution": solution, "mask": mask, "image": image}


def solve_4x4(
    split: ImageSplit, n_train: int, n_test: int, epochs: int, given: int = 6, seed: int = 0
) -> dict[str, float]:
    """Task B: complete 4x4 puzzles with the network trained from validity labels (as ``train_entailed``).

    The completion is the exact most probable valid board given the given cells' images, by
    enumerating the 288 valid boards; the network's classes are read as digits through the
    relabelling that fits the training boards best (validity labels cannot fix it).
    """
    from scipy.optimize import linear_sum_assignment

    torch.manual_seed(seed)
    tr = make_boards(split, 4, n_train, True, seed)
    net = DigitNet(image_size=8, n_classes=4)
    model = plait.Model(program(4), {"cell_net": net})
    g = torch.Generator().manual_seed(seed)
    pp = torch.tensor(peers(4))
    valid_rows = torch.nonzero(tr["valid"])[:, 0]
    pick = torch.randint(0, len(pp), (len(valid_rows), 40), generator=g)
    a = tr["image"][valid_rows[:, None], pp[pick][..., 0]].flatten()
    b = tr["image"][valid_rows[:, None], pp[pick][..., 1]].flatten()
    data = QueryData({"A": Gather(split.train_images, a), "B": Gather(split.train_images, b)})
    start = time.perf_counter()
    plait.fit(model, "differ(A, B)", data, epochs=epochs, batch_size=256, lr=3e-3, seed=seed, progress=False)
    train_s = time.perf_counter() - start
    boards = all_boards(4)
    te = make_puzzles(split, n_test, given, False, seed + 1, boards)
    with torch.no_grad():
        net.eval()
        # the relabelling class -> digit that fits the training boards' cells best
        pred_tr = net(split.train_images[tr["image"].flatten()]).argmax(-1)
        confusion = torch.zeros(4, 4)
        confusion.index_put_((pred_tr, tr["digits"].flatten() - 1), torch.ones(len(pred_tr)), accumulate=True)
        rows, cols = linear_sum_assignment(-confusion.numpy())
        to_digit = torch.empty(4, dtype=torch.long)
        to_digit[torch.as_tensor(rows)] = torch.as_tensor(cols)
        logp = torch.log(net(split.test_images[te["image"].flatten()]).view(n_test, 16, 4).clamp_min(1e-12))
        # log-likelihood of every valid board (in digits) at the given cells, through the relabelling
        class_of = torch.argsort(to_digit)  # digit - 1 -> class
        per_cell = logp.gather(2, class_of[boards - 1].T.unsqueeze(0).expand(n_test, 16, len(boards)))
        score = (per_cell * te["mask"].unsqueeze(-1)).sum(1)  # [n_test, 288]
        completed = boards[score.argmax(1)]
    solved = float((completed == te["solution"]).all(1).float().mean())
    blank = ~te["mask"]
    cell = float((completed == te["solution"])[blank].float().mean())
    return {"solved": solved, "blank_cell_accuracy": cell, "train_s": train_s, "given": given}


def solve_neural(
    split: ImageSplit, n_train: int, n_test: int, epochs: int, given: int = 6, seed: int = 0
) -> dict[str, float]:
    """Pure-neural reference for Task B: given-cell images (blanks zeroed) to every cell's digit, trained on
    the full solutions (more supervision than the validity labels plait's route gets)."""
    torch.manual_seed(seed)
    boards = all_boards(4)
    tr = make_puzzles(split, n_train, given, True, seed, boards)
    te = make_puzzles(split, n_test, given, False, seed + 1, boards)
    cell = DigitNet(image_size=8, n_classes=16, softmax=False)
    head = torch.nn.Sequential(torch.nn.Linear(16 * 16, 256), torch.nn.ReLU(), torch.nn.Linear(256, 16 * 4))
    params = list(cell.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)

    def forward(images: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = images[image.flatten()] * mask.flatten().view(-1, 1, 1, 1)
        return head(cell(x).view(len(image), -1)).view(len(image), 16, 4)

    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n_train, generator=g)
        for s in range(0, n_train, 32):
            r = perm[s : s + 32]
            logits = forward(split.train_images, tr["image"][r], tr["mask"][r])
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tr["solution"][r].flatten() - 1)
            opt.zero_grad()
            loss.backward()
            opt.step()
    train_s = time.perf_counter() - start
    with torch.no_grad():
        cell.eval()
        pred = forward(split.test_images, te["image"], te["mask"]).argmax(-1) + 1
    solved = float((pred == te["solution"]).all(1).float().mean())
    return {
        "solved": solved,
        "blank_cell_accuracy": float((pred == te["solution"])[~te["mask"]].float().mean()),
        "train_s": train_s,
    }
