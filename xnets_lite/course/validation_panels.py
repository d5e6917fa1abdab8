"""Notebook 05's interactive panels: plain callbacks plus thin ipywidgets over them.

As in ``widgets.py``, each panel holds its widgets and an ``update()`` that reads their
values and calls a plain function (``explanation_lines``, ``steering_view``,
``ablation_view``); setting a widget's ``value`` from Python fires ``update`` synchronously,
so the tests drive the panels as a reader would, without a browser.

* ``ExplanationPanel``: an image picker → the exact term-by-term reading of that image.
* ``SteeringPanel``: a class picker and an α slider → share of other classes' images
  predicted as the class, and a few steered images.
* ``AblationPanel``: a class picker and k → per-class accuracy after removing that class's
  top-k directions, for each set of directions (global, local, random).
"""

from __future__ import annotations

import html

import torch

from xnets_lite.analysis.interpret import direction_name, image_shape_of
from xnets_lite.analysis.validation import (
    TERMS,
    Ablation,
    Explanation,
    all_inputs,
    explain_image,
    steered_share,
)
from xnets_lite.core.evaluation import predict
from xnets_lite.course.widgets import (
    Panel,
    class_picker,
    slider_with_box,
    snapped_slider,
)
from xnets_lite.viz.panel_figures import ablation_figure, steering_figure
from xnets_lite.viz.plots import png_bytes
from xnets_lite.viz.validation_figures import plot_explanation


# ---------------------------------------------------------------------------------------
# Plain callbacks
# ---------------------------------------------------------------------------------------
def explanation_lines(expl: Explanation, top: int = TERMS) -> list[str]:
    """An ``Explanation`` as readable lines: the two leading logits and their largest terms
    (with what the others add), then the trace down the tree, then the features reached.
    Directions are named as everywhere in the course: ``wl.dk`` is direction k of wire l
    (``direction_name``), ``const`` the constant coordinate."""
    lines = [
        f"label {expl.label}, predicted {expl.predicted} "
        f"(logit {float(expl.logits[expl.predicted]):.3f}), runner-up {expl.runner_up} "
        f"(logit {float(expl.logits[expl.runner_up]):.3f})"
    ]
    top_wire = len(expl.wires) - 1
    for c in (expl.predicted, expl.runner_up):
        terms = expl.top_terms(c, top)
        rest = float(expl.logits[c]) - sum(v for _, v in terms)
        lines.append(
            f"logit {c} = "
            + " ".join(f"{v:+.3f} [{direction_name(top_wire, j)}]" for j, v in terms)
            + f" {rest:+.3f} (the other {expl.contributions.shape[1] - len(terms)} terms)"
        )
    for step in expl.steps:
        wire = step["wire"]
        pairs = ", ".join(
            f"{direction_name(wire, i)}·{direction_name(wire, k)} ({v:+.3f})"
            for i, k, v in step["pairs"]
        )
        lines.append(
            f"layer {wire + 1}: {direction_name(wire + 1, step['output'])} = "
            f"{step['value']:+.3f} ← {pairs}, rest {step['rest']:+.3f}"
        )
    lines.append(
        "first-wire features reached: "
        + (
            ", ".join(
                f"{direction_name(0, d)} = {float(expl.wires[0][d]):+.3f}" for d in expl.features
            )
            or "none"
        )
    )
    return lines


@torch.no_grad()
def steering_view(
    model,
    data,
    directions: torch.Tensor,
    c: int,
    alpha: float,
    n_show: int = 6,
    max_images: int | None = None,
    image_shape=None,
) -> dict:
    """Add ``alpha · directions[c]`` to the images of ``data`` not of class ``c`` (the first
    ``max_images``): ``share`` predicted as c, ``n`` images steered, and the first ``n_show``
    steered ``images`` (n_show, H, W) with their ``predicted`` classes.

    The share is ``validation.steered_share`` on the same images, so with the same
    ``directions`` (``Steering.directions``), ``alpha`` and ``max_images`` it is exactly the
    number ``validation.steering`` gives (``Steering.share[c, i]`` at ``alpha = alphas[i]``)."""
    n_classes = directions.shape[0]
    if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n_classes:
        raise ValueError(f"class must be an int in [0, {n_classes}), got {c!r}")
    x, y = all_inputs(data)
    h, w = image_shape_of(x.shape[1], image_shape)
    xc = x[y != c][:max_images]
    v = torch.as_tensor(directions[c], dtype=torch.float64)
    share = float(steered_share(model, xc, v, c, [alpha])[0])
    shown = xc[:n_show] + float(alpha) * v
    return dict(
        c=c,
        alpha=float(alpha),
        share=share,
        n=len(xc),
        images=shown.reshape(-1, h, w).float(),
        predicted=predict(model, shown),
    )


def steering_text(view: dict) -> str:
    return (
        f"α = {view['alpha']:.2f}: {view['share']:.1%} of {view['n']:,} images of other "
        f"classes are predicted as {view['c']}"
    )


def ablation_view(results: list[Ablation], c: int, k: int) -> dict:
    """Per-class accuracy (C,) after removing class ``c``'s top-``k`` directions, for every
    ``Ablation`` in ``results`` (by name), with the baseline."""
    n_classes = results[0].baseline.shape[0]
    if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n_classes:
        raise ValueError(f"class must be an int in [0, {n_classes}), got {c!r}")
    return dict(
        c=c,
        k=k,
        baseline=results[0].baseline,
        accuracy={r.name: r.accuracy[r.index_of(k), c] for r in results},
    )


def ablation_text(view: dict) -> str:
    c = view["c"]
    parts = [
        f"{name}: class {c} {100 * float(acc[c]):.1f}%, others "
        f"{100 * float((acc.sum() - acc[c]) / (len(acc) - 1)):.1f}%"
        for name, acc in view["accuracy"].items()
    ]
    base = view["baseline"]
    return (
        f"remove class {c}'s top {view['k']} → (before: class {c} {100 * float(base[c]):.1f}%)\n"
        + "\n".join(f"  {part}" for part in parts)
    )


# ---------------------------------------------------------------------------------------
# Panels
# ---------------------------------------------------------------------------------------
class ExplanationPanel(Panel):
    """Pick a test image (a number box: typed values are clamped to the test set); read its
    prediction term by term (``explain_image`` with ``top`` pairs per step, and
    ``explanation_lines`` with ``terms`` terms per logit: pass the notebook print's values,
    so the panel's initial text is that print)."""

    def __init__(
        self,
        dec,
        data,
        index: int = 0,
        top: int = 3,
        image_shape=None,
        title: str = "",
        plot: bool = True,
        terms: int = TERMS,
    ):
        import ipywidgets as w

        self.dec, self.data, self.top, self.terms, self.draw = dec, data, top, terms, plot
        self.image_shape = image_shape or data.image_shape
        self.index = w.BoundedIntText(
            value=index, min=0, max=len(data) - 1, description="test image"
        )
        self.index.add_class("xnets-number-box")
        self.text = w.HTML()
        self.plot = w.Output()
        self.index.observe(lambda change: self.update(), names="value")
        self.widget = self.container(title, self.index, self.text, self.plot)
        self.update()

    def update(self) -> list[str]:
        x, y = self.data[self.index.value]
        self.explanation = explain_image(
            self.dec, x.double(), int(y), self.top, image_shape=self.image_shape
        )
        self.lines = explanation_lines(self.explanation, self.terms)
        self.text.value = "<pre>" + html.escape("\n".join(self.lines)) + "</pre>"
        if self.draw:
            self.show(self.plot, self.figure())
        return self.lines

    def figure(self):
        return plot_explanation(
            self.explanation, top=self.terms, title=f"test image {self.index.value}"
        )

    def snapshot(self):
        return self.text.value, png_bytes(self.figure()) if self.draw else None


class SteeringPanel(Panel):
    """Class picker and α slider over ``steering_view``. Give it ``Steering.directions`` and
    the ``max_images`` that ``steering`` used (default: all), so its share at one of the
    ``alphas`` is the one printed from ``Steering.share``. The slider's readout takes a
    typed α (clamped to [0, alpha_max])."""

    def __init__(
        self,
        model,
        data,
        directions: torch.Tensor,
        alpha_max: float,
        alpha: float = 0.0,
        n_show: int = 6,
        max_images: int | None = None,
        title: str = "",
        plot: bool = True,
    ):
        import ipywidgets as w

        self.model, self.data, self.directions = model, data, directions
        self.n_show, self.max_images, self.draw = n_show, max_images, plot
        self.picker = class_picker(directions.shape[0])
        self.alpha, self.alpha_box, alpha_row = slider_with_box(
            alpha, 0.0, float(alpha_max), float(alpha_max) / 40, "α"
        )
        self.text = w.HTML()
        self.plot = w.Output()
        for widget in (self.picker, self.alpha):
            widget.observe(lambda change: self.update(), names="value")
        self.widget = self.container(title, self.picker, alpha_row, self.text, self.plot)
        self.update()

    def update(self) -> dict:
        self.last = steering_view(
            self.model,
            self.data,
            self.directions,
            self.picker.value,
            self.alpha.value,
            self.n_show,
            self.max_images,
            self.data.image_shape,
        )
        self.text.value = html.escape(steering_text(self.last))
        if self.draw:
            self.show(self.plot, steering_figure(self.last))
        return self.last

    def snapshot(self):
        return (
            f"<p>{self.text.value}</p>",
            png_bytes(steering_figure(self.last)) if self.draw else None,
        )


class AblationPanel(Panel):
    """Class picker and k slider (with a number box) over precomputed ``Ablation`` results
    (no recomputation)."""

    def __init__(self, results: list[Ablation], title: str = "", plot: bool = True):
        import ipywidgets as w

        self.results, self.draw = results, plot
        ks = results[0].ks
        self.picker = class_picker(results[0].baseline.shape[0])
        self.k, self.k_box, k_row = snapped_slider(ks, ks[-1], "k", width="300px", noun="k")
        self.text = w.HTML()
        self.plot = w.Output()
        for widget in (self.picker, self.k):
            widget.observe(lambda change: self.update(), names="value")
        self.widget = self.container(title, self.picker, k_row, self.text, self.plot)
        self.update()

    def update(self) -> dict:
        self.last = ablation_view(self.results, self.picker.value, self.k.value)
        self.text.value = "<pre>" + html.escape(ablation_text(self.last)) + "</pre>"
        if self.draw:
            self.show(self.plot, ablation_figure(self.last))
        return self.last

    def snapshot(self):
        return (
            self.text.value,
            png_bytes(ablation_figure(self.last)) if self.draw else None,
        )
