"""TrainConfig: the training hyper-parameters, once; the record a checkpoint keeps of a run."""

import pytest

from xnets_lite.core.model import XNet
from xnets_lite.data import Dataset
from xnets_lite.training.config import RUN_OPTIONS, TrainConfig, run_record, split_train_kwargs
from xnets_lite.training.kinds import model_config


def test_split_keeps_run_options_apart_and_rejects_typos():
    config, run = split_train_kwargs(dict(epochs=3, device="cpu", progress=False))
    assert config == TrainConfig(epochs=3) and run == dict(device="cpu", progress=False)
    base = TrainConfig(lr=0.01)
    assert split_train_kwargs(dict(config=base, epochs=2))[0] == base.replace(epochs=2)
    with pytest.raises(TypeError, match="unknown training arguments: epoch"):
        split_train_kwargs(dict(epoch=3))
    with pytest.raises(TypeError, match="must be a TrainConfig"):
        split_train_kwargs(dict(config={"epochs": 2}))
    assert set(RUN_OPTIONS).isdisjoint(TrainConfig.names())


@pytest.mark.parametrize(
    "bad",
    [
        dict(epochs=-1),
        dict(batch_size=0),
        dict(lr=0.0),
        dict(weight_decay=-0.1),
        dict(noise_std=-1.0),
    ],
)
def test_bad_values_are_clear_errors(bad):
    with pytest.raises(ValueError, match="need"):
        TrainConfig(**bad)


def test_the_record_holds_asdict_of_the_config():
    import torch

    data = Dataset(
        torch.zeros(6, 2, 2, dtype=torch.uint8), torch.zeros(6, dtype=torch.long), "mnist", "train"
    )
    model = XNet(4, 3, n_classes=2, n_layers=1)
    config = TrainConfig(epochs=2, noise_std=0.0)
    record = run_record(model, data, None, 7, config)
    assert record == {
        "model": model_config(model),
        "dataset": "mnist",
        "train_split": "train",
        "n_train": 6,
        "n_test": 0,
        "seed": 7,
        "train": config.asdict(),
    }
    assert record["train"] == dict(
        epochs=2, batch_size=128, lr=1e-3, weight_decay=0.5, noise_std=0.0
    )
