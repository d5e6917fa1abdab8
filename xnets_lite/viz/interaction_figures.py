"""Figures of the signed interactions ``Q_c`` (``xnets_lite.analysis.interactions``)."""

from __future__ import annotations

from matplotlib.figure import Figure

from xnets_lite.analysis.interactions import ClassInteractions
from xnets_lite.viz.plots import show_image, sign_colorbar


def plot_interactions(qf: ClassInteractions, title: str = "", n: int | None = None):
    """The paper-style grid: one column per class, rows = the top-n excitatory eigenvectors
    (positive eigenvalues), then the top-n inhibitory ones, titled with the eigenvalue.
    Each image on its own symmetric scale: blue positive, red negative."""
    n_classes, k = qf.positive_values.shape
    n = k if n is None else min(n, k)
    h, w = qf.image_shape
    side = min(1.2, 8.4 / n_classes)  # at most 9.3 inches wide: shown at full size
    fig = Figure(
        figsize=(side * n_classes + 0.9, (side + 0.15) * 2 * n + 0.8), layout="constrained"
    )
    axes = fig.subplots(2 * n, n_classes, squeeze=False)
    for r in range(2 * n):
        sign, i = ("+", r) if r < n else ("-", r - n)
        vectors, values = qf.select(sign)
        for c in range(n_classes):
            show_image(
                axes[r, c], vectors[c, i].reshape(h, w), f"{c}: λ={float(values[c, i]):+.2f}"
            )
        axes[r, 0].set_ylabel(
            ("excitatory" if sign == "+" else "inhibitory") + f" {i + 1}", fontsize=8
        )
    sign_colorbar(fig, axes)
    fig.suptitle(
        (title + "\n" if title else "") + "eigenvectors of Q_c = ½ Hessian of logit c; "
        "λ: eigenvalue (top rows > 0, bottom rows < 0)",
        fontsize=8,
    )
    return fig
