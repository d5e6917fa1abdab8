"""Notebook 05's panels say what the cells beside them print: the same numbers from the same
data, subset and parameters (one source), and they follow typed values."""

import pytest
import torch

pytest.importorskip("ipywidgets")

from xnets_lite.analysis.interpret import class_eigenvectors
from xnets_lite.analysis.validation import (
    ablation_matrix,
    explain_image,
    random_directions,
    steering,
)
from xnets_lite.core.model import XNet  # noqa: E402
from xnets_lite.core.odt import odt  # noqa: E402
from xnets_lite.course.validation_panels import (
    TERMS,
    AblationPanel,
    ExplanationPanel,
    SteeringPanel,
    explanation_lines,
    steering_view,
)
from xnets_lite.viz.validation_figures import plot_explanation  # noqa: E402


@pytest.fixture(scope="module")
def trained(mnist_small):
    from xnets_lite.training.train import seed_everything, train

    train_data, test_data = mnist_small
    seed_everything(0)
    model = XNet(train_data.d_input, d_model=16, d_hidden=16, n_classes=10, n_layers=2)
    train(model, train_data, test_data, epochs=1, progress=False)
    return model.eval(), odt(model), test_data


def test_the_steering_panel_shows_the_printed_share(trained):
    """05 prints ``steer.share[c, best]``; the panel at that α, on the same images, must
    show that very number (it showed 93.3% of 2,000 images beside a printed 91%)."""
    model, dec, test = trained
    ce = class_eigenvectors(dec, 1, test.image_shape)
    alphas = torch.linspace(0, 12, 4)
    steer = steering(model, test, ce.vectors[:, 0], alphas, seed=0)
    for c in (0, 3, 9):
        for i in (1, 3):
            view = steering_view(model, test, steer.directions, c, float(alphas[i]))
            assert view["share"] == float(steer.share[c, i]), (c, i)
            assert view["n"] == int((test.labels != c).sum())
    best = int(steer.share.mean(0).argmax())
    panel = SteeringPanel(
        model,
        test,
        steer.directions,
        alpha_max=float(alphas[-1]),
        alpha=float(alphas[best]),
        plot=False,
    )
    assert f"{float(steer.share[0, best]):.1%} of {panel.last['n']:,} images" in panel.text.value
    capped = steering(model, test, ce.vectors[:, 0], alphas, max_images=50)
    view = steering_view(model, test, capped.directions, 2, float(alphas[2]), max_images=50)
    assert view["share"] == float(capped.share[2, 2]) and view["n"] == 50


def test_the_explanation_panel_starts_with_the_printed_reading(trained):
    """05 prints ``explanation_lines(explain_image(dec, x, y, top=3), top=TERMS)``: the
    panel's text for the same image is exactly that (it showed 5 terms beside 4)."""
    _, dec, test = trained
    x, y = test[0]
    printed = explanation_lines(
        explain_image(dec, x.double(), int(y), top=3, image_shape=test.image_shape), top=TERMS
    )
    panel = ExplanationPanel(dec, test, index=0, top=3, plot=False)
    assert panel.lines == printed
    assert printed[1].count(" [") == TERMS  # terms named [const] or [wL.dk]
    panel.index.value = len(test) + 5  # typed past the end: clamped
    assert panel.index.value == len(test) - 1 and panel.lines[0].startswith("label ")


def test_the_explanation_figure_shows_as_many_terms_per_logit_as_its_text(trained):
    """The bars of ``plot_explanation`` (in 05 and in the panel) name the same terms as the
    text beside them: TERMS per logit, for the predicted class and the runner-up (its
    snapshot showed 6 bars per logit beside 3 printed terms)."""
    _, dec, test = trained
    panel = ExplanationPanel(dec, test, index=0, top=3, plot=False)
    for fig in (panel.figure(), plot_explanation(panel.explanation)):
        bars = fig.subfigs[0].axes[1].patches
        assert len(bars) == 2 * TERMS
        labels = {t.get_text().strip() for t in fig.subfigs[0].axes[1].texts}
        for line, c in zip(
            panel.lines[1:3], (panel.explanation.predicted, panel.explanation.runner_up)
        ):
            named = [part.split("]")[0] for part in line.split("[")[1:]]
            assert {f"{n} (class {c})" for n in named} <= labels, (named, labels)


def test_the_ablation_panel_takes_a_typed_k(trained):
    model, dec, test = trained
    directions = class_eigenvectors(dec, 3, test.image_shape).vectors
    results = [
        ablation_matrix(model, test, directions, ks=(1, 2, 3), name="global"),
        ablation_matrix(
            model, test, random_directions(10, 3, test.d_input), ks=(1, 2, 3), name="random"
        ),
    ]
    panel = AblationPanel(results, plot=True)
    assert (panel.k.value, panel.k_box.value) == (3, 3) and not panel.k.readout
    panel.k_box.value = 1
    assert panel.k.value == 1 and panel.last["k"] == 1 and "top 1 →" in panel.text.value
    panel.k_box.value = 9  # beyond the largest k: clamped
    assert panel.k.value == 3 and panel.k_box.value == 3
    text, png = panel.snapshot()
    assert "top 3 →" in text and png.startswith(b"\x89PNG")
    bundle = panel.mimebundle()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "image/png" in bundle
