"""The paper's route end to end, as a user takes it: official-layout SVHN files in ./data at
the repository root, the pipeline command behind `make reproduce DATASET=svhn` (fast setting),
started from another working directory. The kernels run in notebooks/, so a data directory
resolved from the working directory would miss the files (a bug this test pins down).

The fake files are learnable (each class has its own pattern), so the notebooks' accuracy
floors mean something; they run in a copy of the repository, never in the user's ./data.
Notebook 04 runs, the smallest that takes the whole route: ``Run.data`` reads the files,
``Run.model`` trains the two χ-nets it decomposes (no checkpoint yet) and saves them, and a
figure is written under figures/svhn/. 01–03 take the same routes with more models to train
(01 trains seven, minutes on 2 cores) and 00 reads no data; 05 reads its data the same way but
asserts properties of a reading of real images (removing a class's eigenvectors breaks that
class *only*) that random class patterns do not have.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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
            "04",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "FALLBACK" not in proc.stderr
    executed = json.loads((out / "04_tree.ipynb").read_text())
    text = json.dumps([c.get("outputs", []) for c in executed["cells"]])
    assert "SVHN" in text and "dataset: svhn" in text
    assert "MNIST (full" not in text
    figures = sorted(p.name for p in (out / "figures" / "svhn").glob("*.png"))
    assert "compositional_tree.png" in figures
    trained = sorted(p.name.split("-w")[0] for p in (out / "checkpoints" / "svhn").glob("*.pt"))
    assert trained == ["xnet", "xnet-direct"], trained  # both trained here, on the files
