"""What ODT truncates, beside the global spectrum it reports.

``Decomposition.spectra[l]`` holds the eigenvalues of wire l's **full** downstream Gram
``M``; the basis a truncation cuts is another one: the constant pinned at index 0 and the
eigenvectors of the non-constant block ``M[1:, 1:]``, whose energies are
``Decomposition.importance[l]`` (``diag`` of ``M`` in that basis). The two agree only when
the constant does not mix with the directions, so truncating to ``wl.dk, k ≤ K`` is not the
Eckart–Young truncation of the plotted spectrum. ``plot_spectrum_vs_kept`` draws both.

Example::

    >>> fig = plot_spectrum_vs_kept(odt(model), title="MNIST")
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from xnets_lite.core.odt import Decomposition

#: Shares below this are numerically zero and not drawn (they would sit as a fake plateau).
ZERO_SHARE = 1e-12


def plot_spectrum_vs_kept(dec: Decomposition, title: str = "") -> Figure:
    """One panel per wire: the share ``λᵢ / Σλ`` of every eigenvalue of ``M`` (dots, sorted:
    x = eigenvalue number from 0), and the share of every coordinate of the kept basis
    (line, x = k of ``wl.dk``), with the pinned constant (k = 0) as a dashed level.
    Both are shares of the same total, ``trace M``."""
    if not isinstance(dec, Decomposition):
        raise TypeError(f"expected a Decomposition (odt(model)), got {type(dec).__name__}")
    n = len(dec.spectra)
    fig = Figure(figsize=(min(10.0, 2.4 * n + 0.8), 3.2), layout="constrained")
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
    for wire, ax in enumerate(axes):
        spectrum, imp = dec.spectra[wire].double().cpu(), dec.importance[wire].double().cpu()
        total = float(spectrum.sum())
        s, k = spectrum / total, imp / total
        idx = torch.arange(len(s))
        ax.semilogy(
            idx[s > ZERO_SHARE],
            s[s > ZERO_SHARE],
            ".",
            ms=3,
            color="C0",
            label="eigenvalues of M (the spectrum)",
        )
        kk = idx[1 : len(k)][k[1:] > ZERO_SHARE]
        ax.semilogy(
            kk, k[1:][k[1:] > ZERO_SHARE], "-", lw=1.4, color="C1", label="kept basis: wl.dk, k ≥ 1"
        )
        ax.axhline(float(k[0]), color="k", ls="--", lw=1, label="const (k = 0, pinned)")
        ax.set_title(f"w{wire}: top λ {float(s[0]):.2f}, const {float(k[0]):.2f}", fontsize=9)
        ax.set_xlabel("eigenvalue number / k of wl.dk", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("share of trace M", fontsize=8)
    axes[0].legend(fontsize=7, loc="lower left", frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
