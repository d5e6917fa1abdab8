"""Figures: byte-stable PNGs, atomic writes, titles that name the dataset."""

import os

import matplotlib.pyplot as plt
import pytest

from helpers import random_xnet
from xnets_lite.analysis.interpret import class_eigenvectors, compositional_tree
from xnets_lite.core.odt import odt
from xnets_lite.viz.plots import (
    plot_accuracy_vs_rank,
    plot_class_eigenvectors,
    plot_effective_dimensions,
    plot_spectra,
    plot_tree,
    png_bytes,
    save_figure,
    show_interaction,
)


@pytest.fixture(scope="module")
def dec():
    return odt(random_xnet(16, 5, 6, 4, n_layers=2, seed=3))


def test_figures_carry_the_dataset_in_their_title(dec, tmp_path):
    figs = [
        plot_class_eigenvectors(class_eigenvectors(dec), "eigenvectors (mnist)"),
        plot_tree(compositional_tree(dec, 3), "tree (mnist)"),
        plot_effective_dimensions(dec, "dims (mnist)"),
        plot_spectra(dec, "spectra (mnist)", ranks=[2, 2, 2]),
        plot_accuracy_vs_rank(
            [dict(rank=1, accuracy=0.5, agreement=0.6), dict(rank=2, accuracy=0.7, agreement=0.9)],
            "acc (mnist)",
            0.8,
        ),
    ]
    for fig in figs:
        titles = [fig._suptitle.get_text() if fig._suptitle else ""] + [
            a.get_title() for a in fig.axes
        ]
        assert any("mnist" in t for t in titles)
        plt.close(fig)


def test_save_figure_is_byte_stable(dec, tmp_path):
    ce = class_eigenvectors(dec)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for path in (a, b):
        fig = plot_class_eigenvectors(ce, "eigenvectors (mnist)")
        save_figure(fig, path)
        plt.close(fig)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failed_save_keeps_the_old_figure(tmp_path):
    path = tmp_path / "fig.png"
    path.write_bytes(b"old figure")

    class Broken:
        def savefig(self, f, **kwargs):
            f.write(b"half a png")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(Broken(), path)
    assert path.read_bytes() == b"old figure"
    assert os.listdir(tmp_path) == ["fig.png"]


def test_saved_files_get_normal_permissions(tmp_path):
    # mkstemp creates 0600 files; a figure or checkpoint must be readable like any other file
    mask = os.umask(0o022)
    try:
        fig = plt.figure()
        path = save_figure(fig, tmp_path / "fig.png")
        plt.close(fig)
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_rerun_with_the_same_pixels_leaves_the_file_alone(dec, tmp_path):
    ce = class_eigenvectors(dec)
    path = tmp_path / "fig.png"
    fig = plot_class_eigenvectors(ce, "eigenvectors (mnist)")
    save_figure(fig, path)
    path.write_bytes(path.read_bytes())  # same bytes, new mtime
    os.utime(path, ns=(1, 1))
    save_figure(fig, path)
    assert path.stat().st_mtime_ns == 1  # untouched
    fig2 = plot_class_eigenvectors(ce, "another title (mnist)")
    save_figure(fig2, path)
    assert path.stat().st_mtime_ns != 1  # different pixels: replaced
    plt.close(fig)
    plt.close(fig2)


def test_diverging_figures_say_which_colour_is_positive(dec):
    for fig in (
        plot_class_eigenvectors(class_eigenvectors(dec), "e (mnist)"),
        plot_tree(compositional_tree(dec, 3), "t (mnist)"),
    ):
        labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
        assert "+max" in labels and "−max" in labels
        plt.close(fig)


def test_importing_plots_leaves_pyplot_and_the_backend_alone():
    """A kernel's backend is its own business: importing the package must not choose one."""
    import subprocess
    import sys

    code = (
        "import sys, matplotlib; before = matplotlib.get_backend(); import xnets_lite.viz.plots, "
        "xnets_lite.course.widgets, xnets_lite.course.notebooks; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
        "assert matplotlib.get_backend() == before"
    )
    env = dict(os.environ, MPLBACKEND="svg")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_png_bytes_is_the_same_for_every_encoding_of_a_figure(dec):
    """Constrained layout with colour bars moves things on its first passes; every encoding
    (first, second, a new figure with the same content) must still give the same bytes."""
    ce = class_eigenvectors(dec)
    fig = plot_class_eigenvectors(ce, "eigenvectors (mnist)")
    first, second = png_bytes(fig), png_bytes(fig)
    assert first == second == png_bytes(plot_class_eigenvectors(ce, "eigenvectors (mnist)"))
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    assert fig.get_layout_engine() is not None  # the layout is frozen only while encoding


def test_interaction_matrices_put_the_constant_on_its_own_scale():
    import numpy as np
    from matplotlib.figure import Figure

    m = np.array([[50.0, 20.0, -30.0], [20.0, 0.5, -0.2], [-30.0, -0.2, 0.1]])
    ax = Figure().subplots()
    show_interaction(ax, m)
    block, edge = ax.images
    assert block.norm.vmax == pytest.approx(0.5) and block.norm.vmin == pytest.approx(-0.5)
    assert edge.norm.vmax == pytest.approx(50.0)
    assert block.get_array().mask[0].all() and not block.get_array().mask[1:, 1:].any()
    assert not edge.get_array().mask[0].any() and edge.get_array().mask[1:, 1:].all()


def test_the_tree_is_legible_at_900_px_with_two_labelled_colour_bars(dec, tmp_path):
    from matplotlib.image import imread

    tree = compositional_tree(dec, 5)
    fig = plot_tree(tree, "tree (mnist)", columns=4)
    assert fig.get_figwidth() * 100 == 900
    labels = [ax.get_ylabel() for ax in fig.axes if "max" in ax.get_ylabel()]
    assert len(labels) == 2 and any("constant" in label for label in labels)
    panels = [ax for ax in fig.axes if ax.get_title().startswith("w1.d")]
    assert len(panels) == 5  # 5 directions, wrapped over two rows of at most 4
    assert len({round(ax.get_position().y0, 3) for ax in panels}) == 2
    assert min(t.get_fontsize() for ax in panels for t in [ax.title]) >= 8
    # every matrix prints its own scale: its pair block's max |value|
    scale = float(tree.interactions[0][1, 1:, 1:].abs().max())
    assert panels[0].get_title() == f"w1.d1 ±{scale:.1g}"
    save_figure(fig, tmp_path / "tree.png")
    save_figure(fig, tmp_path / "tree_full.png", dpi=200)
    assert imread(tmp_path / "tree.png").shape[1] == 900
    assert imread(tmp_path / "tree_full.png").shape[1] == 1800


def test_bar_counts_have_integer_ticks(dec):
    fig = plot_effective_dimensions(dec, "dims (mnist)")
    ticks = fig.axes[0].get_yticks()
    assert all(float(t).is_integer() for t in ticks)


def test_dimension_table_counts_with_and_without_the_constant(dec):
    import torch

    from xnets_lite.analysis.interpret import dimension_table
    from xnets_lite.core.odt import effective_dimension, layer_gram, sandwich

    table = dimension_table(dec)
    assert table["odt"] == dec.effective_dimensions(0.99)
    assert table["writer"] == dec.local_effective_dimensions(0.99, view="writer")
    assert table["reader"] == dec.local_effective_dimensions(0.99, view="reader")
    assert table["odt_nc"] == [effective_dimension(imp[1:]) for imp in dec.importance]
    # the writer's Gram of w1, by hand, without the constant's row and column
    g = layer_gram(dec.source.layers[0])
    assert table["writer_nc"][1] == effective_dimension(torch.linalg.eigvalsh(g[1:, 1:]))
    g0 = sandwich(dec.source.embed)
    assert table["const_writer"][0] == pytest.approx(float(g0[0, 0] / g0.trace()))
    assert table["const"] == pytest.approx([float(i[0] / i.sum()) for i in dec.importance])
    assert all(len(v) == len(dec.widths) for v in table.values())
    with pytest.raises(TypeError, match="Decomposition"):
        dimension_table(dec.network)


def test_effective_dimensions_without_the_constant_come_first(dec):
    from xnets_lite.analysis.interpret import dimension_table

    fig = plot_effective_dimensions(dec, "dims (mnist)", without_constant=True)
    assert [ax.get_title() for ax in fig.axes][:2] == [
        "without the constant (what truncation counts)",
        "with the constant",
    ]
    assert "mnist" in fig._suptitle.get_text()
    heights = [int(p.get_height()) for p in fig.axes[0].patches]
    table = dimension_table(dec)
    assert heights == table["odt_nc"] + table["writer_nc"]
    assert len(fig.axes[1].patches) == 3 * len(dec.widths)
    plt.close(fig)
