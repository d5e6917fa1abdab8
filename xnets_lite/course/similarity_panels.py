"""Notebook 06's panel: pick two models, a degree and a class.

``SimilarityPanel`` shows, for the pair, the cosine by every measure at that degree (or all
degrees), and the first model's top eigenvectors of the class beside the second model's best
match for each (|cos| in the caption); the class is picked with the course's class buttons
(``widgets.class_picker``). The plain callback ``similarity_view`` is what the panel (and the
tests) call; the panel is built on ``widgets.Panel``.
"""

from __future__ import annotations

import html

import torch

from xnets_lite.course.widgets import Panel, class_picker
from xnets_lite.viz.panel_figures import similarity_figure


def _check_index(value, n: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
        raise ValueError(f"{what} must be an int in [0, {n}), got {value!r}")


def similarity_view(
    measures: dict, vectors: list, a: int, b: int, degree: int | None, c: int
) -> tuple[list[str], torch.Tensor, torch.Tensor, torch.Tensor]:
    """The pair ``(a, b)`` (indices into ``vectors``) at ``degree`` (None: all degrees) and
    class ``c``.

    ``measures``: {name: (M, M, D + 1) cosines, the last entry all degrees} (a measure
    without degrees may be (M, M)); ``vectors``: one (C, k, d) stack of unit eigenvectors
    per model. Returns the printable lines (one per measure), a's k vectors of class c, b's
    best match for each (signed to agree), and their |cos| (k,)."""
    m = len(vectors)
    _check_index(a, m, "model a")
    _check_index(b, m, "model b")
    _check_index(c, vectors[a].shape[0], "class")
    lines = []
    for name, mat in measures.items():
        if mat.dim() == 2 or degree is None:
            value, where = mat[a, b] if mat.dim() == 2 else mat[a, b, -1], "all degrees"
        else:
            _check_index(degree, mat.shape[-1] - 1, "degree")
            value, where = mat[a, b, degree], f"degree {degree}"
        lines.append(f"{name:<28} {float(value):+.3f}  ({where})")
    va, vb = vectors[a][c], vectors[b][c]
    cos = va @ vb.T  # (k, k)
    best = cos.abs().argmax(1)
    sign = torch.sign(cos.gather(1, best[:, None]))[:, 0]
    matched = vb[best] * sign[:, None]
    return lines, va, matched, cos.abs().amax(1)


class SimilarityPanel(Panel):
    """Two model pickers, a degree picker and the class buttons (``widgets.class_picker``, as
    in every panel). Attributes: ``model_a``, ``model_b``, ``degree``, ``klass`` (the
    controls), ``caption`` (HTML), ``plot`` (Output), ``widget``."""

    def __init__(self, measures: dict, vectors: list, labels: list, image_shape, title=""):
        import ipywidgets as w

        self.measures, self.vectors, self.labels = measures, vectors, list(labels)
        self.image_shape = tuple(image_shape)
        n_degrees = max(mat.shape[-1] - 1 for mat in measures.values() if mat.dim() == 3)
        options = [(name, i) for i, name in enumerate(self.labels)]
        self.model_a = w.Dropdown(options=options, value=0, description="model a")
        self.model_b = w.Dropdown(
            options=options, value=min(1, len(options) - 1), description="model b"
        )
        # "all" is a value of its own: a Dropdown shows None as no selection (a blank box).
        self.degree = w.Dropdown(
            options=[("all", "all")] + [(str(d), d) for d in range(n_degrees)],
            value="all",
            description="degree",
        )
        self.klass = class_picker(vectors[0].shape[0])
        self.caption = w.HTML()
        self.plot = w.Output()
        for control in (self.model_a, self.model_b, self.degree, self.klass):
            control.observe(lambda change: self.update(), names="value")
        self.widget = self.container(
            title,
            w.HBox([self.model_a, self.model_b]),
            self.degree,
            self.klass,
            self.caption,
            self.plot,
        )
        self.update()

    def update(self) -> list[str]:
        a, b, c = self.model_a.value, self.model_b.value, self.klass.value
        degree = None if self.degree.value == "all" else self.degree.value
        lines, self.va, self.vb, self.cos = similarity_view(
            self.measures, self.vectors, a, b, degree, c
        )
        lines = lines + [
            f"images: class {c}, {self.labels[a]}'s top eigenvectors (top row) "
            f"and {self.labels[b]}'s best match for each (bottom row)"
        ]
        self.caption.value = "<pre>" + html.escape("\n".join(lines)) + "</pre>"
        self.show(self.plot, self._figure())
        return lines

    def _figure(self):
        pair = (self.labels[self.model_a.value], self.labels[self.model_b.value])
        return similarity_figure(self.va, self.vb, self.cos, self.image_shape, pair)

    def snapshot(self):
        from xnets_lite.viz.plots import png_bytes

        return self.caption.value, png_bytes(self._figure())
