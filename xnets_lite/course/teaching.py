"""What the course notebooks need that is not part of a decomposition.

* Figures: tensor diagrams and the names of the wires (notebook 00), learning curves
  (notebook 01), per-class spectra (notebook 03). Each returns a ``matplotlib.figure.Figure``
  (no pyplot state); save it with ``plots.save_figure`` or ``notebooks.save``.
* Brute-force views of a tiny ``Network`` that notebook 00 checks ODT's Gram recursions
  against: ``wire_polynomials`` (a wire's coordinates as coefficient tensors) and
  ``network_above`` (the rest of the network, read from one wire); and ``inertia`` (the
  eigenvalue signs of a quadratic form, notebook 00's bound on what ``h`` products can make).
* Small helpers of notebook 01: ``matching_width`` (a model resized to a parameter count)
  and ``describe_recipe`` (every recipe value with its source or meaning).
"""

from __future__ import annotations

from collections.abc import Callable


# ---------------------------------------------------------------------------------------
# Notebook 01
# ---------------------------------------------------------------------------------------
def matching_width(
    n_parameters: Callable[[int], int], target: int, start: int = 1, limit: int = 1 << 16
) -> int:
    """The width ``w ≥ start`` whose model has the parameter count closest to ``target``.

    ``n_parameters(w)`` must grow with ``w`` (it does for every model of the course, e.g.
    ``lambda w: sum(p.numel() for p in run.make("mlp", width=w).parameters())``); the search
    walks up from ``start`` and stops once the count passes ``target``; ties go to the
    narrower model. Example: the residual χ-net of width 128 on MNIST has 250,378 parameters;
    the MLP closest to it has width 148 (249,982).
    """
    if int(target) < 1:
        raise ValueError(f"target must be a positive parameter count, got {target!r}")
    if int(start) < 1:
        raise ValueError(f"start must be a positive width, got {start!r}")
    best, best_gap = None, None
    width = int(start)
    while width <= limit:
        count = int(n_parameters(width))
        gap = abs(count - int(target))
        if best_gap is None or gap < best_gap:
            best, best_gap = width, gap
        if count >= target:
            return best
        width += 1
    raise ValueError(f"no width up to {limit} reaches {target:,} parameters")


#: What a recipe value means, shown where the recipe gives it no source.
RECIPE_MEANING = {
    "extra": "SVHN only: also train on its extra split (MNIST has none)",
    "per_class": "images per class of a fixed balanced subset; None = the whole splits",
}


def describe_recipe(recipe) -> list[str]:
    """``recipe.describe()``, one line per value with its source, where a value without a
    source (e.g. ``extra``, ``per_class``) gets what it means (``RECIPE_MEANING``) instead of
    a bare value."""
    lines = []
    for line in recipe.describe():
        key = line.split(" ", 1)[0]
        value = getattr(recipe, key, None)
        source = recipe.sources.get(key, "")
        if not source and key in RECIPE_MEANING:
            line = f"{key:<13} {value!s:<10} {RECIPE_MEANING[key]}"
        lines.append(line)
    return lines
