"""The paper's route end to end, as a user takes it: official-layout SVHN files in ./data at
the repository root, the pipeline command behind `make reproduce DATASET=svhn` (fast setting),
started from another working directory. The kernels run in notebooks/, so a data directory
resolved from the working directory would miss the files (a bug this test pins down).

The fake files are learnable (each class has its own pattern), so accuracy floors mean
something; they run in a copy of the repository, never in the user's ./data. Notebook 07 runs,
the smallest that takes the whole route: its parameters cell, ``Run.data`` reading the files,
a model trained and saved under checkpoints/svhn/, its decomposition saved beside it, and
figures written under figures/svhn/. 01–06 read their data the same way with more to train
(01 trains seven models, and 03–05 measure the findings over six seed models); that
``Run.model`` trains and saves a χ-net from the SVHN files is checked in process below.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def _write_learnable_svhn(path, per_class, seed):
    """X (32, 32, 3, N) uint8 and y (N, 1) in 1..10 (10 = digit 0): class-specific blobs +
    noise, the official layout read by torchvision."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    patterns = np.random.default_rng(123).uniform(0, 255, size=(10, 32, 32, 3))
    labels = np.repeat(np.arange(10), per_class)
    x = patterns[labels] * 0.7 + rng.uniform(0, 255 * 0.3, size=(len(labels), 32, 32, 3))
    savemat(
        path,
        {
            "X": np.ascontiguousarray(np.moveaxis(x.astype(np.uint8), 0, -1)),
            "y": np.where(labels == 0, 10, labels).reshape(-1, 1).astype(np.uint8),
        },
    )


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A copy of the repository's code and notebooks, with fake SVHN in its ./data."""
    root = tmp_path_factory.mktemp("repo")
    for name in ("xnets_lite", "notebooks"):
        shutil.copytree(
            ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "kernel-ipc-*")
        )
    shutil.copy(ROOT / "pyproject.toml", root)
    (root / "data").mkdir()
    _write_learnable_svhn(root / "data" / "train_32x32.mat", 1000, seed=0)  # the fast subset
    _write_learnable_svhn(root / "data" / "test_32x32.mat", 100, seed=1)
    return root


@pytest.mark.slow
def test_make_reproduce_svhn_fast_from_another_directory(checkout, tmp_path):
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XNETS_")}
    env["PYTHONPATH"] = str(checkout)
    out = checkout / "build" / "svhn-test"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xnets_lite.course.notebooks",
            "run",
            "--dataset",
            "svhn",
            "--fast",
            "--out",
            str(out),
            "--only",
            "07",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "FALLBACK" not in proc.stderr
    executed = json.loads((out / "07_your_own_model.ipynb").read_text())
    text = json.dumps([c.get("outputs", []) for c in executed["cells"]])
    assert "SVHN" in text and "MNIST (full" not in text
    figures = sorted(p.name for p in (out / "figures" / "svhn").glob("*.png"))
    assert figures == ["07_class_eigenvectors.png", "07_tree.png"], figures
    trained = sorted(p.name for p in (out / "checkpoints" / "svhn").glob("*.pt"))
    assert trained == ["bilinear-mlp-h32-e2-fast-s0-odt.pt", "bilinear-mlp-h32-e2-fast-s0.pt"]


def test_run_model_trains_a_chi_net_on_the_svhn_files(checkout, tmp_path, monkeypatch):
    """``Run.model`` on the SVHN files (what 01–06 call): trained, saved under svhn/, and
    loaded back the second time."""
    from xnets_lite.course.notebooks import Run

    monkeypatch.setenv("XNETS_DATA", str(checkout / "data"))
    run = Run("svhn", fast=True, checkpoints=str(tmp_path / "c"), figures=str(tmp_path / "f"))
    with pytest.warns(UserWarning, match="differs from the official SVHN release"):
        model, meta = run.model("xnet", progress=False)  # the user is told: not the paper's
    assert run.checkpoint_path("xnet").parent.name == "svhn"
    assert run.checkpoint_path("xnet").exists() and meta["test_accuracy"] > 0.5
    again, _ = run.model("xnet", progress=False)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
