"""Notebook 05's figures: each a ``matplotlib.figure.Figure`` (never registered with pyplot,
so a notebook shows it only where it is saved or displayed), drawn from the measurements of
``validation.py``.

Labels are sized for a figure shown about 900 px wide; every diverging map has a colour bar.
"""

from __future__ import annotations

from matplotlib.ticker import MaxNLocator

from xnets_lite.analysis.interpret import direction_name
from xnets_lite.analysis.validation import (
    TERMS,
    Ablation,
    Explanation,
    NoiseTradeoff,
    Steering,
    selectivity,
)

__all__ = [
    "DIVERGING",
    "POSITIVE",
    "NEGATIVE",
    "plot_ablation",
    "plot_ablation_vs_k",
    "plot_steering",
    "plot_steering_gallery",
    "plot_explanation",
    "plot_class_truncation",
    "plot_noise_rows",
    "plot_noise_tradeoff",
    "plot_readings",
    "fit_title",
]


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------
DIVERGING = "RdBu_r"  # heat maps of accuracy lost: red = lost, blue = gained (colour bar)
POSITIVE, NEGATIVE = "C0", "C3"  # bars: blue > 0, red < 0, as ``plots.show_image``


def _figure(width: float, height: float, layout: str = "constrained"):
    """A ``Figure`` of that size. ``layout="compressed"`` for grids of square images (heat
    maps): constrained layout with equal-aspect axes keeps moving them pass after pass, and
    after the passes ``plots.png_bytes`` makes it pushes a y label off the figure's edge."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout=layout)


def fit_title(title: str, width: float, fontsize: float = 9) -> str:
    """``title`` broken into lines that fit ``width`` inches at ``fontsize`` points (a
    character is taken as at most 0.6 × the font size wide), at " — " first, then at spaces:
    a long title on a narrow figure is wrapped, not cut off at its edges."""
    import textwrap

    per_line = max(10, int(width * 72 / (0.6 * fontsize)))
    lines = []
    for part in title.split(" — "):
        if lines and len(lines[-1]) + 3 + len(part) <= per_line:
            lines[-1] += " — " + part
        else:
            lines.extend(textwrap.wrap(part, per_line) or [""])
    return "\n".join(lines)


def plot_ablation(results: list[Ablation], k: int = 3, title: str = ""):
    """Side-by-side heat maps (ablated class × true class) of the accuracy lost, in points,
    when each class's top-k directions are removed, one panel per set of directions, on one
    shared colour scale (red = accuracy lost, blue = gained)."""
    cols = min(len(results), 3)  # at most 9.4 inches: shown at full size (legibility.py)
    rows = -(-len(results) // cols)
    fig = _figure(2.8 * cols + 1.0, 3.1 * rows + 0.4, layout="compressed")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(results) :]:
        ax.set_axis_off()
    axes = axes[: len(results)]
    drops = [100 * r.drop[r.index_of(k)].numpy() for r in results]
    vmax = max(max(abs(float(d.min())), abs(float(d.max()))) for d in drops) or 1.0
    for ax, r, d in zip(axes, results, drops):
        im = ax.imshow(d, cmap=DIVERGING, vmin=-vmax, vmax=vmax)
        n = d.shape[0]
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.tick_params(labelsize=8)
        ax.set_xlabel("true class", fontsize=9)
        diag = float(r.diagonal_drop(k).mean()) * 100
        off = float(r.off_diagonal_drop(k).mean()) * 100
        ax.set_title(f"{r.name}:\nown {diag:.1f} · others {off:.1f} pts", fontsize=9)
    for ax in axes[::cols]:
        ax.set_ylabel(f"class ablated (its top {k} removed)", fontsize=9)
    fig.colorbar(im, ax=list(axes), shrink=0.85, label="accuracy lost (points); red = lost")
    if title:
        fig.suptitle(fit_title(title, fig.get_figwidth() - 0.2), fontsize=9)
    return fig


def plot_ablation_vs_k(results: list[Ablation], title: str = ""):
    """Mean accuracy lost by the ablated class (solid) and by the other classes (dashed)
    against the number k of directions removed, one colour per set of directions."""
    fig = _figure(7.2, 3.8)
    ax = fig.subplots()
    for i, r in enumerate(results):
        own = [100 * float(r.diagonal_drop(k).mean()) for k in r.ks]
        others = [100 * float(r.off_diagonal_drop(k).mean()) for k in r.ks]
        ax.plot(r.ks, own, "o-", color=f"C{i}", label=f"{r.name}: ablated class")
        ax.plot(r.ks, others, "s--", color=f"C{i}", label=f"{r.name}: other classes")
    ax.set_xticks(results[0].ks)
    ax.set_xlabel("directions removed (k)")
    ax.set_ylabel("accuracy lost (points)")
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title(fit_title(title, 4.6), fontsize=9)
    return fig


def plot_steering(result: Steering, title: str = ""):
    """Share of other classes' images predicted as c against α: one line per class along
    its top eigenvector (colours), and the random-direction control (grey, dashed)."""
    fig = _figure(5.2, 3.4)
    ax = fig.subplots()
    alphas = result.alphas.numpy()
    for c in range(result.share.shape[0]):
        ax.plot(
            alphas,
            100 * result.share[c].numpy(),
            "-",
            color=f"C{c % 10}",
            lw=1.3,
            label=f"class {c}",
        )
        ax.plot(
            alphas,
            100 * result.random_share[c].numpy(),
            "--",
            color="0.6",
            lw=0.8,
            label="random direction" if c == 0 else None,
        )
    ax.axvline(result.mean_norm, color="k", lw=0.8, ls=":")
    ax.text(result.mean_norm, 50, "mean image norm ", fontsize=7, va="center", ha="right")
    ax.set_xlabel("α (norm of the added direction)")
    ax.set_ylabel("% of other classes' images → c")
    ax.set_ylim(-3, 103)
    ax.legend(fontsize=6, ncol=2, frameon=False, loc="upper left")
    ax.set_title(fit_title(title, 4.4), fontsize=9)  # the axes are about 4.4 of 5.2 in wide
    return fig


def plot_steering_gallery(gallery: dict, title: str = ""):
    """Rows: target classes; columns: α. Each image in gray on its own scale (darkest to
    brightest), titled with the model's prediction."""
    images, preds = gallery["images"], gallery["predicted"]
    rows, cols = images.shape[:2]
    fig = _figure(1.25 * cols + 0.4, 1.35 * rows + 0.3)
    axes = fig.subplots(rows, cols, squeeze=False)
    for r in range(rows):
        c = gallery["classes"][r]
        for j in range(cols):
            ax = axes[r, j]
            ax.imshow(images[r, j].numpy(), cmap="gray", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            hit = int(preds[r, j]) == c
            ax.set_title(
                f"α={gallery['alphas'][j]:.1f} → {int(preds[r, j])}",
                fontsize=8,
                color="C3" if hit else "k",
            )
        axes[r, 0].set_ylabel(f"towards {c}", fontsize=8)
    fig.suptitle(
        (title + "\n" if title else "") + "red title: predicted as the target class "
        "(each image on its own gray scale)",
        fontsize=8,
    )
    return fig


def plot_explanation(expl: Explanation, top: int = TERMS, title: str = ""):
    """One image explained: the input; the largest terms of the predicted and the runner-up
    logit (bars, coordinate j of the top wire; blue = positive contribution, red =
    negative); the values of every wire's leading coordinates; the first-wire features the
    trace reaches."""
    fig = _figure(11, 5.6)
    top_row, bottom = fig.subfigures(2, 1, height_ratios=[1.25, 1])
    ax_img, ax_terms, ax_wires = top_row.subplots(1, 3, width_ratios=[0.8, 1.6, 1.6])
    _draw_input(ax_img, expl)
    _draw_top_terms(ax_terms, expl, top)
    _draw_wire_values(ax_wires, expl)
    for ax in (ax_terms, ax_wires):
        ax.tick_params(labelsize=8)
    _draw_reached_features(bottom, expl)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def _draw_input(ax, expl: Explanation) -> None:
    """``plot_explanation``'s input image, titled with its label and the two top classes."""
    ax.imshow(expl.image.numpy(), cmap="gray", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(
        f"label {expl.label} → predicted {expl.predicted}\n(runner-up {expl.runner_up})", fontsize=8
    )


def _draw_top_terms(ax, expl: Explanation, top: int) -> None:
    """Bars of the largest terms of the predicted (solid) and runner-up (faded) logits."""
    n_wires = len(expl.wires)
    for offset, c in ((-0.2, expl.predicted), (0.2, expl.runner_up)):
        terms = expl.top_terms(c, top)
        ys = [i + offset for i in range(len(terms))]
        vals = [v for _, v in terms]
        ax.barh(
            ys,
            vals,
            height=0.38,
            color=[POSITIVE if v > 0 else NEGATIVE for v in vals],
            alpha=1.0 if c == expl.predicted else 0.45,
        )
        for yy, (j, v) in zip(ys, terms):
            ax.text(
                v,
                yy,
                f" {direction_name(n_wires - 1, j)} (class {c}) ",
                fontsize=8,
                va="center",
                ha="left" if v >= 0 else "right",
            )
    ax.axvline(0, color="k", lw=0.6)
    ax.invert_yaxis()
    ax.set_yticks([])
    ax.set_xlabel("contribution to the logit", fontsize=8)
    first, second = expl.predicted, expl.runner_up
    ax.set_title(
        f"largest terms: logit {first} = {float(expl.logits[first]):.2f} (solid), "
        f"logit {second} = {float(expl.logits[second]):.2f} (faded); "
        f"blue > 0, red < 0",
        fontsize=8,
    )


def _draw_wire_values(ax, expl: Explanation) -> None:
    """|coordinate| of each wire's 20 leading directions (the constant left out)."""
    for wire, values in enumerate(expl.wires):
        v = values[1:21].abs().numpy()
        ax.plot(range(1, len(v) + 1), v, "o-", ms=3, lw=0.8, label=f"wire w{wire}")
    ax.set_xlabel("direction k of wire wl (ODT order; constant left out)", fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("|coordinate|", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("which directions fire", fontsize=8)


def _draw_reached_features(subfig, expl: Explanation) -> None:
    """A row of the first-wire features the trace reaches, with their values for the image."""
    from xnets_lite.viz.plots import show_image, sign_colorbar

    n_feat = len(expl.features)
    axes = subfig.subplots(1, max(n_feat, 1), squeeze=False)[0]
    for ax, d, image in zip(axes, expl.features, expl.feature_images):
        show_image(ax, image, f"{direction_name(0, d)} = {float(expl.wires[0][d]):+.2f}")
    if n_feat:
        sign_colorbar(subfig, axes, label="own max |value|")
    else:
        axes[0].set_axis_off()
    subfig.suptitle(
        "first-wire features the trace reaches (value = its coordinate for this image)", fontsize=8
    )


def plot_class_truncation(result: dict, title: str = ""):
    """Accuracy per class against the rank kept per wire (log scale), one line per class,
    with each class's full-network accuracy as a tick at the right."""
    ranks = [r if isinstance(r, int) else max(r) for r in result["ranks"]]
    fig = _figure(5.4, 3.4)
    ax = fig.subplots()
    for c in range(result["accuracy"].shape[1]):
        ax.plot(
            ranks,
            100 * result["accuracy"][:, c].numpy(),
            "o-",
            ms=3,
            lw=1.1,
            color=f"C{c % 10}",
            label=f"class {c}",
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(ranks, [str(r) for r in ranks])
    ax.minorticks_off()
    ax.set_xlabel("directions kept per wire (besides the constant)")
    ax.set_ylabel("accuracy on the class (%)")
    ax.legend(fontsize=6, ncol=2, frameon=False)
    ax.set_title(fit_title(title, 4.6), fontsize=9)
    return fig


def plot_noise_rows(tradeoff: NoiseTradeoff, title: str = ""):
    """One row per noise setting: every class's top eigenvector, titled with its share."""
    from xnets_lite.viz.plots import image_grid

    rows = []
    for std, row in zip(sorted(tradeoff.eigenvectors), tradeoff.rows):
        ce = tradeoff.eigenvectors[std]
        titles = [f"{c}: {float(ce.share[c, 0]):.0%}" for c in range(ce.images.shape[0])]
        rows.append((f"noise {std:g}\n{row['accuracy']:.1%}", ce.images[:, 0], titles))
    return image_grid(
        rows,
        (title + "\n" if title else "") + "top eigenvector per class and its share of "
        "the class's energy; row label: training noise std, test accuracy",
        side=min(1.25, 8.4 / len(titles)),
    )


def plot_noise_tradeoff(tradeoff: NoiseTradeoff, title: str = ""):
    """Against the training noise std: test accuracy; the top eigenvector's share (min and
    mean over classes); the accuracy lost by a class when its top-k eigenvectors go."""
    rows = tradeoff.rows
    std = [r["std"] for r in rows]
    fig = _figure(10.5, 3.4)
    a1, a2, a3 = fig.subplots(1, 3)
    a1.plot(std, [100 * r["accuracy"] for r in rows], "o-")
    a1.set_ylabel("test accuracy (%)")
    a2.plot(std, [100 * r["top_share_mean"] for r in rows], "o-", label="mean over classes")
    a2.plot(std, [100 * r["top_share_min"] for r in rows], "s--", label="lowest class")
    a2.set_ylabel("top eigenvector's share (%)")
    a2.legend(fontsize=7, frameon=False)
    a3.plot(std, [100 * r["ablation_diagonal"] for r in rows], "o-", label="ablated class")
    a3.plot(std, [100 * r["ablation_off_diagonal"] for r in rows], "s--", label="other classes")
    a3.set_ylabel(f"accuracy lost (pts),\ntop-{tradeoff.k} removed")
    a3.legend(fontsize=7, frameon=False)
    for ax in (a1, a2, a3):
        ax.set_xlabel("training input-noise std")
        ax.tick_params(labelsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_readings(ablations: list[Ablation], title: str = ""):
    """Grouped bars, one group per k: the ``selectivity`` (accuracy lost by the ablated class
    minus that lost by the others, in points) of every set of directions, the reading under
    test first. The legend sits below the axes, never over a bar."""

    ks = ablations[0].ks
    fig = _figure(7.5, 3.6)
    ax = fig.subplots()
    width = 0.8 / len(ablations)
    for i, ab in enumerate(ablations):
        xs = [j + (i - (len(ablations) - 1) / 2) * width for j in range(len(ks))]
        ax.bar(xs, [100 * selectivity(ab, k) for k in ks], width, color=f"C{i}", label=ab.name)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(range(len(ks)), [f"k = {k}" for k in ks])
    ax.set_ylabel("own − others (points)")
    ax.set_title(
        (title + "\n" if title else "") + "selectivity of removing each class's "
        "top-k directions (mean over classes)",
        fontsize=9,
    )
    fig.legend(loc="outside lower center", fontsize=8, frameon=False, ncol=min(4, len(ablations)))
    return fig
