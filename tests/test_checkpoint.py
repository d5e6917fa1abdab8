"""Checkpoints: round trip, atomic writes, clear errors, train_or_load."""
import os

import pytest
import torch

from xnets_lite import checkpoint as C
from xnets_lite.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, train_or_load
from xnets_lite.model import MLP, XNet

TINY = dict(d_input=784, d_model=8, d_hidden=12, n_classes=10, n_layers=2)


@pytest.mark.parametrize("model", [XNet(**TINY), XNet(**TINY, norm="rms"), MLP(**TINY, activation="gelu")],
                         ids=["xnet", "xnet-rms", "mlp-gelu"])
def test_round_trip(tmp_path, model):
    path = tmp_path / "sub" / "model.pt"
    history = {"train_loss": [1.0, 0.5], "test_accuracy": [0.5, 0.75]}
    save_checkpoint(path, model, {"dataset": "mnist", "seed": 3, "test_accuracy": 0.75,
                                  "history": history, "shape": (1, 2)})
    loaded, meta = load_checkpoint(path)
    assert type(loaded) is type(model) and not loaded.training
    assert meta["config"] == C.model_config(model)
    assert meta["dataset"] == "mnist" and meta["seed"] == 3 and meta["history"] == history
    assert meta["shape"] == [1, 2]  # stored as JSON
    assert meta["versions"]["torch"] == str(torch.__version__)
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), k
    x = torch.rand(3, 784)
    model.eval()
    assert torch.equal(model(x), loaded(x))
    assert os.listdir(path.parent) == ["model.pt"]  # no temporary files left


def test_meta_must_be_json(tmp_path):
    with pytest.raises(TypeError, match="JSON"):
        save_checkpoint(tmp_path / "m.pt", XNet(**TINY), {"bad": object()})
    assert not list(tmp_path.iterdir())


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    good = XNet(**TINY)
    save_checkpoint(path, good, {"dataset": "mnist"})
    before = path.read_bytes()

    real_save = torch.save
    def crash_midway(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")  # bytes reach the temporary file, then the crash
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, XNet(**{**TINY, "d_model": 4}), {"dataset": "mnist"})
    monkeypatch.setattr(torch, "save", real_save)

    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.pt"]
    load_checkpoint(path)


def test_interrupt_during_write_cleans_up(tmp_path, monkeypatch):
    def interrupted(obj, f, *args, **kwargs):
        f.write(b"x")
        raise KeyboardInterrupt
    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "m.pt", XNet(**TINY))
    assert os.listdir(tmp_path) == []


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at .*nothing.pt"):
        load_checkpoint(tmp_path / "nothing.pt")


@pytest.mark.parametrize("content", [b"", b"garbage\x00\x01" * 10, "truncate"], ids=["empty", "garbage", "truncated"])
def test_corrupt_file(tmp_path, content):
    path = tmp_path / "bad.pt"
    if content == "truncate":
        save_checkpoint(path, XNet(**TINY))
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value) and "could not be read" in str(info.value)
    assert "delete it and train again" in str(info.value)


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(XNet(**TINY).state_dict(), path)  # a bare state dict, not our format
    with pytest.raises(CheckpointError, match=r"weights.pt is not an xnets-lite checkpoint"):
        load_checkpoint(path)


def test_code_in_a_file_is_never_run(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": C.FORMAT, "payload": XNet(**TINY)}, path)  # a pickled module
    with pytest.raises(CheckpointError, match="could not be read"):
        load_checkpoint(path)


def test_mismatched_state_dict(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(path, XNet(**TINY))
    payload = torch.load(path, weights_only=True)
    payload["config"]["d_model"] = 9  # config now disagrees with the weights
    del payload["state_dict"]["head.bias"]
    torch.save(payload, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert str(path) in msg and "do not match" in msg and "missing head.bias" in msg
    assert "embed.weight has shape (8, 784), expected (9, 784)" in msg


def test_invalid_config(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(path, XNet(**TINY))
    payload = torch.load(path, weights_only=True)
    payload["config"]["kind"] = "transformer"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="invalid model config"):
        load_checkpoint(path)


def test_train_or_load(tmp_path, mnist_small, capsys):
    train_data, test_data = mnist_small
    train_data = train_data.subset(300)
    path = tmp_path / "xnet.pt"
    make = lambda: XNet(**TINY)
    kw = dict(epochs=1, batch_size=64, progress=False, device="cpu")
    model, meta = train_or_load(path, make, train_data, test_data, seed=5, **kw)
    assert meta["dataset"] == "mnist" and meta["seed"] == 5 and meta["recipe"]["train"]["epochs"] == 1
    stamp = path.stat().st_mtime_ns

    again, meta2 = train_or_load(path, make, train_data, test_data, seed=5, **kw)  # loads
    assert path.stat().st_mtime_ns == stamp and meta2["test_accuracy"] == meta["test_accuracy"]
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)

    _, meta3 = train_or_load(path, make, train_data, test_data, seed=5, **{**kw, "epochs": 2})
    assert meta3["recipe"]["train"]["epochs"] == 2 and "different recipe" in capsys.readouterr().err
    # the model trained with the other recipe is kept, not destroyed
    _, kept = load_checkpoint(tmp_path / "xnet.pt.old1")
    assert kept["recipe"]["train"]["epochs"] == 1

    path.write_bytes(b"corrupt")
    with pytest.warns(UserWarning, match="could not be read"):
        train_or_load(path, make, train_data, test_data, seed=5, **kw)
    load_checkpoint(path)
    assert (tmp_path / "xnet.pt.old2").read_bytes() == b"corrupt"

    with pytest.raises(TypeError, match="unknown training arguments: epoch"):
        train_or_load(path, make, train_data, test_data, epoch=3)
