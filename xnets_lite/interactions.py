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

from .degrees import as_network, check_center
from .interpret import data_gradient, orient
from .interpret import image_shape_of as _shape


@torch.no_grad()
def linear_and_quadratic(model, center=None) -> tuple[Tensor, Tensor, Tensor]:
    """``(f₀ (C,), g (C, d), Q (C, d, d))``, float64: logit at ``center``, its gradient and half
    its Hessian there, exactly from the weights.

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
        jac.append(
            layer.down
            @ (la[:, None] * (layer.right @ jac[-1]) + ra[:, None] * (layer.left @ jac[-1]))
        )
    v = net.head[1:]
    q = torch.zeros(net.n_classes, net.d_input, net.d_input, dtype=net.dtype, device=net.device)
    for layer, a_l, j_l in zip(reversed(net.layers), reversed(a[:-1]), reversed(jac[:-1])):
        s = v @ layer.down  # (C, k)
        lj, rj = layer.left @ j_l, layer.right @ j_l  # (k, d)
        q += torch.einsum("hi,ch,hj->cij", lj, s, rj)
        v = (s * (layer.right @ a_l)) @ layer.left + (s * (layer.left @ a_l)) @ layer.right
    f0 = (net.head @ a[-1])[1:]
    return f0, v @ net.embed[:, 1:], (q + q.mT) / 2


def quadratic_forms(model, center=None) -> Tensor:
    """(C, d, d) float64: ``Q_c = ½ ∇²logit_c(center)``, exact from the weights."""
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


def plot_interactions(qf: ClassInteractions, title: str = "", n: int | None = None):
    """The paper-style grid: one column per class, rows = the top-n excitatory eigenvectors
    (positive eigenvalues), then the top-n inhibitory ones, titled with the eigenvalue.
    Each image on its own symmetric scale: blue positive, red negative."""
    from matplotlib.figure import Figure

    from .plots import show_image, sign_colorbar

    n_classes, k = qf.positive_values.shape
    n = k if n is None else min(n, k)
    h, w = qf.image_shape
    side = min(1.2, 8.4 / n_classes)  # at most 9.3 inches wide: shown at full size
    fig = Figure(
        figsize=(side * n_classes + 0.9, (side + 0.15) * 2 * n + 0.8), layout="constrained"
    )
    axes = fig.subplots(2 * n, n_classes, squeeze=False)
    for r in range(2 * n):
        sign, i = ("+", r) if r < n else ("-", r - n)
        vectors, values = qf.select(sign)
        for c in range(n_classes):
            show_image(
                axes[r, c], vectors[c, i].reshape(h, w), f"{c}: λ={float(values[c, i]):+.2f}"
            )
        axes[r, 0].set_ylabel(
            ("excitatory" if sign == "+" else "inhibitory") + f" {i + 1}", fontsize=8
        )
    sign_colorbar(fig, axes)
    fig.suptitle(
        (title + "\n" if title else "") + "eigenvectors of Q_c = ½ Hessian of logit c; "
        "λ: eigenvalue (top rows > 0, bottom rows < 0)",
        fontsize=8,
    )
    return fig
