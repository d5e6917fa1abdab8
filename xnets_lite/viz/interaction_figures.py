"""Figures of the signed interactions ``Q_c`` (``xnets_lite.analysis.interactions``)."""

from __future__ import annotations

from xnets_lite.analysis.interactions import ClassInteractions
from xnets_lite.viz.plots import image_grid


def plot_interactions(qf: ClassInteractions, title: str = "", n: int | None = None):
    """The paper-style grid: one column per class, rows = the top-n excitatory eigenvectors
    (positive eigenvalues), then the top-n inhibitory ones, titled with the eigenvalue.
    Each image on its own symmetric scale: blue positive, red negative."""
    n_classes, k = qf.positive_values.shape
    n = k if n is None else min(n, k)
    h, w = qf.image_shape
    rows = []
    for sign in ("+", "-"):
        vectors, values = qf.select(sign)
        kind = "excitatory" if sign == "+" else "inhibitory"
        for i in range(n):
            images = vectors[:, i].reshape(n_classes, h, w)
            titles = [f"{c}: λ={float(values[c, i]):+.2f}" for c in range(n_classes)]
            rows.append((f"{kind} {i + 1}", images, titles))
    return image_grid(
        rows,
        (title + "\n" if title else "") + "eigenvectors of Q_c = ½ Hessian of logit c; "
        "λ: eigenvalue (top rows > 0, bottom rows < 0)",
        side=min(1.2, 8.4 / n_classes),  # at most 9.3 inches wide: shown at full size
    )
