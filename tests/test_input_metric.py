"""The data metric: whitening folded into the embedding gives the same logits, exactly."""

import pytest
import torch

from helpers import assert_close, random_inputs, random_xnet
from xnets_lite.analysis.input_metric import DataMetric
from xnets_lite.core.odt import odt


@pytest.mark.parametrize("block", ["residual", "direct"])
def test_folded_network_of_z_has_the_same_logits(block):
    model = random_xnet(6, 4, 5, 3, n_layers=2, block=block, seed=3)
    train = random_inputs(50, 6, seed=1) * torch.linspace(0.1, 2, 6).double() + 0.3
    metric = DataMetric.fit(train, eps=1e-6)
    x = random_inputs(7, 6, seed=2)
    net_z = metric.fold(model)
    with torch.no_grad():
        assert_close(net_z(metric.to_z(x)), model(x))
    assert_close(metric.to_x(metric.to_z(x)), x)
    # the training set is white in z (up to the regulariser)
    assert_close(torch.cov(metric.to_z(train).T), torch.eye(6, dtype=torch.float64), 1e-3)
    # and ODT runs on it, with the same logits after the gauge changes
    with torch.no_grad():
        assert_close(odt(net_z).network(metric.to_z(x)), model(x), 1e-8)


def test_bad_fits_are_refused():
    with pytest.raises(ValueError, match="at least 2"):
        DataMetric.fit(torch.ones(1, 3))
    with pytest.raises(ValueError, match="eps must be"):
        DataMetric.fit(torch.ones(4, 3), eps=0)
    metric = DataMetric.fit(random_inputs(10, 3))
    with pytest.raises(ValueError, match="for 3 inputs"):
        metric.fold(random_xnet(6, 4, 5, 3, n_layers=1))
