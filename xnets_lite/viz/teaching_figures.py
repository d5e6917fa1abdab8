"""The course's explanatory figures: tensor diagrams and the names of the wires (notebook
00), learning curves (notebook 01), per-class spectra (notebook 03). Each returns a
``matplotlib.figure.Figure`` (no pyplot state).
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def _node(ax, xy, text, color="#dbe9f6", size=0.16):
    from matplotlib.patches import Circle

    ax.add_patch(Circle(xy, size, facecolor=color, edgecolor="black", lw=1.2, zorder=3))
    ax.text(*xy, text, ha="center", va="center", fontsize=10, zorder=4)


def _leg(ax, a, b, label=None, offset=(0.06, 0.0)):
    ax.plot([a[0], b[0]], [a[1], b[1]], color="black", lw=1.2, zorder=1)
    if label:
        ax.text(
            (a[0] + b[0]) / 2 + offset[0],
            (a[1] + b[1]) / 2 + offset[1],
            label,
            fontsize=9,
            color="#444",
        )


def _blank(ax, title, xlim, ylim):
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)


def tensor_diagrams(n_layers: int = 2) -> Figure:
    """Three panels: a bilinear layer as an order-3 tensor ``B``; its CP form
    ``D (L x ⊙ R x)`` (the dot is the copy tensor that makes ``⊙``); and the tree of
    ``n_layers`` stacked layers with ``2**n_layers`` copies of the input ``x`` at its leaves
    (with biases, each leaf is ``x̃ = [1, x]``: notebook 00, section 4)."""
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1, 1.2, 2.4])

    _blank(ax1, "bilinear layer: order-3 tensor B", (-1, 1), (-1, 1.1))
    _node(ax1, (0, 0.1), "B")
    _leg(ax1, (0, 0.1), (0, 0.9), "out o")
    _leg(ax1, (0, 0.1), (-0.6, -0.6), "in i", (-0.45, 0))
    _leg(ax1, (0, 0.1), (0.6, -0.6), "in j")
    for xy in [(-0.6, -0.75), (0.6, -0.75)]:
        ax1.text(*xy, "x", ha="center", fontsize=10)

    _blank(ax2, "CP form: y = D (Lx ⊙ Rx)", (-1.1, 1.1), (-1, 1.1))
    _node(ax2, (0, 0.65), "D", "#f6e0c8")
    ax2.plot([0], [0.05], "o", color="black", ms=6, zorder=3)  # copy tensor (⊙)
    _node(ax2, (-0.55, -0.45), "L", "#d7f0d2")
    _node(ax2, (0.55, -0.45), "R", "#d7f0d2")
    _leg(ax2, (0, 0.65), (0, 1.05), "o")
    _leg(ax2, (0, 0.65), (0, 0.05), "h")
    _leg(ax2, (0, 0.05), (-0.55, -0.45))
    _leg(ax2, (0, 0.05), (0.55, -0.45))
    _leg(ax2, (-0.55, -0.45), (-0.55, -0.95), "i")
    _leg(ax2, (0.55, -0.45), (0.55, -0.95), "j")

    leaves = 2**n_layers
    _blank(
        ax3,
        f"{n_layers} stacked layers: a tree with {leaves} input copies",
        (-0.5, leaves - 0.5),
        (-0.9, n_layers + 1.5),
    )
    xs = [float(i) for i in range(leaves)]
    for x in xs:
        _node(ax3, (x, 0), "x", "#eeeeee", 0.22)
    for level in range(1, n_layers + 1):
        parents = [(xs[2 * i] + xs[2 * i + 1]) / 2 for i in range(len(xs) // 2)]
        for i, p in enumerate(parents):
            for child in (xs[2 * i], xs[2 * i + 1]):
                _leg(ax3, (child, level - 1), (p, level))
            _node(ax3, (p, level), f"B{level}", "#dbe9f6", 0.25)
        xs = parents
    _leg(ax3, (xs[0], n_layers), (xs[0], n_layers + 0.8))
    _node(ax3, (xs[0], n_layers + 0.8), "H", "#f6e0c8", 0.25)
    ax3.text(xs[0] + 0.35, n_layers + 1.15, "logits", fontsize=9, color="#444")
    ax3.text(
        -0.4, -0.75, "with biases and residuals each leaf is x̃ = [1, x] (section 4)", fontsize=8
    )
    return fig


def wire_diagram(n_layers: int = 3, width: int | None = None) -> Figure:
    """The names used everywhere in the course: maps in boxes (embedding, layer 1 …
    layer L, head), the wires between them as arrows ``w0 … wL``. Layer ``l`` reads wire
    ``w(l-1)`` and writes ``wl``; direction k of wire l is ``wl.dk``."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    boxes = ["embedding"] + [f"layer {i}" for i in range(1, n_layers + 1)] + ["head"]
    fig = Figure(figsize=(1.55 * len(boxes) + 1.2, 1.7), layout="constrained")
    ax = fig.subplots()
    step = 1.6
    xs = [1.0 + step * i for i in range(len(boxes))]
    ax.set_xlim(-0.2, xs[-1] + 1.5)
    ax.set_ylim(-1.0, 0.6)
    ax.axis("off")

    def arrow(x0, x1, label):
        ax.add_patch(
            FancyArrowPatch(
                (x0, 0), (x1, 0), arrowstyle="-|>", mutation_scale=12, color="black", lw=1.2
            )
        )
        ax.text(
            (x0 + x1) / 2, 0.12, label, ha="center", fontsize=10, color="#1f4e79", fontweight="bold"
        )

    for i, (x, name) in enumerate(zip(xs, boxes)):
        color = "#f6e0c8" if name in ("embedding", "head") else "#dbe9f6"
        ax.add_patch(
            FancyBboxPatch(
                (x - 0.5, -0.3),
                1.0,
                0.6,
                boxstyle="round,pad=0.03",
                facecolor=color,
                edgecolor="black",
            )
        )
        ax.text(x, 0, name, ha="center", va="center", fontsize=8)
        if i + 1 < len(xs):
            arrow(x + 0.5, xs[i + 1] - 0.5, f"w{i}")
    arrow(-0.15, xs[0] - 0.5, "x")
    arrow(xs[-1] + 0.5, xs[-1] + 1.4, "logits")
    size = f" (each 1 + {width} wide: the constant, then {width} directions)" if width else ""
    ax.text(xs[0] - 0.6, -0.55, f"wires w0 … w{n_layers}{size}", fontsize=8, color="#444")
    ax.text(
        xs[0] - 0.6,
        -0.85,
        "layer l reads w(l−1) and writes wl; direction k of wire l is "
        "wl.dk; index 0 (const) is the constant",
        fontsize=8,
        color="#444",
    )
    return fig


def learning_curves(metas: dict, title: str) -> Figure:
    """Train loss and test accuracy per epoch for several models (``{name: meta}``, each meta
    as returned by ``train_or_load``, holding its ``history``)."""
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for name, meta in metas.items():
        h = meta["history"]
        ax1.plot(h["epoch"], h["train_loss"], marker=".", label=name)
        ax2.plot(h["epoch"], [100 * a for a in h["test_accuracy"]], marker=".", label=name)
    ax1.set(xlabel="epoch", ylabel="train loss (noisy inputs)", yscale="log")
    ax2.set(xlabel="epoch", ylabel="test accuracy (%)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def class_spectra(ce, title: str, labels=None) -> Figure:
    """Per class, the share of spectral energy of each of its top eigenvectors (log scale):
    how concentrated each class's quadratic form on the input is. ``ce`` is a
    ``ClassEigenvectors``; a second one (e.g. the RMS variant) can be given as a dict
    ``{label: ce}`` instead, drawn side by side with a shared axis."""
    sets = ce if isinstance(ce, dict) else {"": ce}
    fig = Figure(figsize=(4.2 * len(sets), 3.0), layout="constrained")
    axes = fig.subplots(1, len(sets), sharey=True, squeeze=False)[0]
    for ax, (label, c) in zip(axes, sets.items()):
        share = c.share.detach().cpu().double()
        for k in range(share.shape[0]):
            ax.semilogy(
                range(1, share.shape[1] + 1),
                share[k].clamp_min(1e-12).numpy(),
                marker=".",
                lw=1,
                label=f"class {k}",
            )
        ax.set(xlabel="eigenvector (sorted, 1 = top)", title=label or None)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # eigenvector numbers are integers
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of the class's energy")
    axes[-1].legend(fontsize=7, ncol=2)
    fig.suptitle(title, fontsize=10)
    return fig
