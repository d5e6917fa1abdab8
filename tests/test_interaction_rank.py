"""The rank-k degree-2 part, on a one-layer network whose Q_c is known."""

import pytest
import torch

from helpers import random_inputs, random_xnet
from xnets_lite.analysis.interaction_rank import interaction_rank_curve
from xnets_lite.core.network import BilinearLayer, Network


def known() -> Network:
    """logit_0 = 3x₁² − x₂², logit_1 = x₁ (one layer on x̃ = [1, x₁, x₂]): Q_0 = diag(3, −1),
    Q_1 = 0."""
    e = torch.eye(3, dtype=torch.float64)
    left = torch.stack([e[0], e[1], e[2], e[1]])
    right = torch.stack([e[0], e[1], e[2], e[0]])
    head = torch.tensor([[1.0, 0, 0, 0], [0, 3.0, -1.0, 0], [0, 0, 0, 1.0]], dtype=torch.float64)
    return Network(e, [BilinearLayer(left, right, torch.eye(4, dtype=torch.float64))], head)


def test_known_quadratic_rank_one_then_exact():
    x = random_inputs(50, 2, seed=1)
    y = (3 * x[:, 0] ** 2 - x[:, 1] ** 2 > x[:, 0]).long().neg().add(1)  # the full model's call
    out = interaction_rank_curve(known(), x, y, k_max=2)
    # rank 1 keeps 3x₁² (the largest |λ|); rank 2 is exact
    f2 = torch.stack([3 * x[:, 0] ** 2 - x[:, 1] ** 2, 0 * x[:, 0]], 1)
    a1 = torch.stack([3 * x[:, 0] ** 2, 0 * x[:, 0]], 1)
    err = f2 - a1
    want = 1 - ((err - err.mean(0)) ** 2).sum() / ((f2 - f2.mean(0)) ** 2).sum()
    assert out["r2"][0] == pytest.approx(float(want))
    assert out["r2"][1] == pytest.approx(1.0)
    assert out["accuracy"][1] == pytest.approx(out["degree2"]) == pytest.approx(1.0)


def test_random_model_reaches_the_degree_two_accuracy_at_full_rank():
    model = random_xnet(5, 4, 5, 3, n_layers=2, seed=3)
    x = random_inputs(40, 5, seed=4)
    y = torch.randint(0, 3, (40,), generator=torch.Generator().manual_seed(0))
    out = interaction_rank_curve(model, x, y, k_max=5)
    assert out["r2"][-1] == pytest.approx(1.0)
    assert out["accuracy"][-1] == pytest.approx(out["degree2"])
    with pytest.raises(ValueError, match="k_max"):
        interaction_rank_curve(model, x, y, k_max=6)
