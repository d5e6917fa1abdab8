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
    """An image on a diverging colour map centred at zero, scaled to its own largest
    magnitude: blue is positive, red negative, white zero (``sign_colorbar`` says so)."""
    image = _np(image)
    v = float(np.abs(image).max()) or 1.0
    ax.imshow(image, cmap=CMAP, vmin=-v, vmax=v, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=8)


def sign_colorbar(fig: Figure, axes, label: str = "each panel scaled to its own max |value|"):
    """One colour bar for a grid of ``show_image`` panels: −max (red), 0 (white), +max (blue)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    bar = fig.colorbar(ScalarMappable(Normalize(-1, 1), CMAP), ax=list(np.ravel(axes)),
                       shrink=0.6, aspect=25, pad=0.02, ticks=[-1, 0, 1])
    bar.ax.set_yticklabels(["−max", "0", "+max"], fontsize=7)
    bar.set_label(label, fontsize=7)
    return bar


def save_figure(fig: Figure, path, dpi: int = 100) -> Path:
    """Save ``fig`` as PNG atomically (temp file + rename), without the time/version
    metadata, so the same figure gives the same bytes and a failed write leaves any older
    file intact. A file that already holds exactly the same pixels is left alone, so a
    rerun never rewrites a figure whose content did not change."""
    import io
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    data = buffer.getvalue()
    path = Path(path)
    if path.is_file() and _same_pixels(path, data):
        return path
    return atomic_write(path, lambda f: f.write(data))


def _same_pixels(path: Path, png: bytes) -> bool:
    import io
    try:
        old = plt.imread(path, format="png")
    except Exception:  # unreadable or not a PNG: replace it
        return False
    new = plt.imread(io.BytesIO(png), format="png")
    return old.shape == new.shape and np.array_equal(old, new)


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
    sign_colorbar(fig, axes)
    return fig


def plot_tree(tree, title: str, classes=None) -> Figure:
    """The compositional tree, read bottom-up, with every kept direction drawn.

    Rows, top to bottom: the last layer contracted with the head (one matrix per class);
    for each layer below, the interaction matrix of every kept direction of the wire it
    writes (``wl.dk``: how the directions of the wire below combine into it; row/column 0 is
    the constant); the input-space image of every kept direction of wire ``w0`` (``const``
    is blank: it has no pixel part). Names as in ``widgets.direction_name``.
    """
    n_layers = len(tree.interactions) + 1
    classes = list(range(tree.class_matrices.shape[0])) if classes is None else list(classes)
    last = n_layers - 1
    rows = [(f"layer {n_layers} + head:\nclasses from w{last}·w{last}",
             [(f"class {c}", tree.class_matrices[c]) for c in classes])]
    for layer in reversed(range(len(tree.interactions))):
        mats = tree.interactions[layer]
        rows.append((f"layer {layer + 1}:\nw{layer + 1} from w{layer}·w{layer}",
                     [(f"w{layer + 1}.d{o}", mats[o]) for o in range(1, mats.shape[0])]))
    rows.append(("w0 features\n(pixels)", [(f"w0.d{i}" if i else "const", tree.features[i])
                                          for i in range(tree.features.shape[0])]))
    ncols = max(len(r[1]) for r in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(1.05 * ncols + 1.4, 1.25 * len(rows) + 0.6),
                             squeeze=False)
    for (label, panels), ax_row in zip(rows, axes):
        for ax, panel in zip(ax_row, panels + [None] * (ncols - len(panels))):
            if panel is None:
                ax.set_axis_off()
            else:
                show_image(ax, panel[1], panel[0])
        ax_row[0].set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    sign_colorbar(fig, axes)
    return fig


def plot_effective_dimensions(dec: Decomposition, title: str, energy: float = 0.99) -> Figure:
    """ODT vs local-SVD effective dimension per wire (the paper's bar chart), with both local
    views: the map that writes the wire (the shape of the paper's bars) and the one that
    reads it (``odt.local_spectra``)."""
    bars_of = {"ODT (global)": dec.spectra,
               "local SVD, writer view": dec.local_spectra("writer"),
               "local SVD, reader view": dec.local_spectra("reader")}
    x = np.arange(len(dec.spectra))
    fig, ax = plt.subplots(figsize=(1.5 * len(x) + 3.0, 3.4))
    for offset, (label, spectra) in zip((-0.27, 0.0, 0.27), bars_of.items()):
        dims = [effective_dimension(s, energy) for s in spectra]
        bars = ax.bar(x + offset, dims, width=0.27, label=label)
        ax.bar_label(bars, fontsize=7)
    ax.set_xticks(x, [f"wire w{i}" for i in x])
    ax.set_ylabel(f"directions for {100 * energy:g}% energy")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_spectra(dec: Decomposition, title: str, ranks=None) -> Figure:
    """Each wire's global spectrum (normalised, log scale), with the truncation cut-off
    marked when ``ranks`` (one per wire) is given."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for wire, s in enumerate(dec.spectra):
        s = _np(s)
        line, = ax.semilogy(np.arange(1, len(s) + 1), np.maximum(s / s.sum(), 1e-16), label=f"wire w{wire}")
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
