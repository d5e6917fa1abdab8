"""Notebook 03's panel over the signed interactions: pick a class, a sign, an index.

``InteractionPanel`` shows eigenvector ``index`` (counted from 1) of class c's quadratic
form ``Q_c`` (``interactions.class_interactions``), excitatory (``+``, positive eigenvalue)
or inhibitory (``-``, negative), with its eigenvalue and its |cos| with the linear template
in the caption. The plain callback ``interaction_view`` is what the panel (and the tests)
call; the panel is built on ``widgets.Panel``.
"""

from __future__ import annotations

import html

import torch

from xnets_lite.analysis.interactions import ClassInteractions
from xnets_lite.course.widgets import Panel, class_picker
from xnets_lite.viz.panel_figures import image_figure


def interaction_view(
    qf: ClassInteractions, c: int, sign: str, index: int
) -> tuple[torch.Tensor, str]:
    """Class ``c``'s ``index``-th (from 1) eigenvector of sign ``sign`` as an (H, W) image and
    a caption."""
    vectors, values = qf.select(sign)
    n_classes, k = values.shape
    if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n_classes:
        raise ValueError(f"class must be an int in [0, {n_classes}), got {c!r}")
    if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= k:
        raise ValueError(f"index counts from 1 to {k} (the eigenvectors computed), got {index!r}")
    v, g = vectors[c, index - 1], qf.template[c]
    cos = float((v @ g).abs() / (v.norm() * g.norm()).clamp_min(1e-300))
    kind = "excitatory" if sign == "+" else "inhibitory"
    caption = (
        f"class {c}, {kind} eigenvector {index} of {k}: eigenvalue "
        f"{float(values[c, index - 1]):+.3f}; |cos| with the linear template {cos:.2f}"
    )
    return v.reshape(qf.image_shape), caption


class InteractionPanel(Panel):
    """Class slider, sign toggle (+ excitatory / − inhibitory) and index slider over a
    ``ClassInteractions``. Attributes: ``klass``, ``sign``, ``index`` (the controls),
    ``caption`` (HTML), ``plot`` (Output), ``widget``."""

    def __init__(self, qf: ClassInteractions, title: str = ""):
        import ipywidgets as w

        n_classes, k = qf.positive_values.shape
        self.qf = qf
        self.klass = class_picker(n_classes)
        self.sign = w.ToggleButtons(
            options=[("+ excitatory", "+"), ("− inhibitory", "-")], value="+", description="sign"
        )
        self.index = w.IntSlider(value=1, min=1, max=k, description="eigenvector")
        self.caption = w.HTML()
        self.plot = w.Output()
        for control in (self.klass, self.sign, self.index):
            control.observe(lambda change: self.update(), names="value")
        self.widget = self.container(
            title, self.klass, self.sign, self.index, self.caption, self.plot
        )
        self.update()

    def update(self) -> str:
        self.image, caption = interaction_view(
            self.qf, self.klass.value, self.sign.value, self.index.value
        )
        self.caption.value = html.escape(caption)
        self.show(self.plot, image_figure(self.image))
        return caption

    def snapshot(self):
        from xnets_lite.viz.plots import png_bytes

        return f"<p>{self.caption.value}</p>", png_bytes(image_figure(self.image))
