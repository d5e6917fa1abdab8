"""SVHN, the paper's dataset: the official ``*_32x32.mat`` files read through
``torchvision.datasets.SVHN`` and converted to grayscale 32×32 (1024 inputs), with the
grayscale conversion of the authors' input noise (``rgb_noise_to_gray``).

It must be on disk (or ``download=True``); a missing file raises ``DataNotFoundError``.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from xnets_lite.data.dataset import DataError, DataNotFoundError, Dataset
from xnets_lite.data.paths import DATA_ENV, DEFAULT_ROOT, data_root

# ITU-R BT.601 luma weights, the usual RGB → gray conversion (PIL's "L" mode uses the same).
LUMA = (0.299, 0.587, 0.114)

SVHN_URL = "http://ufldl.stanford.edu/housenumbers/"


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


def read_svhn_split(root: Path, split: str, download: bool) -> Dataset:
    """One split of SVHN from ``root`` in the official layout (``{split}_32x32.mat``),
    converted to grayscale 32×32; downloads it first when ``download`` is true. Callers go
    through ``load_dataset``."""
    path = svhn_path(root, split)
    if not path.is_file() and not download:
        raise DataNotFoundError(
            f"SVHN {split} data not found: looked for {path.resolve()} (the data directory is "
            f"the root argument / --data, else ${DATA_ENV}, else {DEFAULT_ROOT}). To download "
            f"it (~{_SVHN_MB[split]} MB) pass download=True "
            f"or run `python -m xnets_lite train --dataset svhn --download`, or fetch "
            f"{SVHN_URL}{path.name} into that directory yourself. To run offline instead, use "
            f"the offline MNIST: --dataset mnist (load_dataset('mnist'))."
        )
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
                f"with --dataset mnist."
            ) from err
        raise DataError(
            f"could not read SVHN {split} data from {path.resolve()}: {err}. "
            f"Delete the file and download it again "
            f"(download=True or --download), or use --dataset mnist offline."
        ) from err
    _check_md5(path, cls.split_list[split][2])
    data = np.asarray(ds.data)  # (N, 3, 32, 32) uint8, after torchvision's transpose
    if data.dtype != np.uint8 or data.ndim != 4 or data.shape[1:] != (3, 32, 32):
        raise DataError(
            f"{path}: expected X of shape (32, 32, 3, N) uint8 as in the official "
            f"SVHN files, got images of shape {data.shape} {data.dtype}"
        )
    labels = np.asarray(ds.labels, dtype=np.int64).reshape(-1)
    if len(labels) != len(data) or (len(labels) and (labels.min() < 0 or labels.max() > 9)):
        raise DataError(
            f"{path}: expected y of shape (N, 1) with labels 1..10 (10 = digit 0), "
            f"got {len(labels)} labels for {len(data)} images"
        )
    return Dataset(torch.from_numpy(rgb_to_gray(data)), torch.from_numpy(labels), "svhn", split)


_SVHN_MB = {"train": 182, "test": 64, "extra": 1300}


def rgb_to_gray(rgb: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """``(N, 3, H, W)`` uint8 → ``(N, H, W)`` uint8 with luma ``0.299 R + 0.587 G + 0.114 B``,
    rounded to the nearest integer. Works in chunks so that the float temporaries stay small."""
    out = np.empty((rgb.shape[0],) + rgb.shape[2:], dtype=np.uint8)
    w = np.asarray(LUMA, dtype=np.float32).reshape(1, 3, 1, 1)
    for start in range(0, rgb.shape[0], chunk):
        block = rgb[start : start + chunk].astype(np.float32)
        out[start : start + chunk] = np.rint((block * w).sum(axis=1)).clip(0, 255).astype(np.uint8)
    return out


def rgb_noise_to_gray(std: float, weights: tuple[float, ...] = LUMA) -> float:
    """The std of Gaussian noise on a grayscale image that equals noise ``std`` on its RGB.

    The authors add noise to the RGB image and convert to gray afterwards
    (tdooms/tensor-similarity, ``src/datasets/svhn.py``)::

        train = nn.Sequential(
            RandomGaussianNoise(mean=0, std=noise, p=1),
            RgbToGrayscale() if grayscale else nn.Identity(),
        )

    with ``noise=0.3``. kornia's ``RandomGaussianNoise`` returns ``input + randn_like(input) *
    std`` (independent noise per channel and pixel, no clamping) and ``RgbToGrayscale``
    returns ``w_r r + w_g g + w_b b`` with ``w = (0.299, 0.587, 0.114)`` for float images (no
    clamping or rounding either). Gray is linear in RGB, so

        gray(rgb + σ ε) = gray(rgb) + σ (w · ε),    ε ~ N(0, I₃) per pixel,

    and ``w · ε ~ N(0, ‖w‖²)``: the gray image receives Gaussian noise of std ``σ ‖w‖``, the
    same distribution as adding ``N(0, (σ‖w‖)²)`` to the gray image. Our SVHN is stored as
    gray (``rgb_to_gray``, the same weights), so ``noise_std = rgb_noise_to_gray(0.3)``
    (≈ 0.2006) reproduces the authors' noise. ``tests/test_train.py`` checks it on random data.

    Args:
        std: noise std on each RGB channel (same units as the image, e.g. [0, 1]).
        weights: the grayscale weights, ITU-R BT.601 luma by default.
    """
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    return float(std) * math.sqrt(sum(float(w) ** 2 for w in weights))


def _check_md5(path: Path, expected: str) -> None:
    """Warn (not fail) when a file that parsed differs from the official release."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        warnings.warn(
            f"{path} differs from the official SVHN release (md5 {digest.hexdigest()}, "
            f"expected {expected}); reading it anyway. Results on it are not "
            f"comparable with the paper's.",
            stacklevel=3,
        )
