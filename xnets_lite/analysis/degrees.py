"""Split every logit of a χ-net exactly by polynomial degree.

A norm-free (or eval-mode ``"batch-rms"``) χ-net with L bilinear layers is a polynomial of
degree ``2^L`` in its input. Around an expansion point μ (``center``; 0 by default),

    f(μ + λ u) = Σ_d λ^d f_d(u),        u = x − μ,

so ``f(x) = Σ_d f_d(x − μ)`` with ``f_d`` homogeneous of degree d: ``f_0`` is the logit at μ,
``f_1`` the linear template ``∇f(μ)·u``, ``f_2`` the pairwise interactions ``uᵀ Q u``, and
so on. ``logit_degrees`` computes every ``f_d`` *exactly*, by carrying each wire's value as a
polynomial in λ through the network: the embedding gives degree 1, and each bilinear layer
multiplies two polynomials (``L w(λ) ⊙ R w(λ)``, a convolution of coefficient lists), so the
cost is a few times one forward pass (for 2^L ≤ 16) and no fitting is involved.

``degree_energy`` is the **weights-only** counterpart: the squared norm of each degree's
coefficients, from the factored network, without building any tensor of size (d+1)^(2^L).

Example::

    parts = logit_degrees(model, x)                 # (2^L + 1, N, C), float64
    torch.allclose(parts.sum(0), model(x).double())  # True, up to rounding
    acc_linear = (parts[:2].sum(0).argmax(-1) == y).double().mean()
"""

from __future__ import annotations

import torch
from torch import Tensor

from xnets_lite.core.model import XNet
from xnets_lite.core.network import Network, symmetrise, to_network


def as_network(model_or_network, dtype: torch.dtype = torch.float64) -> Network:
    """The float64 ``Network`` of an ``XNet`` (eval-mode function) or a ``Network`` (cast),
    refusing the per-sample RMS χ-net, which is a *ratio* of polynomials, not a polynomial."""
    if hasattr(model_or_network, "network") and isinstance(
        getattr(model_or_network, "network", None), Network
    ):
        model_or_network = model_or_network.network  # a Decomposition: the same function
    if isinstance(model_or_network, Network):
        net = model_or_network.to(dtype=dtype)
    elif isinstance(model_or_network, XNet):
        net = to_network(model_or_network, dtype=dtype)
    else:
        raise TypeError(
            f"expected an XNet, a Network or a Decomposition, got "
            f"{type(model_or_network).__name__}: for your own bilinear nn.Module pass "
            f"xnets_lite.from_module(model) (which checks that the import is exact); a model "
            f"with a ReLU/GELU is not a polynomial and has no degrees"
        )
    if net.meta.get("norm") == "rms":
        raise ValueError(
            "the per-sample RMS χ-net (norm='rms') computes [s, s·logits] and divides "
            "by the per-sample scale s: its logits are a ratio of polynomials, "
            "with no split by degree. Use a norm=None or norm='batch-rms' χ-net."
        )
    return net


def check_center(center, d_input: int, dtype, device) -> Tensor:
    """The expansion point as a (d_input,) tensor of ``dtype`` on ``device``; ``None`` is 0."""
    if center is None:
        return torch.zeros(d_input, dtype=dtype, device=device)
    center = torch.as_tensor(center).to(dtype=dtype, device=device).reshape(-1)
    if center.numel() != d_input:
        raise ValueError(f"center must have {d_input} entries (one input), got {center.numel()}")
    return center


def poly_mul(a: Tensor, b: Tensor) -> Tensor:
    """Product of two polynomials in λ given as coefficient stacks (p+1, …), (q+1, …) →
    (p+q+1, …), elementwise in the trailing dimensions."""
    out = a.new_zeros(a.shape[0] + b.shape[0] - 1, *a.shape[1:])
    for i in range(a.shape[0]):
        out[i : i + b.shape[0]] += a[i] * b
    return out


def polynomial_wires(net: Network, x: Tensor, center=None) -> list[Tensor]:
    """Every wire as a polynomial in λ at ``center + λ(x − center)``: a list of coefficient
    stacks, wire l of shape (2^l + 1, N, n_l), coefficient d first-dimension-indexed."""
    x = net.lift(x)[:, 1:]
    mu = check_center(center, net.d_input, net.dtype, net.device)
    const = torch.cat([mu.new_ones(1), mu])  # x̃ at λ = 0
    w = torch.stack(
        [(const @ net.embed.T).expand(len(x), -1), (x - mu) @ net.embed[:, 1:].T]
    )  # (2, N, n₀)
    out = [w]
    for layer in net.layers:
        prod = poly_mul(w @ layer.left.T, w @ layer.right.T)  # (2p+1, N, k)
        w = prod @ layer.down.T
        out.append(w)
    return out


@torch.no_grad()
def logit_degrees(
    model: XNet | Network, x: Tensor, center: Tensor | None = None, batch_size: int = 2000
) -> Tensor:
    """``(2^L + 1, N, C)`` float64: the degree-d part ``f_d`` of every logit, for d = 0…2^L,
    around ``center`` (an input of shape (d_input,), or None for 0).

    ``parts.sum(0)`` equals the model's logits (exactly, up to float64 rounding); ``parts[d]``
    is homogeneous of degree d in ``x − center``. ``model``: an ``XNet`` with ``norm=None`` or
    ``"batch-rms"`` (its eval-mode function) or a ``Network``; the per-sample RMS χ-net is
    refused (not a polynomial). ``x``: (N, d_input) or images.

    Args:
        model: an ``XNet``, a ``Network`` (``from_module(model)``) or a ``Decomposition``.
        x: the inputs.
        center: the expansion point (d_input,), default 0.
        batch_size: inputs per batch.

    Returns:
        (2^L + 1, N, C) float64, the parts by degree.

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> net = xl.to_network(xl.XNet(d_input=9, d_model=6, n_classes=3, n_layers=2))
        >>> x = torch.rand(5, 9, dtype=torch.float64)
        >>> parts = xl.logit_degrees(net, x)
        >>> tuple(parts.shape), torch.allclose(parts.sum(0), net(x))
        ((5, 5, 3), True)
    """
    net = as_network(model)
    x = net.lift(x)[:, 1:]
    parts = []
    for i in range(0, len(x), batch_size):
        out = polynomial_wires(net, x[i : i + batch_size], center)[-1] @ net.head.T
        scale = out[..., 0]
        # The scale row is the constant 1 (degree 0) for these networks, by construction.
        if float((scale[0] - 1).abs().max()) > 1e-8 or float(scale[1:].abs().max()) > 1e-8:
            raise ValueError(
                "this network's homogeneous scale is not the constant 1; "
                "it is not a plain polynomial network"
            )
        parts.append(out[..., 1:])
    return torch.cat(parts, dim=1)


def degree_accuracy(parts: Tensor, labels: Tensor) -> Tensor:
    """(D,): accuracy of the degree-≤k part ``Σ_{d≤k} f_d`` for k = 0…D−1 (``parts`` from
    ``logit_degrees``, ``labels`` (N,))."""
    cumulative = parts.cumsum(0)
    return (cumulative.argmax(-1) == labels.to(parts.device)[None]).double().mean(-1).cpu()


def variance_share(parts: Tensor) -> Tensor:
    """(D,): ``Σ_c Var_n f_d[n, c] / Σ_c Var_n logit[n, c]``, the share of the logits'
    variance over the inputs that each degree has on its own. The shares need not sum to 1:
    the covariances between degrees (positive or negative) make up the rest."""
    total = parts.sum(0).var(0).sum()
    return (parts.var(1).sum(-1) / total).cpu()


# ---------------------------------------------------------------------------------------
# Weights only
# ---------------------------------------------------------------------------------------
def fold_center(net: Network, center) -> Network:
    """The same function of ``u = x − center``: ``E ← E [[1, 0], [μ, I]]``."""
    if center is None:
        return net
    mu = check_center(center, net.d_input, net.dtype, net.device)
    shift = torch.eye(net.d_input + 1, dtype=net.dtype, device=net.device)
    shift[1:, 0] = mu
    return net.replace(embed=net.embed @ shift)


@torch.no_grad()
def degree_energy(model, center=None, symmetric: bool = True) -> Tensor:
    """(2^L + 1, C) float64: the squared norm of logit c's degree-d coefficients, from the
    weights alone.

    The tree's tensor ``T[c, i₁…i_N]`` over N = 2^L copies of ``x̃ = [1, u]`` (u = x − center)
    splits by how many copies pick a pixel rather than the constant: those entries are the
    degree-d coefficients, and ``energy[d, c] = Σ T[c, …]²`` over them. The sum over d is the
    class's total energy, the trace that ODT's class Grams spread over directions
    (``symmetric=True``: the symmetrised tree, as ODT reads it; False: the tree as built).

    How: the upstream Gram recursion ``G_{l+1} = D[(L G_l Lᵀ) ⊙ (R G_l Rᵀ)]Dᵀ`` with a
    polynomial variable t weighting the pixel coordinates, ``G₀(t) = E diag(1, t, …, t) Eᵀ``:
    each Gram is a polynomial in t with n×n coefficients, each ⊙ multiplies two of them, and
    the coefficient of t^d in ``H_c G_L(t) H_cᵀ`` is the degree-d energy. Nothing of size
    784^d is built.

    How it differs from the on-data split (``logit_degrees``): this measures coefficients in
    the metric where every pixel is a unit vector, i.e. on inputs of norm 1. A degree-d term
    on an input of norm r scales as r^d; MNIST digits have ‖x‖ ≈ 9.3, so high degrees weigh
    far more on data than their coefficient energy suggests (and, around 0, the constant
    coordinate dominates the weights-only view). ``energy[d] · r^(2d)`` is the energy at the
    scale r (the input rescaled by r, compensated in the embedding).
    """
    net = fold_center(as_network(model), center)
    if symmetric:
        net = symmetrise(net)
    e0, ep = net.embed[:, :1], net.embed[:, 1:]
    g = torch.stack([e0 @ e0.T, ep @ ep.T])  # (2, n₀, n₀)
    for layer in net.layers:
        gl = layer.left @ g @ layer.left.T
        gr = layer.right @ g @ layer.right.T
        g = layer.down @ poly_mul(gl, gr) @ layer.down.T
    u = net.head[1:]
    return torch.einsum("ci,dij,cj->dc", u, g, u)


# ---------------------------------------------------------------------------------------
# The Taylor terms of degree 0, 1 and 2 (the linear template and Q_c), exactly
# ---------------------------------------------------------------------------------------
@torch.no_grad()
def linear_and_quadratic(
    model, center=None, quadratic: bool = True
) -> tuple[Tensor, Tensor, Tensor | None]:
    """``(f₀ (C,), g (C, d), Q (C, d, d))``, float64: logit at ``center``, its gradient and half
    its Hessian there, exactly from the weights: the Taylor terms of degree 0, 1 and 2. With
    ``quadratic=False`` only the first two (``Q`` is None): the linear template, cheaply.

    With ``a_l`` the wire values at μ and ``J_l`` their Jacobians in u (``J₀ = E[:, 1:]``,
    ``J_{l+1} = D[diag(L a_l) R J_l + diag(R a_l) L J_l]``), and ``v_l`` the gradient of the
    logits with respect to wire l (``v_L = H[1:]``,
    ``v_l = ((v_{l+1}D) ⊙ (R a_l)) L + ((v_{l+1}D) ⊙ (L a_l)) R``), the quadratic part of
    ``L w ⊙ R w`` is ``(L J u) ⊙ (R J u)`` plus what the linear backward sweep carries down,
    so ``Q_c = Σ_l sym(J_lᵀ Lᵀ diag(Dᵀ v_{l+1,c}) R J_l)``.
    """
    net = as_network(model)
    mu = check_center(center, net.d_input, net.dtype, net.device)
    a = [net.embed @ torch.cat([mu.new_ones(1), mu])]
    jac = [net.embed[:, 1:]]
    for layer in net.layers:
        la, ra = layer.left @ a[-1], layer.right @ a[-1]
        a.append(layer.down @ (la * ra))
        if quadratic:
            jac.append(
                layer.down
                @ (la[:, None] * (layer.right @ jac[-1]) + ra[:, None] * (layer.left @ jac[-1]))
            )
    v = net.head[1:]
    q = torch.zeros(net.n_classes, net.d_input, net.d_input, dtype=net.dtype, device=net.device)
    for l in reversed(range(len(net.layers))):
        layer, a_l = net.layers[l], a[l]
        s = v @ layer.down  # (C, k)
        if quadratic:
            lj, rj = layer.left @ jac[l], layer.right @ jac[l]  # (k, d)
            q += torch.einsum("hi,ch,hj->cij", lj, s, rj)
        v = (s * (layer.right @ a_l)) @ layer.left + (s * (layer.left @ a_l)) @ layer.right
    f0 = (net.head @ a[-1])[1:]
    return f0, v @ net.embed[:, 1:], (q + q.mT) / 2 if quadratic else None
