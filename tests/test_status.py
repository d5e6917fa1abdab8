"""The status line of long work: what a kernel reports (the model and epoch training), what
the notebook pipeline shows of it, and kernels that no longer warn about TCP."""

import os
import sys

import nbformat
import pytest
import torch

from xnets_lite.core.model import XNet
from xnets_lite.course import notebooks
from xnets_lite.training import status
from xnets_lite.training.train import seed_everything, train


def test_report_writes_one_line_only_when_someone_listens(tmp_path, monkeypatch):
    path = tmp_path / "status"
    monkeypatch.delenv(status.ENV, raising=False)
    status.report("xnet: epoch 1/2")
    assert not status.enabled() and not path.exists() and status.read(path) == ""
    monkeypatch.setenv(status.ENV, str(path))
    follower = status.Follower(path)
    assert follower.new() == []
    status.report("xnet: epoch 1/2\n · batch 3/9")
    assert status.enabled() and status.read(path) == "xnet: epoch 1/2 · batch 3/9"
    status.report("xnet: epoch 1/2 done · loss 0.5")
    status.report("xnet: epoch 2/2")
    assert status.read(path) == "xnet: epoch 2/2"
    # nothing is missed between two looks, however fast the lines come
    assert follower.new() == [
        "xnet: epoch 1/2 · batch 3/9",
        "xnet: epoch 1/2 done · loss 0.5",
        "xnet: epoch 2/2",
    ]
    assert follower.new() == []
    monkeypatch.setenv(status.ENV, str(tmp_path / "missing" / "status"))
    status.report("never raises")  # an unwritable place is ignored


def test_training_reports_model_and_epoch(mnist_small, tmp_path, monkeypatch):
    lines = []
    monkeypatch.setenv(status.ENV, str(tmp_path / "status"))
    monkeypatch.setattr(status, "report", lines.append)
    train_data, test_data = mnist_small
    seed_everything(0)
    model = XNet(784, 16, n_classes=10, n_layers=1)
    train(model, train_data, test_data, epochs=2, batch_size=64, progress=False, desc="xnet")
    starts = [line for line in lines if line.endswith(("epoch 1/2", "epoch 2/2"))]
    done = [line for line in lines if " done · loss " in line]
    assert starts == ["xnet: epoch 1/2", "xnet: epoch 2/2"]
    assert len(done) == 2 and done[1].startswith("xnet: epoch 2/2 done") and "test " in done[1]


def test_no_listener_no_reports(mnist_small, monkeypatch):
    monkeypatch.delenv(status.ENV, raising=False)
    monkeypatch.setattr(status, "report", lambda line: pytest.fail("reported"))
    train_data, _ = mnist_small
    torch.manual_seed(0)
    train(XNet(784, 8, n_classes=10, n_layers=1), train_data, epochs=1, progress=False)


def test_pipeline_shows_the_kernels_status_and_no_tcp_warning(tmp_path, monkeypatch, capfd):
    """One tiny notebook through the pipeline's own executor: its kernel's status lines reach
    the console (a log: one line per finished epoch), and the kernel runs on IPC sockets, so
    ipykernel's "running over TCP without encryption" warning is gone."""
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import time\nfrom xnets_lite.training import status\n"
            "for e in (1, 2):\n"
            "    status.report(f'xnet: epoch {e}/2 done · loss 0.5')\n"
            "    status.report(f'xnet: epoch {e + 1}/2')  # at once: the log still sees 'done'\n"
            "    time.sleep(1.0)\n"
        )
    ]
    nbformat.write(nb, tmp_path / "notebooks" / "t.ipynb")
    # the kernel imports this checkout, as run_notebooks arranges
    monkeypatch.setenv("PYTHONPATH", str(notebooks.ROOT))
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    plan = notebooks._Plan("mnist", None, tmp_path, tmp_path, {}, ["t"], False, False)

    class Bar:
        postfixes = []

        def set_postfix_str(self, text):
            self.postfixes.append(text)

    bar = Bar()
    target = notebooks._execute(plan, "t", bar, timeout=120)
    assert target.exists()
    err = capfd.readouterr().err
    assert "without encryption" not in err
    assert "xnet: epoch 1/2 done · loss 0.5" in err and "xnet: epoch 2/2 done" in err
    assert bar.postfixes == [""]  # a log: the bar's postfix is left alone

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)  # a terminal
    notebooks._execute(plan, "t", bar, timeout=120)
    assert "xnet: epoch 3/2" in bar.postfixes and bar.postfixes[-1] == ""
    assert status.ENV not in os.environ
