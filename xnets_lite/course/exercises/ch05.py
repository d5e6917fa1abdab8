"""Exercises of notebook 05 (validation): the trivial controls of the ablation, steering with
the class mean, and the image whose explanation leaves the most unexplained."""

from __future__ import annotations

import torch

from xnets_lite.core.model import XNet
from xnets_lite.core.odt import Decomposition, odt
from xnets_lite.course.exercises.core import (
    Mismatch,
    as_float64,
    call,
    exercise,
    random_dataset,
    random_xnet,
)
from xnets_lite.course.exercises.reference import affine_part, centred_class_means, rest_share

KEYS = ("template", "class mean")

#: Images steered per class, as in notebook 05's steering cell.
MAX_IMAGES = 2000


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-300)


def _compare_directions(got, want: torch.Tensor, what: str) -> None:
    got = as_float64(got, what)
    if got.shape != want.shape:
        raise Mismatch(
            f"{what}: shape {tuple(got.shape)}, expected {tuple(want.shape)} "
            f"(one direction per class)."
        )
    cos = (_unit(got) * _unit(want)).sum(-1).abs()
    c = int(cos.argmin())
    if float(cos[c]) < 1 - 1e-8:
        raise Mismatch(
            f"{what}, class {c}: |cos| {float(cos[c]):.4f} with the expected "
            f"direction (1 means the same line)."
        )


@exercise(
    "05.template_and_mean_controls",
    hint="the template of class c is ∇ₓlogit_c(0) "
    "(a Jacobian at torch.zeros(d)); the centred class mean is the mean image of class c "
    "minus the mean image of all of data.",
)
def template_and_mean_controls(answer, model=None, test_data=None, glob=None) -> str:
    """``answer(model, data) -> {"template": (C, d), "class mean": (C, d)}``."""
    cases = [
        (random_xnet(s, d_input=9, n_classes=3), random_dataset(s), "a random χ-net")
        for s in (0, 1)
    ]
    if isinstance(model, XNet) and test_data is not None:
        cases.append((model, test_data, "the course's χ-net"))
    out = None
    for m, data, where in cases:
        out = call(answer, m, data, where=where)
        if not isinstance(out, dict) or set(out) != set(KEYS):
            raise Mismatch(f"return a dict with the keys {list(KEYS)}.")
        _compare_directions(out["template"], affine_part(m)[0], f"on {where}, the template")
        _compare_directions(
            out["class mean"], centred_class_means(data), f"on {where}, the class mean"
        )
    if len(cases) == 2:
        return "on random χ-nets and data."
    from xnets_lite.analysis.validation import ablation_matrix

    parts = []
    named = [(k, as_float64(out[k], k)[:, None, :]) for k in KEYS]
    results = [(k, ablation_matrix(model, test_data, v, ks=(1,))) for k, v in named]
    if glob is not None and 1 in getattr(glob, "ks", ()):
        results.append(("ODT eigenvector", glob))
    for name, ab in results:
        own, others = 100 * ab.diagonal_drop(1).mean(), 100 * ab.off_diagonal_drop(1).mean()
        parts.append(f"{name} {own:.1f} / {others:.1f}")
    return "accuracy lost at k = 1, own class / others (points): " + "; ".join(parts) + "."


@exercise(
    "05.steer_with_class_mean",
    hint="pass the centred class means (one row per class, "
    "as in the previous exercise) to steering(model, test_data, directions, alphas, "
    "max_images=2000): it normalises and signs each row itself.",
)
def steer_with_class_mean(
    answer, model=None, test_data=None, steer=None, max_images: int = MAX_IMAGES
) -> str:
    """``answer``: the ``Steering`` of ``steering(model, test_data, class means, alphas,
    max_images=2000)``, the settings of the notebook's own steering."""
    from xnets_lite.analysis.validation import Steering, steering

    if not isinstance(answer, Steering):
        raise Mismatch(
            f"answer should be the result of steering(...), got {type(answer).__name__}."
        )
    if not isinstance(model, XNet) or test_data is None:
        raise Mismatch("this check needs the notebook's model and test_data.")
    want = steering(
        model,
        test_data,
        centred_class_means(test_data),
        answer.alphas,
        max_images=max_images,
        random_control=False,
    )
    if answer.share.shape != want.share.shape:
        raise Mismatch(
            f"share has shape {tuple(answer.share.shape)}, expected "
            f"{tuple(want.share.shape)} (classes, alphas)."
        )
    diff = (answer.share - want.share).abs()
    if float(diff.max()) > 1e-9:
        c, a = (int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
        raise Mismatch(
            f"class {c} at α = {float(want.alphas[a]):.2f}: yours steers "
            f"{float(answer.share[c, a]):.1%} of images, the centred class mean "
            f"{float(want.share[c, a]):.1%}."
        )
    if steer is None or steer.share.shape != want.share.shape:
        return f"largest mean share: {float(want.share.mean(0).max()):.1%}."
    best = int(steer.share.mean(0).argmax())
    return (
        f"at α = {float(want.alphas[best]):.1f} (best for the eigenvector) the class mean "
        f"steers {float(want.share[:, best].mean()):.1%} of images on average, the top "
        f"eigenvector {float(steer.share[:, best].mean()):.1%}."
    )


N_IMAGES = 500


def rest_shares(dec: Decomposition, data, n: int = N_IMAGES) -> torch.Tensor:
    """``rest_share`` of ``explain_image(dec, x_i)`` for the first ``n`` images of ``data``."""
    from xnets_lite.analysis.validation import explain_image

    x, y = data[0 : min(n, len(data))]
    return torch.tensor(
        [
            rest_share(
                explain_image(dec, xi.double(), int(yi), top=3, image_shape=data.image_shape)
            )
            for xi, yi in zip(x, y)
        ],
        dtype=torch.float64,
    )


@exercise(
    "05.largest_rest",
    hint="for each of the first 500 test images run "
    "explain_image(dec, x.double(), top=3), then Σ|rest| / Σ(|rest| + Σ|pair term|) "
    "over expl.steps; the answer is the index with the largest share.",
)
def largest_rest(answer, dec=None, test_data=None) -> str:
    """``answer``: index (among the first 500 test images) with the largest "rest" share."""
    if test_data is None:
        raise Mismatch("this check needs the notebook's dec and test_data.")
    dec = dec if isinstance(dec, Decomposition) else odt(dec)
    try:
        index = int(answer)
    except (TypeError, ValueError):
        raise Mismatch(f"answer should be an image index, got {answer!r}.") from None
    shares = rest_shares(dec, test_data)
    best = int(shares.argmax())
    if not 0 <= index < len(shares):
        raise Mismatch(f"index {index} is not among the first {len(shares)} test images.")
    if index != best:
        raise Mismatch(
            f"image {index} leaves {float(shares[index]):.1%} in rest; image {best} "
            f"leaves {float(shares[best]):.1%}."
        )
    return (
        f"image {best} leaves {float(shares[best]):.1%} of its trace in rest (median over "
        f"the {len(shares)} images: {float(shares.median()):.1%})."
    )
