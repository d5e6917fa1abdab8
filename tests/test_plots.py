"""Figures: byte-stable PNGs, atomic writes, titles that name the dataset."""
import os

import matplotlib.pyplot as plt
import pytest

from helpers import random_xnet
from xnets_lite.interpret import class_eigenvectors, compositional_tree
from xnets_lite.odt import odt
from xnets_lite.plots import (
    plot_accuracy_vs_rank, plot_class_eigenvectors, plot_effective_dimensions, plot_spectra,
    plot_tree, save_figure)


@pytest.fixture(scope="module")
def dec():
    return odt(random_xnet(16, 5, 6, 4, n_layers=2, seed=3))


def test_figures_carry_the_dataset_in_their_title(dec, tmp_path):
    figs = [plot_class_eigenvectors(class_eigenvectors(dec), "eigenvectors (mnist)"),
            plot_tree(compositional_tree(dec, 3), "tree (mnist)"),
            plot_effective_dimensions(dec, "dims (mnist)"),
            plot_spectra(dec, "spectra (mnist)", ranks=[2, 2, 2]),
            plot_accuracy_vs_rank([dict(rank=1, accuracy=.5, agreement=.6),
                                   dict(rank=2, accuracy=.7, agreement=.9)], "acc (mnist)", 0.8)]
    for fig in figs:
        titles = [fig._suptitle.get_text() if fig._suptitle else ""] + [a.get_title() for a in fig.axes]
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
    for fig in (plot_class_eigenvectors(class_eigenvectors(dec), "e (mnist)"),
                plot_tree(compositional_tree(dec, 3), "t (mnist)")):
        labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
        assert "+max" in labels and "−max" in labels
        plt.close(fig)
