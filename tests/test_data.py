"""Data loading: the offline MNIST subset, the SVHN file layout, and clear errors."""
import numpy as np
import pytest
import torch

from xnets_lite import data as D
from xnets_lite.data import DataError, DataNotFoundError, Dataset, load_dataset, load_splits


def test_mnist_split_sizes_and_balance(mnist_splits):
    train, test = mnist_splits
    assert (len(train), len(test)) == (4000, 1000)
    assert train.name == test.name == "mnist"
    assert (train.split, test.split) == ("train", "test")
    assert torch.bincount(train.labels, minlength=10).tolist() == [400] * 10
    assert torch.bincount(test.labels, minlength=10).tolist() == [100] * 10


def test_mnist_dtype_shape_and_scaling(mnist_splits):
    train, _ = mnist_splits
    assert train.images.dtype == torch.uint8 and train.labels.dtype == torch.int64
    assert train.image_shape == (28, 28) and train.d_input == 784
    x, y = next(train.batches(32))
    assert x.shape == (32, 784) and x.dtype == torch.float32 and y.shape == (32,)
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9
    assert torch.equal(x, train.images[:32].reshape(32, -1).float() / 255)


def test_mnist_split_is_fixed_and_disjoint(mnist_splits):
    train, test = mnist_splits
    again_train, again_test = load_splits("mnist")
    assert torch.equal(train.images, again_train.images)
    assert torch.equal(test.labels, again_test.labels)
    # No test image also appears in train (the subset holds 5,000 distinct digits).
    train_rows = {bytes(r) for r in train.images.reshape(len(train), -1).numpy()}
    assert not any(bytes(r) in train_rows for r in test.images.reshape(len(test), -1).numpy())


def test_mnist_copies_are_independent(mnist_splits):
    a = load_dataset("mnist", split="test")
    a.images.zero_()
    assert load_dataset("mnist", split="test").images.any()


def test_batches_shuffle_is_seeded_and_covers_everything(mnist_small):
    train, _ = mnist_small
    def labels(seed):
        g = torch.Generator().manual_seed(seed)
        return torch.cat([y for _, y in train.batches(128, shuffle=True, generator=g)])
    a, b, c = labels(1), labels(1), labels(2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(a.sort().values, train.labels.sort().values)
    assert [len(y) for _, y in train.batches(300)] == [300, 300, 300, 100]


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
        Dataset(torch.zeros(3, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.long), "x", "train")


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
    assert (ds.name, ds.split, len(ds), ds.image_shape, ds.d_input) == ("svhn", "train", 7, (32, 32), 1024)
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
    with pytest.raises(DataNotFoundError, match="could not download SVHN test data.*network unreachable.*--dataset mnist"):
        load_dataset("svhn", root=tmp_path, split="test", download=True)
