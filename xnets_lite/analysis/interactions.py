"""The signed pairwise interactions of every class: ``Q_c``, half the Hessian of logit c.

Around an expansion point μ (0, or the training mean), every logit of a polynomial χ-net is

    logit_c(μ + u) = logit_c(μ) + g_cᵀ u + uᵀ Q_c u + (degree ≥ 3),

with ``g_c = ∇logit_c(μ)`` the **linear template** and ``Q_c = ½ ∇²logit_c(μ)`` (d × d,
symmetric, *signed*) the pairwise interactions. Its eigenvectors with positive eigenvalues
are input patterns whose presence (either sign) raises the logit quadratically: excitation;
negative eigenvalues: inhibition. This is the reading of Pearce, Dooms et al. (2024,
"Bilinear MLPs enable weight-based mechanistic interpretability") for one bilinear layer,
here for a deep χ-net.

It is *not* ODT's **class Gram** (``interpret.class_eigenvectors``): that is the Gram of the
network unfolded at one input copy, PSD, whose eigenvalues are squared singular values; for a
one-layer model without linear terms it is ``Q_c²``, so it merges excitation and inhibition
(a +0.5 and a −0.5 eigenvalue both become 0.25), and for a deep one it also holds the linear
template and every higher degree.

``quadratic_forms`` is exact, from the weights (one forward sweep of Jacobians at μ and one
backward sweep of gradients, ``quadratic_form_autograd`` is the independent check).

Example::

    qf = class_interactions(model, k=3, center=None)
    qf.positive_values[c], qf.negative_values[c]        # (k,) each
    qf.positive[c, 0]                                   # (d,) top excitatory direction
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from xnets_lite.analysis.degrees import as_network, check_center, linear_and_quadratic
from xnets_lite.analysis.interpret import data_gradient, orient
from xnets_lite.analysis.interpret import image_shape_of as _shape
from xnets_lite.core.model import XNet
from xnets_lite.core.network import Network


def quadratic_forms(model: XNet | Network, center: Tensor | None = None) -> Tensor:
    """The signed quadratic form of every class, ``Q_c = ½ ∇²logit_c(center)``, exact from
    the weights (no data, no autograd).

    For a one-layer model without linear terms ``logit_c(x) = xᵀ Q_c x``, and the class Gram
    of ``class_eigenvectors`` is ``Q_c²``: ``Q_c`` keeps the signs (excitation and
    inhibition) that the Gram merges.

    Args:
        model: an ``XNet``, a ``Network`` (``from_module(model)``) or a ``Decomposition``.
        center: the input the Hessian is taken at, (d_input,) (default: 0).

    Returns:
        (C, d_input, d_input) float64, symmetric.

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> E, L, R, H = torch.randn(5, 4), torch.randn(5, 5), torch.randn(5, 5), torch.randn(2, 5)
        >>> net = xl.from_factors(E, blocks=[(L, R)], head_weight=H)
        >>> q = xl.quadratic_forms(net)
        >>> x = torch.randn(4, dtype=torch.float64)
        >>> torch.allclose(net(x), torch.einsum("i,cij,j->c", x, q, x))
        True
    """
    return linear_and_quadratic(model, center)[2]


def quadratic_form_autograd(model, c: int, center=None) -> Tensor:
    """(d, d): ``½ ∇²logit_c(center)`` by autograd on the float64 network, the independent
    check of ``quadratic_forms`` (d backward passes: small inputs, or one class at a time)."""
    net = as_network(model)
    mu = check_center(center, net.d_input, net.dtype, net.device)
    return 0.5 * torch.autograd.functional.hessian(lambda x: net(x[None])[0, c], mu, vectorize=True)


@dataclass
class ClassInteractions:
    """Per class, the top excitatory and inhibitory directions of ``Q_c``.

    Attributes:
        positive, negative: (C, k, d) unit eigenvectors of the k largest and the k most
            negative eigenvalues, each signed so that moving inputs along +v raises the
            class's logit on average over ``sign_data`` (``interpret.orient``).
        positive_values, negative_values: (C, k) their eigenvalues (largest first; most
            negative first).
        template: (C, d) the linear template ``∇logit_c(center)``.
        image_shape: (H, W) for drawing.
    """

    positive: Tensor
    negative: Tensor
    positive_values: Tensor
    negative_values: Tensor
    template: Tensor
    image_shape: tuple

    def template_cosines(self) -> tuple[Tensor, Tensor]:
        """(C, k) twice: |cos| of the positive, then the negative, eigenvectors with the class's
        linear template (0 = orthogonal to it: information beyond the template)."""
        g = self.template / self.template.norm(dim=-1, keepdim=True).clamp_min(1e-300)
        return tuple(torch.einsum("ckd,cd->ck", v, g).abs() for v in (self.positive, self.negative))

    def select(self, sign: str) -> tuple[Tensor, Tensor]:
        """``(vectors (C, k, d), values (C, k))`` for ``sign`` ``"+"`` or ``"-"``."""
        if sign not in ("+", "-"):
            raise ValueError(f"sign must be '+' (excitation) or '-' (inhibition), got {sign!r}")
        return (
            (self.positive, self.positive_values)
            if sign == "+"
            else (self.negative, self.negative_values)
        )


@torch.no_grad()
def class_interactions(
    model, k: int = 3, center=None, sign_data=None, image_shape=None, sign_gradient=None
) -> ClassInteractions:
    """Top-``k`` positive and negative eigenvectors of every class's ``Q_c`` (around
    ``center``), signed by the course's rule on ``sign_data`` (N, d) — the mean gradient
    over those inputs, or ``sign_gradient`` (C, d) when already computed — or, without
    data, by the gradient at ``center``."""
    net = as_network(model)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= net.d_input // 2:
        raise ValueError(f"k must be an int between 1 and {net.d_input // 2}, got {k!r}")
    _, g, q = linear_and_quadratic(net, center)
    evals, evecs = torch.linalg.eigh(q)  # ascending
    evecs = evecs.mT  # rows
    pos, neg = evecs.flip(1)[:, :k], evecs[:, :k]
    grad = sign_gradient
    if grad is None:
        grad = g if sign_data is None else data_gradient(net, sign_data)
    return ClassInteractions(
        orient(pos, grad),
        orient(neg, grad),
        evals.flip(1)[:, :k],
        evals[:, :k],
        g,
        _shape(net.d_input, image_shape),
    )
