"""The signed quadratic forms Q_c = ½ Hessian: exact from the weights, checked on a hand-built
network whose quadratic part is known and against autograd on random float64 χ-nets."""

import pytest
import torch
from test_degrees import hand_built

from helpers import assert_close, random_inputs, random_xnet
from xnets_lite.analysis.degrees import linear_and_quadratic
from xnets_lite.analysis.interactions import (
    class_interactions,
    quadratic_form_autograd,
    quadratic_forms,
)
from xnets_lite.analysis.interpret import mean_gradient
from xnets_lite.viz.interaction_figures import plot_interactions


def test_hand_built_quadratic_form_is_known():
    # logit = 3 + 2x₁ − x₂ + 5x₁x₂ + 7x₁²x₂: at 0, Q = [[0, 2.5], [2.5, 0]], g = (2, −1);
    # at μ, ½ Hessian = ½ [[14μ₂, 5 + 14μ₁], [5 + 14μ₁, 0]].
    f0, g, q = linear_and_quadratic(hand_built())
    assert_close(f0, torch.tensor([3.0], dtype=torch.float64), 1e-12)
    assert_close(g[0], torch.tensor([2.0, -1.0], dtype=torch.float64), 1e-12)
    assert_close(q[0], torch.tensor([[0.0, 2.5], [2.5, 0.0]], dtype=torch.float64), 1e-12)
    m1, m2 = 0.5, -2.0
    q = quadratic_forms(hand_built(), center=torch.tensor([m1, m2]))
    expected = 0.5 * torch.tensor([[14 * m2, 5 + 14 * m1], [5 + 14 * m1, 0.0]], dtype=torch.float64)
    assert_close(q[0], expected, 1e-12)


@pytest.mark.parametrize("block", ["residual", "direct"])
@pytest.mark.parametrize("norm", [None, "batch-rms"])
@pytest.mark.parametrize("n_layers", [1, 3])
def test_quadratic_forms_match_autograd(block, norm, n_layers):
    model = random_xnet(5, 4, 3, 3, n_layers=n_layers, norm=norm, block=block, seed=n_layers)
    mu = random_inputs(1, 5, seed=9)[0]
    f0, g, q = linear_and_quadratic(model, center=mu)
    with torch.no_grad():
        assert_close(f0, model(mu[None])[0])
    assert_close(g, mean_gradient(model, mu[None]))
    for c in range(3):
        assert_close(q[c], quadratic_form_autograd(model, c, center=mu))


def test_class_interactions_are_signed_eigenpairs():
    model = random_xnet(8, 4, 5, 3, n_layers=2, seed=4)
    x = random_inputs(20, 8, seed=5)
    qf = class_interactions(model, k=2, sign_data=x, image_shape=(2, 4))
    q = quadratic_forms(model)
    evals = torch.linalg.eigvalsh(q)
    assert_close(qf.positive_values, evals.flip(1)[:, :2])
    assert_close(qf.negative_values, evals[:, :2])
    grad = mean_gradient(model, x)
    for vectors, values in ((qf.positive, qf.positive_values), (qf.negative, qf.negative_values)):
        for c in range(3):
            for i in range(2):
                v = vectors[c, i]
                assert_close(q[c] @ v, values[c, i] * v)  # an eigenpair
                assert float(v @ grad[c]) >= 0  # the course's sign rule
                assert float(v.norm()) == pytest.approx(1.0)
    assert plot_interactions(qf, title="t").axes
    with pytest.raises(ValueError, match="sign must be"):
        qf.select("x")
    with pytest.raises(ValueError, match="k must be"):
        class_interactions(model, k=0)


def test_interaction_panel_follows_its_controls():
    pytest.importorskip("ipywidgets")
    from xnets_lite.course.interaction_panels import InteractionPanel, interaction_view

    model = random_xnet(8, 4, 5, 3, n_layers=2, seed=4)
    qf = class_interactions(model, k=2, image_shape=(2, 4))
    panel = InteractionPanel(qf, title="t")
    panel.klass.value, panel.sign.value, panel.index.value = 2, "-", 2
    assert "class 2, inhibitory eigenvector 2 of 2" in panel.caption.value
    assert torch.equal(panel.image, qf.negative[2, 1].reshape(2, 4))
    text, png = panel.snapshot()
    assert png[:4] == b"\x89PNG" and "inhibitory" in text
    with pytest.raises(ValueError, match="index counts from 1"):
        interaction_view(qf, 0, "+", 3)
