"""Offline image datasets and the "sum of two N-digit numbers" task.

This module never downloads anything. It holds:

* :class:`ImageSplit`, a train/test split of labelled images as tensors;
* :func:`load_digits`, scikit-learn's bundled 8x8 handwritten digits (1,797 real images);
* :func:`read_idx` / :func:`write_idx`, the IDX file format of MNIST (plain or gzipped);
* :func:`load_idx_split`, :func:`load_mnist` and :func:`load_fashion_mnist`, which build an
  :class:`ImageSplit` from IDX files already on disk (Debian's ``dataset-fashion-mnist``
  package installs Fashion-MNIST in ``/usr/share/datasets/fashion-mnist``);
* :func:`addition_examples` / :func:`addition_split` and :class:`AdditionExamples`, the
  DeepProbLog-style MNIST-addition task: two N-digit numbers, each digit an image, and
  only the integer sum as supervision.

Images are float32 tensors shaped ``[n, 1, H, W]``: pixel values are scaled to ``[0, 1]``
and then normalized with mean 0.5 and standard deviation 0.5 (so they lie in ``[-1, 1]``),
as DeepProbLog's ``transforms.Normalize((0.5,), (0.5,))`` does. Labels are int64 ``[n]``.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import PlaitError

__all__ = [
    "DataError",
    "ImageSplit",
    "AdditionExamples",
    "DIGIT_CLASSES",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_ROOT",
    "MNIST_FILES",
    "load_digits",
    "read_idx",
    "write_idx",
    "load_idx_split",
    "load_mnist",
    "load_fashion_mnist",
    "addition_examples",
    "addition_split",
]

PathLike = str | os.PathLike[str]

DIGIT_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
#: The four standard MNIST file names (each may also carry a ``.gz`` suffix).
MNIST_FILES: tuple[str, str, str, str] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# The largest N for which the sum of two N-digit numbers fits an int64: 2 * (10**18 - 1) < 2**63.
_MAX_DIGITS = 18


class DataError(PlaitError):
    """A data set is missing, malformed or does not fit the request."""


# --------------------------------------------------------------------------- image splits


@dataclass(frozen=True, eq=False, repr=False)
class ImageSplit:
    """Labelled images split into disjoint train and test sets.

    ``*_images`` are float32 ``[n, 1, H, W]`` tensors (normalized to ``[-1, 1]``),
    ``*_labels`` int64 ``[n]`` tensors indexing ``classes``.

    >>> split = load_digits()
    >>> split.image_shape, len(split.classes)
    ((1, 8, 8), 10)
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    name: str
    classes: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, ...]:
        """The shape of one image, ``(channels, height, width)``."""
        return tuple(self.train_images.shape[1:])

    @property
    def n_train(self) -> int:
        """The number of training images."""
        return int(self.train_labels.shape[0])

    @property
    def n_test(self) -> int:
        """The number of test images."""
        return int(self.test_labels.shape[0])

    def __repr__(self) -> str:
        return (
            f"ImageSplit(name={self.name!r}, train={self.n_train}, test={self.n_test}, "
            f"image_shape={self.image_shape}, classes={len(self.classes)})"
        )


def _normalize(unit: torch.Tensor) -> torch.Tensor:
    """``[0, 1]`` pixel values to ``[-1, 1]`` (mean 0.5, std 0.5), float32."""
    return ((unit - 0.5) / 0.5).to(torch.float32)


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> ImageSplit:
    """scikit-learn's bundled handwritten digits: 1,797 real 8x8 images, split train/test.

    Pixels (0..16) are divided by 16 and normalized to ``[-1, 1]``. The split comes from a
    permutation seeded with ``seed``, so no image is in both sets; ``round(1797 *
    test_fraction)`` images go to the test set.

    >>> split = load_digits(test_fraction=0.25, seed=0)
    >>> split.train_images.shape, split.test_images.shape, split.train_labels.dtype
    (torch.Size([1348, 1, 8, 8]), torch.Size([449, 1, 8, 8]), torch.int64)
    """
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as exc:
        raise DataError(
            "load_digits needs scikit-learn, which is not installed", hint="pip install 'plait[train]'"
        ) from exc
    bunch = sk_load_digits()
    images = torch.from_numpy(np.asarray(bunch.images, dtype=np.float32)).unsqueeze(1) / 16.0
    labels = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    n = int(labels.shape[0])
    n_test = round(n * test_fraction)
    if n_test == 0 or n_test == n:
        raise DataError(f"test_fraction={test_fraction!r} leaves the train or the test set empty")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    test_idx, train_idx = order[:n_test], order[n_test:]
    images = _normalize(images)
    return ImageSplit(
        train_images=images[train_idx].contiguous(),
        train_labels=labels[train_idx].contiguous(),
        test_images=images[test_idx].contiguous(),
        test_labels=labels[test_idx].contiguous(),
        name="digits",
        classes=DIGIT_CLASSES,
    )


# --------------------------------------------------------------------------- IDX files

# type code -> (big-endian numpy dtype, native numpy dtype)
_IDX_TYPES: dict[int, tuple[str, np.dtype]] = {
    0x08: (">u1", np.dtype(np.uint8)),
    0x09: (">i1", np.dtype(np.int8)),
    0x0B: (">i2", np.dtype(np.int16)),
    0x0C: (">i4", np.dtype(np.int32)),
    0x0D: (">f4", np.dtype(np.float32)),
    0x0E: (">f8", np.dtype(np.float64)),
}
_IDX_CODES: dict[np.dtype, int] = {native: code for code, (_, native) in _IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataError(f"IDX file not found: {path}") from exc
    except OSError as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from exc
    if raw[:2] == _GZIP_MAGIC or path.suffix == ".gz":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"malformed IDX file {path}: corrupt or truncated gzip data ({exc})") from exc
    return raw


def read_idx(path: PathLike) -> torch.Tensor:
    """Read an IDX file (MNIST's format), gzipped or not, into a tensor.

    Gzip is recognized by its magic bytes (or a ``.gz`` suffix). All IDX element types
    are supported: ubyte (``torch.uint8``), sbyte (``int8``), short (``int16``), int
    (``int32``), float (``float32``) and double (``float64``). A file with a bad magic
    number, an unknown type or a size that does not match its header raises
    :class:`DataError` naming the path.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x-idx1-ubyte.gz"
    >>> write_idx(path, torch.tensor([1, 2, 3], dtype=torch.uint8))
    >>> read_idx(path)
    tensor([1, 2, 3], dtype=torch.uint8)
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"malformed IDX file {path}: {len(data)} bytes, too short for the 4-byte magic number")
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"malformed IDX file {path}: bad magic number 0x{data[:4].hex()} (must start with two zero bytes)"
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        raise DataError(f"malformed IDX file {path}: unknown element type 0x{code:02X}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"malformed IDX file {path}: truncated header ({len(data)} bytes, {ndim} dimensions need {header})"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    big, native = _IDX_TYPES[code]
    expected = math.prod(dims) * native.itemsize
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "trailing bytes after the data"
        raise DataError(f"malformed IDX file {path}: {what} (shape {dims} needs {expected} data bytes, found {actual})")
    array = np.frombuffer(data, dtype=big, offset=header).astype(native).reshape(dims)
    return torch.from_numpy(array)


def write_idx(path: PathLike, array: np.ndarray | torch.Tensor) -> None:
    """Write an array or tensor as an IDX file; a ``.gz`` suffix writes it gzipped.

    The element type follows the dtype: uint8 is written as ubyte, int8 as sbyte,
    int16 as short, int32 as int, float32 as float and float64 as double. Other dtypes
    (cast first) and 0-dimensional arrays raise :class:`DataError`.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "w-idx2-float"
    >>> write_idx(path, np.eye(2, dtype=np.float32))
    >>> back = read_idx(path)
    >>> back.dtype, back.tolist()
    (torch.float32, [[1.0, 0.0], [0.0, 1.0]])
    """
    path = Path(path)
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype)
    if code is None:
        supported = ", ".join(str(d) for d in _IDX_CODES)
        raise DataError(f"cannot write {array.dtype} to IDX file {path}", hint=f"cast to one of {supported}")
    if not 1 <= array.ndim <= 255:
        raise DataError(f"cannot write a {array.ndim}-dimensional array to IDX file {path} (1 to 255 dimensions)")
    if any(d >= 2**32 for d in array.shape):
        raise DataError(f"cannot write shape {array.shape} to IDX file {path}: a dimension exceeds 2**32 - 1")
    big = _IDX_TYPES[code][0]
    payload = (
        bytes([0, 0, code, array.ndim])
        + np.asarray(array.shape, dtype=">u4").tobytes()
        + np.ascontiguousarray(array, dtype=big).tobytes()
    )
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)


# --------------------------------------------------------------------------- IDX splits


def _as_tensor(source: PathLike | torch.Tensor | np.ndarray) -> tuple[torch.Tensor, str]:
    if isinstance(source, torch.Tensor):
        return source, "tensor"
    if isinstance(source, np.ndarray):
        return torch.from_numpy(np.array(source)), "array"
    return read_idx(source), str(source)


def _prepare_images(images: torch.Tensor, where: str) -> torch.Tensor:
    if images.dim() == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.dim() != 3:
        raise DataError(f"images from {where} have shape {tuple(images.shape)}, expected [n, H, W]")
    if images.dtype.is_floating_point:
        unit = images.to(torch.float32)
    else:
        unit = images.to(torch.float32) / 255.0
    return _normalize(unit).unsqueeze(1).contiguous()


def _prepare_labels(labels: torch.Tensor, where: str) -> torch.Tensor:
    if labels.dim() != 1 or labels.dtype.is_floating_point:
        raise DataError(f"labels from {where} must be a 1-D integer tensor, got {labels.dtype} {tuple(labels.shape)}")
    return labels.to(torch.int64).contiguous()


def load_idx_split(
    train_images: PathLike | torch.Tensor | np.ndarray,
    train_labels: PathLike | torch.Tensor | np.ndarray,
    test_images: PathLike | torch.Tensor | np.ndarray,
    test_labels: PathLike | torch.Tensor | np.ndarray,
    name: str = "idx",
    classes: Sequence[str] | None = None,
) -> ImageSplit:
    """Build an :class:`ImageSplit` from four IDX files (or tensors read from them).

    Images ``[n, H, W]`` become float32 ``[n, 1, H, W]``: integer pixels are divided by
    255 (floating point ones are taken to be in ``[0, 1]`` already), then normalized to
    ``[-1, 1]``. Labels become int64. Mismatched image and label counts, differing image
    sizes or labels outside ``classes`` raise :class:`DataError`. Without ``classes``,
    labels below 10 are named ``"0"`` to ``"9"``, otherwise ``"0"`` to the largest label.

    >>> images = torch.zeros(4, 28, 28, dtype=torch.uint8)
    >>> labels = torch.tensor([0, 1, 2, 3], dtype=torch.uint8)
    >>> load_idx_split(images, labels, images, labels).train_images.shape
    torch.Size([4, 1, 28, 28])
    """
    parts = []
    for images_src, labels_src, which in ((train_images, train_labels, "train"), (test_images, test_labels, "test")):
        images, images_where = _as_tensor(images_src)
        labels, labels_where = _as_tensor(labels_src)
        images = _prepare_images(images, images_where)
        labels = _prepare_labels(labels, labels_where)
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{which} set: {images.shape[0]} images ({images_where}) but {labels.shape[0]} labels ({labels_where})"
            )
        parts.append((images, labels))
    (tr_x, tr_y), (te_x, te_y) = parts
    if tr_x.shape[1:] != te_x.shape[1:]:
        raise DataError(f"train images are {tuple(tr_x.shape[2:])} but test images {tuple(te_x.shape[2:])}")
    all_labels = torch.cat([tr_y, te_y])
    if all_labels.numel() and int(all_labels.min()) < 0:
        raise DataError(f"{name}: negative label {int(all_labels.min())}")
    top = int(all_labels.max()) if all_labels.numel() else -1
    if classes is None:
        classes = DIGIT_CLASSES if top < 10 else tuple(str(c) for c in range(top + 1))
    classes = tuple(classes)
    if top >= len(classes):
        raise DataError(f"{name}: label {top} but only {len(classes)} classes")
    return ImageSplit(tr_x, tr_y, te_x, te_y, name=name, classes=classes)


def _find_files(root: Path) -> tuple[list[Path], list[str]]:
    found, missing = [], []
    for stem in MNIST_FILES:
        for candidate in (root / stem, root / f"{stem}.gz"):
            if candidate.is_file():
                found.append(candidate)
                break
        else:
            missing.append(f"{stem}[.gz]")
    return found, missing


def _load_standard(root: PathLike, name: str, classes: tuple[str, ...], hint: str) -> ImageSplit:
    root = Path(root)
    found, missing = _find_files(root)
    if missing:
        raise DataError(f"{name}: missing {', '.join(missing)} in {root}", hint=hint)
    return load_idx_split(*found, name=name, classes=classes)


def load_mnist(root: PathLike) -> ImageSplit:
    """MNIST from the four standard IDX files in ``root`` (plain or ``.gz``); nothing is downloaded.

    The files are ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each optionally gzipped.
    Missing files raise :class:`DataError` listing them and ``root``.

    >>> load_mnist("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    plait.nn.data.DataError: mnist: missing train-images-idx3-ubyte[.gz], ... in /nonexistent (hint: ...)
    """
    hint = f"put the four MNIST IDX files ({', '.join(MNIST_FILES)}, optionally .gz) in {Path(root)}"
    return _load_standard(root, "mnist", DIGIT_CLASSES, hint)


def load_fashion_mnist(root: PathLike = FASHION_MNIST_ROOT) -> ImageSplit:
    """Fashion-MNIST (60,000 train and 10,000 test 28x28 images) from IDX files in ``root``.

    Same file names as MNIST; ``classes`` are the clothing names of
    :data:`FASHION_MNIST_CLASSES`. The default ``root`` is where Debian's
    ``dataset-fashion-mnist`` package installs them.

    >>> split = load_fashion_mnist()  # doctest: +SKIP
    >>> split.classes[9]  # doctest: +SKIP
    'Ankle boot'
    """
    hint = "apt-get install dataset-fashion-mnist"
    if Path(root) != Path(FASHION_MNIST_ROOT):
        hint += f" (installs into {FASHION_MNIST_ROOT}), or put the four IDX files in {Path(root)}"
    return _load_standard(root, "fashion-mnist", FASHION_MNIST_CLASSES, hint)


# --------------------------------------------------------------------------- addition task


@dataclass(frozen=True, eq=False, repr=False)
class AdditionExamples:
    """Examples of "sum of two N-digit numbers", each digit an image.

    ``a`` and ``b`` are int64 ``[m, N]`` tensors of image indices (into the label tensor
    the examples were drawn from), most significant digit first; ``sums`` int64 ``[m]``
    holds the integer sum of the two numbers the images show.

    >>> ex = addition_examples(torch.tensor([3, 5, 9, 9]), n_digits=1, seed=0)
    >>> len(ex), ex.a.shape, ex.sums.shape
    (2, torch.Size([2, 1]), torch.Size([2]))
    """

    a: torch.Tensor
    b: torch.Tensor
    sums: torch.Tensor
    n_digits: int

    def __len__(self) -> int:
        return int(self.sums.shape[0])

    def digits_of_sum(self) -> torch.Tensor:
        """The sums' decimal digits, int64 ``[m, N + 1]``, most significant first, zero padded.

        >>> ex = AdditionExamples(torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 2, dtype=torch.long),
        ...                       torch.tensor([7, 123]), n_digits=2)
        >>> ex.digits_of_sum()
        tensor([[0, 0, 7],
                [1, 2, 3]])
        """
        powers = _powers_of_ten(self.n_digits + 1)
        return torch.div(self.sums.unsqueeze(1), powers, rounding_mode="floor") % 10

    def __repr__(self) -> str:
        return f"AdditionExamples(n_digits={self.n_digits}, examples={len(self)})"


def _powers_of_ten(n: int) -> torch.Tensor:
    """``[10**(n-1), ..., 10, 1]`` as int64."""
    return torch.tensor([10**k for k in range(n - 1, -1, -1)], dtype=torch.int64)


def addition_examples(
    labels: torch.Tensor, n_digits: int, n_examples: int | None = None, seed: int = 0
) -> AdditionExamples:
    """Draw "sum of two N-digit numbers" examples from digit images with ``labels`` (0..9).

    Each example takes ``2 * n_digits`` image indices. With ``n_examples=None`` every image
    is used at most once: ``len(labels) // (2 * n_digits)`` examples from one seeded
    permutation, as DeepProbLog does. An explicit ``n_examples`` chains fresh permutations,
    so an image is reused only across passes. ``n_digits`` may be 1 to 18 (sums fit int64).

    >>> labels = torch.tensor([1, 2, 3, 4, 5, 6, 7, 8])
    >>> ex = addition_examples(labels, n_digits=2, seed=0)
    >>> len(ex), bool((ex.sums == (labels[ex.a] @ torch.tensor([10, 1])) + (labels[ex.b] @ torch.tensor([10, 1]))).all())
    (2, True)
    """
    if isinstance(n_digits, bool) or not isinstance(n_digits, int) or not 1 <= n_digits <= _MAX_DIGITS:
        raise DataError(f"n_digits must be an integer from 1 to {_MAX_DIGITS}, got {n_digits!r}")
    if n_examples is not None and (isinstance(n_examples, bool) or not isinstance(n_examples, int) or n_examples < 0):
        raise DataError(f"n_examples must be a non-negative integer or None, got {n_examples!r}")
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise DataError(f"labels must be a 1-D integer tensor, got {labels.dtype} {tuple(labels.shape)}")
    labels = labels.to(torch.int64).cpu()
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) > 9):
        raise DataError(f"addition needs digit labels 0..9, got labels from {int(labels.min())} to {int(labels.max())}")
    per = 2 * n_digits
    per_pass = labels.shape[0] // per
    if per_pass == 0 and n_examples != 0:
        raise DataError(f"{labels.shape[0]} images are too few for one {n_digits}-digit addition ({per} images)")
    generator = torch.Generator().manual_seed(seed)
    wanted = per_pass if n_examples is None else n_examples
    chunks, have = [], 0
    while have < wanted:
        perm = torch.randperm(labels.shape[0], generator=generator)[: per_pass * per]
        chunks.append(perm.view(per_pass, per))
        have += per_pass
    index = torch.cat(chunks)[:wanted] if chunks else torch.empty(0, per, dtype=torch.int64)
    a, b = index[:, :n_digits].contiguous(), index[:, n_digits:].contiguous()
    powers = _powers_of_ten(n_digits)
    sums = (labels[a] * powers).sum(1) + (labels[b] * powers).sum(1)
    return AdditionExamples(a=a, b=b, sums=sums, n_digits=n_digits)


def addition_split(
    split: ImageSplit, n_digits: int, n_train: int | None = None, n_test: int | None = None, seed: int = 0
) -> tuple[AdditionExamples, AdditionExamples]:
    """Train and test addition examples from ``split``'s train and test images respectively.

    The train examples index ``split.train_images``, the test examples ``split.test_images``,
    so no image is shared between them. ``n_train`` / ``n_test`` work as ``n_examples`` of
    :func:`addition_examples` (``None``: each image at most once).

    >>> train, test = addition_split(load_digits(), n_digits=2)
    >>> len(train), len(test)
    (337, 112)
    """
    train = addition_examples(split.train_labels, n_digits, n_train, seed=seed)
    test = addition_examples(split.test_labels, n_digits, n_test, seed=seed + 1)
    return train, test
