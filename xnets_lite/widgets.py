"""The notebooks' interactive panels: plain callbacks plus the ipywidgets that call them.

Every panel is a small class holding its widgets and a ``update()`` method that reads the
widgets' values and calls a plain function (``rank_summary``, ``eigenvector_view``,
``trace_lines``). Setting a slider's ``value`` from Python fires ``update`` synchronously, so
the tests drive the panels exactly as a reader would, without a browser.

* ``RankPanel`` (notebook 02): one rank slider per wire → test accuracy, agreement with the
  full model, parameters kept, and the spectra with the cut-off marked.
* ``EigenvectorPanel`` (notebook 03): class and eigenvector-index sliders.
* ``TracePanel`` (notebook 04): a class picker for the traced path through the tree.
"""
from __future__ import annotations

import html

import torch

from .compress import to_module
from .interpret import measure_truncation, predictions
from .odt import Decomposition, check_ranks


# ---------------------------------------------------------------------------------------
# Plain callbacks
# ---------------------------------------------------------------------------------------
@torch.no_grad()
def rank_summary(dec: Decomposition, data, ranks, full_predictions=None) -> dict:
    """Truncate ``dec`` to ``ranks`` (one per wire) and measure it on ``data``.

    Returns ``ranks``, ``accuracy`` (test accuracy in [0, 1]), ``agreement`` (share of
    predictions equal to the full network's), ``parameters`` (of the compressed module),
    ``parameters_full`` and ``energy`` (per wire, the share of spectral energy kept).
    """
    ranks = check_ranks(dec.widths, ranks)
    row = measure_truncation(dec, data, ranks, full_predictions)
    energy = []
    for imp, k in zip(dec.importance, ranks):  # diag of the downstream Gram, constant first
        total = float(imp.sum())
        energy.append(float(imp[:k + 1].sum()) / total if total > 0 else 1.0)
    return dict(ranks=ranks, accuracy=row["accuracy"], agreement=row["agreement"],
                parameters=row["parameters"],
                parameters_full=to_module(dec.network).num_parameters(), energy=energy)


def summary_text(summary: dict) -> str:
    """One line for the panel, e.g. ``test accuracy 95.4% · agreement 98.7% · …``."""
    return (f"test accuracy {summary['accuracy']:.1%} · agreement with full model "
            f"{summary['agreement']:.1%} · parameters kept {summary['parameters']:,} of "
            f"{summary['parameters_full']:,} ({summary['parameters'] / summary['parameters_full']:.0%})")


def spectra_figure(dec: Decomposition, ranks, title: str = ""):
    """Global spectrum of every wire (eigenvalue vs index, log scale) with the cut-off of
    ``ranks`` marked by a vertical line. A plain ``matplotlib.figure.Figure``."""
    from matplotlib.figure import Figure

    ranks = check_ranks(dec.widths, ranks)
    n = len(dec.spectra)
    fig = Figure(figsize=(2.6 * n, 2.4), layout="constrained")
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
    for wire, (ax, spectrum, k) in enumerate(zip(axes, dec.spectra, ranks)):
        s = spectrum.detach().cpu().double()
        s = s / s[0] if s[0] > 0 else s
        ax.semilogy(range(1, len(s) + 1), s.clamp_min(1e-16).numpy(), ".", ms=3, color="C0")
        ax.axvline(k + 0.5, color="C3", lw=1.2, label=f"keep {k}")
        ax.set_title(f"wire {wire}", fontsize=9)
        ax.set_xlabel("direction", fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("eigenvalue / largest", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def eigenvector_view(ce, c: int, i: int) -> tuple[torch.Tensor, str]:
    """Class ``c``'s ``i``-th eigenvector (0 = top) as an (H, W) image and a caption."""
    n_classes, k = ce.values.shape
    if not 0 <= c < n_classes or not 0 <= i < k:
        raise ValueError(f"class must be in [0, {n_classes}) and index in [0, {k}); got {c}, {i}")
    caption = (f"class {c}, eigenvector {i + 1}: eigenvalue {float(ce.values[c, i]):.3g}, "
               f"{float(ce.share[c, i]):.1%} of the class's spectral energy")
    return ce.images[c, i], caption


def eigenvector_figure(image: torch.Tensor, caption: str):
    from matplotlib.figure import Figure

    from .plots import show_image
    fig = Figure(figsize=(3.2, 3.4), layout="constrained")
    ax = fig.subplots()
    show_image(ax, image)
    ax.set_title(caption, fontsize=7, wrap=True)
    return fig


def trace_lines(tree, c: int, top: int = 3) -> list[str]:
    """Class ``c``'s path through the tree as readable lines, top layer first."""
    from .interpret import trace_class

    def name(i):
        return "const" if i == 0 else f"d{i}"

    lines = []
    for step in trace_class(tree, c, top=top):
        out = step["output"] if isinstance(step["output"], str) else f"direction d{step['output']}"
        pairs = ", ".join(f"{name(i)}·{name(j)} ({w:+.2f})" for i, j, w in step["pairs"])
        lines.append(f"layer {step['layer']}: {out} ← {pairs}")
    return lines


# ---------------------------------------------------------------------------------------
# Panels
# ---------------------------------------------------------------------------------------
def _show(output, fig) -> None:
    """Replace what ``output`` (an ``ipywidgets.Output``) shows with ``fig``."""
    from IPython.display import display
    output.clear_output(wait=True)
    with output:
        display(fig)


class RankPanel:
    """Rank sliders per wire → accuracy, agreement, parameters kept, spectra with cut-offs.

    Attributes: ``sliders`` (one ``IntSlider`` per wire), ``summary`` (an ``HTML`` widget
    with CSS class ``xnets-rank-summary``), ``plot`` (an ``Output``), ``last`` (the last
    ``rank_summary``), ``widget`` (the ``VBox`` to display).
    """

    def __init__(self, dec: Decomposition, data, ranks=None, title: str = "",
                 plot: bool = True):
        import ipywidgets as w

        self.dec, self.data, self.title, self.draw = dec, data, title, plot
        self.full = predictions(dec.network, data)
        ranks = check_ranks(dec.widths, ranks if ranks is not None else
                            [min(16, n - 1) for n in dec.widths])
        self.sliders = [w.IntSlider(value=k, min=0, max=n - 1, description=f"wire {i}",
                                    continuous_update=False)
                        for i, (k, n) in enumerate(zip(ranks, dec.widths))]
        self.summary = w.HTML()
        self.summary.add_class("xnets-rank-summary")
        self.plot = w.Output()
        for s in self.sliders:
            s.observe(lambda change: self.update(), names="value")
        self.widget = w.VBox([w.HTML(f"<b>Ranks kept per wire</b> — {html.escape(title)}"),
                              w.HBox(self.sliders[:2]), w.HBox(self.sliders[2:]),
                              self.summary, self.plot])
        self.update()

    @property
    def ranks(self) -> list[int]:
        return [s.value for s in self.sliders]

    def update(self) -> dict:
        self.last = rank_summary(self.dec, self.data, self.ranks, self.full)
        self.summary.value = html.escape(summary_text(self.last))
        if self.draw:
            _show(self.plot, spectra_figure(self.dec, self.ranks, self.title))
        return self.last


class EigenvectorPanel:
    """Class and eigenvector-index sliders over a ``ClassEigenvectors`` (notebook 03)."""

    def __init__(self, ce, title: str = ""):
        import ipywidgets as w

        n_classes, k = ce.values.shape
        self.ce, self.title = ce, title
        self.klass = w.IntSlider(value=0, min=0, max=n_classes - 1, description="class")
        self.index = w.IntSlider(value=0, min=0, max=k - 1, description="eigenvector")
        self.caption = w.HTML()
        self.plot = w.Output()
        for s in (self.klass, self.index):
            s.observe(lambda change: self.update(), names="value")
        self.widget = w.VBox([w.HTML(f"<b>{html.escape(title)}</b>"),
                              w.HBox([self.klass, self.index]), self.caption, self.plot])
        self.update()

    def update(self) -> str:
        image, caption = eigenvector_view(self.ce, self.klass.value, self.index.value)
        self.caption.value = html.escape(caption)
        self.image = image
        _show(self.plot, eigenvector_figure(image, caption))
        return caption


class TracePanel:
    """A class picker that prints the class's path through the compositional tree (04)."""

    def __init__(self, tree, top: int = 3, title: str = ""):
        import ipywidgets as w

        n_classes = tree.class_matrices.shape[0]
        self.tree, self.top = tree, top
        self.picker = w.ToggleButtons(options=list(range(n_classes)), value=0,
                                      description="class", style={"button_width": "2.5em"})
        self.text = w.HTML()
        self.picker.observe(lambda change: self.update(), names="value")
        self.widget = w.VBox([w.HTML(f"<b>{html.escape(title)}</b>"), self.picker, self.text])
        self.update()

    def update(self) -> list[str]:
        self.lines = trace_lines(self.tree, self.picker.value, self.top)
        self.text.value = "<pre>" + html.escape("\n".join(self.lines)) + "</pre>"
        return self.lines

