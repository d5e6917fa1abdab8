"""The rank panel's figure (notebook 02, ``widgets.RankPanel``): what a truncation cuts.

Truncating wire ``l`` to rank ``K`` keeps the constant and the coordinates ``wl.d1 … wl.dK``
of the kept basis (the eigenvectors of ``M[1:, 1:]``, section 3), not the top eigenvalues of
``M``: so the panel draws the energies of the kept basis's coordinates (``dec.importance``,
the dashed level of section 3's second figure), kept ones in colour and cut ones in grey, and
not the eigenvalue spectrum of section 3's first figure, which a truncation does not cut
exactly. The legend sits below the panels, clear of the points; every text is at least
8 pt in a figure at most 9.4 inches wide (``legibility.py``: 11 px at 1400 px)."""

from __future__ import annotations

import numpy as np

#: Coordinates whose energy is below this share of the wire's largest are not drawn.
ZERO = 1e-12


def plot_kept_energies(dec, ranks, title: str = ""):
    """One panel per wire: coordinate ``k`` of the kept basis (0 = the constant) against its
    share of the wire's energy (log scale), kept (``k ≤ ranks[l]``) in colour, cut in grey."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    from xnets_lite.core.odt import check_ranks
    from xnets_lite.viz.plots import wire_panels

    ranks = check_ranks(dec.widths, ranks)
    fig, axes, used = wire_panels(len(dec.importance), (2.2, 2.4), (0.8, 0.9), max_width=9.4)
    for wire, ax in enumerate(used):
        imp = dec.importance[wire].detach().cpu().double().numpy()
        total = float(imp.sum()) or 1.0
        k = np.arange(len(imp))
        shown = imp > ZERO * float(imp.max())
        kept = k <= ranks[wire]
        ax.semilogy(k[shown & kept], imp[shown & kept] / total, ".", ms=4, color="C0")
        ax.semilogy(k[shown & ~kept], imp[shown & ~kept] / total, ".", ms=3, color="0.65")
        ax.axvspan(-0.5, ranks[wire] + 0.5, color="C0", alpha=0.08, lw=0)
        ax.set_xlim(-1, len(imp))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        share = float(imp[kept].sum()) / total
        ax.set_title(
            f"w{wire}: const + {ranks[wire]} of {len(imp) - 1}\n{share:.1%} of its energy kept",
            fontsize=9,
        )
        ax.set_xlabel(f"coordinate k of w{wire} (0 = const)", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("share of the wire's energy", fontsize=8)
    handles = [
        Line2D([], [], ls="", marker=".", ms=8, color="C0", label="kept (shaded)"),
        Line2D([], [], ls="", marker=".", ms=8, color="0.65", label="cut"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
