"""Writes a small synthetic digit-addition ``.npz`` in the layout the peer runners read.

For smoke-testing ``deepproblog_addition.py`` without plait (it needs numpy only): each
"digit" class is a fixed random template plus noise, so the task is learnable and the
accuracies mean something. The real benchmark passes the split that plait itself uses.

Layout written (see benchmarks/peers/README.md):
  train_images float32 [n,1,S,S], train_labels int64 [n], test_images, test_labels,
  train_a, train_b int64 [m,N] (indices into train_images, most significant digit first),
  train_sums int64 [m], and test_a, test_b, test_sums likewise.

    python benchmarks/peers/make_toy_addition_npz.py --out benchmarks/out/toy.npz \
        --n-train 200 --n-test 100 --n-digits 1 --image-size 8
"""

from __future__ import annotations

import argparse

import numpy as np


def _pairs(labels: np.ndarray, n_digits: int, rng: np.random.Generator):
    """Disjoint pairs of N-digit numbers built from a shuffled index list."""
    idx = rng.permutation(len(labels))
    m = len(idx) // (2 * n_digits)
    idx = idx[: m * 2 * n_digits].reshape(m, 2, n_digits)
    a, b = idx[:, 0, :], idx[:, 1, :]
    weights = 10 ** np.arange(n_digits - 1, -1, -1)
    sums = (labels[a] * weights).sum(1) + (labels[b] * weights).sum(1)
    return a.astype(np.int64), b.astype(np.int64), sums.astype(np.int64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n-train", type=int, default=200, help="train images")
    ap.add_argument("--n-test", type=int, default=100, help="test images")
    ap.add_argument("--n-digits", type=int, default=1)
    ap.add_argument("--image-size", type=int, default=8, choices=(8, 28))
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    s = args.image_size
    templates = rng.normal(size=(10, 1, s, s)).astype(np.float32)

    def images(n: int):
        labels = rng.integers(0, 10, size=n).astype(np.int64)
        x = templates[labels] + args.noise * rng.normal(size=(n, 1, s, s)).astype(np.float32)
        return x.astype(np.float32), labels

    train_images, train_labels = images(args.n_train)
    test_images, test_labels = images(args.n_test)
    train_a, train_b, train_sums = _pairs(train_labels, args.n_digits, rng)
    test_a, test_b, test_sums = _pairs(test_labels, args.n_digits, rng)
    np.savez(
        args.out,
        train_images=train_images, train_labels=train_labels,
        test_images=test_images, test_labels=test_labels,
        train_a=train_a, train_b=train_b, train_sums=train_sums,
        test_a=test_a, test_b=test_b, test_sums=test_sums,
    )  # fmt: skip
    print(f"wrote {args.out}: {len(train_sums)} train / {len(test_sums)} test examples, N={args.n_digits}, {s}x{s}")


if __name__ == "__main__":
    main()
