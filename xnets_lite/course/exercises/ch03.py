"""Exercises of notebook 03 (eigenvectors): the top eigenvector against the linear template,
a sign that means something, and signed interactions against the Gram's squares."""

from __future__ import annotations

import torch

from xnets_lite.analysis.interpret import class_eigenvectors, input_grams
from xnets_lite.core.model import XNet
from xnets_lite.core.odt import Decomposition, odt
from xnets_lite.course.exercises.core import (
    Mismatch,
    as_float64,
    call,
    exercise,
    expect_close,
    random_xnet,
)
from xnets_lite.course.exercises.reference import affine_part, interaction_matrix


def _random_models(n_layers: int = 2):
    return [
        random_xnet(s, d_input=9, d_model=4, d_hidden=3, n_classes=3, n_layers=n_layers, block=b)
        for s, b in enumerate(["residual", "direct", "residual"])
    ]


def _negated(model):
    """The same model with every logit negated: its class Grams (so its eigenvectors) are
    unchanged, its linear templates flip, so every cosine changes sign."""
    import copy

    out = copy.deepcopy(model)
    with torch.no_grad():
        out.head.weight.neg_()
        out.head.bias.neg_()
    return out


def _cases(model, dec, n_layers=2):
    models = _random_models(n_layers)
    models.insert(1, _negated(models[0]))
    cases = [(m, odt(m), f"a random {m.block} χ-net") for m in models]
    if isinstance(model, XNet) and isinstance(dec, Decomposition):
        cases.append((model, dec, "the course's χ-net"))
    return cases


def template_cosines(model, dec) -> torch.Tensor:
    jac, _ = affine_part(model)
    v = class_eigenvectors(dec, k=1).vectors[:, 0].cpu().double()
    return ((v * jac).sum(1) / (v.norm(dim=1) * jac.norm(dim=1))).abs()


def _cosine_cases(model, dec):
    """The random χ-nets (float64) and the course's (float32), plus one case whose given
    eigenvectors are signed *against* the model's templates: the decomposition of the same
    χ-net with every logit negated (the same class Grams, so the same eigenvectors, but the
    course's sign rule applied to the opposite logits). There the signed cosines are
    negative, so only |cos| passes: the angle between the two lines, whatever sign each
    vector was given."""
    models = _random_models()
    cases = [(m, odt(m), f"a random {m.block} χ-net (float64)") for m in models]
    cases.insert(
        1,
        (
            models[0],
            odt(_negated(models[0])),
            "a random residual χ-net given eigenvectors signed by its negated twin "
            "(the same Grams, the opposite sign), where every signed cosine is negative",
        ),
    )
    if isinstance(model, XNet) and isinstance(dec, Decomposition):
        cases.append((model, dec, "the course's χ-net (float32)"))
    return cases


@exercise(
    "03.cosine_with_linear_template",
    hint="the template of class c is ∇ logit_c at x = 0: "
    "torch.autograd.functional.jacobian(lambda x: model(x[None])[0], x0), "
    "x0 = torch.zeros(d, dtype=next(model.parameters()).dtype). A vector's sign comes from "
    "section 1's rule and can disagree with the model you are given: take |cos|.",
)
def cosine_with_linear_template(answer, model=None, dec=None) -> str:
    """``answer(model, dec) -> (C,)``: |cos| between v_c (top eigenvector) and ∇ₓlogit_c(0)."""
    for m, d, where in _cosine_cases(model, dec):
        want = template_cosines(m, d)
        got = as_float64(call(answer, m, d, where=where), f"on {where}, |cos|")
        if got.shape == want.shape and torch.allclose(got, -want, rtol=1e-6, atol=1e-8):
            c = int(want.argmax())
            raise Mismatch(
                f"on {where}: yours {float(got[c]):.4f} for class {c}, expected "
                f"{float(want[c]):.4f}, the same size with the opposite sign: the check asks "
                f"for |cos|."
            )
        expect_close(got, want, f"on {where}, |cos|", rtol=1e-6, atol=1e-8, index_names="class")
    if not isinstance(model, XNet):
        return "on random χ-nets."
    cos = template_cosines(model, dec)
    return f"on the course's χ-net |cos| runs from {cos.min():.4f} to {cos.max():.4f}."


def largest_entry_positive(vectors: torch.Tensor) -> torch.Tensor:
    """The sign convention of ``eigh`` post-processing that means nothing: each row's
    largest-magnitude entry made positive (the course's sign rule before ``orient``)."""
    idx = vectors.abs().argmax(-1, keepdim=True)
    return vectors * torch.where(vectors.gather(-1, idx) < 0, -1.0, 1.0).to(vectors.dtype)


def signed(model, vectors) -> torch.Tensor:
    jac, _ = affine_part(model)
    v = as_float64(vectors, "vectors")
    sign = torch.where((v * jac).sum(1) < 0, -1.0, 1.0).to(torch.float64)
    return v * sign[:, None]


@exercise(
    "03.resign_by_logit",
    hint="flip v_c where v_c · ∇ₓlogit_c(0) < 0, so that a small step along v_c raises logit c.",
)
def resign_by_logit(answer, model=None, dec=None) -> str:
    """``answer(model, vectors (C, d)) -> (C, d)``: each row signed so that it raises its
    class's logit at x = 0."""
    flips, last = None, ""
    for m, d, where in _cases(model, dec):
        v = largest_entry_positive(class_eigenvectors(d, k=1).vectors[:, 0].cpu().double())
        want = signed(m, v)
        got = as_float64(call(answer, m, v.clone(), where=where), "the vectors")
        if got.shape != want.shape:
            raise Mismatch(f"on {where}: shape {tuple(got.shape)}, expected {tuple(want.shape)}.")
        for c in range(len(want)):
            if not torch.allclose(got[c], want[c], rtol=1e-9, atol=1e-12):
                same = torch.allclose(got[c], -want[c], rtol=1e-9, atol=1e-12)
                raise Mismatch(
                    f"on {where}, class {c}: "
                    + (
                        "wrong sign: logit c falls along your vector."
                        if same
                        else "this is not ± the eigenvector you were given."
                    )
                )
        flips, last = [c for c in range(len(v)) if not torch.equal(want[c], v[c])], where
    return f"on {last}, the largest-pixel-positive sign was wrong for classes {flips}."


@exercise(
    "03.signed_interactions",
    hint="logit_c = H[1+c] · D(L w ⊙ R w) with w = E x̃: so "
    "x̃ᵀ Q̃ x̃ with Q̃ = Eᵀ Lᵀ diag(a) R E, a = Dᵀ H[1+c]; then symmetrise it, "
    "½(Q̃ + Q̃ᵀ) (use net = to_network(model); net.head, net.embed, net.layers[0]).",
)
def signed_interactions(answer, model=None, c: int = 0) -> str:
    """``answer(model, c) -> Q̃`` ((d+1) × (d+1)), with logit_c = x̃ᵀ Q̃ x̃ (one layer)."""
    models = [(m, f"a random one-layer {m.block} χ-net") for m in _random_models(1)]
    if isinstance(model, XNet):
        models.append((model, "the course's one-layer χ-net"))
    for m, where in models:
        for cls in sorted({0, min(c, m.config["n_classes"] - 1)}):
            want = interaction_matrix(m, cls)
            expect_close(
                call(answer, m, cls, where=f"{where}, class {cls}"),
                want,
                f"on {where}, class {cls}, Q̃",
                rtol=1e-7,
                atol=1e-9 * float(want.abs().max()),
                index_names="(i, j)",
            )
    m = models[-1][0]
    dec = odt(m)
    u = dec.network.head[1 + c]
    gram = input_grams(dec.network, u[:, None] * u[None, :])
    lam = torch.linalg.eigvalsh(interaction_matrix(m, c))
    lam = lam[lam.abs().argsort(descending=True)]
    mu = torch.linalg.eigvalsh((gram + gram.T) / 2).flip(0)
    err = float((lam[:10] ** 2 - mu[:10]).abs().max() / mu[0])
    neg = int((lam[:10] < 0).sum())
    return (
        f"class {c}: the squares of Q̃'s 10 largest |eigenvalues| equal the top eigenvalues "
        f"of its input Gram (largest difference {err:.0e} of the top one); {neg} of those 10 "
        f"are negative (inhibition), which the Gram's squares cannot show."
    )
