"""The notebooks' panels, driven from Python: setting a widget's value fires its callback."""
import pytest
import torch

ipywidgets = pytest.importorskip("ipywidgets")

from xnets_lite.interpret import class_eigenvectors, compositional_tree  # noqa: E402
from xnets_lite.model import XNet  # noqa: E402
from xnets_lite.odt import odt  # noqa: E402
from xnets_lite.widgets import (EigenvectorPanel, RankPanel, TracePanel, eigenvector_view,  # noqa: E402
                                rank_choices, rank_summary, spectra_figure, summary_text,
                                trace_lines, traced_directions)


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
    assert full["parameters"] == full["parameters_base"]  # no base given: the full-rank module
    assert all(e == pytest.approx(1.0) for e in full["energy"])
    low = rank_summary(dec, test, [1] * len(dec.widths))
    assert low["parameters"] < full["parameters"]
    assert all(e < 1 for e in low["energy"][:-1])
    assert "test accuracy" in summary_text(low)


def test_one_parameter_base_the_trained_model(trained):
    dec, test = trained
    row = rank_summary(dec, test, [2] * len(dec.widths), parameters_base=10_000)
    text = summary_text(row)
    assert row["parameters_base"] == 10_000
    assert f"{row['parameters'] / 10_000:.1%} of the trained model's 10,000" in text


def test_rank_choices_make_small_ranks_easy_to_reach():
    choices = rank_choices(129)
    assert choices[:10] == list(range(10)) or choices[:9] == list(range(9))
    assert choices[-1] == 128 and choices == sorted(set(choices))
    # most of the track is spent on ranks up to 16, where accuracy changes
    assert sum(k <= 16 for k in choices) > len(choices) / 2
    assert rank_choices(5) == [0, 1, 2, 3, 4]


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
    assert (panel.index.min, panel.index.max, panel.index.value) == (1, 3, 1)
    assert "eigenvector 1 of 3" in panel.caption.value
    panel.klass.value = 7
    assert torch.equal(panel.image, ce.images[7, 0]) and "class 7" in panel.caption.value
    panel.index.value = 3  # the slider and the caption count alike, from 1
    assert torch.equal(panel.image, ce.images[7, 2]) and "eigenvector 3 of 3" in panel.caption.value
    for bad in ((10, 1), (0, 0), (0, 4)):
        with pytest.raises(ValueError, match="eigenvector number"):
            eigenvector_view(ce, *bad)


def test_panels_leave_a_static_snapshot(trained):
    dec, test = trained
    text, png = RankPanel(dec, test, ranks=[3] * len(dec.widths)).snapshot()
    assert "test accuracy" in text and "w0: 3" in text and png[:8] == b"\x89PNG\r\n\x1a\n"
    text, png = EigenvectorPanel(class_eigenvectors(dec, k=2)).snapshot()
    assert "eigenvector 1 of 2" in text and png[:4] == b"\x89PNG"


def test_trace_panel(trained):
    dec, _ = trained
    tree = compositional_tree(dec, rank=5, image_shape=(28, 28))
    panel = TracePanel(tree, top=2)
    assert panel.lines[0].startswith("layer 2: class 0 ← ")  # layers count from 1
    assert all("w1." in line or "const" in line for line in panel.lines[:1])
    panel.picker.value = 4
    assert panel.lines == trace_lines(tree, 4, 2)
    assert "class 4" in panel.text.value


def test_tree_figure_draws_every_direction_the_trace_names(trained):
    from xnets_lite.plots import plot_tree
    dec, _ = trained
    tree = compositional_tree(dec, rank=5, image_shape=(28, 28))
    fig = plot_tree(tree, "tree (mnist)")
    titles = {ax.get_title() for ax in fig.axes}
    assert {f"class {c}" for c in range(10)} <= titles  # all classes, not the first six
    for c in range(10):
        for wire, dirs in traced_directions(tree, c, top=3).items():
            for k in dirs:
                assert f"w{wire}.d{k}" in titles, (c, wire, k)
                assert any(f"w{wire}.d{k}" in line for line in trace_lines(tree, c, 3))
