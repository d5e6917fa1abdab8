"""The paper's figures, regenerated: each function takes computed results and returns a
matplotlib Figure whose title names the dataset; ``save_figure`` writes it byte-stably."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"), force=False)  # headless unless told
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .files import atomic_write  # noqa: E402
from .odt import Decomposition, effective_dimension  # noqa: E402

CMAP = "RdBu"


def _np(t):
    return t.detach().cpu().double().numpy() if hasattr(t, "detach") else np.asarray(t)


def show_image(ax, image, title=None):
    """An image on a diverging colour map centred at zero (signs are meaningful relative to
    each other, not absolutely)."""
    image = _np(image)
    v = float(np.abs(image).max()) or 1.0
    ax.imshow(image, cmap=CMAP, vmin=-v, vmax=v, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=8)


def save_figure(fig: Figure, path, dpi: int = 100) -> Path:
    """Save ``fig`` as PNG atomically (temp file + rename), without the time/version
    metadata, so the same figure gives the same bytes and a failed write leaves any older
    file intact."""
    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi,
                                                 metadata={"Software": None}))


def plot_class_eigenvectors(ce, title: str, index: int = 0) -> Figure:
    """The top eigenvector (or the ``index``-th) of every class as an image: the paper's
    "top eigenvectors per class" figure, 2 rows × C/2 columns."""
    n_classes = ce.images.shape[0]
    cols = (n_classes + 1) // 2
    fig, axes = plt.subplots(2, cols, figsize=(1.7 * cols, 4.0), squeeze=False)
    for c, ax in enumerate(axes.flat):
        if c >= n_classes:
            ax.set_axis_off()
            continue
        show_image(ax, ce.images[c, index], f"class {c}  ({100 * float(ce.share[c, index]):.0f}%)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_tree(tree, title: str, columns: int = 6, classes=None) -> Figure:
    """The compositional tree, read bottom-up: the first wire's features (column 0 is the
    constant direction, blank), then each layer's interaction matrices for its top output
    directions, and on top the last layer contracted with the head, one matrix per class."""
    classes = list(range(min(columns, tree.class_matrices.shape[0]))) if classes is None else classes
    rows = [("class", [(f"class {c}", tree.class_matrices[c]) for c in classes])]
    for layer in reversed(range(len(tree.interactions))):
        mats = tree.interactions[layer]
        outs = range(1, min(columns + 1, mats.shape[0]))
        rows.append((f"layer {layer}", [(f"L{layer} → dir {o}", mats[o]) for o in outs]))
    rows.append(("features", [(f"feature {i}" if i else "constant", tree.features[i])
                              for i in range(min(columns, tree.features.shape[0]))]))
    ncols = max(len(r[1]) for r in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(1.6 * ncols, 1.7 * len(rows)), squeeze=False)
    for (_, panels), ax_row in zip(rows, axes):
        for ax, panel in zip(ax_row, panels + [None] * (ncols - len(panels))):
            if panel is None:
                ax.set_axis_off()
            else:
                show_image(ax, panel[1], panel[0])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_effective_dimensions(dec: Decomposition, title: str, energy: float = 0.99) -> Figure:
    """ODT vs local-SVD effective dimension per wire (the paper's bar chart)."""
    odt_dims = [effective_dimension(s, energy) for s in dec.spectra]
    svd_dims = [effective_dimension(s, energy) for s in dec.local]
    x = np.arange(len(odt_dims))
    fig, ax = plt.subplots(figsize=(1.2 * len(x) + 2.5, 3.2))
    for offset, dims, label in ((-0.2, odt_dims, "ODT (global)"), (0.2, svd_dims, "local SVD")):
        bars = ax.bar(x + offset, dims, width=0.4, label=label)
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks(x, [f"wire {i}" for i in x])
    ax.set_ylabel(f"directions for {100 * energy:g}% energy")
    ax.legend(frameon=False)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_spectra(dec: Decomposition, title: str, ranks=None) -> Figure:
    """Each wire's global spectrum (normalised, log scale), with the truncation cut-off
    marked when ``ranks`` (one per wire) is given."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for wire, s in enumerate(dec.spectra):
        s = _np(s)
        line, = ax.semilogy(np.arange(1, len(s) + 1), np.maximum(s / s.sum(), 1e-16), label=f"wire {wire}")
        if ranks is not None:
            ax.axvline(ranks[wire] + 1, color=line.get_color(), linestyle=":", linewidth=1)
    ax.set_xlabel("direction (sorted)")
    ax.set_ylabel("share of spectral energy")
    ax.set_ylim(1e-12, 1.5)
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_accuracy_vs_rank(rows: list[dict], title: str, full_accuracy: float | None = None) -> Figure:
    """Test accuracy (and agreement with the full model) against the rank kept per wire."""
    ranks = [r["rank"] if isinstance(r["rank"], int) else max(r["rank"]) for r in rows]
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    ax.plot(ranks, [100 * r["accuracy"] for r in rows], "o-", label="test accuracy")
    ax.plot(ranks, [100 * r["agreement"] for r in rows], "s--", label="agreement with full model")
    if full_accuracy is not None:
        ax.axhline(100 * full_accuracy, color="gray", linestyle=":", label="full model")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("directions kept per wire (besides the constant)")
    ax.set_ylabel("%")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
