"""One recipe per dataset: every value of the paper's run has a source, the fast setting is
labelled as such, and overrides are checked."""

import math

import pytest

from xnets_lite.data import LUMA
from xnets_lite.training.recipes import OVERRIDABLE, recipe


def test_svhn_is_the_paper_run_with_a_source_for_every_value():
    r = recipe("svhn")
    assert (r.width, r.n_layers, r.batch_size, r.lr, r.weight_decay, r.epochs) == (
        256,
        3,
        2048,
        1e-3,
        1.0,
        20,
    )
    assert r.extra and r.main == "xnet-direct" and r.per_class is None
    for key in (
        "width",
        "n_layers",
        "main",
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "noise_std",
        "extra",
    ):
        assert r.sources.get(key, "").startswith("["), f"{key} has no source"


def test_svhn_noise_is_the_authors_rgb_noise_on_gray():
    on_gray = 0.3 * math.sqrt(sum(w * w for w in LUMA))
    assert recipe("svhn").noise_std == pytest.approx(on_gray, abs=1e-4)


def test_fast_is_labelled_and_small():
    for name in ("mnist", "svhn"):
        full, fast = recipe(name), recipe(name, fast=True)
        assert fast.fast and not full.fast
        assert fast.width < full.width and fast.per_class is not None and not fast.extra
        assert all("fast CI setting" in fast.sources[k] for k in ("width", "epochs", "per_class"))
        assert any("fast CI setting" in line for line in fast.describe())


def test_overrides():
    r = recipe("mnist")
    assert r.with_overrides(noise_std=0.0).noise_std == 0.0 and r.noise_std != 0.0
    assert set(r.with_overrides(n_layers=1).train_kwargs) == {
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "noise_std",
    }
    with pytest.raises(ValueError, match="cannot override"):
        r.with_overrides(dataset="svhn")
    assert "noise_std" in OVERRIDABLE
    with pytest.raises(ValueError, match="unknown dataset"):
        recipe("cifar")


def test_a_recipe_is_a_train_config_plus_sizes():
    from dataclasses import asdict

    from xnets_lite.training.config import TrainConfig

    r = recipe("svhn")
    assert isinstance(r.train, TrainConfig)
    assert r.train_kwargs == asdict(r.train)
    assert (r.epochs, r.noise_std) == (r.train.epochs, r.train.noise_std)
    # train()'s defaults are the offline course's recipe, not a fourth set of numbers
    assert TrainConfig() == recipe("mnist").train
    fast = recipe("svhn", fast=True)
    assert fast.train == r.train.replace(epochs=8, batch_size=128)
    assert [line.split()[0] for line in r.describe()] == [
        "width",
        "n_layers",
        "main",
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "noise_std",
        "extra",
        "per_class",
    ]


def test_every_recipe_decomposes_a_known_model_kind():
    from xnets_lite.training.kinds import MODEL_KINDS

    for name in ("mnist", "svhn"):
        assert recipe(name).main in MODEL_KINDS
