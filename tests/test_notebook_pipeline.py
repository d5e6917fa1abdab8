"""The papermill pipeline's dataset choice: SVHN when present, else a loud fallback to the
offline data; an explicit SVHN request without data is an error, never a silent switch."""

import json
import os
import subprocess

import pytest

from xnets_lite.course import notebooks
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
    dirs = dict(checkpoints=str(tmp_path / "c"), figures=str(tmp_path / "f"))
    fast = notebooks.Run("mnist", fast=True, **dirs)
    full = notebooks.Run("MNIST", fast=False, **dirs)
    assert (fast.width, full.width, full.n_layers, full.main) == (64, 128, 3, "xnet")
    assert fast.epochs < full.epochs and fast.recipe.per_class and not full.recipe.per_class
    # the fast setting never overwrites the full one
    assert fast.checkpoint_path("xnet") != full.checkpoint_path("xnet")
    # a sweep point never overwrites the default model
    assert full.checkpoint_path("xnet", noise_std=0.0) != full.checkpoint_path("xnet")
    assert full.checkpoint_path("xnet", n_layers=1) != full.checkpoint_path("xnet")
    # an override equal to the recipe's value is the recipe's model
    same = full.checkpoint_path("xnet", noise_std=full.recipe.noise_std)
    assert same == full.checkpoint_path("xnet")
    svhn = notebooks.Run("svhn", checkpoints=str(tmp_path / "c"), figures=str(tmp_path / "f"))
    assert svhn.main == "xnet-direct" and svhn.recipe.extra and svhn.width == 256
    assert full.figure_path("x") == tmp_path / "f" / "mnist" / "x.png"
    assert "MNIST" in full.label and "fast" in fast.label
    with pytest.raises(ValueError):
        notebooks.Run("cifar")


# ---------------------------------------------------------------------------------------
# Every notebook parameter: parsed, or refused with the same short, actionable message
# ---------------------------------------------------------------------------------------
def _refused(match: str, **kwargs) -> list[str]:
    """Run(**kwargs) is refused with a NotebookParameterError matching ``match``, shown in
    IPython as two short lines: what was wrong, then the fix in the parameters cell or the
    environment variable it reads (never a command-line flag, never a traceback)."""
    with pytest.raises(notebooks.NotebookParameterError, match=match) as info:
        notebooks.Run(**{"dataset": "mnist", **kwargs})
    lines = info.value._render_traceback_()
    assert len(lines) == 2 and "NotebookParameterError" in lines[0]
    assert "parameters cell" in lines[1] and "XNETS_" in lines[1] and "--" not in lines[1]
    assert isinstance(info.value, ValueError)  # and still a ValueError, as it always was
    return lines


@pytest.mark.parametrize(
    "value, expected",
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("1", True),
        ("0", False),
        ("true", True),
        ("True", True),
        (" yes ", True),
        ("on", True),
        ("false", False),
        ("no", False),
        ("OFF", False),
        ("", False),
    ],
)
def test_fast_is_parsed_from_bools_and_environment_strings(value, expected, tmp_path):
    assert notebooks.parse_flag(value, "fast") is expected
    run = notebooks.Run("mnist", fast=value, checkpoints=str(tmp_path), figures=str(tmp_path))
    assert run.fast is expected


@pytest.mark.parametrize("value", ["maybe", "2", 2, "y e s", 0.5, None])
def test_fast_garbage_is_refused(value):
    lines = _refused("fast = .* is not a yes/no value", fast=value)
    assert "XNETS_FAST=0" in lines[1]


def test_the_environment_reaches_run_as_a_notebook_passes_it(monkeypatch, tmp_path):
    """The parameters cell passes os.environ's strings unchanged; Run parses them."""
    monkeypatch.setenv("XNETS_FAST", "true")
    monkeypatch.setenv("XNETS_SEED", "7")
    run = notebooks.Run(
        "mnist",
        fast=os.environ["XNETS_FAST"],
        seed=os.environ["XNETS_SEED"],
        checkpoints=str(tmp_path),
        figures=str(tmp_path),
    )
    assert run.fast is True and run.seed == 7 and "fast" in run.label


@pytest.mark.parametrize("value, expected", [(0, 0), ("3", 3), (" 12 ", 12)])
def test_seed_is_parsed(value, expected):
    assert notebooks.Run("mnist", seed=value).seed == expected


@pytest.mark.parametrize("value", ["x", "1.5", 1.0, True, "-1", -2, ""])
def test_seed_garbage_is_refused(value):
    lines = _refused("seed = .* is not an integer ≥ 0", seed=value)
    assert "XNETS_SEED=0" in lines[1]


@pytest.mark.parametrize("value", ["cifar", "SVHN-extra", "", "mnist10"])
def test_unknown_dataset_is_refused_like_missing_data(value):
    lines = _refused("dataset = .* is not a dataset of this course", dataset=value)
    assert 'dataset = "mnist"' in lines[1] and "XNETS_DATASET=mnist" in lines[1]


def test_dataset_is_case_insensitive():
    assert notebooks.Run(" MNIST ").dataset == "mnist"


@pytest.mark.parametrize("value", ["gpu", "cuda0", "tpu", "cuda:x", ""])
def test_unknown_device_is_refused_in_our_words(value):
    lines = _refused("device = .* is not a device", device=value)
    assert "auto, cpu, cuda" in lines[0] and "ipu" not in lines[0]  # not torch's long list
    assert "XNETS_DEVICE=auto" in lines[1]


def test_devices_are_accepted_and_a_missing_gpu_is_refused(monkeypatch):
    import torch

    assert notebooks.Run("mnist", device="CPU").device == "cpu"
    assert notebooks.Run("mnist", device="auto").device == "auto"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _refused("CUDA is not available here", device="cuda")
    _refused("CUDA is not available here", device="cuda:1")


@pytest.mark.parametrize("name", ["checkpoints", "figures"])
def test_empty_directories_are_refused(name):
    lines = _refused(f"{name} = ' ' is empty", **{name: " "})
    assert f'{name} = "{getattr(notebooks.Run, name)}"' in lines[1]


def test_a_default_run_writes_under_build_not_into_tracked_files(tmp_path, monkeypatch):
    """The notebooks' kernels run in notebooks/; by default a student's run puts its figures
    in ../build/figures (ignored by git), never in the committed figures/."""
    work = tmp_path / "repo" / "notebooks"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    run = notebooks.Run("mnist", fast=True)
    assert run.figures == "../build/figures"
    path = run.figure_path("x").resolve()
    assert path == (tmp_path / "repo" / "build" / "figures" / "mnist" / "x.png").resolve()
    # every notebook's parameters cell defaults to the same place
    for name in notebooks.NOTEBOOKS:
        nb = json.loads((notebooks.ROOT / "notebooks" / f"{name}.ipynb").read_text())
        cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
        assert '"XNETS_FIGURES", "../build/figures"' in "".join(cell["source"]), name
    assert (
        subprocess.run(
            ["git", "check-ignore", "-q", "build/figures/mnist/x.png"], cwd=notebooks.ROOT
        ).returncode
        == 0
    )


def test_missing_data_advice_speaks_of_the_notebook_not_the_command_line(no_svhn):
    from xnets_lite.data import load_splits

    with pytest.raises(DataNotFoundError) as info:
        load_splits("svhn")
    advice = notebooks.notebook_data_advice("svhn", info.value)
    assert "--data" not in advice and "root argument" not in advice and "--dataset" not in advice
    first, second = advice.splitlines()
    assert "SVHN" in first and "not found" in first
    assert "parameters cell" in second and "XNETS_DATASET=mnist" in second
    assert "XNETS_DATA=" in second


def test_save_writes_a_full_resolution_copy_when_asked(tmp_path):
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    run = notebooks.Run("mnist", fast=True, checkpoints=str(tmp_path), figures=str(tmp_path))
    fig = Figure(figsize=(9, 2))
    fig.subplots().plot([0, 1])
    message = notebooks.save(fig, run, "wide", full_dpi=200)
    assert "wide.png" in message and "wide_full.png" in message
    shown, full = imread(run.figure_path("wide")), imread(run.figure_path("wide_full"))
    assert shown.shape[1] == 900 and full.shape[1] == 1800


def test_a_run_with_solutions_executes_filled_copies_and_never_commits(tmp_path, monkeypatch):
    """``--solutions``: papermill gets a copy of each notebook whose exercise stubs are the
    solutions from ``solutions/``, and nothing is copied back into ``notebooks/``."""
    import papermill

    from xnets_lite.course.exercises import fill_solutions

    nbmod = notebooks

    ran = []
    monkeypatch.setattr(
        papermill, "execute_notebook", lambda src, dst, **kw: ran.append((src, dst))
    )
    monkeypatch.setattr(
        "xnets_lite.course.outputs.commit_outputs",
        lambda *a, **k: pytest.fail("a run with solutions was committed"),
    )
    nbmod.run_notebooks(
        "mnist",
        fast=False,
        out=tmp_path,
        only=["02"],
        solutions=True,
        figures=nbmod.ROOT / "figures",
    )
    ((source, target),) = ran
    original = json.loads((nbmod.ROOT / "notebooks" / "02_decomposition.ipynb").read_text())
    assert json.loads(open(source, encoding="utf-8").read()) == fill_solutions(original)
    assert fill_solutions(original) != original, "the copy differs from the notebook"
    assert str(tmp_path) in source and target == str(tmp_path / "02_decomposition.ipynb")
