"""What the course notebooks need that is not part of a decomposition.

* Figures: tensor diagrams and the names of the wires (notebook 00), learning curves
  (notebook 01), per-class spectra (notebook 03). Each returns a ``matplotlib.figure.Figure``
  (no pyplot state); save it with ``plots.save_figure`` or ``notebooks.save``.
* Brute-force views of a tiny ``Network`` that notebook 00 checks ODT's Gram recursions
  against: ``wire_polynomials`` (a wire's coordinates as coefficient tensors) and
  ``network_above`` (the rest of the network, read from one wire); and ``inertia`` (the
  eigenvalue signs of a quadratic form, notebook 00's bound on what ``h`` products can make).
* A small helper of notebook 01: ``describe_recipe`` (every recipe value with its source or
  meaning); a model resized to a parameter count is ``training.kinds.width_for_parameters``.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------
# Notebook 01
# ---------------------------------------------------------------------------------------
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
