"""Exercises of notebook 01 (training): parameter counts by formula, and the affine baseline."""

from __future__ import annotations

import torch

from xnets_lite.course.exercises.core import Mismatch, call, exercise

KINDS = ("xnet", "xnet-direct", "xnet-rms", "mlp")


def build(kind: str, d_input: int, width: int, n_classes: int, n_layers: int):
    """The model ``Run.make`` builds for ``kind`` (every hidden size = ``width``)."""
    from xnets_lite.core.model import MLP, XNet

    sizes = {
        "d_input": d_input,
        "d_model": width,
        "d_hidden": width,
        "n_classes": n_classes,
        "n_layers": n_layers,
    }
    return {
        "xnet": lambda: XNet(**sizes),
        "mlp": lambda: MLP(**sizes),
        "xnet-direct": lambda: XNet(**sizes, block="direct", norm="batch-rms"),
        "xnet-rms": lambda: XNet(**sizes, norm="rms"),
    }[kind]()


def count(model) -> int:
    return sum(p.numel() for p in model.parameters())


@exercise(
    "01.parameter_counts",
    hint="nn.Linear(a, b) holds a·b weights and b biases. A "
    "residual block has L, R (width → width, with biases), D (width → width, with "
    "bias); a direct block only A and B; norm='rms' drops the biases of L and R; the "
    "MLP block is two Linear layers.",
)
def parameter_counts(answer, models=None) -> str:
    """``answer(kind, d_input, width, n_classes, n_layers) -> int``."""
    cases = [
        (k, d, w, c, n) for k in KINDS for d, w, c, n in ((7, 3, 2, 1), (10, 5, 4, 2), (6, 4, 3, 0))
    ]
    course = {}
    for kind, entry in (models or {}).items():
        model = entry[0] if isinstance(entry, tuple) else entry
        cfg = getattr(model, "config", {})
        if kind in KINDS and "d_input" in cfg:
            course[kind] = (
                (kind, cfg["d_input"], cfg["d_model"], cfg["n_classes"], cfg["n_layers"]),
                count(model),
            )
    for case in cases:
        want = count(build(*case))
        _compare(call(answer, *case), want, case)
    for case, want in course.values():
        _compare(call(answer, *case), want, case, "the course's ")
    if not course:
        return f"on {len(cases)} random sizes."
    return "the course's models: " + ", ".join(f"{k} {n:,}" for k, (_, n) in course.items()) + "."


def _compare(got, want: int, case, prefix: str = "") -> None:
    kind, d, w, c, n = case
    try:
        ok = int(got) == got
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise Mismatch(f"return an integer, got {got!r}.")
    if int(got) != want:
        raise Mismatch(
            f"{prefix}{kind} with d_input={d}, width={w}, n_classes={c}, "
            f"n_layers={n}: yours {int(got):,}, expected {want:,} (off by "
            f"{int(got) - want:+,})."
        )


@exercise(
    "01.affine_baseline",
    hint="run.model(run.main, n_layers=0) trains (or loads) the "
    "χ-net with no bilinear block, with the dataset's recipe: embedding then head, an "
    "affine map.",
)
def affine_baseline(answer, test_data=None, models=None) -> str:
    """``answer``: the trained ``XNet`` with ``n_layers=0`` (or ``(model, meta)``)."""
    from xnets_lite.core.evaluation import accuracy
    from xnets_lite.core.model import XNet

    model = answer[0] if isinstance(answer, tuple) else answer
    if not isinstance(model, XNet):
        raise Mismatch(f"expected an XNet, got {type(model).__name__}.")
    n_layers = model.config["n_layers"]
    if n_layers != 0:
        raise Mismatch(
            f"this χ-net has {n_layers} bilinear layer(s); the affine baseline has "
            f"none (n_layers=0)."
        )
    gen = torch.Generator().manual_seed(0)
    d = model.config["d_input"]
    a, b = torch.rand(2, 4, d, generator=gen)
    with torch.no_grad():
        mid = model(0.3 * a + 0.7 * b) - 0.3 * model(a) - 0.7 * model(b)
    assert float(mid.abs().max()) < 1e-3, "an XNet without layers is affine"
    if test_data is None:
        return "an affine χ-net."
    acc = accuracy(model, test_data)
    chance = 1 / test_data.n_classes
    if acc < chance + 0.3:
        raise Mismatch(
            f"test accuracy {acc:.1%}, close to chance ({chance:.0%}): this model is not trained.",
            hint="train it with the recipe: run.model(run.main, "
            "n_layers=0), not run.make(...), which only builds it.",
        )
    main = (models or {}).get("xnet")
    tail = ""
    if main is not None:
        main = main[0] if isinstance(main, tuple) else main
        tail = f" (xnet: {accuracy(main, test_data):.1%})"
    return f"the affine baseline reaches {acc:.1%} test accuracy{tail}."
