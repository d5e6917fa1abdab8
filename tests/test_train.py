"""Training (determinism, learning), evaluation, input checks and the command line."""
import subprocess
import sys

import pytest
import torch

from xnets_lite.__main__ import main
from xnets_lite.model import MLP, XNet
from xnets_lite.train import evaluate, resolve_device, seed_everything, train

TINY = dict(d_input=784, d_model=16, d_hidden=16, n_classes=10, n_layers=2)


def _fit(mnist_small, make, seed=0, **kw):
    train_data, test_data = mnist_small
    seed_everything(seed)
    model = make()
    kw = {"epochs": 2, "batch_size": 64, "progress": False, **kw}
    return model, train(model, train_data, test_data, seed=seed, device="cpu", **kw)


@pytest.mark.parametrize("make", [lambda: XNet(**TINY), lambda: MLP(**TINY)], ids=["xnet", "mlp"])
def test_same_seed_same_history_and_weights(mnist_small, make):
    m1, h1 = _fit(mnist_small, make)
    m2, h2 = _fit(mnist_small, make)
    assert h1["train_loss"] == h2["train_loss"] and h1["test_accuracy"] == h2["test_accuracy"]
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), k
    _, h3 = _fit(mnist_small, make, seed=1)
    assert h3["train_loss"] != h1["train_loss"]


def test_history_shape_and_learning(mnist_small):
    model, history = _fit(mnist_small, lambda: XNet(**TINY), epochs=3)
    assert history["epoch"] == [1, 2, 3] and history["device"] == "cpu"
    assert history["steps"] == 3 * 16  # ceil(1000 / 64)
    assert len(history["train_loss"]) == len(history["test_accuracy"]) == len(history["time"]) == 3
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["time"] == sorted(history["time"])
    # Ten balanced classes: chance is 10%. A tiny χ-net gets far above it in 3 short epochs.
    assert history["test_accuracy"][-1] > 0.6
    assert evaluate(model, mnist_small[1]) == history["test_accuracy"][-1]


def test_train_restores_global_determinism_flag(mnist_small):
    before = torch.are_deterministic_algorithms_enabled()
    _fit(mnist_small, lambda: XNet(**TINY), epochs=1)
    assert torch.are_deterministic_algorithms_enabled() == before


def test_divergence_is_reported(mnist_small):
    with pytest.raises(FloatingPointError, match="diverged"):
        _fit(mnist_small, lambda: XNet(**TINY), epochs=1, lr=1e6)


def test_evaluate_restores_train_mode(mnist_small):
    model = XNet(**TINY)
    model.train()
    evaluate(model, mnist_small[1])
    assert model.training


def test_cuda_request_without_gpu_is_an_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        resolve_device("cuda")
    assert resolve_device(None).type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_trains_on_cuda(mnist_small):
    model = XNet(**TINY)
    history = train(model, *mnist_small, epochs=2, device="cuda", progress=False)
    assert next(model.parameters()).is_cuda and history["device"].startswith("cuda")
    assert history["test_accuracy"][-1] > 0.3


def test_wrong_input_size_is_a_clear_error():
    model = XNet(**TINY)
    with pytest.raises(ValueError, match=r"shape \(4, 1024\).*d_input=784"):
        model(torch.zeros(4, 1024))
    assert model(torch.zeros(4, 1, 28, 28)).shape == (4, 10)


# ----------------------------------------------------------------------------- CLI

def test_cli_trains_both_models_and_writes_checkpoints(tmp_path, capsys):
    rc = main(["train", "--dataset", "mnist", "--epochs", "1", "--width", "8", "--layers", "1",
               "--out", str(tmp_path), "--no-progress", "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "dataset: mnist" in out and "not SVHN" in out
    assert "χ-net (1×8)" in out and "MLP relu (1×8)" in out and "%" in out
    from xnets_lite.checkpoint import load_checkpoint
    for kind in ("xnet", "mlp"):
        model, meta = load_checkpoint(tmp_path / "mnist" / f"{kind}.pt")
        assert meta["config"]["kind"] == kind and meta["dataset"] == "mnist"
        assert meta["recipe"]["train"]["epochs"] == 1 and 0 <= meta["test_accuracy"] <= 1


@pytest.mark.parametrize("argv, expected", [
    (["train", "--dataset", "cifar"], "unknown dataset 'cifar'"),
    (["train", "--dataset", "svhn", "--data", "{tmp}"], "SVHN train data not found"),
])
def test_cli_bad_inputs_give_one_line_errors(tmp_path, capsys, argv, expected):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("xnets-lite: error: ") and expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_usage_errors(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--epochs", "0"])
    assert info.value.code == 2 and "positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_cli_as_a_process(tmp_path):
    """``python -m xnets_lite`` exits non-zero with a message and no traceback."""
    proc = subprocess.run([sys.executable, "-m", "xnets_lite", "train", "--dataset", "svhn",
                           "--data", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "--dataset mnist" in proc.stderr and "Traceback" not in proc.stderr
