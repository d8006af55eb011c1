"""Tests for plait.nn.data: offline datasets, IDX files and the addition task."""

import gzip
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from plait.errors import PlaitError
from plait.nn.data import (
    DIGIT_CLASSES,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_ROOT,
    MNIST_FILES,
    AdditionExamples,
    DataError,
    ImageSplit,
    addition_examples,
    addition_split,
    load_digits,
    load_fashion_mnist,
    load_idx_split,
    load_mnist,
    read_idx,
    write_idx,
)

# --------------------------------------------------------------------------- load_digits


def test_load_digits_shapes_and_dtypes():
    split = load_digits()
    assert isinstance(split, ImageSplit)
    assert split.name == "digits"
    assert split.classes == DIGIT_CLASSES
    assert split.image_shape == (1, 8, 8)
    assert split.train_images.dtype == torch.float32 and split.test_images.dtype == torch.float32
    assert split.train_labels.dtype == torch.int64 and split.test_labels.dtype == torch.int64
    assert split.train_images.shape[0] == split.train_labels.shape[0]
    assert split.test_images.shape[0] == split.test_labels.shape[0]
    assert split.train_labels.shape[0] + split.test_labels.shape[0] == 1797
    assert split.test_labels.shape[0] == round(1797 * 0.25)
    for images in (split.train_images, split.test_images):
        assert float(images.min()) >= -1.0 and float(images.max()) <= 1.0
    assert set(split.train_labels.tolist()) == set(range(10))
    assert "digits" in repr(split)


def test_load_digits_is_a_partition_of_the_dataset():
    from sklearn.datasets import load_digits as sk_load_digits

    split = load_digits(test_fraction=0.3, seed=5)
    original = (np.asarray(sk_load_digits().images, dtype=np.float32) / 16 - 0.5) / 0.5
    ours = torch.cat([split.train_images, split.test_images])[:, 0].numpy()
    key = lambda a: a.reshape(len(a), -1)[np.lexsort(a.reshape(len(a), -1).T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(key(ours), key(original))
    labels = np.concatenate([split.train_labels.numpy(), split.test_labels.numpy()])
    np.testing.assert_array_equal(np.bincount(labels), np.bincount(sk_load_digits().target))


def test_load_digits_seeded():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    assert torch.equal(a.train_images, b.train_images) and torch.equal(a.test_labels, b.test_labels)
    assert not torch.equal(a.train_images, c.train_images)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1e-6])
def test_load_digits_bad_fraction(fraction):
    with pytest.raises(DataError):
        load_digits(test_fraction=fraction)


# --------------------------------------------------------------------------- IDX files

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def _sample(dtype, shape=(3, 4, 5)):
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_idx_round_trip(tmp_path, dtype, gz):
    array = _sample(dtype)
    path = tmp_path / ("x.idx" + (".gz" if gz else ""))
    write_idx(path, array)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == gz
    back = read_idx(path)
    assert isinstance(back, torch.Tensor)
    assert back.numpy().dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back.numpy(), array)
    # A tensor writes the same bytes as the array.
    path2 = tmp_path / ("y.idx" + (".gz" if gz else ""))
    write_idx(path2, torch.from_numpy(array))
    assert path2.read_bytes() == raw


def test_idx_header_layout(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    write_idx(path, np.array([7, 2, 1], dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2, 1])
    path = tmp_path / "f-idx2"
    write_idx(path, np.array([[1.5]], dtype=np.float32))
    assert path.read_bytes() == bytes([0, 0, 0x0D, 2, 0, 0, 0, 1, 0, 0, 0, 1]) + bytes.fromhex("3fc00000")


def test_idx_gzip_detected_by_magic_without_suffix(tmp_path):
    plain = tmp_path / "a.idx"
    write_idx(plain, np.arange(6, dtype=np.int32).reshape(2, 3))
    hidden = tmp_path / "b.idx"
    hidden.write_bytes(gzip.compress(plain.read_bytes()))
    assert torch.equal(read_idx(hidden), read_idx(plain))


def test_idx_empty_dimension(tmp_path):
    path = tmp_path / "empty.idx"
    write_idx(path, np.zeros((0, 28, 28), dtype=np.uint8))
    assert read_idx(path).shape == (0, 28, 28)


def _assert_data_error(path, *words):
    with pytest.raises(DataError) as info:
        read_idx(path)
    assert isinstance(info.value, PlaitError)
    assert str(path) in str(info.value)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_malformed(tmp_path, gz):
    good = tmp_path / "good.idx"
    write_idx(good, np.arange(24, dtype=np.int16).reshape(2, 3, 4))
    raw = good.read_bytes()
    suffix = ".gz" if gz else ""

    def put(name, data):
        path = tmp_path / (name + suffix)
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    _assert_data_error(put("magic", b"\x01\x00" + raw[2:]), "magic")
    _assert_data_error(put("type", raw[:2] + b"\x0a" + raw[3:]), "type")
    _assert_data_error(put("short", raw[:3]), "short")
    _assert_data_error(put("header", raw[:9]), "truncated")
    _assert_data_error(put("data", raw[:-1]), "truncated")
    _assert_data_error(put("trailing", raw + b"\x00"), "trailing")
    _assert_data_error(put("empty", b""))


def test_idx_corrupt_gzip(tmp_path):
    path = tmp_path / "x.idx.gz"
    write_idx(path, np.arange(1000, dtype=np.int32))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    _assert_data_error(path, "gzip")
    _assert_data_error(tmp_path / "does-not-exist.idx", "not found")


def test_write_idx_rejects_unsupported(tmp_path):
    with pytest.raises(DataError, match="int64"):
        write_idx(tmp_path / "x", np.arange(3, dtype=np.int64))
    with pytest.raises(DataError):
        write_idx(tmp_path / "x", np.array(3, dtype=np.uint8))


# --------------------------------------------------------------------------- MNIST-style splits


def _write_mnist(root: Path, n_train=20, n_test=10, gz=False, size=28, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [
        rng.integers(0, 256, size=(n_train, size, size), dtype=np.uint8),
        rng.integers(0, 10, size=n_train, dtype=np.uint8),
        rng.integers(0, 256, size=(n_test, size, size), dtype=np.uint8),
        rng.integers(0, 10, size=n_test, dtype=np.uint8),
    ]
    root.mkdir(parents=True, exist_ok=True)
    for stem, array in zip(MNIST_FILES, arrays):
        write_idx(root / (stem + (".gz" if gz else "")), array)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist(tmp_path, gz):
    tr_x, tr_y, te_x, te_y = _write_mnist(tmp_path, gz=gz)
    split = load_mnist(tmp_path)
    assert split.name == "mnist" and split.classes == DIGIT_CLASSES
    assert split.train_images.shape == (20, 1, 28, 28) and split.test_images.shape == (10, 1, 28, 28)
    assert split.train_images.dtype == torch.float32 and split.train_labels.dtype == torch.int64
    assert split.image_shape == (1, 28, 28)
    expected = torch.from_numpy((tr_x.astype(np.float32) / 255 - 0.5) / 0.5)
    torch.testing.assert_close(split.train_images[:, 0], expected)
    assert split.train_labels.tolist() == tr_y.tolist() and split.test_labels.tolist() == te_y.tolist()


def test_load_mnist_mixed_gzip(tmp_path):
    _write_mnist(tmp_path)
    plain = tmp_path / MNIST_FILES[0]
    (tmp_path / (MNIST_FILES[0] + ".gz")).write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    assert load_mnist(tmp_path).train_images.shape == (20, 1, 28, 28)


def test_load_mnist_missing(tmp_path):
    _write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path)
    text = str(info.value)
    assert "t10k-labels-idx1-ubyte" in text and str(tmp_path) in text
    assert "train-images-idx3-ubyte[" not in text  # present files are not listed
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path / "nowhere")


def test_load_mnist_count_mismatch(tmp_path):
    _write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(19, dtype=np.uint8))
    with pytest.raises(DataError, match="20 images"):
        load_mnist(tmp_path)


def test_load_idx_split_checks():
    images = torch.zeros(4, 8, 8, dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 3], dtype=torch.uint8)
    split = load_idx_split(images, labels, images, labels, name="toy", classes=("a", "b", "c", "d"))
    assert split.classes == ("a", "b", "c", "d") and split.name == "toy"
    assert float(split.train_images.min()) == -1.0
    with pytest.raises(DataError, match="classes"):
        load_idx_split(images, labels, images, labels, classes=("a", "b"))
    with pytest.raises(DataError):
        load_idx_split(images, labels, torch.zeros(4, 9, 9, dtype=torch.uint8), labels)
    with pytest.raises(DataError):
        load_idx_split(torch.zeros(4, 8, dtype=torch.uint8), labels, images, labels)
    big = load_idx_split(images, torch.tensor([0, 1, 2, 11]), images, labels)
    assert len(big.classes) == 12


def test_fashion_mnist_missing_hint(tmp_path):
    with pytest.raises(DataError) as info:
        load_fashion_mnist(tmp_path)
    assert "apt-get install dataset-fashion-mnist" in str(info.value)


@pytest.mark.skipif(not Path(FASHION_MNIST_ROOT).is_dir(), reason=f"{FASHION_MNIST_ROOT} not installed")
def test_fashion_mnist():
    start = time.perf_counter()
    split = load_fashion_mnist()
    elapsed = time.perf_counter() - start
    assert split.name == "fashion-mnist"
    assert split.classes == FASHION_MNIST_CLASSES and split.classes[0] == "T-shirt/top"
    assert split.train_images.shape == (60000, 1, 28, 28) and split.test_images.shape == (10000, 1, 28, 28)
    assert split.train_labels.shape == (60000,) and split.test_labels.shape == (10000,)
    assert torch.bincount(split.test_labels).tolist() == [1000] * 10
    assert elapsed < 30


# --------------------------------------------------------------------------- addition


def _number(labels, index):
    return [int("".join(str(int(d)) for d in labels[row])) for row in index]


@pytest.mark.parametrize("n_digits", [1, 2, 4, 15])
def test_addition_default_uses_each_image_once(n_digits):
    labels = torch.from_numpy(np.random.default_rng(n_digits).integers(0, 10, size=1000))
    ex = addition_examples(labels, n_digits, seed=3)
    m = 1000 // (2 * n_digits)
    assert len(ex) == m and ex.n_digits == n_digits
    assert ex.a.shape == (m, n_digits) and ex.b.shape == (m, n_digits) and ex.sums.shape == (m,)
    assert ex.a.dtype == ex.b.dtype == ex.sums.dtype == torch.int64
    used = torch.cat([ex.a.flatten(), ex.b.flatten()])
    assert used.unique().numel() == used.numel() == m * 2 * n_digits
    expected = [x + y for x, y in zip(_number(labels, ex.a), _number(labels, ex.b))]
    assert ex.sums.tolist() == expected
    digits = ex.digits_of_sum()
    assert digits.shape == (m, n_digits + 1) and digits.dtype == torch.int64
    assert [int("".join(map(str, row))) for row in digits.tolist()] == expected
    assert all(len(str(s)) <= n_digits + 1 for s in expected)


def test_addition_fifteen_digits_extremes():
    labels = torch.full((30,), 9)
    ex = addition_examples(labels, 15)
    assert ex.sums.tolist() == [2 * (10**15 - 1)]
    assert ex.digits_of_sum().tolist() == [[1] + [9] * 14 + [8]]
    ex18 = addition_examples(torch.full((36,), 9), 18)
    assert ex18.sums.tolist() == [2 * (10**18 - 1)]


def test_addition_explicit_count_reuses_only_across_passes():
    labels = torch.arange(100) % 10
    ex = addition_examples(labels, 2, n_examples=60, seed=1)
    assert len(ex) == 60
    index = torch.cat([ex.a, ex.b], dim=1)
    for start in range(0, 60, 25):  # 25 examples per pass
        chunk = index[start : start + 25].flatten()
        assert chunk.unique().numel() == chunk.numel()
    assert torch.cat([ex.a.flatten(), ex.b.flatten()]).unique().numel() == 100
    assert ex.sums.tolist() == [x + y for x, y in zip(_number(labels, ex.a), _number(labels, ex.b))]
    assert len(addition_examples(labels, 2, n_examples=10)) == 10
    assert len(addition_examples(labels, 2, n_examples=0)) == 0


def test_addition_seeded():
    labels = torch.arange(200) % 10
    a, b, c = (addition_examples(labels, 3, seed=s) for s in (7, 7, 8))
    assert torch.equal(a.a, b.a) and torch.equal(a.b, b.b) and torch.equal(a.sums, b.sums)
    assert not torch.equal(a.a, c.a)


def test_addition_errors():
    labels = torch.arange(10)
    for bad in (0, 19, 1.5):
        with pytest.raises(DataError):
            addition_examples(labels, bad)
    with pytest.raises(DataError, match="too few"):
        addition_examples(labels[:3], 2)
    with pytest.raises(DataError):
        addition_examples(torch.tensor([0, 10]), 1)
    with pytest.raises(DataError):
        addition_examples(labels, 1, n_examples=-1)
    with pytest.raises(DataError):
        addition_examples(labels.float(), 1)


def test_digits_of_sum_handcrafted():
    z = torch.zeros(3, 2, dtype=torch.long)
    ex = AdditionExamples(z, z, torch.tensor([0, 45, 198]), n_digits=2)
    assert ex.digits_of_sum().tolist() == [[0, 0, 0], [0, 4, 5], [1, 9, 8]]


def test_addition_split_disjoint():
    split = load_digits(seed=2)
    train, test = addition_split(split, 2, seed=4)
    assert len(train) == split.n_train // 4 and len(test) == split.n_test // 4
    # Indices refer to the split's own train / test images, which are disjoint sets.
    assert int(torch.cat([train.a, train.b]).max()) < split.n_train
    assert int(torch.cat([test.a, test.b]).max()) < split.n_test
    tl, sl = split.train_labels, split.test_labels
    assert train.sums.tolist() == [x + y for x, y in zip(_number(tl, train.a), _number(tl, train.b))]
    assert test.sums.tolist() == [x + y for x, y in zip(_number(sl, test.a), _number(sl, test.b))]
    train2, test2 = addition_split(split, 2, n_train=1000, n_test=7, seed=4)
    assert len(train2) == 1000 and len(test2) == 7
