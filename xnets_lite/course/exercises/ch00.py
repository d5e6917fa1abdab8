"""Exercises of notebook 00 (tensor networks): the symmetric form of a bilinear layer, its
antisymmetric part, a residual block on homogeneous coordinates, and why ODT's spectra are
singular values only after orthogonalising."""

from __future__ import annotations

import torch

from xnets_lite.core.network import BilinearLayer, Network, symmetrise, to_network
from xnets_lite.core.odt import downstream_grams, orthogonalise
from xnets_lite.course.exercises.core import (
    Mismatch,
    as_float64,
    call,
    exercise,
    expect_close,
    random_xnet,
)

SHAPES = [(4, 5, 3), (6, 2, 4), (3, 7, 1)]  # (d_in, k, d_out)


def _layers(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    for d, k, o in SHAPES:
        yield (
            torch.randn(k, d, generator=gen, dtype=torch.float64),
            torch.randn(k, d, generator=gen, dtype=torch.float64),
            torch.randn(o, k, generator=gen, dtype=torch.float64),
        )


def _course_layers(net):
    if isinstance(net, Network):
        for layer in net.layers:
            yield layer.left, layer.right, layer.down


@exercise(
    "00.symmetric_form",
    hint="(a + b)² − (a − b)² = 4ab: one product is a difference of two squares. "
    "Which rows of S give a + b and a − b, and what must D′ do with their squares to get "
    "D's output back?",
)
def symmetric_form(answer, net=None) -> str:
    """``answer(L, R, D) -> (S, Dp)`` with ``Dp (S x)² = D (Lx ⊙ Rx)`` for every x."""
    gen = torch.Generator().manual_seed(1)
    for i, (left, right, down) in enumerate(list(_layers()) + list(_course_layers(net))):
        case = "the course's layer" if i >= len(SHAPES) else "a random layer"
        out = call(
            answer,
            left.clone(),
            right.clone(),
            down.clone(),
            where=f"{case} (L, R {tuple(left.shape)}, D {tuple(down.shape)})",
        )
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Mismatch("return two tensors, (S, D′), with D′ (S x)² = D (Lx ⊙ Rx).")
        s, dp = (as_float64(t, n) for t, n in zip(out, ("S", "D′")))
        if s.dim() != 2 or s.shape[1] != left.shape[1] or dp.shape != (down.shape[0], s.shape[0]):
            raise Mismatch(
                f"for L, R {tuple(left.shape)} and D {tuple(down.shape)}: S is "
                f"{tuple(s.shape)} and D′ {tuple(dp.shape)}; S must be (k′, "
                f"{left.shape[1]}) and D′ ({down.shape[0]}, k′)."
            )
        x = torch.randn(16, left.shape[1], generator=gen, dtype=torch.float64)
        want = ((x @ left.T) * (x @ right.T)) @ down.T
        where = "the course's layer" if i >= len(SHAPES) else "a random layer"
        expect_close(
            (x @ s.T) ** 2 @ dp.T,
            want,
            f"on {where} (L, R {tuple(left.shape)}, D {tuple(down.shape)}), your D′(Sx)² is "
            f"not D(Lx ⊙ Rx)",
            index_names=lambda idx: f"for test input x number {idx[0]}, output {idx[1]}",
        )
    return (
        f"D′(Sx)² = D(Lx ⊙ Rx) on {len(SHAPES)} random layers"
        + (" and on every layer of the course's network" if net is not None else "")
        + "."
    )


@exercise(
    "00.antisymmetric_part",
    hint="B[o, i, j] = Σ_h D[o,h] L[h,i] R[h,j] "
    "(torch.einsum('oh,hi,hj->oij', D, L, R)); its antisymmetric part is "
    "½(B − Bᵀ) over the last two axes.",
)
def antisymmetric_part(answer, net=None) -> str:
    """``answer(L, R, D) -> A`` (o, d, d), the antisymmetric part of the layer tensor."""
    gen = torch.Generator().manual_seed(2)
    largest = 0.0
    for left, right, down in list(_layers(3)) + list(_course_layers(net)):
        b = torch.einsum("oh,hi,hj->oij", down, left, right)
        want = (b - b.mT) / 2
        got = call(
            answer,
            left.clone(),
            right.clone(),
            down.clone(),
            where=f"a layer with L, R {tuple(left.shape)}, D {tuple(down.shape)}",
        )
        expect_close(
            got,
            want,
            f"for L, R {tuple(left.shape)}, D {tuple(down.shape)}: A",
            index_names="(o, i, j)",
        )
        x = torch.randn(32, left.shape[1], generator=gen, dtype=torch.float64)
        largest = max(largest, float(torch.einsum("bi,oij,bj->bo", x, want, x).abs().max()))
    return (
        f"xᵀA_o x is zero for every x (largest |xᵀA_o x| on random inputs: "
        f"{largest:.0e}, rounding): only the symmetric part ½(B + Bᵀ) acts."
    )


@exercise(
    "00.residual_block",
    hint="on x̃ = [1, x], a residual x_i is the product "
    "x_i · 1: add hidden units with left row e_i and right row e₀; b_D is D′ times the "
    "unit 1 · 1, which also writes the output's constant coordinate.",
)
def residual_block(answer, tiny=None) -> str:
    """``answer(block) -> BilinearLayer`` on ``[1, x]`` with output ``[1, x + block(x)]``."""
    from xnets_lite.core.model import XNet

    models = [
        random_xnet(s, d_model=m, d_hidden=k, n_layers=1)
        for s, (m, k) in enumerate([(4, 3), (3, 5), (6, 6)])
    ]
    if isinstance(tiny, XNet) and tiny.block == "residual" and tiny.norm is None:
        models.append(tiny)
    gen = torch.Generator().manual_seed(4)
    for i, model in enumerate(models):
        block = model.blocks[0]
        layer = call(
            answer,
            block,
            where="the course's tiny χ-net" if model is tiny else "a random one-layer χ-net",
        )
        if isinstance(layer, (tuple, list)) and len(layer) == 3:
            layer = BilinearLayer(*(as_float64(t, n) for t, n in zip(layer, "LRD")))
        if not isinstance(layer, BilinearLayer):
            raise Mismatch(
                f"return a BilinearLayer(L, R, D) (or the tuple), got {type(layer).__name__}."
            )
        n = model.config["d_model"]
        if layer.n_in != n + 1 or layer.n_out != n + 1:
            raise Mismatch(
                f"for d_model={n} the layer maps {layer.n_in} → {layer.n_out} "
                f"coordinates; it should map [1, x] ({n + 1}) → [1, x′] ({n + 1})."
            )
        h = torch.randn(8, n, generator=gen, dtype=torch.float64)
        w = torch.cat([torch.ones(8, 1, dtype=torch.float64), h], 1)
        with torch.no_grad():
            want = torch.cat([torch.ones(8, 1, dtype=torch.float64), h + block(h)], 1)
        what = (
            "on the course's model (tiny)"
            if i == 3
            else f"on a random block (d_model {n}, d_hidden {block.left.out_features})"
        )
        expect_close(
            layer(w.to(layer.left.dtype)),
            want,
            f"{what}, output",
            index_names="(input, coordinate; 0 = the constant)",
        )
        if i == 3:
            ref = to_network(model).layers[0]
            expect_close(layer(w), ref(w), "against to_network's first layer", rtol=1e-9)
    return "[1, x] ↦ [1, x + D(Lx ⊙ Rx) + b_D], as to_network's first layer."


def _spectrum(m):
    return torch.linalg.eigvalsh((m + m.T) / 2).flip(0).clamp_min(0)


def _unfolding_spectrum(net: Network) -> torch.Tensor:
    s = symmetrise(net).dense()
    return torch.linalg.svdvals(s.movedim(1, 0).reshape(s.shape[1], -1)) ** 2


@exercise(
    "00.spectra_before_after",
    hint="downstream_grams(net)[0] is wire w0's downstream "
    "Gram in the network's own basis; downstream_grams(orthogonalise(net))[0] after "
    "orthogonalising. Return their eigenvalues, largest first.",
)
def spectra_before_after(answer, net=None) -> str:
    """``answer(net) -> (before, after)``: eigenvalues of wire w0's downstream Gram before and
    after ``orthogonalise``, largest first."""
    nets = [
        to_network(random_xnet(s, d_input=3, d_model=m, d_hidden=3, n_classes=2))
        for s, m in ((5, 3), (6, 4))
    ]
    if isinstance(net, Network) and len(net.layers) == 2:
        nets.append(net)
    lines = []
    for i, network in enumerate(nets):
        out = call(answer, network, where=f"a two-layer network of widths {network.widths}")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Mismatch("return two tensors, (before, after).")
        before = _spectrum(downstream_grams(network)[0])
        after = _spectrum(downstream_grams(orthogonalise(network))[0])
        svd = _unfolding_spectrum(network)[: len(after)]
        what = "the course's network" if i == 2 else f"a random network (widths {network.widths})"
        got_before, got_after = (
            as_float64(t, n).flatten().sort(descending=True).values
            for t, n in zip(out, ("before", "after"))
        )
        expect_close(got_before, before, f"on {what}, 'before'", rtol=1e-7, atol=1e-9)
        expect_close(got_after, after, f"on {what}, 'after'", rtol=1e-7, atol=1e-9)
        lines.append(float((before[: len(svd)] - svd).abs().max() / svd.max()))
        assert torch.allclose(after, svd, rtol=1e-7, atol=1e-9)
    return (
        f"After orthogonalising they equal the squared singular values of the unfolding; "
        f"before, they differ from them by up to {max(lines):.0%} of the largest."
    )
