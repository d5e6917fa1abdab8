"""The notebooks' panels, driven from Python: setting a widget's value fires its callback."""
import pytest
import torch

ipywidgets = pytest.importorskip("ipywidgets")

from xnets_lite.interpret import class_eigenvectors, compositional_tree  # noqa: E402
from xnets_lite.model import XNet  # noqa: E402
from xnets_lite.odt import odt  # noqa: E402
from xnets_lite.widgets import (EigenvectorPanel, RankPanel, TracePanel, eigenvector_view,  # noqa: E402
                                rank_summary, spectra_figure, summary_text, trace_lines)


@pytest.fixture(scope="module")
def trained(mnist_small):
    """A small χ-net trained for one epoch on 1,000 MNIST images, and its decomposition."""
    from xnets_lite.train import seed_everything, train
    train_data, test_data = mnist_small
    seed_everything(0)
    model = XNet(train_data.d_input, d_model=16, d_hidden=16, n_classes=10, n_layers=2)
    train(model, train_data, test_data, epochs=2, progress=False)
    return odt(model), test_data


def test_rank_summary_full_rank_is_the_full_model(trained):
    dec, test = trained
    full = rank_summary(dec, test, [n - 1 for n in dec.widths])
    assert full["agreement"] == 1.0
    assert full["parameters"] == full["parameters_full"]
    assert all(e == pytest.approx(1.0) for e in full["energy"])
    low = rank_summary(dec, test, [1] * len(dec.widths))
    assert low["parameters"] < full["parameters"]
    assert all(e < 1 for e in low["energy"][:-1])
    assert "test accuracy" in summary_text(low)


def test_rank_summary_rejects_bad_ranks(trained):
    dec, test = trained
    with pytest.raises(ValueError):
        rank_summary(dec, test, [100] * len(dec.widths))
    with pytest.raises(ValueError):
        rank_summary(dec, test, [1, 2])


def test_rank_panel_updates_when_a_slider_moves(trained):
    dec, test = trained
    panel = RankPanel(dec, test, ranks=[8] * len(dec.widths), plot=False)
    assert len(panel.sliders) == len(dec.widths)
    before, text_before = panel.last, panel.summary.value
    for slider in panel.sliders:
        slider.value = 0
    after = panel.last
    assert after["ranks"] == [0] * len(dec.widths)
    assert after["parameters"] < before["parameters"]
    assert after["accuracy"] != before["accuracy"]
    assert panel.summary.value != text_before
    assert f"{after['accuracy']:.1%}" in panel.summary.value


def test_rank_panel_draws_the_cutoff(trained):
    dec, test = trained
    fig = spectra_figure(dec, [3] * len(dec.widths), title="mnist")
    axes = fig.axes
    assert len(axes) == len(dec.widths)
    assert all(any(abs(line.get_xdata()[0] - 3.5) < 1e-9 for line in ax.lines[1:]) for ax in axes)
    panel = RankPanel(dec, test, plot=True)
    panel.sliders[0].value = 2  # redraws without error outside a kernel


def test_eigenvector_panel(trained):
    dec, _ = trained
    ce = class_eigenvectors(dec, k=3)
    panel = EigenvectorPanel(ce, title="mnist")
    assert torch.equal(panel.image, ce.images[0, 0])
    panel.klass.value = 7
    assert torch.equal(panel.image, ce.images[7, 0]) and "class 7" in panel.caption.value
    panel.index.value = 2
    assert torch.equal(panel.image, ce.images[7, 2]) and "eigenvector 3" in panel.caption.value
    with pytest.raises(ValueError):
        eigenvector_view(ce, 10, 0)


def test_trace_panel(trained):
    dec, _ = trained
    tree = compositional_tree(dec, rank=5, image_shape=(28, 28))
    panel = TracePanel(tree, top=2)
    assert panel.lines[0].startswith("layer 1: class 0")
    panel.picker.value = 4
    assert panel.lines == trace_lines(tree, 4, 2)
    assert "class 4" in panel.text.value
