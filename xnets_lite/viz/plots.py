"""The course's figures, of the kinds the paper shows (its class-eigenvector and
compositional-tree figures, Section 4, Figs. 3–4; accuracy vs truncation, its Figure 2; the
ODT-vs-SVD bars of the authors' slide), drawn from our own results: each function takes
computed results and returns a ``matplotlib.figure.Figure`` whose title names the dataset;
``save_figure`` writes it byte-stably and ``png_bytes`` encodes it the same way for display.

Nothing here touches pyplot's global state or the matplotlib backend: figures are built
as ``Figure`` objects (rendered by Agg when encoded), so importing this module never changes
how a kernel draws, and a figure is drawn only where it is saved or displayed.
Every figure is sized to be read at about 900 px wide (the width JupyterLab and a code host
show a notebook's images): 9 inches at ``DPI`` = 100.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from xnets_lite.analysis.interpret import dimension_table
from xnets_lite.core.odt import Decomposition
from xnets_lite.files import atomic_write

CMAP = "RdBu"  # weights and images: blue > 0, red < 0, white 0
CMAP_CONST = "PuOr"  # the constant's row/column of an interaction matrix: its own scale
DPI = 100  # pixels per inch of every saved and displayed figure
ZERO = 1e-12  # an eigenvalue below ZERO × the largest is drawn as "zero", not as a value


def __getattr__(name):
    # ``plots.plt`` used to be pyplot, imported here; it is only loaded when asked for, so
    # importing plots never selects a backend.
    if name == "plt":
        import matplotlib.pyplot as plt

        return plt
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _np(t):
    return t.detach().cpu().double().numpy() if hasattr(t, "detach") else np.asarray(t)


# ---------------------------------------------------------------------------------------
# Encoding and saving
# ---------------------------------------------------------------------------------------
def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """``fig`` as PNG bytes, without the time/version metadata: the same figure gives the
    same bytes. The one PNG encoder of the package (files, snapshots and live panels), and
    independent of the kernel's matplotlib backend.

    >>> png_bytes(Figure(figsize=(1, 1)))[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    engine = getattr(fig, "get_layout_engine", lambda: None)()
    if engine is None:
        return _encode(fig, dpi)
    # Constrained layout takes a few passes to settle when there are colour bars (each pass
    # moves them by a pixel or so): lay out until nothing moves, then draw with the layout
    # frozen, so every encoding of the figure, first or tenth, gives the same bytes.
    before = None
    for _ in range(8):
        fig.draw_without_rendering()
        now = [ax.get_position().bounds for ax in fig.axes]
        if now == before:
            break
        before = now
    fig.set_layout_engine("none")
    try:
        return _encode(fig, dpi)
    finally:
        fig.set_layout_engine(engine)


def _encode(fig: Figure, dpi: int) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def save_figure(fig: Figure, path, dpi: int = DPI) -> Path:
    """Save ``fig`` as PNG (``png_bytes``) atomically (temp file + rename), so a failed write
    leaves any older file intact. A file that already holds exactly the same pixels is left
    alone, so a rerun never rewrites a figure whose content did not change."""
    data = png_bytes(fig, dpi)
    path = Path(path)
    if path.is_file() and _same_pixels(path, data):
        return path
    return atomic_write(path, lambda f: f.write(data))


def _same_pixels(path: Path, png: bytes) -> bool:
    from matplotlib.image import imread

    try:
        old = imread(path, format="png")
    except (OSError, ValueError, SyntaxError):  # unreadable or not a PNG: replace it
        return False
    new = imread(io.BytesIO(png), format="png")
    return old.shape == new.shape and np.array_equal(old, new)


# ---------------------------------------------------------------------------------------
# Images and colour bars
# ---------------------------------------------------------------------------------------
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


def sign_colorbar(
    fig: Figure,
    axes,
    label: str | None = None,
    cmap: str = CMAP,
    fontsize: float = 8,
    location: str = "right",
):
    """One colour bar for ``show_image`` panels: −max (red), 0 (white), +max (blue).

    ``label`` defaults to what the scale is: "value / its max |value|" for one image,
    "each panel scaled to its own max |value|" for a grid."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    axes = list(np.ravel(axes))
    if label is None:
        label = (
            "value / its max |value|"
            if len(axes) == 1
            else "each panel scaled to its own max |value|"
        )
    bar = fig.colorbar(
        ScalarMappable(Normalize(-1, 1), cmap),
        ax=axes,
        shrink=0.8 if len(axes) == 1 else 0.6,
        aspect=25,
        pad=0.02,
        ticks=[-1, 0, 1],
        location=location,
    )
    bar.ax.set_yticklabels(["−max", "0", "+max"], fontsize=fontsize)
    bar.set_label(label, fontsize=fontsize)
    return bar


def show_interaction(ax, matrix, title=None, print_scale: bool = False):
    """A symmetric interaction matrix whose row/column 0 is the constant: the pair block
    (rows and columns ≥ 1) on ``CMAP`` scaled to its own max |value|, and row/column 0 on
    ``CMAP_CONST`` scaled to *its* own max |value|. The constant's terms (the linear and
    offset parts) are often far larger than the pair terms; on one scale they would leave
    the rest of the matrix white. ``print_scale``: the pair block's max |value| is appended
    to the title (``±0.05``), so that panels on their own scales can be compared."""
    m = _np(matrix)
    const = np.zeros_like(m, dtype=bool)
    const[0, :] = const[:, 0] = True
    block = np.ma.masked_array(m, mask=const)
    edge = np.ma.masked_array(m, mask=~const)
    vb = float(np.abs(m[1:, 1:]).max()) if m.shape[0] > 1 else 0.0
    ve = float(np.abs(m[const]).max())
    ax.imshow(block, cmap=CMAP, vmin=-(vb or 1.0), vmax=vb or 1.0, interpolation="nearest")
    ax.imshow(edge, cmap=CMAP_CONST, vmin=-(ve or 1.0), vmax=ve or 1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if print_scale:
        title = f"{title or ''} ±{vb:.1g}".strip()
    if title is not None:
        ax.set_title(title, fontsize=8)


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------
def image_grid(rows, suptitle: str, side: float = 1.2) -> Figure:
    """Rows of signed images, one column per image (e.g. one per class): ``rows`` is a list
    of ``(label, images (n, H, W), titles)``; each image on its own symmetric scale (blue
    positive, red negative, ``show_image``), the row's label beside its first image, one
    sign colour bar. ``side``: inches per image (keep ``side · n + 0.9`` ≤ 9.4 so the figure
    is shown at full size, ``legibility.py``)."""
    n_cols = max(len(images) for _, images, _ in rows)
    fig = Figure(
        figsize=(side * n_cols + 0.9, (side + 0.15) * len(rows) + 0.8), layout="constrained"
    )
    axes = fig.subplots(len(rows), n_cols, squeeze=False)
    for r, (label, images, titles) in enumerate(rows):
        for c in range(n_cols):
            if c < len(images):
                show_image(axes[r, c], images[c], titles[c])
            else:
                axes[r, c].set_axis_off()
        axes[r, 0].set_ylabel(label, fontsize=8)
    sign_colorbar(fig, axes)
    fig.suptitle(suptitle, fontsize=8)
    return fig


def plot_class_eigenvectors(ce, title: str, index: int = 0) -> Figure:
    """The top eigenvector (or the ``index``-th) of every class as an image, as in the
    paper's class-eigenvector figure (Section 4, Figs. 3–4), 2 rows × C/2 columns."""
    n_classes = ce.images.shape[0]
    cols = (n_classes + 1) // 2
    fig = Figure(figsize=(min(9.0, 1.6 * cols + 1.0), 4.2), layout="constrained")
    axes = fig.subplots(2, cols, squeeze=False)
    for c, ax in enumerate(axes.flat):
        if c >= n_classes:
            ax.set_axis_off()
            continue
        show_image(ax, ce.images[c, index], f"class {c}  ({100 * float(ce.share[c, index]):.0f}%)")
    fig.suptitle(title, fontsize=10)
    sign_colorbar(fig, axes)
    return fig


#: Panels per row of the tree figure: 8 panels of ~1 inch fit 900 px with their labels.
TREE_COLUMNS = 8


def tree_rows(tree, classes=None) -> list[tuple[str, list[tuple[str, object, str]]]]:
    """The tree figure's rows, top to bottom: ``(label, [(title, matrix or image, kind)])``
    with ``kind`` ``"matrix"`` (row/column 0 = the constant) or ``"image"``."""
    n_layers = len(tree.interactions) + 1
    classes = list(range(tree.class_matrices.shape[0])) if classes is None else list(classes)
    last = n_layers - 1
    rows = [
        (
            f"layer {n_layers} + head:\nclasses from\nw{last}·w{last}",
            [(f"class {c}", tree.class_matrices[c], "matrix") for c in classes],
        )
    ]
    for layer in reversed(range(len(tree.interactions))):
        mats = tree.interactions[layer]
        rows.append(
            (
                f"layer {layer + 1}:\nw{layer + 1} from\nw{layer}·w{layer}",
                [(f"w{layer + 1}.d{o}", mats[o], "matrix") for o in range(1, mats.shape[0])],
            )
        )
    rows.append(
        (
            "w0 features\n(pixels)",
            [
                (f"w0.d{i}" if i else "const", tree.features[i], "image")
                for i in range(tree.features.shape[0])
            ],
        )
    )
    return rows


def plot_tree(tree, title: str, classes=None, columns: int = TREE_COLUMNS) -> Figure:
    """The compositional tree, read bottom-up, with every kept direction drawn.

    Rows, top to bottom (each wrapped at ``columns`` panels, so the figure is 9 inches =
    900 px wide and its labels legible there): the last layer contracted with the head (one
    matrix per class); for each layer below, the interaction matrix of every kept direction
    of the wire it writes (``wl.dk``: how the directions of the wire below combine into it);
    the input-space image of every kept direction of wire ``w0`` (``const`` is blank: it has
    no pixel part). In every matrix, row/column 0 is the constant, drawn on its own colour
    scale (``show_interaction``); two colour bars say which is which. Each matrix's pair
    block is scaled to its own max |value|, printed in its title (``±…``), so that noise on
    a small scale is not read as structure. Names as in
    ``widgets.direction_name``. Save it with ``dpi=200`` too for a full-resolution file.
    """
    rows = tree_rows(tree, classes)
    lines = [
        (label if i == 0 else "", panels[i : i + columns])
        for label, panels in rows
        for i in range(0, len(panels), columns)
    ]
    fig = Figure(figsize=(9.0, 1.12 * len(lines) + 0.9), layout="constrained")
    axes = fig.subplots(len(lines), columns, squeeze=False)
    for (label, panels), ax_row in zip(lines, axes):
        for ax, panel in zip(ax_row, panels + [None] * (columns - len(panels))):
            if panel is None:
                ax.set_axis_off()
            elif panel[2] == "matrix":
                show_interaction(ax, panel[1], panel[0], print_scale=True)
            else:
                show_image(ax, panel[1], panel[0])
        if label:
            ax_row[0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(title, fontsize=10)
    sign_colorbar(
        fig,
        axes,
        label="pairs (rows/cols ≥ 1) and pixels:\neach panel / its own max |value|"
        "\n(a matrix's is printed: ±…)",
    )
    sign_colorbar(
        fig,
        axes,
        cmap=CMAP_CONST,
        label="row/column 0 (the constant):\neach panel / its own max |value|",
    )
    return fig


def plot_effective_dimensions(
    dec: Decomposition, title: str, energy: float = 0.99, without_constant: bool = False
) -> Figure:
    """ODT vs local-SVD effective dimension per wire (the kind of bar chart the authors show
    on a slide), with both local views: the map that writes the wire and the one that reads
    it (``odt.local_spectra``), every count with the constant coordinate.

    ``without_constant=True`` adds a first panel, the counts without the constant
    (``odt.dimension_table``: ODT's kept basis ``wl.dk``, k ≥ 1, what truncation
    counts, against the writer's Gram without the constant's row and column). The constant
    can hold most of ODT's energy and almost none of a writer's, so only these counts
    compare the two at the same threshold of non-constant energy."""
    table = dimension_table(dec, energy)
    panels = {
        "with the constant": {
            "ODT (global)": table["odt"],
            "local SVD, writer view": table["writer"],
            "local SVD, reader view": table["reader"],
        }
    }
    if without_constant:
        panels = {
            "without the constant (what truncation counts)": {
                "ODT (kept basis wl.dk, k ≥ 1)": table["odt_nc"],
                "local SVD, writer view": table["writer_nc"],
            },
            **panels,
        }
    x = np.arange(len(dec.spectra))
    width = min(9.0, (1.5 * len(x) + 3.0) * len(panels))
    fig = Figure(figsize=(width, 3.4), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, (name, bars_of) in zip(axes, panels.items()):
        step = 0.81 / len(bars_of)  # 0.27 for three bars a wire
        for i, (label, dims) in enumerate(bars_of.items()):
            colour = "C0" if label.startswith("ODT") else "C1" if "writer" in label else "C2"
            offset = (i - (len(bars_of) - 1) / 2) * step
            bars = ax.bar(x + offset, dims, width=step, label=label, color=colour)
            ax.bar_label(bars, fontsize=7)
        ax.set_xticks(x, [f"wire w{i}" for i in x])
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if len(panels) > 1:  # shared y: room for the legends above the tallest bars
            ax.set_title(name, fontsize=9)
            ax.set_ylim(0, 1.45 * max(max(d) for b in panels.values() for d in b.values()) + 1)
            ax.legend(frameon=False, fontsize=7, loc="upper left")
        else:
            ax.set_title(title, fontsize=10)
            ax.legend(frameon=False, fontsize=8)
    axes[0].set_ylabel(f"directions for {100 * energy:g}% energy")
    if len(panels) > 1:
        fig.suptitle(title, fontsize=10)
    return fig


def wire_panels(n: int, panel: tuple[float, float], pad: tuple[float, float], max_width: float):
    """A figure with one panel per wire, four to a row: ``(fig, axes, used)``, ``axes`` the
    (rows, cols) grid (y shared), ``used`` its first ``n`` panels (the rest switched off).
    Each panel is ``panel`` inches (width, height), plus ``pad`` for the labels around them,
    the width capped at ``max_width``."""
    cols = min(n, 4)
    nrows = -(-n // cols)
    size = (min(max_width, panel[0] * cols + pad[0]), panel[1] * nrows + pad[1])
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, cols, sharey=True, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    return fig, axes, list(axes.flat[:n])


def energy_shares(spectrum) -> tuple[np.ndarray, np.ndarray, int]:
    """A global spectrum as what ``plot_spectra`` draws: ``(numbers, shares, n_zero)`` —
    the eigenvalue numbers (from 1) and shares ``λᵢ / Σλ`` of the eigenvalues above
    ``ZERO`` × the largest, and how many are (numerically) zero. Zero eigenvalues are left
    out: a log axis would show them clamped to a floor, as a plateau that is not there."""
    s = _np(spectrum)
    total = float(s.sum())
    keep = s > ZERO * float(s.max()) if total > 0 else np.zeros(len(s), dtype=bool)
    numbers = np.arange(1, len(s) + 1)
    return numbers[keep], s[keep] / (total or 1.0), int((~keep).sum())


def plot_spectra(dec: Decomposition, title: str = "", ranks=None) -> Figure:
    """Each wire's global spectrum, one panel per wire: eigenvalue number (from 1) against
    its **share of the wire's spectral energy** ``λᵢ / Σλ`` (log scale: the same measure as
    the effective dimensions and the "energy kept" of the truncation panel).

    With ``ranks`` (one per wire) the cut-off is marked: a truncation to rank k keeps the
    constant and k directions, k + 1 coordinates, so the line sits after eigenvalue k + 1.
    Numerically zero eigenvalues are not drawn; a note says how many there are.
    """
    from xnets_lite.core.odt import check_ranks

    if ranks is not None:
        ranks = check_ranks(dec.widths, ranks)
    fig, axes, used = wire_panels(len(dec.spectra), (2.3, 2.5), (0.6, 0.4), max_width=9.0)
    for wire, ax in enumerate(used):
        numbers, shares, n_zero = energy_shares(dec.spectra[wire])
        ax.semilogy(numbers, shares, ".", ms=3, color="C0")
        if ranks is not None:
            ax.axvline(ranks[wire] + 1.5, color="C3", lw=1.2, label=f"keep const + {ranks[wire]}")
            ax.legend(fontsize=7, loc="upper right", frameon=False)
        if n_zero:
            ax.text(
                0.97,
                0.04,
                f"{n_zero} more eigenvalues\nare 0 (not drawn)",
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=7,
                color="0.3",
            )
        ax.set_xlim(0, len(dec.spectra[wire]) + 1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        ax.set_title(f"wire w{wire} ({len(dec.spectra[wire])} coordinates)", fontsize=8)
        ax.set_xlabel("eigenvalue number", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("share of spectral energy\nλᵢ / Σλ", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_accuracy_vs_rank(
    rows: list[dict], title: str, full_accuracy: float | None = None
) -> Figure:
    """Test accuracy (and agreement with the full model) against the rank kept per wire."""
    ranks = [r["rank"] if isinstance(r["rank"], int) else max(r["rank"]) for r in rows]
    fig = Figure(figsize=(6.0, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(ranks, [100 * r["accuracy"] for r in rows], "o-", label="test accuracy")
    ax.plot(ranks, [100 * r["agreement"] for r in rows], "s--", label="agreement with full model")
    if full_accuracy is not None:
        ax.axhline(100 * full_accuracy, color="gray", linestyle=":", label="full model")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("directions kept per wire (besides the constant)")
    ax.set_ylabel("%")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title, fontsize=10)
    return fig
