"""χ-nets: stacks of bilinear layers, and a conventional baseline of the same shape.

A bilinear layer is a gated linear unit without its activation,

    y = D (L x ⊙ R x),        L, R: (d_hidden, d_in),  D: (d_out, d_hidden),

which is the CP form of the order-3 tensor ``B[o, i, j] = Σ_h D[o,h] L[h,i] R[h,j]``.
``XNet`` puts ``n_layers`` residual bilinear blocks ``x + D(Lx ⊙ Rx)`` between a linear
embedding and a linear head. Without normalisation (the default) the whole network is a
polynomial of degree ``2**n_layers`` in its input: a tree tensor network (see ``network.py``).
"""
from __future__ import annotations

import torch
from torch import nn

NORMS = (None, "rms")
ACTIVATIONS = ("relu", "gelu")


class Bilinear(nn.Module):
    """``y = D((L x + b_L) ⊙ (R x + b_R)) + b_D``.

    Shapes: ``x`` (..., d_in) → ``y`` (..., d_out), with ``d_hidden`` products in between.
    ``bias`` switches the biases of L and R; D always has one. L and R get no bias when the
    input is normalised (a bias after a norm is not polynomial in the raw input).
    """

    def __init__(self, d_in: int, d_hidden: int, d_out: int, bias: bool = True):
        super().__init__()
        self.left = nn.Linear(d_in, d_hidden, bias=bias)
        self.right = nn.Linear(d_in, d_hidden, bias=bias)
        self.down = nn.Linear(d_hidden, d_out, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.left(x) * self.right(x))


class RMSNorm(nn.Module):
    """``x / sqrt(mean(x²))`` over the last axis, without epsilon or gain.

    No epsilon enters the maths, so that the block stays a polynomial in homogeneous
    coordinates (``network.py``); the clamp only guards an exactly-zero input.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ms = x.pow(2).mean(-1, keepdim=True)
        return x * ms.clamp_min(torch.finfo(x.dtype).tiny).rsqrt()


class XNet(nn.Module):
    """Embedding → ``n_layers`` × ``x + D(Lx ⊙ Rx)`` → head.

    Args:
        d_input: input size (1024 for grayscale 32×32 SVHN, 784 for 28×28 MNIST).
        d_model: width of the residual stream (every wire between layers).
        d_hidden: number of products inside each bilinear layer.
        n_classes: number of outputs.
        n_layers: number of bilinear blocks; the network has degree ``2**n_layers``.
        norm: ``None`` (default) or ``"rms"``.

    ``norm=None`` keeps the network a pure tree of bilinear layers; three layers train
    stably without any normalisation. ``norm="rms"`` normalises each block's input. It is
    still exact in homogeneous coordinates, but only up to a positive per-sample scale, it
    costs a second bilinear layer per block, and it mixes every class with the input norm:
    in a reference experiment the per-class top eigenvectors of an RMS-normalised model came
    out nearly identical for all ten classes, while those of the ``norm=None`` model looked
    like the digits. Use it to compare, not to interpret.
    """

    def __init__(self, d_input: int, d_model: int = 128, d_hidden: int = 128,
                 n_classes: int = 10, n_layers: int = 3, norm: str | None = None):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        for name, value in dict(d_input=d_input, d_model=d_model, d_hidden=d_hidden,
                                n_classes=n_classes).items():
            if int(value) < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if int(n_layers) < 0:
            raise ValueError(f"n_layers must be >= 0, got {n_layers!r}")
        self.config = dict(d_input=int(d_input), d_model=int(d_model), d_hidden=int(d_hidden),
                           n_classes=int(n_classes), n_layers=int(n_layers), norm=norm)
        self.embed = nn.Linear(d_input, d_model)
        self.norms = nn.ModuleList(RMSNorm() if norm == "rms" else nn.Identity()
                                   for _ in range(n_layers))
        self.blocks = nn.ModuleList(Bilinear(d_model, d_hidden, d_model, bias=norm is None)
                                    for _ in range(n_layers))
        self.head = nn.Linear(d_model, n_classes)

    @property
    def norm(self) -> str | None:
        return self.config["norm"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_input(x, self.config["d_input"])
        x = self.embed(x)
        for norm, block in zip(self.norms, self.blocks):
            x = x + block(norm(x))
        return self.head(x)


class MLP(nn.Module):
    """The conventional baseline: the same embedding, width, depth and head as ``XNet``, with
    residual blocks ``x + W₂ σ(W₁ x)`` (σ = ReLU or GELU) in place of the bilinear ones."""

    def __init__(self, d_input: int, d_model: int = 128, d_hidden: int = 128,
                 n_classes: int = 10, n_layers: int = 3, activation: str = "relu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.config = dict(d_input=int(d_input), d_model=int(d_model), d_hidden=int(d_hidden),
                           n_classes=int(n_classes), n_layers=int(n_layers), activation=activation)
        act = nn.ReLU if activation == "relu" else nn.GELU
        self.embed = nn.Linear(d_input, d_model)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(d_model, d_hidden), act(),
                                                  nn.Linear(d_hidden, d_model))
                                    for _ in range(n_layers))
        self.head = nn.Linear(d_model, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_input(x, self.config["d_input"])
        x = self.embed(x)
        for block in self.blocks:
            x = x + block(x)
        return self.head(x)


def check_input(x: torch.Tensor, d_input: int) -> torch.Tensor:
    """Flatten images to ``(batch, d_input)``, or say clearly why the input does not fit."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor of inputs, got {type(x).__name__}")
    if x.dim() >= 2 and x[0].numel() == d_input:
        return x.reshape(x.shape[0], d_input)
    raise ValueError(
        f"input of shape {tuple(x.shape)} does not fit a model with d_input={d_input}: pass a "
        f"batch of shape (batch, {d_input}) or of images with {d_input} pixels each "
        f"(e.g. (batch, 1, 32, 32) for grayscale SVHN, (batch, 784) for MNIST)")


def build_model(config: dict) -> nn.Module:
    """Rebuild a model from the ``config`` dict stored in a checkpoint."""
    config = dict(config)
    kind = config.pop("kind", "xnet")
    if kind == "xnet":
        return XNet(**config)
    if kind == "mlp":
        return MLP(**config)
    raise ValueError(f"unknown model kind {kind!r}; expected 'xnet' or 'mlp'")
