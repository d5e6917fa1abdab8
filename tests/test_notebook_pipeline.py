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
    assert notebooks.resolve_dataset(None, fast=True) == ("svhn", None)
    # the paper's run trains on train + extra: without extra it is not that run
    dataset, banner = notebooks.resolve_dataset(None, fast=False)
    assert dataset == "mnist" and "extra_32x32.mat" in banner
    (tmp_path / "extra_32x32.mat").write_bytes(b"")
    assert notebooks.resolve_dataset(None, fast=False) == ("svhn", None)


def test_explicit_choices(no_svhn):
    assert notebooks.resolve_dataset("mnist") == ("mnist", None)
    with pytest.raises(DataNotFoundError, match="DATASET=mnist"):
        notebooks.resolve_dataset("svhn")
    with pytest.raises(SystemExit, match="unknown dataset"):
        notebooks.resolve_dataset("cifar")


def test_cli_explicit_svhn_without_data_fails_clearly(no_svhn, capsys, tmp_path):
    assert notebooks.main(["run", "--dataset", "svhn", "--out", str(tmp_path / "b")]) == 2
    assert "DATASET=svhn was asked for explicitly" in capsys.readouterr().err


def test_run_in_a_notebook_never_switches_and_says_the_notebook_fix(no_svhn, tmp_path):
    run = notebooks.Run("svhn", fast=True, checkpoints=str(tmp_path), figures=str(tmp_path))
    with pytest.raises(notebooks.NotebookDataError) as info:
        run.data()
    message = str(info.value)
    assert 'dataset = "mnist"' in message and "XNETS_DATASET=mnist" in message
    assert "--dataset" not in message  # the CLI flag is not the fix inside a notebook
    # IPython shows the message, not a traceback
    lines = info.value._render_traceback_()
    assert "NotebookDataError" in lines[0] and len(lines) <= 3


def test_run_names_and_paths(tmp_path):
    fast = notebooks.Run("mnist", fast=True, checkpoints=str(tmp_path / "c"), figures=str(tmp_path / "f"))
    full = notebooks.Run("MNIST", fast=False, checkpoints=str(tmp_path / "c"), figures=str(tmp_path / "f"))
    assert (fast.width, full.width, full.n_layers, full.main) == (64, 128, 3, "xnet")
    assert fast.epochs < full.epochs and fast.recipe.per_class and not full.recipe.per_class
    assert fast.checkpoint_path("xnet") != full.checkpoint_path("xnet")  # fast never overwrites full
    # a sweep point never overwrites the default model
    assert full.checkpoint_path("xnet", noise_std=0.0) != full.checkpoint_path("xnet")
    assert full.checkpoint_path("xnet", n_layers=1) != full.checkpoint_path("xnet")
    # an override equal to the recipe's value is the recipe's model
    assert full.checkpoint_path("xnet", noise_std=full.recipe.noise_std) == full.checkpoint_path("xnet")
    svhn = notebooks.Run("svhn", checkpoints=str(tmp_path / "c"), figures=str(tmp_path / "f"))
    assert svhn.main == "xnet-direct" and svhn.recipe.extra and svhn.width == 256
    assert full.figure_path("x") == tmp_path / "f" / "mnist" / "x.png"
    assert "MNIST" in full.label and "fast" in fast.label
    with pytest.raises(ValueError):
        notebooks.Run("cifar")
