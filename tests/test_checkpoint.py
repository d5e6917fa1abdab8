"""Checkpoints: round trip, atomic writes, clear errors, train_or_load."""

import os

import pytest
import torch

from xnets_lite.core.model import MLP, XNet
from xnets_lite.training import checkpoint as C
from xnets_lite.training.checkpoint import (
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    train_or_load,
)

TINY = dict(d_input=784, d_model=8, d_hidden=12, n_classes=10, n_layers=2)


@pytest.mark.parametrize(
    "model",
    [XNet(**TINY), XNet(**TINY, norm="rms"), MLP(**TINY, activation="gelu")],
    ids=["xnet", "xnet-rms", "mlp-gelu"],
)
def test_round_trip(tmp_path, model):
    path = tmp_path / "sub" / "model.pt"
    history = {"train_loss": [1.0, 0.5], "test_accuracy": [0.5, 0.75]}
    save_checkpoint(
        path,
        model,
        {"dataset": "mnist", "seed": 3, "test_accuracy": 0.75, "history": history, "shape": (1, 2)},
    )
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


@pytest.mark.parametrize(
    "content", [b"", b"garbage\x00\x01" * 10, "truncate"], ids=["empty", "garbage", "truncated"]
)
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
    assert meta["dataset"] == "mnist" and meta["seed"] == 5
    assert meta["recipe"]["train"]["epochs"] == 1
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


# ----------------------------------------------------------------------------- resume files


def test_resume_path_for():
    from pathlib import Path

    assert C.resume_path_for(Path("ck/mnist/xnet.pt")) == Path("ck/mnist/xnet.resume.pt")
    assert C.resume_path_for("model.bin") == Path("model.bin.resume.pt")


def _train(data, resume_path, epochs=2, make=lambda: XNet(**TINY), init_seed=0, **kw):
    from xnets_lite.training.train import seed_everything, train

    train_data, test_data = data
    seed_everything(init_seed)
    model = make()
    history = train(
        model,
        train_data,
        test_data,
        epochs=epochs,
        batch_size=64,
        seed=0,
        device="cpu",
        progress=False,
        resume_path=resume_path,
        resume_every=0,
        **kw,
    )
    return model, history


def _equal_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.fixture
def small(mnist_small):
    train_data, test_data = mnist_small
    return train_data.subset(300), test_data.subset(100)


@pytest.mark.parametrize(
    "change, expected",
    [
        (dict(epochs=3), "recipe.train.epochs: 2 → 3"),
        (dict(lr=5e-4), "recipe.train.lr: 0.001 → 0.0005"),
        (dict(make=lambda: XNet(**{**TINY, "d_model": 4})), "recipe.model.d_model: 8 → 4"),
        (dict(init_seed=1), "initial_weights differ"),
    ],
    ids=["epochs", "lr", "model", "init"],
)
def test_resume_file_of_another_run_is_kept_aside(tmp_path, small, capsys, change, expected):
    path = tmp_path / "xnet.resume.pt"
    _train(small, path)
    before = path.read_bytes()
    model, history = _train(small, path, **change)
    err = capsys.readouterr().err
    assert "resume file of another training run" in err and expected in err
    assert "kept the previous xnet.resume.pt as" in err and "resuming" not in err
    assert (tmp_path / "xnet.resume.pt.old1").read_bytes() == before
    assert history["resumed_at"] == []
    fresh, _ = _train(small, None, **change)  # trained from scratch, as if no file existed
    assert _equal_weights(model, fresh)


def test_resume_file_of_another_dataset_is_kept_aside(tmp_path, small, mnist_small, capsys):
    from xnets_lite.data import Dataset

    train_data, test_data = small
    path = tmp_path / "r.pt"
    _train(small, path)
    # Same name, split and size, other images: only the data digest tells them apart.
    other = mnist_small[0].subset(slice(300, 600))
    _train((other, test_data), path)
    err = capsys.readouterr().err
    assert "train_data differ" in err and "recipe" not in err.split("run (")[1].split(")")[0]
    assert (tmp_path / "r.pt.old1").exists()
    # Another dataset name is named as such.
    renamed = Dataset(train_data.images, train_data.labels, "fashion", train_data.split)
    _train((renamed, test_data), path)
    assert "recipe.dataset: 'mnist' → 'fashion'" in capsys.readouterr().err
    assert (tmp_path / "r.pt.old2").exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage\x00\x01" * 10, "truncate", "foreign", "code"],
    ids=["empty", "garbage", "truncated", "foreign", "code"],
)
def test_unreadable_resume_file_is_kept_aside_with_a_warning(tmp_path, small, content):
    path = tmp_path / "r.pt"
    if content == "truncate":
        _train(small, path)
        content = path.read_bytes()[: path.stat().st_size // 2]
    elif content == "foreign":
        torch.save({"epoch": 1, "model": {}}, path)
        content = path.read_bytes()
    elif content == "code":
        torch.save({"format": C.RESUME_FORMAT, "model": XNet(**TINY)}, path)  # a pickled module
        content = path.read_bytes()
    path.write_bytes(content)
    with pytest.warns(UserWarning, match="could not be read|not an xnets-lite resume file") as info:
        model, history = _train(small, path)
    message = str(info[0].message)
    assert "starts from the beginning" in message and "r.pt.old1" in message
    assert (tmp_path / "r.pt.old1").read_bytes() == content
    assert history["resumed_at"] == [] and _equal_weights(model, _train(small, None)[0])
    torch.load(path, weights_only=True)  # the new run wrote a good one


def test_resume_file_from_another_device_is_an_error(tmp_path, small):
    path = tmp_path / "r.pt"
    _train(small, path)
    state = torch.load(path, weights_only=True)
    state["device_type"] = "cuda"
    torch.save(state, path)
    before = path.read_bytes()
    with pytest.raises(
        C.ResumeError, match=r"trained on cuda; continue it on cuda .*move the file away"
    ):
        _train(small, path)
    assert path.read_bytes() == before and not (tmp_path / "r.pt.old1").exists()
    assert issubclass(C.ResumeError, CheckpointError)  # the CLI prints it as one line


def test_train_or_load_resumes_after_an_interrupt(tmp_path, mnist_small, monkeypatch, capsys):
    import xnets_lite.training.train as T

    train_data, test_data = mnist_small
    train_data = train_data.subset(320)  # 5 steps an epoch
    make = lambda: XNet(**TINY)
    kw = dict(epochs=3, batch_size=64, progress=False, device="cpu", resume_every=0)
    reference, ref_meta = train_or_load(
        tmp_path / "ref" / "xnet.pt", make, train_data, test_data, seed=5, **kw
    )
    assert sorted(p.name for p in (tmp_path / "ref").iterdir()) == ["xnet.pt"]

    path = tmp_path / "run" / "xnet.pt"
    real, calls = T.train_step, [0]

    def interrupted(*args):
        calls[0] += 1
        if calls[0] == 8:  # in epoch 2
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(T, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_or_load(path, make, train_data, test_data, seed=5, **kw)
    monkeypatch.undo()
    assert sorted(p.name for p in path.parent.iterdir()) == ["xnet.resume.pt"]

    model, meta = train_or_load(path, make, train_data, test_data, seed=5, **kw)
    assert "resuming from" in capsys.readouterr().err
    assert _equal_weights(model, reference)
    assert meta["recipe"] == ref_meta["recipe"] and meta["history"]["resumed_at"] == [1]
    assert meta["history"]["train_loss"] == ref_meta["history"]["train_loss"]
    # The checkpoint is written and the resume file gone; the next call loads.
    assert sorted(p.name for p in path.parent.iterdir()) == ["xnet.pt"]
    _, meta2 = train_or_load(path, make, train_data, test_data, seed=5, **kw)
    assert meta2["history"] == meta["history"]


def test_train_and_save_without_resume(tmp_path, small, monkeypatch):
    import xnets_lite.training.resume as R

    monkeypatch.setattr(R, "save_resume_state", lambda *a: pytest.fail("resume state written"))
    model = XNet(**TINY)
    C.train_and_save(
        tmp_path / "m.pt", model, *small, epochs=1, progress=False, device="cpu", resume=False
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_damaged_state_of_the_same_run_is_an_error(tmp_path, small):
    path = tmp_path / "r.pt"
    _train(small, path)
    state = torch.load(path, weights_only=True)
    del state["model"]["head.bias"]  # key and format intact, the weights not
    torch.save(state, path)
    with pytest.raises(C.ResumeError, match=r"could not be loaded .*delete it \(or move it away\)"):
        _train(small, path)
    assert path.exists()
