"""Exercises of notebook 04 (the tree): the weight of a pure carry, a layer split into
constant, linear and product terms, and the accuracy of the network's degree-≤1 part."""

from __future__ import annotations

import torch

from xnets_lite.analysis.interpret import compositional_tree
from xnets_lite.analysis.usage import LayerTerms, layer_terms, usage_row
from xnets_lite.core.network import Network, to_network
from xnets_lite.core.odt import odt
from xnets_lite.course.exercises.core import (
    Mismatch,
    as_float64,
    call,
    exercise,
    expect_close,
    random_xnet,
)
from xnets_lite.course.exercises.reference import affine_part


def carry_weights() -> torch.Tensor:
    """The singular values of the (const, direction) block of a pure carry layer read in the
    tree: a 2-layer χ-net whose first block is zero (``w1 = w0``: every direction carried up
    as ``x_i · 1``), decomposed by ODT; the tree's pair weight of (const, i) in direction o
    is ``B[o, 0, i] + B[o, i, 0]``."""
    model = random_xnet(11, d_input=5, d_model=4, d_hidden=3, n_classes=3, n_layers=2)
    with torch.no_grad():
        for p in model.blocks[0].parameters():
            p.zero_()
    dec = odt(model)
    tree = compositional_tree(dec, rank=[n - 1 for n in dec.widths], image_shape=(1, 5))
    b = tree.interactions[0][1:]  # (directions of w1, n0, n0)
    pair = b[:, 0, 1:] + b[:, 1:, 0]
    return torch.linalg.svdvals(pair)


@exercise(
    "04.carry_weight",
    hint="as a tensor over the two copies of the wire below, the "
    "product x_i · 1 is ½(e_i ⊗ e₀ + e₀ ⊗ e_i), of norm 1/√2; orthogonalising scales "
    "the output direction to norm 1, and the tree adds the (0, i) and (i, 0) entries.",
)
def carry_weight(answer) -> str:
    """``answer``: the |weight| the tree prints for the pair (const, i) of a pure carry."""
    want = carry_weights()
    assert float(want.max() - want.min()) < 1e-9, "every carried direction has the same weight"
    got = float(as_float64(answer, "the weight").abs().reshape(-1)[0])
    if abs(got - float(want[0])) > 1e-6:
        raise Mismatch(
            f"the tree of a χ-net whose first block is a pure carry shows "
            f"|weight| {float(want[0]):.4f} for every (const, i) pair; yours: "
            f"{got:.4f}."
        )
    return f"every carried direction has |weight| {float(want[0]):.6f} = √2 in the tree."


def _nets(net):
    nets = [
        (
            to_network(random_xnet(s, d_input=6, d_model=4, d_hidden=3, n_layers=n, block=b)),
            f"a random {b} χ-net with {n} layers",
        )
        for s, (n, b) in enumerate([(2, "residual"), (3, "residual"), (2, "direct")])
    ]
    if isinstance(net, Network):
        nets.append((net, "the course's χ-net"))
    return nets


def _size_ratio(terms, head) -> float:
    """``usage_row``'s size ratio of a student's split, read as ``usage.network_terms``
    reads it: the last layer through the head's logit rows, the others without the constant
    output coordinate."""
    terms = LayerTerms(*(as_float64(t, "a term") for t in terms))
    if head is None:
        return usage_row(terms.map(lambda t: t[:, 1:]))["size_ratio"]
    logits = head[1:].T.detach().to(device="cpu", dtype=torch.float64)
    return usage_row(terms.map(lambda t: t @ logits))["size_ratio"]


@exercise(
    "04.split_layer",
    hint="write the wire as w = w₀e₀ + w_r (w₀ = w[:, :1], w_r = w with column 0 set to 0); "
    "with bil(a, b) = D(La ⊙ Rb): constant = bil(w₀e₀, w₀e₀), linear = bil(w₀e₀, w_r) + "
    "bil(w_r, w₀e₀), product = bil(w_r, w_r); rows of L, R, D act on rows of w as w @ L.T.",
)
def split_layer(answer, net=None, x=None) -> str:
    """``answer(layer, w) -> (constant, linear, product)``, each (N, n_out): the exact split
    of ``layer(w)`` that ``usage.layer_terms`` computes. Checked on random layers and on
    every layer of ``net`` on ``x``; the line printed is ``usage_row``'s size ratio of the
    student's split, per layer, read as ``usage.product_usage`` reads it."""
    gen = torch.Generator().manual_seed(3)
    where = None
    for n, where in _nets(net):
        xs = (
            x
            if where.startswith("the course") and x is not None
            else torch.randn(40, n.d_input, generator=gen, dtype=torch.float64)
        )
        xs = xs.to(dtype=n.embed.dtype, device=n.embed.device)
        rows = []
        with torch.no_grad():
            wires = n.wires(xs)
        for i, (layer, w) in enumerate(zip(n.layers, wires)):
            got = call(answer, layer, w.clone(), where=f"{where}, layer {i + 1}")
            if not isinstance(got, (tuple, list)) or len(got) != 3:
                raise Mismatch(
                    f"return three tensors (constant, linear, product), got "
                    f"{type(got).__name__}" + (f" of {len(got)}" if hasattr(got, "__len__") else "")
                )
            want = layer_terms(layer, w)
            for name, g, t in zip(
                ("constant", "linear", "product"), got, (want.constant, want.linear, want.product)
            ):
                expect_close(
                    g,
                    t.cpu().to(torch.float64),
                    f"on {where}, layer {i + 1}, the {name} term",
                    rtol=1e-6,
                    atol=1e-9,
                    index_names="(input, output coordinate)",
                )
            rows.append(_size_ratio(got, n.head if i == len(n.layers) - 1 else None))
    return (
        f"your split sums to each layer's output; on {where}, products are "
        + " / ".join(f"{v:.2f}" for v in rows)
        + "× the linear terms (layers 1, 2, …; usage.product_usage's size ratio)."
    )


@exercise(
    "04.degree_one_part",
    hint="the degree-≤1 part of a polynomial is its value and "
    "gradient at 0: bias = net(0), weight = the Jacobian of x ↦ net(x[None])[0] at "
    "torch.zeros(d) (every layer's linear terms are in it, not only head · embed).",
)
def degree_one_part(answer, net=None, test_data=None) -> str:
    """``answer(net) -> (weight (C, d), bias (C,))``: logits ≈ weight x + bias to degree 1."""
    for n, where in _nets(net):
        jac, f0 = affine_part(n)
        out = call(answer, n, where=where)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Mismatch("return (weight, bias).")
        expect_close(out[1], f0, f"on {where}, bias", rtol=1e-7, atol=1e-9, index_names="class")
        expect_close(
            out[0], jac, f"on {where}, weight", rtol=1e-7, atol=1e-9, index_names="(class, input)"
        )
    if not isinstance(net, Network) or test_data is None:
        return "on random χ-nets."
    from xnets_lite.core.evaluation import accuracy

    x, y = test_data[0 : len(test_data)]
    jac, f0 = affine_part(net)
    acc1 = float(((x.double() @ jac.T + f0).argmax(1) == y).double().mean())
    return (
        f"the degree-≤1 part alone: {acc1:.1%} test accuracy; the whole network: "
        f"{accuracy(net, test_data):.1%}."
    )
