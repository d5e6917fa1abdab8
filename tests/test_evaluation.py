"""evaluation.py: one way to run a model on data (Dataset, (x, y) pair, iterable of batches)."""

import pytest
import torch
from torch import nn

from xnets_lite.core.evaluation import (
    accuracy,
    as_batches,
    eval_mode,
    logits,
    per_class_accuracy,
    placement,
    predict,
)
from xnets_lite.core.model import XNet
from xnets_lite.core.network import to_network
from xnets_lite.data import Dataset


@pytest.fixture
def setup():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (37, 2, 3), dtype=torch.uint8)
    labels = torch.randint(0, 3, (37,))
    data = Dataset(images, labels, "mnist", "test", n_classes=3)
    model = XNet(d_input=6, d_model=5, n_classes=3, n_layers=2)
    return model, data


def test_three_kinds_of_data_agree(setup):
    model, data = setup
    x, y = data[0 : len(data)]
    want = model(x).detach()
    batches = [(x[i : i + 8], y[i : i + 8]) for i in range(0, len(x), 8)]
    for d in (data, (x, y), batches, iter(batches)):
        assert torch.equal(logits(model, d, batch_size=10), want)
    assert torch.equal(predict(model, data), want.argmax(-1))
    assert accuracy(model, data) == float((want.argmax(-1) == y).double().mean())


def test_per_class_accuracy_by_hand(setup):
    model, data = setup
    x, y = data[0 : len(data)]
    pred = model(x).argmax(-1)
    got = per_class_accuracy(model, data, batch_size=7)
    for c in range(3):
        assert got[c].item() == pytest.approx((pred[y == c] == c).double().mean().item())
    # an absent class is NaN; a transform is applied before the model
    only0 = (x[y == 0], y[y == 0])
    assert torch.isnan(per_class_accuracy(model, only0)[1:]).all()
    zeros = per_class_accuracy(model, (x, y), transform=torch.zeros_like)
    c0 = model(torch.zeros(1, 6)).argmax().item()
    assert zeros[c0] == 1 and (zeros[[c for c in range(3) if c != c0]] == 0).all()


def test_network_is_evaluated_in_its_dtype(setup):
    model, data = setup
    net = to_network(model)
    assert placement(net) == (torch.device("cpu"), torch.float64)
    z = logits(net, data)
    assert z.dtype == torch.float64
    assert torch.allclose(z, logits(model, data).double(), atol=1e-5)


def test_eval_mode_restores_the_flag(setup):
    model, _ = setup
    model.train()
    with eval_mode(model):
        assert not model.training
    assert model.training
    with pytest.raises(RuntimeError), eval_mode(model):
        raise RuntimeError("boom")
    assert model.training
    model.eval()
    with eval_mode(model):
        pass
    assert not model.training


def test_bad_data_says_what_to_pass(setup):
    model, _ = setup
    with pytest.raises(TypeError, match="Dataset, an \\(x, y\\) pair"):
        logits(model, 3.0)
    with pytest.raises(TypeError, match="needs labels"):
        per_class_accuracy(model, torch.zeros(3, 6))
    # inputs alone are enough for logits and predictions, and give the model's own outputs
    x = torch.rand(5, 6)
    assert torch.equal(logits(model, x), model(x).detach())
    with pytest.raises(TypeError, match="each batch"):
        logits(model, [torch.zeros(3, 6)])
    with pytest.raises(ValueError, match="same length"):
        list(as_batches((torch.zeros(3, 6), torch.zeros(2))))
    with pytest.raises(ValueError, match="no parameters"):
        placement(nn.Identity())


def test_error_ratio_counts_errors_against_a_reference():
    import math

    from xnets_lite.core.evaluation import error_ratio

    assert math.isclose(error_ratio(0.95, 0.98), 2.5)
    assert error_ratio(0.98, 0.98) == 1.0
    assert math.isnan(error_ratio(0.9, 1.0)) and math.isnan(error_ratio(1.0, 1.0))
    with pytest.raises(ValueError, match="fractions"):
        error_ratio(95.0, 98.0)  # percentages, not fractions
