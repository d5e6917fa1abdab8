"""The papermill pipeline's dataset choice: SVHN when present, else a loud fallback to the
offline data; an explicit SVHN request without data is an error, never a silent switch."""
import pytest

from xnets_lite import notebooks
from xnets_lite.data import DataNotFoundError


@pytest.fixture
def no_svhn(tmp_path, monkeypatch):
    monkeypatch.setenv("XNETS_DATA", str(tmp_path / "empty"))


def test_auto_falls_back_loudly(no_svhn):
    dataset, banner = notebooks.resolve_dataset("auto")
    assert dataset == "mnist"
    for needle in ("FALLBACK", "NOT on SVHN", "train_32x32.mat", "DATASET=svhn", "DATASET=mnist"):
        assert needle in banner


def test_auto_uses_svhn_when_present(tmp_path, monkeypatch):
    for split in ("train", "test"):
        (tmp_path / f"{split}_32x32.mat").write_bytes(b"")
    monkeypatch.setenv("XNETS_DATA", str(tmp_path))
    assert notebooks.resolve_dataset(None) == ("svhn", None)


def test_explicit_choices(no_svhn):
    assert notebooks.resolve_dataset("mnist") == ("mnist", None)
    with pytest.raises(DataNotFoundError, match="DATASET=mnist"):
        notebooks.resolve_dataset("svhn")
    with pytest.raises(SystemExit, match="unknown dataset"):
        notebooks.resolve_dataset("cifar")


def test_cli_explicit_svhn_without_data_fails_clearly(no_svhn, capsys, tmp_path):
    assert notebooks.main(["run", "--dataset", "svhn", "--out", str(tmp_path / "b")]) == 2
    assert "DATASET=svhn was asked for explicitly" in capsys.readouterr().err


def test_run_in_a_notebook_never_switches(no_svhn, tmp_path):
    run = notebooks.Run("svhn", fast=True, checkpoints=str(tmp_path), figures=str(tmp_path))
    with pytest.raises(DataNotFoundError, match="mnist"):
        run.data()


def test_run_names_and_paths(tmp_path):
    fast = notebooks.Run("mnist", fast=True, checkpoints=str(tmp_path / "c"), figures=str(tmp_path / "f"))
    full = notebooks.Run("MNIST", fast=False, checkpoints=str(tmp_path / "c"), figures=str(tmp_path / "f"))
    assert (fast.width, fast.epochs, full.width, full.epochs, full.n_layers) == (64, 4, 128, 30, 3)
    assert fast.checkpoint_path("xnet") != full.checkpoint_path("xnet")  # fast never overwrites full
    assert full.figure_path("x") == tmp_path / "f" / "mnist" / "x.png"
    assert "MNIST" in full.label and "fast" in fast.label
    with pytest.raises(ValueError):
        notebooks.Run("cifar")
