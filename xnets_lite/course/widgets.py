"""The notebooks' interactive panels: plain callbacks plus the ipywidgets that call them.

Every panel is a small class holding its widgets and a ``update()`` method that reads the
widgets' values and calls a plain function (``rank_summary``, ``eigenvector_view``,
``trace_lines``). Setting a slider's ``value`` from Python fires ``update`` synchronously, so
the tests drive the panels exactly as a reader would, without a browser.

* ``RankPanel`` (notebook 02): one rank slider per wire → test accuracy, agreement with the
  full model, parameters kept, and what the truncation cuts (``rank_figure``).
* ``EigenvectorPanel`` (notebook 03): a class picker and an eigenvector-number slider.
* ``TracePanel`` (notebook 04): a class picker for the traced path through the tree.
* ``snapped_slider``: a slider over allowed values with a number box that snaps typed ones,
  saying so in a note; ``class_picker`` (the class control of every panel), ``slider_with_box``.

Every panel is a ``Panel`` (the base class to subclass; its docstring says how). Its
``display()`` publishes the static snapshot (its text and figure) and then the live widget,
as two outputs of which JupyterLab shows one: the live widget where a kernel draws it, the
snapshot elsewhere (a code host, nbconvert, the committed notebook, and a notebook saved after
a run and reopened). Figures are shown as PNGs made here (``plots.png_bytes``), whatever the
kernel's matplotlib backend.

Names, the same in every notebook and figure: wire ``w0`` is the embedding's output, layer
``l`` (1-based) reads wire ``w(l-1)`` and writes ``wl``, and the head reads the last wire.
Direction ``k`` of wire ``l`` is ``wl.dk``; ``const`` is the constant coordinate (index 0).
"""

from __future__ import annotations

import html

import torch

from xnets_lite.analysis.interpret import direction_name, measure_truncation
from xnets_lite.core.compress import to_module
from xnets_lite.core.evaluation import predict
from xnets_lite.core.odt import Decomposition, check_ranks
from xnets_lite.viz.panel_figures import image_figure, trace_figure

#: Rank choices offered by the sliders: every small rank, then roughly log-spaced, so the
#: range where accuracy changes (1–16) takes most of the slider's track.
RANK_STEPS = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    10,
    12,
    14,
    16,
    20,
    24,
    32,
    48,
    64,
    96,
    128,
    192,
    256,
    384,
    512,
    768,
    1024,
)


def rank_choices(n: int) -> list[int]:
    """The slider's ranks for a wire of ``n`` coordinates (the constant + ``n - 1``)."""
    return sorted({k for k in RANK_STEPS if k < n - 1} | {n - 1})


@torch.no_grad()
def rank_summary(
    dec: Decomposition, data, ranks, full_predictions=None, parameters_base: int | None = None
) -> dict:
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
        energy.append(float(imp[: k + 1].sum()) / total if total > 0 else 1.0)
    if parameters_base is None:
        parameters_base = to_module(dec.network).num_parameters()
    return dict(
        ranks=ranks,
        accuracy=row["accuracy"],
        agreement=row["agreement"],
        parameters=row["parameters"],
        parameters_base=int(parameters_base),
        energy=energy,
    )


def summary_text(summary: dict) -> str:
    """One line for the panel, e.g. ``test accuracy 95.4% · agreement 98.7% · …``."""
    return (
        f"test accuracy {summary['accuracy']:.1%} · agreement with full model "
        f"{summary['agreement']:.1%} · compressed module: {summary['parameters']:,} "
        f"parameters = {summary['parameters'] / summary['parameters_base']:.1%} of the "
        f"trained model's {summary['parameters_base']:,}"
    )


def spectra_figure(dec: Decomposition, ranks, title: str = ""):
    """The panel's figure: what truncation cuts (``rank_figure.plot_kept_energies``: the
    energy of each coordinate of the kept basis, kept ones in colour, cut ones grey), not
    the eigenvalue spectrum of section 3, which truncation does not cut exactly."""
    from xnets_lite.viz.rank_figure import plot_kept_energies

    return plot_kept_energies(dec, ranks, title)


def snap_rank(options, value: int) -> int:
    """The allowed rank nearest to ``value`` (the smaller one on a tie): what a rank typed
    into a panel's number box becomes, since the slider offers only ``rank_choices``."""
    options = sorted(options)
    return min(options, key=lambda k: (abs(k - int(value)), k))


def eigenvector_view(ce, c: int, n: int) -> tuple[torch.Tensor, str]:
    """Class ``c``'s ``n``-th eigenvector, counted from 1 (1 = the top one, as the slider
    and the caption count), as an (H, W) image and a caption. The caption says that only
    the top ``k`` of the ``d`` eigenvectors were computed (``class_eigenvectors(k=...)``)."""
    n_classes, k = ce.values.shape
    if not 0 <= c < n_classes or not 1 <= n <= k:
        raise ValueError(
            f"class must be in [0, {n_classes}) and the eigenvector number in "
            f"[1, {k}]; got class {c}, eigenvector {n}"
        )
    d = ce.vectors.shape[-1]
    caption = (
        f"class {c}, eigenvector {n} of the top {k} computed (of {d:,} pixel "
        f"directions): eigenvalue {float(ce.values[c, n - 1]):.3g}, "
        f"{float(ce.share[c, n - 1]):.1%} of the class's spectral energy"
    )
    return ce.images[c, n - 1], caption


def trace_lines(tree, c: int, top: int = 3) -> list[str]:
    """Class ``c``'s path through the tree as readable lines, top layer first, with the
    names of ``direction_name`` (``w2.d3``; layers counted from 1)."""
    from xnets_lite.analysis.interpret import trace_class

    lines = []
    for step in trace_class(tree, c, top=top):
        wire = step["layer"]  # 0-based layer j reads wire j and writes wire j + 1
        out = (
            step["output"]
            if isinstance(step["output"], str)
            else direction_name(wire + 1, step["output"])
        )
        pairs = ", ".join(
            f"{direction_name(wire, i)}·{direction_name(wire, j)} ({w:+.2f})"
            for i, j, w in step["pairs"]
        )
        lines.append(f"layer {wire + 1}: {out} ← {pairs}")
    return lines


# ---------------------------------------------------------------------------------------
# Panels
# ---------------------------------------------------------------------------------------
def show_figure(output, fig) -> None:
    """Replace what ``output`` (an ``ipywidgets.Output``) shows with ``fig``, as a PNG
    (``plots.png_bytes``): the image appears whatever matplotlib backend the kernel has
    loaded (a bare ``Figure`` shows as ``<Figure size …>`` text without pyplot's inline
    backend)."""
    from IPython.display import Image, display

    from xnets_lite.viz.plots import png_bytes

    data = png_bytes(fig)
    output.clear_output(wait=True)
    with output:
        display(Image(data=data, format="png"))


def snap_note(typed: int, snapped: int, noun: str) -> str:
    """What the panel says when a typed value is not one it offers (issue 21: never change a
    typed value silently), e.g. ``"you typed 37: nearest allowed rank: 32"``; empty when the
    typed value is used as it is."""
    if int(typed) == int(snapped):
        return ""
    return f"you typed {int(typed)}: nearest allowed {noun}: {int(snapped)}"


def snapped_slider(
    options, value: int, description: str, width: str = "460px", noun: str = "value"
):
    """A ``SelectionSlider`` over ``options`` (ints) without its own readout, a number box
    beside it, and a note: ``(slider, box, row)``.

    The slider is for the mouse and the arrow keys; the box shows its value and takes a
    typed one. A typed value that is not offered (between two options, or outside them) is
    replaced by the nearest option (``snap_rank``) and the note beside the box says so, in
    words (``snap_note``: "you typed 37: nearest allowed rank: 32"); a value that is offered
    clears the note. Only the slider's value drives a panel: observe ``slider``. (A
    ``SelectionSlider``'s own readout accepts typing but ignores it, which is why it is
    hidden.) ``box.note`` is the note widget (CSS class ``xnets-snap-note``).
    """
    import ipywidgets as w

    options = sorted(int(k) for k in options)
    slider = w.SelectionSlider(
        options=options,
        value=value,
        description=description,
        readout=False,
        continuous_update=False,
        layout=w.Layout(width=width),
        style={"description_width": "60px"},
    )
    box = w.IntText(value=value, layout=w.Layout(width="5.5em"))
    box.add_class("xnets-number-box")
    note = w.HTML("")
    note.add_class("xnets-snap-note")
    box.note = note
    snapping = []  # set while the box is being set to a snapped value

    def from_box(change):
        if snapping:
            return
        snapped = snap_rank(options, change["new"])
        note.value = html.escape(snap_note(change["new"], snapped, noun))
        if box.value != snapped:
            snapping.append(True)
            try:
                box.value = snapped
            finally:
                snapping.pop()
        slider.value = snapped

    def from_slider(change):
        if box.value != change["new"]:
            note.value = ""
            snapping.append(True)
            try:
                box.value = change["new"]
            finally:
                snapping.pop()

    box.observe(from_box, names="value")
    slider.observe(from_slider, names="value")
    return slider, box, w.HBox([slider, box, note])


def class_picker(n_classes: int, value: int = 0):
    """The one control for a class in every panel: a row of toggle buttons, 0 … C − 1
    (Space/Enter presses the focused one)."""
    import ipywidgets as w

    return w.ToggleButtons(
        options=list(range(n_classes)),
        value=value,
        description="class",
        style={"button_width": "2.5em"},
    )


def slider_with_box(
    value: float, low: float, high: float, step: float, description: str, digits: int = 2
):
    """A ``FloatSlider`` (readout hidden) and a number box beside it that shows its value to
    ``digits`` decimals and takes a typed value (clamped to [low, high]): ``(slider, box,
    row)``; observe ``slider`` (its value stays exactly what was set, e.g. a printed α)."""
    import ipywidgets as w

    slider = w.FloatSlider(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        readout=False,
        continuous_update=False,
    )
    box = w.BoundedFloatText(
        value=round(value, digits), min=low, max=high, layout=w.Layout(width="7em")
    )
    box.add_class("xnets-number-box")
    shown = 0.5 * 10.0**-digits  # the box shows the slider's value to ``digits`` decimals

    def from_box(change):
        if abs(slider.value - change["new"]) >= shown:  # not just the slider's value, rounded
            slider.value = change["new"]

    def from_slider(change):
        if abs(box.value - change["new"]) >= shown:
            box.value = round(change["new"], digits)

    box.observe(from_box, names="value")
    slider.observe(from_slider, names="value")
    return slider, box, w.HBox([slider, box])


class Panel:
    """The base class of every interactive panel: widgets, an ``update()`` that redraws
    them, a static ``snapshot()``, and ``display()``.

    How to write one (see ``RankPanel`` or ``validation_panels.SteeringPanel``):

    1. ``__init__``: build the controls and the outputs (an ``ipywidgets.HTML`` for the
       text, an ``ipywidgets.Output`` for the figure), put them in ``self.widget`` (one
       container, e.g. ``self.container(title, controls, text, plot)``), observe every
       control's ``"value"`` with ``lambda change: self.update()``, and call
       ``self.update()`` last.
    2. ``update()``: read the controls, call a plain, tested function, set the text
       widget's ``value`` and draw with ``self.show(self.plot, fig)`` (a PNG, whatever the
       kernel's matplotlib backend). Return what it computed, so tests can check it.
    3. ``snapshot()`` → ``(html, png_or_None)``: the current text (HTML) and figure
       (``plots.png_bytes(fig)``).

    ``display()`` publishes **two** outputs: the snapshot (``text/html`` with the image
    inside, ``image/png``, ``text/plain``), then the live widget view alone. They are two
    outputs, not one bundle, because JupyterLab renders only the first type of a bundle it
    can, and the widget view comes first: a notebook saved after a run and reopened without
    a kernel would then show ``Error displaying widget: model not found`` instead of the
    snapshot beside it. The snapshot's HTML carries a small style sheet (``SNAPSHOT_STYLE``)
    so that JupyterLab shows exactly one of the two: the snapshot is hidden while the live
    panel is drawn in the same cell, and a widget view that cannot be drawn (no kernel, no
    model) is hidden beside a snapshot. Renderers that drop style sheets (an untrusted
    notebook, nbconvert, a code host) do not render the widget view either, and show the
    snapshot and the view's empty ``text/plain``. The committed notebooks keep only the
    snapshot (``outputs.commit_outputs`` drops the widget view, which needs a kernel). A
    cell whose value is a panel displays the same way (``_ipython_display_``).
    Keep to this interface: other modules' panels are built on it.
    """

    #: CSS class of every panel's container, and of its snapshot (the browser test finds
    #: them by these).
    CSS, SNAPSHOT_CSS = "xnets-panel", "xnets-snapshot"
    RERUN = (
        "Static snapshot of this panel at its initial setting, shown where there is no "
        "live kernel. Run this cell to get the live panel."
    )

    #: Shown inside the snapshot's HTML (trusted outputs keep it; sanitisers drop it): hide
    #: the snapshot's output where the live panel is drawn in the same output area, and hide
    #: a widget view that is not drawn (``Error displaying widget: model not found`` after a
    #: save, close and reopen) where the snapshot is there to show instead.
    SNAPSHOT_STYLE = (
        "<style>"
        ".jp-OutputArea:has(.xnets-panel) > .jp-OutputArea-child:has(.xnets-snapshot)"
        "{display:none}"
        ".jp-OutputArea:has(.xnets-snapshot):not(:has(.xnets-panel)) > .jp-OutputArea-child"
        ":has(> .jp-OutputArea-output.jupyter-widgets,"
        " > .jp-OutputArea-output:not([data-mime-type]),"
        " > .jp-OutputArea-output[data-mime-type*='widget-view'])"
        "{display:none}"
        "</style>"
    )

    widget = None

    def update(self):
        raise NotImplementedError

    def snapshot(self) -> tuple[str, bytes | None]:
        """The panel's current text (HTML) and figure (PNG bytes, or None)."""
        raise NotImplementedError

    show = staticmethod(show_figure)

    def container(self, title: str, *children):
        """``self.widget``: a ``VBox`` with a bold title and ``children``, CSS class ``CSS``."""
        import ipywidgets as w

        box = w.VBox([w.HTML(f"<b>{html.escape(title)}</b>"), *children])
        box.add_class(self.CSS)
        return box

    def snapshot_html(self) -> str:
        """The snapshot as one self-contained HTML block (the image inlined as a data URI)."""
        import base64

        text, png = self.snapshot()
        image = (
            ""
            if png is None
            else (
                f'<img alt="panel figure" style="max-width:100%" '
                f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
            )
        )
        return (
            f'{self.SNAPSHOT_STYLE}<div class="{self.SNAPSHOT_CSS}">'
            f'<p style="color:#555;font-size:85%">'
            f"{html.escape(self.RERUN)}</p>{text}{image}</div>"
        )

    def snapshot_bundle(self) -> dict:
        """The first output ``display()`` publishes: the snapshot (HTML, PNG, plain text)."""
        import base64

        _, png = self.snapshot()
        bundle = {
            "text/html": self.snapshot_html(),
            "text/plain": f"{type(self).__name__} (run the cell for the live panel)",
        }
        if png is not None:
            bundle["image/png"] = base64.b64encode(png).decode()
        return bundle

    def view_bundle(self) -> dict:
        """The second output: the live widget view alone, with an empty ``text/plain`` (what
        a renderer without widgets shows beside the snapshot)."""
        view = self.widget._repr_mimebundle_() or {}
        return {**{k: v for k, v in view.items() if k != "text/plain"}, "text/plain": ""}

    def mimebundle(self) -> dict:
        """Snapshot and widget view in one bundle (for renderers that take one; ``display``
        publishes them as two outputs, see the class docstring)."""
        return {
            **self.snapshot_bundle(),
            **{k: v for k, v in self.view_bundle().items() if k != "text/plain"},
        }

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.mimebundle()

    def display(self) -> None:
        """Show the panel: the snapshot, then the live view (JupyterLab shows one of them)."""
        from IPython.display import display

        display(self.snapshot_bundle(), raw=True)
        display(self.view_bundle(), raw=True)

    def _ipython_display_(self):
        self.display()


_Panel, _show = Panel, show_figure  # the names validation_panels used before


def _png(fig) -> bytes:
    from xnets_lite.viz.plots import png_bytes

    return png_bytes(fig)


class RankPanel(Panel):
    """Rank sliders per wire → accuracy, agreement, parameters kept, spectra with cut-offs.

    The sliders offer ``rank_choices`` (every rank up to 8, then roughly log-spaced) on a
    wide track, so the ranks that matter are easy to reach with a mouse or the arrow keys;
    the number box beside each takes a typed rank, snapped to the nearest offered one.
    ``parameters_base``: the trained model's parameter count, the base of "kept".

    Attributes: ``sliders`` (one ``SelectionSlider`` per wire), ``boxes`` (their number
    boxes), ``summary`` (an ``HTML`` widget with CSS class ``xnets-rank-summary``), ``plot``
    (an ``Output``), ``last`` (the last ``rank_summary``), ``widget`` (the ``VBox``).
    """

    def __init__(
        self,
        dec: Decomposition,
        data,
        ranks=None,
        title: str = "",
        plot: bool = True,
        parameters_base: int | None = None,
    ):
        import ipywidgets as w

        self.dec, self.data, self.title, self.draw = dec, data, title, plot
        self.parameters_base = parameters_base
        self.full = predict(dec.network, data)
        ranks = check_ranks(
            dec.widths, ranks if ranks is not None else [min(16, n - 1) for n in dec.widths]
        )
        self.sliders, self.boxes, rows = [], [], []
        for i, (k, n) in enumerate(zip(ranks, dec.widths)):
            slider, box, row = snapped_slider(
                sorted(set(rank_choices(n)) | {k}), k, f"wire w{i}", noun="rank"
            )
            slider.observe(lambda change: self.update(), names="value")
            self.sliders.append(slider)
            self.boxes.append(box)
            rows.append(row)
        self.summary = w.HTML()
        self.summary.add_class("xnets-rank-summary")
        self.plot = w.Output()
        self.widget = self.container(
            f"Directions kept per wire — {title}", *rows, self.summary, self.plot
        )
        self.update()

    @property
    def ranks(self) -> list[int]:
        return [s.value for s in self.sliders]

    def text(self) -> str:
        """Short lines: the ranks, then accuracy and agreement, then the parameters."""
        ranks = ", ".join(f"w{i} {k}" for i, k in enumerate(self.ranks))
        return f"kept per wire: {ranks}\n" + summary_text(self.last).replace(" · ", "\n", 2)

    def update(self) -> dict:
        self.last = rank_summary(self.dec, self.data, self.ranks, self.full, self.parameters_base)
        self.summary.value = "<br>".join(html.escape(line) for line in self.text().split("\n"))
        if self.draw:
            self.show(self.plot, self.figure())
        return self.last

    def figure(self):
        return spectra_figure(self.dec, self.ranks, self.title)

    def snapshot(self):
        return (f"<p>{self.summary.value}</p>", _png(self.figure()) if self.draw else None)


class EigenvectorPanel(Panel):
    """Class and eigenvector-number sliders over a ``ClassEigenvectors`` (notebook 03).
    Eigenvectors are counted from 1 (the top one) on the slider and in the caption; the
    caption says how many were computed (the top k of d). The sliders' readouts take typed
    values (clamped to the range)."""

    def __init__(self, ce, title: str = ""):
        import ipywidgets as w

        n_classes, k = ce.values.shape
        self.ce, self.title = ce, title
        self.klass = class_picker(n_classes)
        self.index = w.IntSlider(value=1, min=1, max=k, description="eigenvector")
        self.caption = w.HTML()
        self.caption.add_class("xnets-eigen-caption")
        self.plot = w.Output()
        for s in (self.klass, self.index):
            s.observe(lambda change: self.update(), names="value")
        self.widget = self.container(title, self.klass, self.index, self.caption, self.plot)
        self.update()

    def update(self) -> str:
        image, caption = eigenvector_view(self.ce, self.klass.value, self.index.value)
        self.caption.value = html.escape(caption)
        self.image = image
        self.show(self.plot, image_figure(image))
        return caption

    def snapshot(self):
        return f"<p>{self.caption.value}</p>", _png(image_figure(self.image))


class TracePanel(Panel):
    """A class picker that prints the class's path through the compositional tree (04),
    and draws the class's matrix and every first-wire feature the path reaches
    (``trace_figure``)."""

    def __init__(self, tree, top: int = 3, title: str = "", plot: bool = True):
        import ipywidgets as w

        n_classes = tree.class_matrices.shape[0]
        self.tree, self.top, self.draw = tree, top, plot
        self.picker = class_picker(n_classes)
        self.text = w.HTML()
        self.plot = w.Output()
        self.picker.observe(lambda change: self.update(), names="value")
        self.widget = self.container(title, self.picker, self.text, self.plot)
        self.update()

    def update(self) -> list[str]:
        self.lines = trace_lines(self.tree, self.picker.value, self.top)
        self.text.value = "<pre>" + html.escape("\n".join(self.lines)) + "</pre>"
        if self.draw:
            self.show(self.plot, trace_figure(self.tree, self.picker.value, self.top))
        return self.lines

    def snapshot(self):
        return (
            f"<p>class {self.picker.value}:</p>{self.text.value}",
            _png(trace_figure(self.tree, self.picker.value, self.top)) if self.draw else None,
        )
