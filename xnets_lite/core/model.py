"""χ-nets: stacks of bilinear layers, and a conventional baseline of the same shape.

A bilinear layer is a gated linear unit without its activation,

    y = D (L x ⊙ R x),        L, R: (d_hidden, d_in),  D: (d_out, d_hidden),

which is the CP form of the order-3 tensor ``B[o, i, j] = Σ_h D[o,h] L[h,i] R[h,j]``.
``XNet`` puts ``n_layers`` bilinear blocks between a linear embedding and a linear head,
either residual, ``x + D((Lx + b_L) ⊙ (Rx + b_R)) + b_D`` (the default), or **direct**,
``(Ax + a) ⊙ (Bx + b)`` (the paper's Equation 2 read literally: no output projection, no
residual). Without normalisation, or with the scalar ``"batch-rms"`` one, the whole
network is a polynomial of degree ``2**n_layers`` in its input: a tree tensor network
(see ``network.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

import torch
from torch import nn

Norm = Literal["rms", "batch-rms"] | None
Block = Literal["residual", "direct"]
Activation = Literal["relu", "gelu"]
NORMS = (None, *get_args(Literal["rms", "batch-rms"]))
BLOCKS = get_args(Block)
ACTIVATIONS = get_args(Activation)

#: Products per residual block when ``d_hidden`` is not given (the value before ``block``
#: existed, so that old code and configs build the same model).
DEFAULT_HIDDEN = 128

#: ``"batch-rms"`` constants, those of [x-vla] (J0YY/x-vla, ``xvla/nn/normalization.py``,
#: ``RmsBatchNorm(momentum=0.99, eps=1e-6)``; ``athena/dooms_svhn_reproduction.py`` states
#: "EMA momentum 0.99; epsilon 1e-6 is added after RMS; no affine parameters").
BATCH_RMS_MOMENTUM = 0.99
BATCH_RMS_EPS = 1e-6


class Bilinear(nn.Module):
    """``y = D((L x + b_L) ⊙ (R x + b_R)) + b_D``.

    Shapes: ``x`` (..., d_in) → ``y`` (..., d_out), with ``d_hidden`` products in between.
    ``bias`` switches the biases of L and R; D always has one. L and R get no bias when the
    input is normalised per sample (``norm="rms"``: a bias after that norm is not polynomial
    in the raw input); a constant factor (``norm="batch-rms"`` at inference) keeps them.
    """

    def __init__(self, d_in: int, d_hidden: int, d_out: int, bias: bool = True):
        super().__init__()
        self.left = nn.Linear(d_in, d_hidden, bias=bias)
        self.right = nn.Linear(d_in, d_hidden, bias=bias)
        self.down = nn.Linear(d_hidden, d_out, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.left(x) * self.right(x))


class DirectBilinear(nn.Module):
    """``y = (A x + a) ⊙ (B x + b)``: the paper's Equation 2 as a layer, ``d → d``.

    Shapes: ``x`` (..., d) → ``y`` (..., d). No output projection D and no residual: the
    ``d`` products are the next wire. ``A`` is ``left``, ``B`` is ``right`` (so that the
    tensor-network code reads both block kinds alike); ``bias`` switches ``a`` and ``b``.

    This is how [x-vla] (J0YY/x-vla, ``xvla/models/dooms_xnet.py``, ``DirectBilinearLayer``)
    reads the paper: "Equation 2 of *Compositionality Unlocks Deep Interpretable Models*
    instead uses the direct transposed Khatri-Rao map ``(Ax) * (Bx)`` with no learned output
    projection", with ``nn.Linear(dim, dim, bias=True)`` for A and B. Its initialisation is
    also theirs ("A and B iid normal std=width^-0.5, zero biases"; the paper gives none): it
    keeps ``E[(Ax)ᵢ²] = mean(x²)``, where PyTorch's default would shrink every layer's
    output by about 3×.
    """

    def __init__(self, d: int, bias: bool = True):
        super().__init__()
        self.left = nn.Linear(d, d, bias=bias)
        self.right = nn.Linear(d, d, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        d = self.left.in_features
        for linear in (self.left, self.right):
            nn.init.normal_(linear.weight, std=d**-0.5)
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.left(x) * self.right(x)


class RMSNorm(nn.Module):
    """``x / sqrt(mean(x²))`` over the last axis, without epsilon or gain.

    No epsilon enters the maths, so that the block stays a polynomial in homogeneous
    coordinates (``network.py``); the clamp only guards an exactly-zero input.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ms = x.pow(2).mean(-1, keepdim=True)
        return x * ms.clamp_min(torch.finfo(x.dtype).tiny).rsqrt()


class BatchRMSNorm(nn.Module):
    """``x / (c + ε)`` with **one scalar** ``c`` for the whole batch and all features.

    Training: ``c = sqrt(mean(x²))`` over the batch and the features (gradients flow through
    it), and a running value is kept in the buffer ``running_rms``:
    ``running ← momentum · running + (1 − momentum) · c`` (the first training batch sets it).
    Evaluation: ``c = running_rms``, frozen, so at inference the norm is a constant factor
    ``1 / (running_rms + ε)`` that folds into the next layer's L and R: the χ-net stays a pure
    tree tensor network, with no per-sample scale (``network.to_network``).

    ``momentum`` weighs the *old* value, as in [x-vla] (torch's ``BatchNorm`` momentum is
    ``1 − momentum``). This is [x-vla]'s ``RmsBatchNorm`` (J0YY/x-vla,
    ``xvla/nn/normalization.py``): "BatchNorm semantics: normalize by the *batch* RMS during
    training so activations stay unit-scale as weights move (dividing by the lagging EMA, as
    spec §7.1 literally reads, does not — it de-stabilizes the degree-5 stack). The EMA
    running_rms is tracked for eval and is the frozen constant folded into neighbours at
    export", with ``running_rms`` initialised to 1
    and ``x / (running_rms + eps)`` in eval mode. Their SVHN run re-estimates the value after
    training on 64 clean training batches (``calibrate_batch_rms`` here).

    Buffers (in the ``state_dict``): ``running_rms`` (scalar) and ``initialized`` (bool).
    """

    def __init__(self, momentum: float = BATCH_RMS_MOMENTUM, eps: float = BATCH_RMS_EPS):
        super().__init__()
        if not 0.0 < momentum < 1.0:
            raise ValueError(f"momentum must be in (0, 1), got {momentum}")
        if not eps >= 0.0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.register_buffer("running_rms", torch.ones(()))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    @staticmethod
    def batch_rms(x: torch.Tensor) -> torch.Tensor:
        """``sqrt(mean(x²))`` over every element, in at least float32 (as [x-vla] does)."""
        if x.dtype not in (torch.float32, torch.float64):
            x = x.float()
        return x.pow(2).mean().clamp_min(1e-12).sqrt()

    @property
    def scale(self) -> torch.Tensor:
        """The divisor used at inference, ``running_rms + eps``: what ``to_network`` folds."""
        return self.running_rms + self.eps

    @torch.no_grad()
    def update(self, rms: torch.Tensor) -> None:
        """Fold one batch's RMS into the running value (the first one replaces it)."""
        rms = rms.detach().to(self.running_rms)
        ema = self.momentum * self.running_rms + (1.0 - self.momentum) * rms
        # torch.where rather than `if self.initialized`: no device sync on every step
        self.running_rms.copy_(torch.where(self.initialized, ema, rms))
        self.initialized.fill_(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            rms = self.batch_rms(x)
            self.update(rms)
            return x / (rms.to(x.dtype) + self.eps)
        return x / self.scale.to(x.dtype)

    def extra_repr(self) -> str:
        return f"momentum={self.momentum}, eps={self.eps}"


def make_norm(norm: Norm) -> nn.Module:
    """The module for ``norm``: ``RMSNorm``, ``BatchRMSNorm``, or the identity for None."""
    if norm == "rms":
        return RMSNorm()
    if norm == "batch-rms":
        return BatchRMSNorm()
    return nn.Identity()


class XNet(nn.Module):
    """Embedding → ``n_layers`` bilinear blocks → head.

    Blocks (``block``):

    * ``"residual"`` (default): ``x ← x + D(L n(x) ⊙ R n(x))`` with ``d_hidden`` products,
      D mapping them back to ``d_model`` (``Bilinear``).
    * ``"direct"``: ``x ← (A n(x) + a) ⊙ (B n(x) + b)`` with A, B ``d_model × d_model``, no
      D and no residual (``DirectBilinear``): the paper's Equation 2 as [x-vla] reads it.
      At width 256 on 1024 inputs, 3 layers and 10 classes it has 659,722 parameters, the
      count [x-vla] checks (``EXPECTED_PARAMETER_COUNT = 659_722``).

    ``n`` is the norm (``norm``), in front of every block, the first one included:

    * ``None`` (default): none; the network is a pure tree of bilinear layers. Three residual
      layers train stably without any normalisation.
    * ``"batch-rms"``: one scalar running RMS (``BatchRMSNorm``), [x-vla]'s reading of the
      paper's normalisation ("one scalar RmsBatchNorm immediately before each bilinear
      layer"). In eval mode it is a constant factor, so the network is still a pure tree,
      exactly (``network.to_network`` folds it); in train mode it divides by the batch's RMS.
    * ``"rms"``: per-sample RMS over the features (``RMSNorm``). It is still exact in
      homogeneous coordinates, but only up to a positive per-sample scale, it costs a second
      bilinear layer per block, and it mixes every class with the input norm: in a reference
      experiment the per-class top eigenvectors of an RMS-normalised model came out nearly
      identical for all ten classes, while those of the ``norm=None`` model looked like the
      digits. Use it to compare, not to interpret.

    L and R (A and B) have biases except with ``norm="rms"`` (a bias after a per-sample norm
    is not polynomial in the raw input).

    Args:
        d_input: input size (1024 for grayscale 32×32 SVHN, 784 for 28×28 MNIST).
        d_model: width of every wire between layers.
        d_hidden: products per residual block (default ``DEFAULT_HIDDEN`` = 128). A direct
            block has exactly ``d_model`` products: leave it out (``None``) or pass
            ``d_model``.
        n_classes: number of outputs.
        n_layers: number of bilinear blocks; the network has degree ``2**n_layers``.
        norm: ``None``, ``"batch-rms"`` or ``"rms"``.
        block: ``"residual"`` or ``"direct"``.

    ``config`` holds every argument (``d_hidden`` resolved), so ``build_model(config)``
    rebuilds the model; configs saved before ``block`` existed mean ``"residual"``.
    """

    def __init__(
        self,
        d_input: int,
        d_model: int = 128,
        d_hidden: int | None = None,
        n_classes: int = 10,
        n_layers: int = 3,
        norm: Norm = None,
        block: Block = "residual",
    ):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if block not in BLOCKS:
            raise ValueError(f"block must be one of {BLOCKS}, got {block!r}")
        if d_hidden is None:
            d_hidden = d_model if block == "direct" else DEFAULT_HIDDEN
        for name, value in dict(
            d_input=d_input, d_model=d_model, d_hidden=d_hidden, n_classes=n_classes
        ).items():
            if int(value) < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if int(n_layers) < 0:
            raise ValueError(f"n_layers must be >= 0, got {n_layers!r}")
        if block == "direct" and int(d_hidden) != int(d_model):
            raise ValueError(
                f"block='direct' has no hidden layer: its products (Ax + a) ⊙ (Bx + b) are the "
                f"d_model={d_model} coordinates of the next wire, so d_hidden={d_hidden} cannot "
                f"apply; leave d_hidden out (None) or pass d_hidden={d_model}"
            )
        self.config = dict(
            d_input=int(d_input),
            d_model=int(d_model),
            d_hidden=int(d_hidden),
            n_classes=int(n_classes),
            n_layers=int(n_layers),
            norm=norm,
            block=block,
        )
        bias = norm != "rms"
        self.embed = nn.Linear(d_input, d_model)
        self.norms = nn.ModuleList(make_norm(norm) for _ in range(n_layers))
        self.blocks = nn.ModuleList(
            DirectBilinear(d_model, bias=bias)
            if block == "direct"
            else Bilinear(d_model, d_hidden, d_model, bias=bias)
            for _ in range(n_layers)
        )
        self.head = nn.Linear(d_model, n_classes)

    @property
    def norm(self) -> Norm:
        return self.config["norm"]

    @property
    def block(self) -> Block:
        return self.config["block"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_input(x, self.config["d_input"])
        x = self.embed(x)
        residual = self.block == "residual"
        for norm, block in zip(self.norms, self.blocks):
            x = x + block(norm(x)) if residual else block(norm(x))
        return self.head(x)


@torch.no_grad()
def calibrate_batch_rms(model: XNet, batches: Iterable) -> list[float]:
    """Re-estimate every ``BatchRMSNorm`` of ``model`` on ``batches``, in execution order.

    Norm l's running value becomes the mean over the batches of the RMS of its input, with
    norms ``< l`` already set and the model in eval mode: exactly what the network sees at
    inference. This is [x-vla]'s ``calibrate_rbn_sequential`` (J0YY/x-vla,
    ``xvla/train/calibrate.py``: "Earlier sites are frozen before later sites are measured";
    their SVHN run uses "64 equal train-only batches, no noise"), which replaces the EMA of
    training (contaminated by early weights).

    ``batches``: an iterable of inputs (B, d_input) or of ``(x, y)`` pairs (labels unused);
    read once, the block inputs of all of them are held in memory (N × d_model numbers).
    Returns the new running values; the model's train/eval mode is restored.
    """
    if not isinstance(model, XNet) or model.norm != "batch-rms":
        raise ValueError(
            "calibrate_batch_rms needs an XNet built with norm='batch-rms', got "
            + (f"norm={model.norm!r}" if isinstance(model, XNet) else type(model).__name__)
        )
    hidden = []
    for batch in batches:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        x = check_input(x, model.config["d_input"]).to(model.embed.weight)
        hidden.append(model.embed(x))
    if not hidden:
        raise ValueError("calibrate_batch_rms got no batches")
    from xnets_lite.core.evaluation import eval_mode  # evaluation's annotations name this module

    values = []
    with eval_mode(model):
        for norm, block in zip(model.norms, model.blocks):
            rms = torch.stack([norm.batch_rms(h) for h in hidden]).mean()
            norm.running_rms.copy_(rms)
            norm.initialized.fill_(True)
            values.append(float(rms))
            hidden = [
                h + block(norm(h)) if model.block == "residual" else block(norm(h)) for h in hidden
            ]
    return values


class MLP(nn.Module):
    """The conventional baseline: the same embedding, width, depth and head as ``XNet``, with
    residual blocks ``x + W₂ σ(W₁ x)`` (σ = ReLU or GELU) in place of the bilinear ones.

    Args:
        d_input, d_model, d_hidden, n_classes, n_layers: the sizes, as ``XNet``'s.
        activation: ``"relu"`` or ``"gelu"``.

    It has no tensor-network form (``odt`` and ``from_module`` refuse it).
    """

    def __init__(
        self,
        d_input: int,
        d_model: int = 128,
        d_hidden: int = 128,
        n_classes: int = 10,
        n_layers: int = 3,
        activation: Activation = "relu",
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.config = dict(
            d_input=int(d_input),
            d_model=int(d_model),
            d_hidden=int(d_hidden),
            n_classes=int(n_classes),
            n_layers=int(n_layers),
            activation=activation,
        )
        act = nn.ReLU if activation == "relu" else nn.GELU
        self.embed = nn.Linear(d_input, d_model)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(d_model, d_hidden), act(), nn.Linear(d_hidden, d_model))
            for _ in range(n_layers)
        )
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
    if x.dim() == 1 and x.numel() == d_input:
        raise ValueError(
            f"x is one input of shape ({d_input},); pass a batch, x[None] of shape "
            f"(1, {d_input}) (a Network also takes the single vector)"
        )
    raise ValueError(
        f"x of shape {tuple(x.shape)} does not fit a model with d_input={d_input}: pass a "
        f"batch of shape (batch, {d_input}), or of inputs with {d_input} entries each (e.g. "
        f"images (batch, 1, H, W) with H·W = {d_input})"
    )


def num_parameters(model: nn.Module) -> int:
    """Numbers a module trains and stores (its parameters; buffers excluded)."""
    return sum(p.numel() for p in model.parameters())
