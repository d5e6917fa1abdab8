"""The ODT report and its command line: numbers printed, figures written, clear errors."""

import pytest

from helpers import random_xnet
from xnets_lite.__main__ import main
from xnets_lite.core.model import MLP
from xnets_lite.course.report import odt_report
from xnets_lite.training.checkpoint import save_checkpoint

FIGURES = {
    "class_eigenvectors.png",
    "compositional_tree.png",
    "effective_dimension.png",
    "spectra.png",
    "accuracy_vs_rank.png",
}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "xnet.pt"
    save_checkpoint(
        path, random_xnet(784, 8, 8, 10, n_layers=2, std=0.1).float(), {"dataset": "mnist"}
    )
    return path


def test_report_numbers_and_figures(mnist_small, tmp_path):
    _, test = mnist_small
    lines = []
    model = random_xnet(784, 8, 8, 10, n_layers=2, std=0.1).float()
    result = odt_report(model, test, tmp_path, ranks=[1, 4], tree_rank=3, printer=lines.append)
    assert {p.name for p in result["figures"].values()} == FIGURES
    assert [r["rank"] for r in result["rows"]] == [1, 4, 8]  # the full rank is added
    assert result["rows"][-1]["agreement"] == 1.0
    assert len(result["odt_dims"]) == len(result["svd_dims"]) == len(result["reader_dims"]) == 3
    assert "MNIST (full, offline)" in lines[0]
    assert any("SVD writer" in line and "SVD reader" in line for line in lines)


def test_cli_odt(checkpoint, tmp_path, capsys):
    assert (
        main(
            [
                "odt",
                "--checkpoint",
                str(checkpoint),
                "--figures",
                str(tmp_path),
                "--ranks",
                "1,2",
                "--tree-rank",
                "2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "not SVHN" in out and "effective dimension per wire" in out
    assert {p.name for p in (tmp_path / "mnist").iterdir()} == FIGURES


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--tree-rank", "99"], "out of range"),
        (["--ranks", "1,x"], "comma-separated integers"),
        (["--dataset", "svhn"], "trained on 'mnist'"),
    ],
)
def test_cli_odt_errors(checkpoint, tmp_path, capsys, extra, message):
    assert main(["odt", "--checkpoint", str(checkpoint), "--figures", str(tmp_path)] + extra) == 2
    assert message in capsys.readouterr().err


def test_cli_odt_refuses_a_baseline(tmp_path, capsys):
    path = tmp_path / "mlp.pt"
    save_checkpoint(path, MLP(784, 8, 8, 10, 1), {"dataset": "mnist"})
    assert main(["odt", "--checkpoint", str(path)]) == 2
    assert "not a χ-net" in capsys.readouterr().err
