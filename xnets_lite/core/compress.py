"""Turn a (truncated) ``Network`` back into a plain PyTorch module: model compression.

After ODT and truncation every wire is small (k+1 coordinates), and a layer is cheaper to
store as the linear map it applies to the degree-2 monomials ``w_i w_j`` (i ≤ j) of its
input than in the factored (L, R, D) form, whose hidden size does not shrink with k. Each
layer is kept in whichever form has fewer numbers; the function is the same either way.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from xnets_lite.core.model import check_input, num_parameters
from xnets_lite.core.network import BilinearLayer, Network


class Quadratic(nn.Module):
    """``y = C · [w_i w_j]_{i≤j}``: a bilinear layer as a map on monomials.

    ``coef``: (n_out, n_in(n_in+1)/2). Built from the symmetric layer tensor ``B`` by
    ``C[o, (i,i)] = B[o,i,i]`` and ``C[o, (i,j)] = 2 B[o,i,j]`` for i < j.
    """

    def __init__(self, layer: BilinearLayer):
        super().__init__()
        dense = layer.dense(symmetric=True)
        n = layer.n_in
        i, j = torch.triu_indices(n, n)
        scale = torch.where(i == j, 1.0, 2.0).to(dense)
        self.register_buffer("rows", i, persistent=False)
        self.register_buffer("cols", j, persistent=False)
        self.coef = nn.Parameter(dense[:, i, j] * scale)

    @staticmethod
    def size(layer: BilinearLayer) -> int:
        return layer.n_out * layer.n_in * (layer.n_in + 1) // 2

    def forward(self, w: Tensor) -> Tensor:
        return (w[:, self.rows] * w[:, self.cols]) @ self.coef.T


class Factored(nn.Module):
    """``y = D (L w ⊙ R w)``, with one shared matrix when ``L = R``."""

    def __init__(self, layer: BilinearLayer):
        super().__init__()
        self.left = nn.Parameter(layer.left.clone())
        self.right = None if layer.is_symmetric else nn.Parameter(layer.right.clone())
        self.down = nn.Parameter(layer.down.clone())

    @staticmethod
    def size(layer: BilinearLayer) -> int:
        factors = 1 if layer.is_symmetric else 2
        return layer.n_hidden * (factors * layer.n_in + layer.n_out)

    def forward(self, w: Tensor) -> Tensor:
        right = self.left if self.right is None else self.right
        return (w @ self.left.T * (w @ right.T)) @ self.down.T


class TreeNet(nn.Module):
    """A ``Network`` as an ``nn.Module``: ``logits = (H w_L)[1:] / (H w_L)[0]``.

    Input: (batch, d_input) or images; output: (batch, n_classes) logits, equal to
    ``net(x)`` (and to the source χ-net's logits when ``net`` was not truncated).
    """

    def __init__(self, net: Network):
        super().__init__()
        self.d_input = net.d_input
        self.embed = nn.Parameter(net.embed.clone())
        self.layers = nn.ModuleList(
            Quadratic(layer) if Quadratic.size(layer) < Factored.size(layer) else Factored(layer)
            for layer in net.layers
        )
        self.head = nn.Parameter(net.head.clone())

    def num_parameters(self) -> int:
        return num_parameters(self)

    def forward(self, x: Tensor) -> Tensor:
        x = check_input(x, self.d_input).to(self.embed)
        w = torch.cat([torch.ones_like(x[:, :1]), x], dim=1) @ self.embed.T
        for layer in self.layers:
            w = layer(w)
        out = w @ self.head.T
        return out[:, 1:] / out[:, :1]


def to_module(net: Network) -> TreeNet:
    """A plain PyTorch module computing ``net`` (see ``TreeNet``)."""
    if not isinstance(net, Network):
        raise TypeError(
            f"to_module expects a Network (e.g. Decomposition.truncate(k)), "
            f"got {type(net).__name__}"
        )
    return TreeNet(net)
