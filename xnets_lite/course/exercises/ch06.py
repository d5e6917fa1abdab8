"""Exercises of notebook 06 (similarity): the degree-1 weight cosine is the templates' cosine,
one step of the cross-Gram recursion, and the degree split by rescaling the input."""

from __future__ import annotations

import torch

from xnets_lite.analysis.similarity import cross_layer, weight_similarity
from xnets_lite.core.network import BilinearLayer, to_network
from xnets_lite.course.exercises.core import (
    Mismatch,
    as_float64,
    call,
    exercise,
    expect_close,
    random_xnet,
)


def _pairs(a=None, b=None):
    cases = [
        (
            random_xnet(s, d_input=5, n_layers=2),
            random_xnet(s + 10, d_input=5, d_model=3),
            f"random χ-nets (seeds {s}, {s + 10})",
        )
        for s in (0, 1)
    ]
    cases.append(
        (
            random_xnet(2, d_input=4, n_layers=2),
            random_xnet(3, d_input=4, n_layers=2, block="direct"),
            "a residual and a direct random χ-net",
        )
    )
    if a is not None and b is not None:
        cases.append((a, b, "the course's two seeds"))
    return cases


@exercise(
    "06.template_cosine",
    hint="one cosine over all classes together: flatten both (C, d) templates "
    "∇ₓlogit(0) into one vector each, then ⟨g_a, g_b⟩ / (‖g_a‖ ‖g_b‖) — not a mean of per-class "
    "cosines.",
)
def template_cosine(answer, a=None, b=None) -> str:
    """``answer(model_a, model_b) -> float``: the cosine of the two linear templates at 0."""
    for ma, mb, where in _pairs(a, b):
        got = float(as_float64(call(answer, ma, mb), "the cosine"))
        want = float(weight_similarity(ma, mb).per_degree()[1])
        if abs(got - want) > 1e-8:
            raise Mismatch(
                f"on {where}, the cosine: yours {got:.6f}, expected {want:.6f} (the degree-1 "
                f"weight cosine)."
            )
    return "the degree-1 weight cosine is the templates' cosine, on every pair."


def _random_layer(gen, k, n_in, n_out):
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)  # noqa: E731
    return BilinearLayer(r(k, n_in), r(k, n_in), r(n_out, k))


@exercise(
    "06.cross_gram_step",
    hint="the symmetrised layers have two matchings of the four factors: "
    "½ D_a[(L_a G L_bᵀ) ⊙ (R_a G R_bᵀ) + (L_a G R_bᵀ) ⊙ (R_a G L_bᵀ)] D_bᵀ.",
)
def cross_gram_step(answer) -> str:
    """``answer(layer_a, layer_b, gram) -> (n_a', n_b')``: one step of the recursion."""
    gen = torch.Generator().manual_seed(0)
    for ka, kb, na, nb in ((3, 4, 5, 2), (6, 2, 3, 3)):
        la, lb = _random_layer(gen, ka, na, 4), _random_layer(gen, kb, nb, 3)
        gram = torch.randn(na, nb, generator=gen, dtype=torch.float64)
        want = cross_layer(la, lb, gram[None])[0]
        expect_close(call(answer, la, lb, gram), want, "G′", index_names="(p, q)")
    return "on random layers of different sizes, L ≠ R."


@exercise(
    "06.degrees_by_scaling",
    hint="scaling the pixel columns of the embedding by s multiplies the degree-d part by s^d, "
    "so the total inner product is Σ_d s^(2d) ⟨T_a,d, T_b,d⟩: evaluate it at 2^L + 1 scales "
    "and solve that Vandermonde system in s².",
)
def degrees_by_scaling(answer) -> str:
    """``answer(net_a, net_b) -> (2^L + 1,)``: per-degree inner products, classes summed."""
    for ma, mb, where in _pairs():
        na, nb = to_network(ma), to_network(mb)
        want = weight_similarity(na, nb).ab.sum(1)
        got = as_float64(call(answer, na, nb), "the inner products")
        scale = float(want.abs().max())
        expect_close(
            got, want, f"on {where}, degree", rtol=1e-6, atol=1e-8 * scale, index_names="degree"
        )
    return "equal to the graded recursion, degree by degree."
