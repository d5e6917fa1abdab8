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

    def extra_repr(self) -> str:
        widths = [self.embed.shape[0]] + [
            (m.coef if isinstance(m, Quadratic) else m.down).shape[0] for m in self.layers
        ]
        return (
            f"d_input={self.d_input}, widths={widths}, n_classes={self.head.shape[0] - 1}, "
            f"parameters={self.num_parameters()}, dtype={str(self.embed.dtype)[6:]}, "
            f"device={self.embed.device}"
        )

    @classmethod
    def from_state_dict(
        cls, state: dict, kinds: list[str] | None = None, d_input: int | None = None
    ) -> TreeNet:
        """Rebuild a ``TreeNet`` from its own ``state_dict()`` (bit-exact): each layer's kind
        (``"quadratic"`` / ``"factored"``) is read from its keys unless ``kinds`` says it,
        ``d_input`` from the embedding."""
        embed, head = state["embed"], state["head"]
        n_layers = len({k.split(".")[1] for k in state if k.startswith("layers.")})
        layers, n = [], embed.shape[0]
        for i in range(n_layers):
            kind = (kinds or [None] * n_layers)[i] or (
                "quadratic" if f"layers.{i}.coef" in state else "factored"
            )
            if kind == "quadratic":
                coef = state[f"layers.{i}.coef"]
                dummy = BilinearLayer(
                    coef.new_zeros(1, n), coef.new_zeros(1, n), coef.new_zeros(coef.shape[0], 1)
                )
                module = Quadratic(dummy)
                module.coef = nn.Parameter(coef.clone())
                n = coef.shape[0]
            else:
                left, down = state[f"layers.{i}.left"], state[f"layers.{i}.down"]
                right = state.get(f"layers.{i}.right", left)
                module = Factored(BilinearLayer(left, right, down))
                if f"layers.{i}.right" not in state:
                    module.right = None
                n = down.shape[0]
            layers.append(module)
        out = cls.__new__(cls)
        nn.Module.__init__(out)
        out.d_input = embed.shape[1] - 1 if d_input is None else int(d_input)
        out.embed = nn.Parameter(embed.clone())
        out.layers = nn.ModuleList(layers)
        out.head = nn.Parameter(head.clone())
        return out

    def forward(self, x: Tensor) -> Tensor:
        x = check_input(x, self.d_input).to(self.embed)
        w = torch.cat([torch.ones_like(x[:, :1]), x], dim=1) @ self.embed.T
        for layer in self.layers:
            w = layer(w)
        out = w @ self.head.T
        return out[:, 1:] / out[:, :1]


def to_module(net: Network) -> TreeNet:
    """A plain PyTorch module computing ``net`` (see ``TreeNet``): model compression.

    Args:
        net: a ``Network``, typically truncated (``Decomposition.truncate``).

    Returns:
        A ``TreeNet`` (``nn.Module``); ``saving.save`` keeps it, ``TreeNet.from_state_dict``
        rebuilds it from its ``state_dict``.

    Shapes:
        input (batch, d_input) or images; output (batch, n_classes).

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> dec = xl.odt(xl.XNet(d_input=9, d_model=6, n_classes=3, n_layers=2))
        >>> small = xl.to_module(dec.truncate(2))
        >>> x = torch.randn(4, 9, dtype=torch.float64)
        >>> torch.allclose(small(x), dec.truncate(2)(x))
        True
    """
    if not isinstance(net, Network):
        raise TypeError(
            f"to_module expects a Network (e.g. Decomposition.truncate(k)), "
            f"got {type(net).__name__}"
        )
    return TreeNet(net)
