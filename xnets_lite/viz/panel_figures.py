"""The panels' figures (``xnets_lite.course``'s widgets draw them; the measurements they show
come from ``analysis`` or from the panels' plain view functions, as dicts).

``image_figure`` (one eigenvector or feature as an image: 03's eigenvector and ``Q_c``
panels), ``trace_figure`` (04's trace: a class's matrix and the features its path reaches),
``ablation_figure`` and ``steering_figure`` (05), ``similarity_figure`` (06).
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from xnets_lite.analysis.interpret import direction_name, traced_directions
from xnets_lite.viz.plots import CMAP_CONST, show_image, show_interaction, sign_colorbar


def image_figure(image: torch.Tensor):
    """The image alone (the caption is the panel's text, not repeated in the figure), with
    a colour bar: blue is positive, red negative."""
    fig = Figure(figsize=(3.0, 3.3), layout="constrained")
    ax = fig.subplots()
    show_image(ax, image)
    sign_colorbar(fig, [ax])
    return fig


#: At most this many first-wire features per row of ``trace_figure`` (a trace can reach
#: every kept direction of ``w0``), and the widest the figure gets (inches, 100 px each).
FEATURES_PER_ROW, TRACE_WIDTH = 8, 9.0


def trace_figure(tree, c: int, top: int = 3):
    """Class ``c``'s matrix at the top of the tree (row/column 0 = the constant, on its own
    colour scale, the bar on the left) and **every** first-wire feature its trace
    (``trace_lines(tree, c, top)``) reaches, in direction order, as images, in as few rows
    of at most ``FEATURES_PER_ROW`` as they need, at most ``TRACE_WIDTH`` inches wide."""
    features = sorted(traced_directions(tree, c, top).get(0, set()))
    rows = max(1, -(-len(features) // FEATURES_PER_ROW))
    cols = max(1, -(-len(features) // rows))
    side = min(1.1, (TRACE_WIDTH - 1.7) / (cols + 1))  # inches per panel
    height = max(2.0, (side + 0.4) * rows + 0.2)  # room for the colour bars' labels
    fig = Figure(figsize=(side * (cols + 1) + 1.7, height), layout="compressed")
    grid = fig.subplots(rows, cols + 1, squeeze=False)
    matrix_ax, cells = grid[0, 0], list(grid[:, 1:].ravel())
    for ax in [*grid[1:, 0], *cells[len(features) :]]:
        ax.set_axis_off()
    last = len(tree.interactions)
    show_interaction(matrix_ax, tree.class_matrices[c], f"class {c} from\nw{last}·w{last}")
    for ax, d in zip(cells, features):
        show_image(ax, tree.features[d], direction_name(0, d))
    drawn = [matrix_ax, *cells[: len(features)]]
    sign_colorbar(fig, drawn, label="each panel\n/ its own max", fontsize=8)
    sign_colorbar(
        fig,
        [matrix_ax],
        cmap=CMAP_CONST,
        label="row/col 0 (the\nconstant) / its max",
        fontsize=8,
        location="left",
    )
    return fig


def ablation_figure(view: dict):
    """Bars: accuracy per true class before and after the ablation, one group per set."""
    fig = Figure(figsize=(8.0, 3.6), layout="constrained")
    ax = fig.subplots()
    names = ["before"] + list(view["accuracy"])
    values = [view["baseline"]] + list(view["accuracy"].values())
    width = 0.8 / len(names)
    n = len(view["baseline"])
    for i, (name, acc) in enumerate(zip(names, values)):
        ax.bar(
            [x + (i - (len(names) - 1) / 2) * width for x in range(n)],
            100 * acc.numpy(),
            width=width,
            label=name,
            color="0.6" if i == 0 else f"C{i - 1}",
        )
    ax.set_xticks(range(n))
    ax.set_ylim(0, 100)
    ax.set_xlabel("true class")
    ax.set_ylabel("accuracy (%)")
    # below the axes, never over bars that reach 100%
    fig.legend(loc="outside lower center", fontsize=8, frameon=False, ncol=min(len(names), 4))
    k = view["k"]
    ax.set_title(
        f"class {view['c']}'s top {k} direction{'s' if k != 1 else ''} removed", fontsize=9
    )
    return fig


def steering_figure(view: dict):
    """The first steered images, titled with their predictions (red = the target class)."""
    n = len(view["images"])
    fig = Figure(figsize=(1.3 * max(n, 1) + 0.2, 1.6), layout="constrained")
    for ax, image, p in zip(
        fig.subplots(1, max(n, 1), squeeze=False)[0], view["images"], view["predicted"]
    ):
        ax.imshow(image.numpy(), cmap="gray", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"→ {int(p)}", fontsize=8, color="C3" if int(p) == view["c"] else "k")
    return fig


def similarity_figure(va, vb, cos, image_shape, labels=("a", "b")):
    """Two rows of images: a's vectors, b's matches, with |cos| as titles."""
    k = len(va)
    fig = Figure(figsize=(1.5 * k + 1.0, 3.3), layout="constrained")
    axes = fig.subplots(2, k, squeeze=False)
    for i in range(k):
        show_image(axes[0, i], va[i].reshape(image_shape), f"{labels[0]} #{i + 1}")
        show_image(axes[1, i], vb[i].reshape(image_shape), f"match |cos| {float(cos[i]):.2f}")
    axes[1, 0].set_ylabel(labels[1], fontsize=8)
    sign_colorbar(fig, axes)
    return fig
