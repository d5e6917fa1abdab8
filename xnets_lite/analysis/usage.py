"""What the network *uses* on data, beside what its coefficients weigh.

ODT's spectra, the tree's "mass in row/column 0" and the class-energy shares are norms of
coefficient tensors: sums of squared coefficients over the homogeneous input ``x̃ = [1, x]``,
every monomial weighted alike, whatever the data. This module measures the same objects on
inputs (e.g. the test images), so that every weights-only share can be put beside a
data-weighted one.

**The split of a layer's output.** Write a wire as ``w = w₀ e₀ + w_r`` (``w₀`` the constant
coordinate, 1 on every input of a norm-free network; ``w_r`` the directions). A bilinear
layer ``y = D (Lw ⊙ Rw)`` then splits exactly into three terms,

    y = D(l₀ ⊙ r₀)                          constant    (a bias: the same for every input)
      + D(l₀ ⊙ R w_r + L w_r ⊙ r₀)          linear      (constant × direction: row/column 0)
      + D(L w_r ⊙ R w_r)                    product     (direction × direction)

with ``l₀ = w₀ L[:, 0]`` and ``r₀ = w₀ R[:, 0]``. In the symmetric layer tensor ``B`` of the
compositional tree (``Tree.interactions``) these are the entry ``[0, 0]``, the rest of row
and column 0, and the block ``[1:, 1:]``: the data-weighted counterpart of
``constant_share``. "Linear" is linear *in the wire below*, not in the pixels: the residual
carry and the biased products ``a ⊙ Bx + b ⊙ Ax`` of a direct block are linear terms.

Functions:

* ``layer_terms(layer, w)`` → ``LayerTerms`` (each (N, n_out)), exact: they sum to ``layer(w)``.
* ``network_terms(net, x)``: the split of every layer on inputs ``x``; the last layer's
  terms are read through the head's logit rows, so they are per-logit contributions.
* ``product_usage(net, x)``: per layer, the size of the product terms relative to the
  linear ones and the share of the output's variance the products carry (``usage_row``).
* ``kept_variance(full, truncated, x)``: per class, the share of the logits' variance on
  ``x`` that a truncated network reproduces (an R²).
* ``pair_contributions(matrix, w, pairs)``: what named entries of a symmetric interaction
  matrix contribute on data, and what the rest does (the coverage of a traced path).
* ``product_share(matrix)``: the products' share of a matrix's squared coefficients (by
  weights); ``sparsity_rows(tree, net, x)`` sets it beside ``product_usage`` per layer,
  ``sparsity_line`` prints one row.
* ``trace_coverage(class_matrices, w, top)``: per class, the share of the logit's variance
  its ``top`` strongest pairs explain; ``coverage_summary`` the range and counts.

Example::

    >>> from xnets_lite.core.odt import odt
    >>> dec = odt(model)
    >>> rows = product_usage(dec.truncate(15), x_test)
    >>> rows[0]["variance_share"]      # layer 1: share of its output's variance from products
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from xnets_lite.core.network import BilinearLayer, Network


@dataclass
class LayerTerms:
    """A layer's output split by what it multiplies (all (N, n_out)).

    Attributes:
        constant: ``D(l₀ ⊙ r₀)``: constant × constant (one bias per output).
        linear: ``D(l₀ ⊙ R w_r + L w_r ⊙ r₀)``: constant × direction, row/column 0.
        product: ``D(L w_r ⊙ R w_r)``: direction × direction, the block ``[1:, 1:]``.
    """

    constant: Tensor
    linear: Tensor
    product: Tensor

    def total(self) -> Tensor:
        return self.constant + self.linear + self.product

    def map(self, fn) -> LayerTerms:
        return LayerTerms(fn(self.constant), fn(self.linear), fn(self.product))


def layer_terms(layer: BilinearLayer, w: Tensor) -> LayerTerms:
    """Split ``layer(w)`` exactly into constant, linear and product terms (module docstring).

    ``w``: (N, n_in), coordinate 0 the constant one (as every ``Network`` wire). Returns a
    ``LayerTerms`` of (N, n_out) tensors whose sum is ``layer(w)`` up to rounding.
    """
    if w.dim() != 2 or w.shape[1] != layer.n_in:
        raise ValueError(
            f"w must be (N, {layer.n_in}): a batch of the layer's input wire, "
            f"got shape {tuple(w.shape)}"
        )
    w0 = w[:, :1]
    rest = torch.cat([torch.zeros_like(w0), w[:, 1:]], dim=1)
    l0, r0 = w0 * layer.left[:, 0], w0 * layer.right[:, 0]  # (N, k)
    lr, rr = rest @ layer.left.T, rest @ layer.right.T  # (N, k)
    down = layer.down.T
    return LayerTerms(
        constant=(l0 * r0) @ down, linear=(l0 * rr + lr * r0) @ down, product=(lr * rr) @ down
    )


def _check_net(net: Network, x: Tensor) -> None:
    if not isinstance(net, Network):
        raise TypeError(
            f"expected a Network (e.g. odt(model).network or dec.truncate(k)), "
            f"got {type(net).__name__}"
        )
    if not net.layers:
        raise ValueError("this network has no bilinear layer: there are no products to measure")
    scale = net.homogeneous(x[:8])[:, 0]
    if not torch.allclose(scale, torch.ones_like(scale)):
        raise ValueError(
            "this network has a per-sample scale (a per-sample RMS χ-net): its "
            "logits are ratios, not sums of layer terms; use a norm-free or "
            "batch-rms χ-net"
        )


@torch.no_grad()
def network_terms(net: Network, x: Tensor) -> list[LayerTerms]:
    """The split (``layer_terms``) of every bilinear layer of ``net`` on inputs ``x``.

    Layers below the last: the output wire's direction coordinates (1:), (N, n_{l+1} − 1);
    the constant coordinate is left out (it is 1 on every input). The last layer: its terms
    read through the head's logit rows, (N, n_classes), so that they sum to the logits.
    """
    _check_net(net, x)
    wires = net.wires(x)
    out = []
    for i, (layer, w) in enumerate(zip(net.layers, wires)):
        terms = layer_terms(layer, w)
        if i == len(net.layers) - 1:
            out.append(terms.map(lambda t: t @ net.head[1:].T))
        else:
            out.append(terms.map(lambda t: t[:, 1:]))
    return out


def _variance(t: Tensor) -> Tensor:
    """Summed over coordinates, the variance over the batch (population variance)."""
    return ((t - t.mean(0)) ** 2).mean(0).sum()


def usage_row(terms: LayerTerms) -> dict:
    """The data-weighted shares of one layer's ``LayerTerms``.

    * ``size_ratio``: ``‖product − mean‖ / ‖linear − mean‖`` over the batch and the output
      coordinates: how large the products' variation is next to that of the linear terms.
    * ``variance_share``: ``Var(product) / Var(output)``: the share of the output's variance
      (summed over coordinates) that is lost if the products are dropped (1 − R² of the
      constant + linear part). Can exceed 1 when the two parts cancel.
    * ``linear_r2``: ``1 − Var(product) / Var(output)`` (the same fact, as an R²).
    """
    var_lin, var_prod, var_out = (
        _variance(t) for t in (terms.linear, terms.product, terms.total())
    )
    tiny = torch.finfo(var_out.dtype).tiny
    share = float(var_prod / var_out.clamp_min(tiny))
    return {
        "size_ratio": float((var_prod / var_lin.clamp_min(tiny)).sqrt()),
        "variance_share": share,
        "linear_r2": 1.0 - share,
    }


@torch.no_grad()
def product_usage(net: Network, x: Tensor) -> list[dict]:
    """Per bilinear layer of ``net``, on inputs ``x``: ``usage_row`` of its split, plus
    ``layer`` (1-based, as the notebooks count) and ``writes`` (``"w{l}"``, or
    ``"logits"`` for the last layer, read through the head)."""
    rows = []
    terms = network_terms(net, x)
    for i, t in enumerate(terms):
        last = i == len(terms) - 1
        rows.append(dict(layer=i + 1, writes="logits" if last else f"w{i + 1}", **usage_row(t)))
    return rows


@torch.no_grad()
def kept_variance(full, truncated, x: Tensor) -> Tensor:
    """(n_classes,): per class, ``1 − Var(f_c − f̃_c) / Var(f_c)`` on inputs ``x``, the share
    of logit c's variance that the truncated network ``f̃`` reproduces (an R², 1 = all of
    it). ``full`` and ``truncated``: anything callable on ``x`` returning logits (a
    ``Network`` or a model in eval mode)."""
    f, g = full(x), truncated(x)
    if f.shape != g.shape:
        raise ValueError(
            f"the two networks give logits of shapes {tuple(f.shape)} and "
            f"{tuple(g.shape)}; compare networks of the same model"
        )

    def var(t: Tensor) -> Tensor:
        return ((t - t.mean(0)) ** 2).mean(0)

    return 1 - var(f - g) / var(f).clamp_min(torch.finfo(f.dtype).tiny)


def pair_contributions(matrix: Tensor, w: Tensor, pairs) -> tuple[Tensor, Tensor]:
    """What named entries of a symmetric interaction matrix contribute on data.

    ``matrix``: (n, n), the quadratic form ``f(w) = wᵀ M w`` (e.g. ``Tree.class_matrices[c]``
    or ``Tree.interactions[l][o]``); ``w``: (N, n) the wire it reads (column 0 the constant);
    ``pairs``: (i, j) index pairs with i ≤ j (e.g. from ``interpret.trace_class``), where an
    off-diagonal pair stands for both ``[i, j]`` and ``[j, i]``. Returns ``(named, rest)``,
    each (N,), with ``named + rest = wᵀ M w`` exactly.
    """
    n = matrix.shape[-1]
    if matrix.shape != (n, n) or w.dim() != 2 or w.shape[1] != n:
        raise ValueError(
            f"matrix must be (n, n) and w (N, n); got {tuple(matrix.shape)} and {tuple(w.shape)}"
        )
    mask = torch.zeros_like(matrix, dtype=torch.bool)
    for i, j in pairs:
        if not (0 <= i <= j < n):
            raise ValueError(f"pair ({i}, {j}) is not 0 ≤ i ≤ j < {n}")
        mask[i, j] = mask[j, i] = True
    total = ((w @ matrix) * w).sum(-1)
    named = ((w @ (matrix * mask)) * w).sum(-1)
    return named, total - named


def product_share(matrix: Tensor) -> float:
    """By weights: the share of the squared coefficients of a symmetric interaction matrix
    ``(…, n, n)`` (or a stack of them) outside row/column 0, i.e. in the products of two
    directions; ``1 − product_share`` is the share in row/column 0 (constant × direction
    and the constant's own entry)."""
    total = float((matrix**2).sum())
    edge = float((matrix[..., 0, :] ** 2).sum() + (matrix[..., 1:, 0] ** 2).sum())
    return (total - edge) / total if total > 0 else 0.0


@torch.no_grad()
def sparsity_rows(tree, net: Network, x: Tensor) -> list[dict]:
    """Per layer of the tree, its products by weights beside their use on data.

    ``tree``: a ``Tree`` (``interpret.compositional_tree``) of the network ``net`` (its
    ``dec.truncate(rank)``, so the two are the same function). Each row is
    ``product_usage(net, x)``'s (``layer``, ``writes``, ``size_ratio``, ``variance_share``)
    plus ``weights`` (``product_share`` of the layer's matrices: ``Tree.interactions[l]``
    without the constant output, the class matrices for the last layer) and ``ratio``
    (``variance_share / weights``: how many times their coefficient share the products
    carry of the variance; inf when they have no coefficients).
    """
    mats = [m[1:] for m in tree.interactions] + [tree.class_matrices]
    rows = []
    for row, m in zip(product_usage(net, x), mats, strict=True):
        weights = product_share(m)
        ratio = row["variance_share"] / weights if weights > 0 else float("inf")
        rows.append(dict(row, weights=weights, ratio=ratio))
    return rows


def trace_coverage(class_matrices: Tensor, w: Tensor, top: int = 3) -> list[dict]:
    """Per class: how much of its logit, on data, the ``top`` strongest pairs of its matrix
    (``interpret.top_pairs``, the pairs a trace names at the top) account for.

    ``class_matrices``: (C, n, n), e.g. ``Tree.class_matrices``; ``w``: (N, n), the wire they
    read on the inputs (column 0 the constant). Each row: ``explained`` (``1 − Var(rest) /
    Var(logit)``, population variances over the N inputs; can be negative when the named
    terms and the rest cancel), ``rest_std`` and ``named_std`` (their standard deviations
    over the inputs, ``Tensor.std``), and ``pairs`` (the named (i, j, weight)).
    """
    from xnets_lite.analysis.interpret import top_pairs

    rows = []
    for m in class_matrices:
        pairs = top_pairs(m, top)
        named, rest = pair_contributions(m, w, [(i, j) for i, j, _ in pairs])
        var = float(_variance(named + rest))
        explained = 1 - float(_variance(rest)) / var if var > 0 else float("nan")
        rows.append(
            dict(
                explained=explained,
                rest_std=float(rest.std()),
                named_std=float(named.std()),
                pairs=pairs,
            )
        )
    return rows


def coverage_summary(rows: list[dict], below: float = 0.5) -> dict:
    """Of ``trace_coverage`` rows: ``lowest`` and ``highest`` (class, explained), the classes
    whose named terms explain less than ``below`` (``under``), and those whose rest varies
    more than the named terms (``rest_larger``: rest_std > named_std)."""
    explained = [r["explained"] for r in rows]
    low = min(range(len(rows)), key=explained.__getitem__)
    high = max(range(len(rows)), key=explained.__getitem__)
    return {
        "lowest": (low, explained[low]),
        "highest": (high, explained[high]),
        "under": [c for c, e in enumerate(explained) if e < below],
        "rest_larger": [c for c, r in enumerate(rows) if r["rest_std"] > r["named_std"]],
    }
