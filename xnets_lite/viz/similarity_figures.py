"""Notebook 06's figures: seed × seed similarity matrices, the published method's drift with
depth, and the same reading drawn for several seeds (``matplotlib.figure.Figure`` objects)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from xnets_lite.viz.plots import show_image, sign_colorbar


def plot_matrices(matrices: dict, labels: list[str], title: str = "", columns: int = 4) -> Figure:
    """One heat map per measure: ``matrices`` maps a panel title to an (M, M) array of
    cosines (−1…1) between the models named by ``labels``; every cell printed (2 decimals)."""
    n = len(matrices)
    cols = min(columns, n)
    rows = (n + cols - 1) // cols
    m = len(labels)
    size = 0.42 * m + 1.2
    fig = Figure(figsize=(size * cols + 0.8, size * rows + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    image = None
    for ax, (name, mat) in zip(axes.flat, matrices.items()):
        mat = np.asarray(mat, dtype=float)
        image = ax.imshow(mat, vmin=-1, vmax=1, cmap="RdBu_r")
        for i in range(m):
            for j in range(m):
                if np.isfinite(mat[i, j]):
                    ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=6)
        ax.set_xticks(range(m), labels, rotation=90, fontsize=6)
        ax.set_yticks(range(m), labels, fontsize=6)
        ax.set_title(name, fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="cosine")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def plot_drift(rows: list[dict], title: str = "") -> Figure:
    """The published method against Monte Carlo by depth. ``rows``: dicts with ``depth``,
    ``published`` (its estimate of ``E‖f‖²``), ``mc`` and ``mc_se`` (Monte Carlo mean and
    standard error); drawn as the ratio published / Monte Carlo with its ±2 SE band."""
    depth = np.array([r["depth"] for r in rows])
    ratio = np.array([r["published"] / r["mc"] for r in rows])
    err = np.array([2 * r["published"] * r["mc_se"] / r["mc"] ** 2 for r in rows])
    fig = Figure(figsize=(4.2, 3.0), layout="constrained")
    ax = fig.subplots()
    ax.axhline(1, color="0.6", lw=1)
    ax.errorbar(depth, ratio, yerr=err, fmt="o-", capsize=3)
    ax.set_xticks(depth)
    ax.set_xlabel("bilinear layers")
    ax.set_ylabel("published E‖f‖² / Monte Carlo")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=8)
    return fig


def plot_seed_readings(readings: dict, image_shape, classes, title: str = "") -> Figure:
    """Rows: one per (name, seed) in ``readings`` ({row label: (C, d) vectors}); columns:
    ``classes``; each image on its own symmetric scale (the course's colours)."""
    h, w = image_shape
    fig = Figure(
        figsize=(1.1 * len(classes) + 1.2, 1.15 * len(readings) + 0.6), layout="constrained"
    )
    axes = fig.subplots(len(readings), len(classes), squeeze=False)
    for r, (label, vectors) in enumerate(readings.items()):
        for k, c in enumerate(classes):
            show_image(axes[r, k], vectors[c].reshape(h, w), f"class {c}" if r == 0 else None)
        axes[r, 0].set_ylabel(label, fontsize=7)
    sign_colorbar(fig, axes)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
