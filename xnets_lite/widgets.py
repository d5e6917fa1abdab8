"""The notebooks' interactive panels: plain callbacks plus the ipywidgets that call them.

Every panel is a small class holding its widgets and a ``update()`` method that reads the
widgets' values and calls a plain function (``rank_summary``, ``eigenvector_view``,
``trace_lines``). Setting a slider's ``value`` from Python fires ``update`` synchronously, so
the tests drive the panels exactly as a reader would, without a browser.

* ``RankPanel`` (notebook 02): one rank slider per wire → test accuracy, agreement with the
  full model, parameters kept, and the spectra with the cut-off marked.
* ``EigenvectorPanel`` (notebook 03): class and eigenvector-number sliders.
* ``TracePanel`` (notebook 04): a class picker for the traced path through the tree.

Every panel's ``display()`` first shows a static snapshot of its initial state (an image and
its text), then the live widget: a reader without a kernel (a code host, a reopened notebook
whose widgets are gone) still sees what the panel shows.

Names, the same in every notebook and figure: wire ``w0`` is the embedding's output, layer
``l`` (1-based) reads wire ``w(l-1)`` and writes ``wl``, and the head reads the last wire.
Direction ``k`` of wire ``l`` is ``wl.dk``; ``const`` is the constant coordinate (index 0).
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
def direction_name(wire: int, k: int) -> str:
    """``"const"`` for index 0, else ``"w{wire}.d{k}"``: direction k of wire ``wire``."""
    return "const" if k == 0 else f"w{wire}.d{k}"


#: Rank choices offered by the sliders: every small rank, then roughly log-spaced, so the
#: range where accuracy changes (1–16) takes most of the slider's track.
RANK_STEPS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 32, 48, 64, 96, 128, 192, 256,
              384, 512, 768, 1024)


def rank_choices(n: int) -> list[int]:
    """The slider's ranks for a wire of ``n`` coordinates (the constant + ``n - 1``)."""
    return sorted({k for k in RANK_STEPS if k < n - 1} | {n - 1})


@torch.no_grad()
def rank_summary(dec: Decomposition, data, ranks, full_predictions=None,
                 parameters_base: int | None = None) -> dict:
    """Truncate ``dec`` to ``ranks`` (one per wire) and measure it on ``data``.

    Returns ``ranks``, ``accuracy`` (test accuracy in [0, 1]), ``agreement`` (share of
    predictions equal to the full network's), ``parameters`` (of the compressed module),
    ``parameters_base`` (what "kept" is measured against: the trained model's parameters
    when given, which every notebook uses, else the full-rank compressed module's) and
    ``energy`` (per wire, the share of spectral energy kept).
    """
    ranks = check_ranks(dec.widths, ranks)
    row = measure_truncation(dec, data, ranks, full_predictions)
    energy = []
    for imp, k in zip(dec.importance, ranks):  # diag of the downstream Gram, constant first
        total = float(imp.sum())
        energy.append(float(imp[:k + 1].sum()) / total if total > 0 else 1.0)
    if parameters_base is None:
        parameters_base = to_module(dec.network).num_parameters()
    return dict(ranks=ranks, accuracy=row["accuracy"], agreement=row["agreement"],
                parameters=row["parameters"], parameters_base=int(parameters_base),
                energy=energy)


def summary_text(summary: dict) -> str:
    """One line for the panel, e.g. ``test accuracy 95.4% · agreement 98.7% · …``."""
    return (f"test accuracy {summary['accuracy']:.1%} · agreement with full model "
            f"{summary['agreement']:.1%} · compressed module: {summary['parameters']:,} "
            f"parameters = {summary['parameters'] / summary['parameters_base']:.1%} of the "
            f"trained model's {summary['parameters_base']:,}")


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
        ax.set_title(f"wire w{wire}", fontsize=9)
        ax.set_xlabel("direction", fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("eigenvalue / largest", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def eigenvector_view(ce, c: int, n: int) -> tuple[torch.Tensor, str]:
    """Class ``c``'s ``n``-th eigenvector, counted from 1 (1 = the top one, as the slider
    and the caption count), as an (H, W) image and a caption."""
    n_classes, k = ce.values.shape
    if not 0 <= c < n_classes or not 1 <= n <= k:
        raise ValueError(f"class must be in [0, {n_classes}) and the eigenvector number in "
                         f"[1, {k}]; got class {c}, eigenvector {n}")
    caption = (f"class {c}, eigenvector {n} of {k}: eigenvalue {float(ce.values[c, n - 1]):.3g}, "
               f"{float(ce.share[c, n - 1]):.1%} of the class's spectral energy")
    return ce.images[c, n - 1], caption


def eigenvector_figure(image: torch.Tensor):
    """The image alone (the caption is the panel's text, not repeated in the figure), with
    a colour bar: blue is positive, red negative."""
    from matplotlib.figure import Figure

    from .plots import show_image, sign_colorbar
    fig = Figure(figsize=(3.0, 3.3), layout="constrained")
    ax = fig.subplots()
    show_image(ax, image)
    sign_colorbar(fig, [ax])
    return fig


def trace_lines(tree, c: int, top: int = 3) -> list[str]:
    """Class ``c``'s path through the tree as readable lines, top layer first, with the
    names of ``direction_name`` (``w2.d3``; layers counted from 1)."""
    from .interpret import trace_class

    lines = []
    for step in trace_class(tree, c, top=top):
        wire = step["layer"]  # 0-based layer j reads wire j and writes wire j + 1
        out = (step["output"] if isinstance(step["output"], str)
               else direction_name(wire + 1, step["output"]))
        pairs = ", ".join(f"{direction_name(wire, i)}·{direction_name(wire, j)} ({w:+.2f})"
                          for i, j, w in step["pairs"])
        lines.append(f"layer {wire + 1}: {out} ← {pairs}")
    return lines


def traced_directions(tree, c: int, top: int = 3) -> dict[int, set[int]]:
    """``{wire: directions}`` that ``trace_lines(tree, c, top)`` names (constant left out):
    the figure of the tree must draw all of them."""
    from .interpret import trace_class

    named: dict[int, set[int]] = {}
    for step in trace_class(tree, c, top=top):
        wire = step["layer"]
        if not isinstance(step["output"], str):
            named.setdefault(wire + 1, set()).add(step["output"])
        named.setdefault(wire, set()).update(k for i, j, _ in step["pairs"] for k in (i, j) if k)
    return named


# ---------------------------------------------------------------------------------------
# Panels
# ---------------------------------------------------------------------------------------
def _show(output, fig) -> None:
    """Replace what ``output`` (an ``ipywidgets.Output``) shows with ``fig``."""
    from IPython.display import display
    output.clear_output(wait=True)
    with output:
        display(fig)


def _png(fig) -> bytes:
    import io
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    return buffer.getvalue()


class _Panel:
    """What every panel shares: ``widget`` (the ``VBox`` to show), ``snapshot()`` and
    ``display()``."""

    RERUN = ("Static snapshot of the panel at its initial setting. Run this cell to get the "
             "live panel (if it says “Error displaying widget: model not found”, the notebook "
             "was reopened without its kernel: run the cell again).")

    def snapshot(self) -> tuple[str, bytes | None]:
        """The panel's current text (HTML) and figure (PNG bytes, or None)."""
        raise NotImplementedError

    def display(self) -> None:
        """Show a static snapshot (readable without a kernel), then the live widget."""
        from IPython.display import HTML, Image, display
        text, png = self.snapshot()
        display(HTML(f'<div class="xnets-snapshot"><p style="color:#555;font-size:85%">'
                     f"{html.escape(self.RERUN)}</p>{text}</div>"))
        if png is not None:
            display(Image(data=png, format="png"))
        display(self.widget)


class RankPanel(_Panel):
    """Rank sliders per wire → accuracy, agreement, parameters kept, spectra with cut-offs.

    The sliders offer ``rank_choices`` (every rank up to 8, then roughly log-spaced) on a
    wide track, so the ranks that matter are easy to reach with a mouse or the arrow keys.
    ``parameters_base``: the trained model's parameter count, the base of "kept".

    Attributes: ``sliders`` (one ``SelectionSlider`` per wire), ``summary`` (an ``HTML``
    widget with CSS class ``xnets-rank-summary``), ``plot`` (an ``Output``), ``last`` (the
    last ``rank_summary``), ``widget`` (the ``VBox`` to display).
    """

    def __init__(self, dec: Decomposition, data, ranks=None, title: str = "",
                 plot: bool = True, parameters_base: int | None = None):
        import ipywidgets as w

        self.dec, self.data, self.title, self.draw = dec, data, title, plot
        self.parameters_base = parameters_base
        self.full = predictions(dec.network, data)
        ranks = check_ranks(dec.widths, ranks if ranks is not None else
                            [min(16, n - 1) for n in dec.widths])
        self.sliders = []
        for i, (k, n) in enumerate(zip(ranks, dec.widths)):
            options = sorted(set(rank_choices(n)) | {k})
            self.sliders.append(w.SelectionSlider(
                options=options, value=k, description=f"wire w{i}", continuous_update=False,
                layout=w.Layout(width="520px"), style={"description_width": "60px"}))
        self.summary = w.HTML()
        self.summary.add_class("xnets-rank-summary")
        self.plot = w.Output()
        for s in self.sliders:
            s.observe(lambda change: self.update(), names="value")
        self.widget = w.VBox([w.HTML(f"<b>Directions kept per wire</b> — {html.escape(title)}"),
                              *self.sliders, self.summary, self.plot])
        self.update()

    @property
    def ranks(self) -> list[int]:
        return [s.value for s in self.sliders]

    def update(self) -> dict:
        self.last = rank_summary(self.dec, self.data, self.ranks, self.full, self.parameters_base)
        self.summary.value = html.escape(summary_text(self.last))
        if self.draw:
            _show(self.plot, self.figure())
        return self.last

    def figure(self):
        return spectra_figure(self.dec, self.ranks, self.title)

    def snapshot(self):
        ranks = ", ".join(f"w{i}: {k}" for i, k in enumerate(self.ranks))
        return (f"<p>ranks {html.escape(ranks)} — {self.summary.value}</p>",
                _png(self.figure()) if self.draw else None)


class EigenvectorPanel(_Panel):
    """Class and eigenvector-number sliders over a ``ClassEigenvectors`` (notebook 03).
    Eigenvectors are counted from 1 (the top one) on the slider and in the caption."""

    def __init__(self, ce, title: str = ""):
        import ipywidgets as w

        n_classes, k = ce.values.shape
        self.ce, self.title = ce, title
        self.klass = w.IntSlider(value=0, min=0, max=n_classes - 1, description="class")
        self.index = w.IntSlider(value=1, min=1, max=k, description="eigenvector")
        self.caption = w.HTML()
        self.caption.add_class("xnets-eigen-caption")
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
        _show(self.plot, eigenvector_figure(image))
        return caption

    def snapshot(self):
        return f"<p>{self.caption.value}</p>", _png(eigenvector_figure(self.image))


class TracePanel(_Panel):
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

    def snapshot(self):
        return f"<p>class {self.picker.value}:</p>{self.text.value}", None
