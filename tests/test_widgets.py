"""The notebooks' panels, driven from Python: setting a widget's value fires its callback."""

import pytest
import torch

ipywidgets = pytest.importorskip("ipywidgets")

from xnets_lite.analysis.interpret import (  # noqa: E402
    class_eigenvectors,
    compositional_tree,
    traced_directions,
)
from xnets_lite.core.model import XNet  # noqa: E402
from xnets_lite.core.odt import odt  # noqa: E402
from xnets_lite.course.outputs import WIDGET_VIEW  # noqa: E402
from xnets_lite.course.widgets import (  # noqa: E402
    EigenvectorPanel,
    Panel,
    RankPanel,
    TracePanel,
    eigenvector_view,
    rank_choices,
    rank_summary,
    snap_rank,
    snapped_slider,
    spectra_figure,
    summary_text,
    trace_lines,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def displayed(monkeypatch):
    """What ``IPython.display.display`` was called with, as (objects, kwargs) per call."""
    import IPython.display

    calls = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: calls.append((objs, kw)))
    return calls


@pytest.fixture(scope="module")
def trained(mnist_small):
    """A small χ-net trained for one epoch on 1,000 MNIST images, and its decomposition."""
    from xnets_lite.training.train import seed_everything, train

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


def test_rank_panel_draws_what_truncation_cuts(trained):
    """The panel draws the kept basis's energies (what a truncation cuts, not section 3's
    eigenvalue spectrum): rank 3 keeps coordinates 0 (the constant) to 3, in colour and
    shaded; the rest are grey; each panel's title says the energy kept."""
    import numpy as np

    dec, test = trained
    fig = spectra_figure(dec, [3] * len(dec.widths), title="mnist")
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.lines]
    assert len(axes) == len(dec.widths)
    for wire, ax in enumerate(axes):
        kept, cut = (line.get_xdata() for line in ax.lines[:2])
        assert max(kept) <= 3 and (len(cut) == 0 or min(cut) == 4)
        imp = dec.importance[wire].double()
        share = float(imp[:4].sum() / imp.sum())
        assert f"{share:.1%} of its energy kept" in ax.get_title()
        assert ax.lines[0].get_ydata() == pytest.approx(
            (imp[:4] / imp.sum()).numpy()[np.asarray(kept, dtype=int)]
        )
    panel = RankPanel(dec, test, plot=True)
    panel.sliders[0].value = 2  # redraws without error outside a kernel


def test_spectra_show_energy_shares_and_leave_zero_eigenvalues_out(trained):
    from xnets_lite.viz.plots import energy_shares, plot_spectra

    dec, _ = trained
    fig = plot_spectra(dec, "", [3] * len(dec.widths))  # section 3's figure
    axes = [ax for ax in fig.axes if ax.lines]
    assert "share of spectral energy" in axes[0].get_ylabel()
    last = dec.spectra[-1].double()  # the head's wire: rank ≤ classes, the rest exactly 0
    n_zero = int((last <= 1e-12 * last.max()).sum())
    assert n_zero > 0
    xs, ys = axes[-1].lines[0].get_data()
    assert len(xs) == len(last) - n_zero
    assert ys == pytest.approx((last[last > 1e-12 * last.max()] / last.sum()).numpy())
    assert any(f"{n_zero} more eigenvalues" in t.get_text() for t in axes[-1].texts)
    numbers, shares, zeros = energy_shares(dec.spectra[0])
    assert zeros == 0 and shares.sum() == pytest.approx(1.0) and list(numbers[:2]) == [1, 2]
    # integer axis: no fractional tick (2.5, 7.5, …)
    ticks = [t for t in axes[0].get_xticks() if 0 <= t <= len(dec.spectra[0])]
    assert all(float(t).is_integer() for t in ticks)


def test_typed_ranks_snap_to_the_offered_ones(trained):
    assert snap_rank([0, 1, 2, 4, 8, 16, 20], 19) == 20
    assert snap_rank([0, 1, 2, 4, 8, 16, 20], 18) == 16  # a tie goes to the smaller rank
    assert snap_rank([0, 4], -3) == 0 and snap_rank([0, 4], 99) == 4
    slider, box, _ = snapped_slider([0, 1, 2, 4, 8, 16], 4, "w")
    box.value = 7
    assert (slider.value, box.value) == (8, 8)
    box.value = 99  # beyond the largest option: its nearest, with a note
    assert (slider.value, box.value) == (16, 16) and "nearest allowed value: 16" in box.note.value
    slider.value = 2  # the slider drives the box
    assert box.value == 2
    dec, test = trained
    panel = RankPanel(dec, test, ranks=[8] * len(dec.widths), plot=False)
    assert [b.value for b in panel.boxes] == [8] * len(dec.widths)
    last = len(dec.widths) - 1
    assert 11 not in panel.sliders[last].options
    panel.boxes[last].value = 11  # typed, as in the number box: 11 → 10, then updates
    assert panel.ranks[last] == 10 and panel.last["ranks"][last] == 10
    assert panel.boxes[last].value == 10 and f"w{last} 10" in panel.summary.value
    assert not any(s.readout for s in panel.sliders)  # no second, typing-deaf readout


def test_eigenvector_panel(trained):
    dec, _ = trained
    ce = class_eigenvectors(dec, k=3)
    panel = EigenvectorPanel(ce, title="mnist")
    assert torch.equal(panel.image, ce.images[0, 0])
    assert (panel.index.min, panel.index.max, panel.index.value) == (1, 3, 1)
    assert "eigenvector 1 of the top 3" in panel.caption.value
    panel.klass.value = 7
    assert torch.equal(panel.image, ce.images[7, 0]) and "class 7" in panel.caption.value
    panel.index.value = 3  # the slider and the caption count alike, from 1
    assert torch.equal(panel.image, ce.images[7, 2])
    assert "eigenvector 3 of the top 3" in panel.caption.value
    for bad in ((10, 1), (0, 0), (0, 4)):
        with pytest.raises(ValueError, match="eigenvector number"):
            eigenvector_view(ce, *bad)


def test_eigenvector_caption_says_only_the_top_k_are_computed(trained):
    dec, _ = trained
    ce = class_eigenvectors(dec, k=3)
    _, caption = eigenvector_view(ce, 0, 3)
    assert "eigenvector 3 of the top 3 computed (of 784 pixel directions)" in caption


def test_panels_leave_a_static_snapshot(trained):
    dec, test = trained
    text, png = RankPanel(dec, test, ranks=[3] * len(dec.widths)).snapshot()
    assert "test accuracy" in text and "w0 3" in text and png.startswith(PNG)
    text, png = EigenvectorPanel(class_eigenvectors(dec, k=2)).snapshot()
    assert "eigenvector 1 of the top 2" in text and png.startswith(PNG)


def test_a_panel_is_a_snapshot_then_the_live_view(trained, displayed):
    """Two outputs: the snapshot (HTML with the image inside, PNG, and a style sheet that
    shows exactly one of the two in JupyterLab), then the widget view alone. Not one bundle:
    JupyterLab renders a bundle's widget view first, which after a save and a reopen without
    a kernel says "Error displaying widget: model not found" (issue 21, item 2)."""
    import base64

    dec, _ = trained
    panel = EigenvectorPanel(class_eigenvectors(dec, k=2))
    displayed.clear()
    panel.display()
    assert len(displayed) == 2
    ((snap,), k1), ((view,), k2) = displayed
    assert k1 == k2 == {"raw": True}
    assert WIDGET_VIEW not in snap
    assert set(view) == {WIDGET_VIEW, "text/plain"} and view["text/plain"] == ""
    assert view[WIDGET_VIEW]["model_id"] == panel.widget.model_id
    assert base64.b64decode(snap["image/png"]).startswith(PNG)
    assert 'class="xnets-snapshot"' in snap["text/html"]
    assert Panel.SNAPSHOT_STYLE in snap["text/html"]
    assert "eigenvector 1 of the top 2" in snap["text/html"]
    assert f'src="data:image/png;base64,{snap["image/png"]}"' in snap["text/html"]
    displayed.clear()
    panel._ipython_display_()  # a panel as a cell's value: the same two outputs
    assert [b for (b,), _ in displayed] == [snap, view]


def test_panels_draw_a_png_whatever_the_backend(trained, displayed):
    """Not a bare Figure (which shows as ``<Figure size …>`` text without pyplot's inline
    backend): the panel hands IPython an Image of PNG bytes."""
    from IPython.display import Image

    dec, _ = trained
    panel = EigenvectorPanel(class_eigenvectors(dec, k=2))
    displayed.clear()
    panel.klass.value = 3
    shown = [o for objs, _ in displayed for o in objs]
    assert len(shown) == 1 and isinstance(shown[0], Image) and shown[0].data.startswith(PNG)


def test_a_minimal_panel_subclass_as_documented(displayed):
    """The recipe in ``Panel``'s docstring, followed literally."""
    import ipywidgets as w

    class Square(Panel):
        def __init__(self):
            self.n = w.IntSlider(value=2, min=0, max=9)
            self.text = w.HTML()
            self.plot = w.Output()
            self.n.observe(lambda change: self.update(), names="value")
            self.widget = self.container("square", self.n, self.text, self.plot)
            self.update()

        def update(self):
            self.text.value = f"{self.n.value}² = {self.n.value**2}"
            return self.n.value**2

        def snapshot(self):
            return f"<p>{self.text.value}</p>", None

    panel = Square()
    panel.n.value = 5
    assert panel.text.value == "5² = 25"
    bundle = panel.mimebundle()
    assert "5² = 25" in bundle["text/html"] and "image/png" not in bundle
    assert WIDGET_VIEW in bundle and Panel.CSS in panel.widget._dom_classes


def test_trace_panel(trained):
    dec, _ = trained
    tree = compositional_tree(dec, rank=5, image_shape=(28, 28))
    panel = TracePanel(tree, top=2)
    assert panel.lines[0].startswith("layer 2: class 0 ← ")  # layers count from 1
    assert all("w1." in line or "const" in line for line in panel.lines[:1])
    panel.picker.value = 4
    assert panel.lines == trace_lines(tree, 4, 2)
    assert "class 4" in panel.text.value
    text, png = panel.snapshot()
    assert "class 4:" in text and png.startswith(PNG)


def test_tree_figure_draws_every_direction_the_trace_names(trained):
    from xnets_lite.viz.plots import plot_tree

    dec, _ = trained
    tree = compositional_tree(dec, rank=5, image_shape=(28, 28))
    fig = plot_tree(tree, "tree (mnist)")
    # a panel's title is its name, then its colour scale ("class 3 ±0.006", "w1.d2 ±0.01")
    titles = {ax.get_title().split(" ±")[0] for ax in fig.axes}
    assert {f"class {c}" for c in range(10)} <= titles  # all classes, not the first six
    assert fig.get_figwidth() * 100 <= 900  # shown at its own size: labels stay legible
    for c in range(10):
        for wire, dirs in traced_directions(tree, c, top=3).items():
            for k in dirs:
                assert f"w{wire}.d{k}" in titles, (c, wire, k)
                assert any(f"w{wire}.d{k}" in line for line in trace_lines(tree, c, 3))


def test_the_trace_panel_draws_every_first_wire_feature_its_trace_names(trained):
    """04 says the panel draws the class's matrix and the first-wire features the trace
    reaches: all of them (it drew the five lowest-numbered of eight), in order."""
    import re

    from xnets_lite.viz.panel_figures import TRACE_WIDTH, trace_figure

    dec, _ = trained
    tree = compositional_tree(dec, rank=12, image_shape=(28, 28))
    reached = {c: sorted(traced_directions(tree, c, 3).get(0, set())) for c in range(10)}
    assert max(len(r) for r in reached.values()) > 5  # more than the old cap of five
    for c in range(10):
        fig = trace_figure(tree, c, top=3)
        titles = [ax.get_title() for ax in fig.axes]
        drawn = [t for t in titles if t.startswith("w0.")]
        named = set(re.findall(r"w0\.d\d+", "\n".join(trace_lines(tree, c, 3))))
        assert drawn == [f"w0.d{k}" for k in reached[c]] and set(drawn) == named, c
        assert sum(t.startswith(f"class {c} ") for t in titles) == 1  # the class matrix
        assert fig.get_figwidth() <= TRACE_WIDTH + 1e-9


def test_trace_term_counts_match_the_printed_trace(trained):
    from xnets_lite.analysis.interpret import trace_term_counts

    dec, _ = trained
    tree = compositional_tree(dec, rank=6, image_shape=(28, 28))
    counts = trace_term_counts(tree, top=3)
    pairs = [
        p.split(" (")[0]
        for c in range(10)
        for line in trace_lines(tree, c, 3)
        for p in line.split(" ← ")[1].split("), ")
    ]
    assert counts["terms"] == len(pairs)
    assert counts["with_constant"] == sum("const" in p for p in pairs)
    assert counts["constant"] == sum(p == "const·const" for p in pairs)
    assert counts["products"] == counts["terms"] - counts["with_constant"]
    top = [
        p.split(" (")[0]
        for c in range(10)
        for p in trace_lines(tree, c, 3)[0].split(" ← ")[1].split("), ")
    ]
    assert counts["top_terms"] == len(top) == 30
    assert counts["top_with_constant"] == sum("const" in p for p in top)
    assert trace_term_counts(tree, 3, classes=[2])["terms"] == sum(
        len(line.split(" ← ")[1].split("), ")) for line in trace_lines(tree, 2, 3)
    )
