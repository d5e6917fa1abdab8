"""What ODT truncates, beside the global spectrum it reports.

``Decomposition.spectra[l]`` holds the eigenvalues of wire l's **full** downstream Gram
``M``; the basis a truncation cuts is another one: the constant pinned at index 0 and the
eigenvectors of the non-constant block ``M[1:, 1:]``, whose energies are
``Decomposition.importance[l]`` (``diag`` of ``M`` in that basis). The two agree only when
the constant does not mix with the directions, so truncating to ``wl.dk, k ≤ K`` is not the
Eckart–Young truncation of the plotted spectrum. ``plot_spectrum_vs_kept`` draws both.

``dimension_table`` counts, per wire, the directions that hold 99% of the energy, by ODT
(the spectrum of ``M``; the kept basis) and by the local-SVD baselines, with and without the
constant coordinate: notebook 02's table, and ``plots.plot_effective_dimensions``' bars.

Example::

    >>> fig = plot_spectrum_vs_kept(odt(model), title="MNIST")
    >>> dims = dimension_table(odt(model))  # dims["odt_nc"]: per wire, the constant not counted
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .odt import Decomposition, effective_dimension, layer_gram, sandwich

#: Shares below this are numerically zero and not drawn (they would sit as a fake plateau).
ZERO_SHARE = 1e-12


def dimension_table(dec: Decomposition, energy: float = 0.99) -> dict[str, list]:
    """Per wire, the effective dimension (directions for ``energy`` of the energy) by ODT and
    by a local SVD, with the constant coordinate and without it, and the constant's share.

    Keys, each a list with one entry per wire:

    * ``odt``: the global spectrum of ``M`` (constant included);
    * ``writer``, ``reader``: the local-SVD spectra of the map that writes / reads the wire
      (``Decomposition.local_effective_dimensions``, constant included);
    * ``odt_nc``: the kept basis without the constant, ``importance[1:]`` (the ``wl.dk``,
      k ≥ 1: what truncation counts);
    * ``writer_nc``: the writer's Gram (raw coordinates, ``E Eᵀ`` for ``w0``, the layer's
      output Gram ``odt.layer_gram`` above) with the constant's row and column removed;
    * ``const``, ``const_writer``: the constant's share of the wire's energy, globally
      (``importance[0] / Σ importance``) and in the writer's Gram (``G[0, 0] / trace G``).
    """
    if not isinstance(dec, Decomposition):
        raise TypeError(f"expected a Decomposition (odt(model)), got {type(dec).__name__}")
    if dec.source is None:
        raise ValueError("this decomposition keeps no source network for the local baseline")
    grams = [sandwich(dec.source.embed)] + [layer_gram(layer) for layer in dec.source.layers]
    return {
        "odt": dec.effective_dimensions(energy),
        "writer": dec.local_effective_dimensions(energy, view="writer"),
        "reader": dec.local_effective_dimensions(energy, view="reader"),
        "odt_nc": [effective_dimension(imp[1:], energy) for imp in dec.importance],
        "writer_nc": [
            effective_dimension(torch.linalg.eigvalsh(g[1:, 1:]).clamp_min(0), energy)
            for g in grams
        ],
        "const": [float(imp[0] / imp.sum()) for imp in dec.importance],
        "const_writer": [float(g[0, 0] / g.trace()) for g in grams],
    }


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
