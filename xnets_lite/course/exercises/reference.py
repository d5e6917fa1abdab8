"""Reference implementations the checkers compare against (float64, public API only)."""

from __future__ import annotations

import torch
from torch import Tensor

from xnets_lite.core.network import Network, to_network


def as_network(model_or_network) -> Network:
    """A ``Network`` in float64 from an ``XNet`` or a ``Network``."""
    if isinstance(model_or_network, Network):
        return model_or_network.to(dtype=torch.float64)
    return to_network(model_or_network, dtype=torch.float64)


def affine_part(model_or_network) -> tuple[Tensor, Tensor]:
    """``(J (C, d), f0 (C,))``: the degree-≤1 part ``f(0) + J x`` of the logits, by autograd
    at x = 0 (the linear template ``∇ₓlogit_c(0)`` is row c of ``J``)."""
    net = as_network(model_or_network)
    zero = torch.zeros(net.d_input, dtype=torch.float64, device=net.device)
    with torch.enable_grad():
        jac = torch.autograd.functional.jacobian(lambda x: net(x[None])[0], zero)
    with torch.no_grad():
        f0 = net(zero[None])[0]
    return jac.cpu(), f0.cpu()


def interaction_matrix(model_or_network, c: int) -> Tensor:
    """``Q̃_c`` ((d+1) × (d+1), symmetric) with ``logit_c = x̃ᵀ Q̃_c x̃`` for a one-layer χ-net
    (norm None or batch-rms): ``Q̃ = ½ Eᵀ (Lᵀ diag(a) R + Rᵀ diag(a) L) E`` with
    ``a = Dᵀ H[1 + c]``."""
    net = as_network(model_or_network)
    if len(net.layers) != 1:
        raise ValueError(
            f"a one-layer χ-net is needed, this one has {len(net.layers)} bilinear layers"
        )
    layer = net.layers[0]
    a = layer.down.T @ net.head[1 + c]
    q = layer.left.T @ (a[:, None] * layer.right)
    return net.embed.T @ ((q + q.T) / 2) @ net.embed


def centred_class_means(data) -> Tensor:
    """(C, d): mean image of each class minus the mean image of all of ``data``."""
    x, y = data[0 : len(data)]
    x = x.to(torch.float64)
    means = torch.stack([x[y == c].mean(0) for c in range(data.n_classes)])
    return means - x.mean(0)


def rest_share(expl) -> float:
    """Share of an ``Explanation``'s trace left in "rest": ``Σ|rest| / Σ(|rest| + Σ|pair|)``
    over its steps."""
    rest = sum(abs(s["rest"]) for s in expl.steps)
    named = sum(abs(p[2]) for s in expl.steps for p in s["pairs"])
    total = rest + named
    return rest / total if total > 0 else 0.0
