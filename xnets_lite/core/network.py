"""The exact tensor-network form of a χ-net: a chain of factored bilinear layers.

Every wire carries **homogeneous coordinates**: index 0 is a constant coordinate (the "1"
that biases multiply), so a network with biases and residuals becomes a pure chain of
bilinear maps and, unrolled, a tree tensor network with ``2**n_bilinear`` copies of the input

    x̃ = [1, x]                                   (d_input + 1,)
    w₀ = E x̃                                     E: (n₀, d_input + 1)     the embedding
    w_{l+1} = D_l (L_l w_l ⊙ R_l w_l)             L_l, R_l: (k_l, n_l),  D_l: (n_{l+1}, k_l)
    out = H w_L                                   H: (1 + n_classes, n_L) the head

The head's row 0 reads the homogeneous scale ``w_L[0]`` and rows 1: the (scaled) logits, so
``logits = out[1:] / out[0]``. For ``norm=None`` and ``norm="batch-rms"`` the scale is exactly
1; for ``norm="rms"`` it is a positive per-sample number, and every gauge transformation keeps
the ratio exact.

Both block kinds of ``XNet`` are one bilinear layer each: a residual block through extra
hidden units that carry ``x̃ᵢ · 1`` (``residual_block``), a direct block with ``D = I``
(``direct_block``). The eval-mode ``"batch-rms"`` norm is a constant factor folded into L and R.

Nothing of size k³ or (d+1)^(2^L) is built, except by ``Network.dense`` (tests, tiny models).
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from xnets_lite.core.checking import check_network
from xnets_lite.core.model import XNet, check_input

MAX_DENSE_ELEMENTS = 50_000_000

#: The ``format`` field of a saved network (``Network.state_dict``; part of the file format).
NETWORK_FORMAT = "xnets-lite/network/1"


def parse_to(args: tuple, kwargs: dict) -> tuple[torch.device | None, torch.dtype | None]:
    """``(device, dtype)`` from the arguments of a ``.to(...)`` call, read as ``Tensor.to``
    reads them (a dtype, a device or its name, both, or a tensor whose device and dtype to
    take); an error names what was passed and what is accepted."""
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)  # accepted as torch does; the copies are small
    kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, torch.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, (str, torch.device, int)) and not isinstance(a, bool):
            device = a
        else:
            raise TypeError(
                f"to() takes a dtype (torch.float32), a device ('cpu', 'cuda') or a tensor, "
                f"got {a!r}"
            )
    if device is not None:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'") from err
    if dtype is not None and not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype such as torch.float64, got {dtype!r}")
    return device, dtype


@dataclass
class BilinearLayer:
    """``w_out = D (L w ⊙ R w)``: the CP form of ``B[o,i,j] = Σ_h D[o,h] L[h,i] R[h,j]``.

    Attributes:
        left, right, down: the factors L, R, D.

    Shapes: ``left``, ``right`` (k, n_in); ``down`` (n_out, k); ``w`` (batch, n_in).
    """

    left: Tensor
    right: Tensor
    down: Tensor

    def __post_init__(self):
        k, n_in = self.left.shape
        if self.right.shape != (k, n_in) or self.down.dim() != 2 or self.down.shape[1] != k:
            raise ValueError(
                f"inconsistent bilinear layer: left {tuple(self.left.shape)}, right "
                f"{tuple(self.right.shape)}, down {tuple(self.down.shape)}; expected left and "
                f"right (k, n_in) and down (n_out, k)"
            )

    @property
    def n_in(self) -> int:
        return self.left.shape[1]

    @property
    def n_out(self) -> int:
        return self.down.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.left.shape[0]

    @property
    def is_symmetric(self) -> bool:
        return self.left is self.right or torch.equal(self.left, self.right)

    def __call__(self, w: Tensor) -> Tensor:
        return (w @ self.left.T * (w @ self.right.T)) @ self.down.T

    def dense(self, symmetric: bool = False) -> Tensor:
        """The layer tensor ``B`` of shape (n_out, n_in, n_in), or with ``symmetric`` its
        symmetric part ``½(B + Bᵀ)`` over the two inputs (the same bilinear map). Small
        layers only."""
        b = torch.einsum("oh,hi,hj->oij", self.down, self.left, self.right)
        return (b + b.mT) / 2 if symmetric else b

    def map(self, fn: Callable[[Tensor], Tensor]) -> BilinearLayer:
        return BilinearLayer(fn(self.left), fn(self.right), fn(self.down))

    def __repr__(self) -> str:
        sym = ", symmetric" if self.is_symmetric else ""
        return f"BilinearLayer(n_in={self.n_in}, hidden={self.n_hidden}, n_out={self.n_out}{sym})"


def check_saved_format(state, expected: str, reader: str, what: str) -> None:
    """Raise a ``ValueError`` that says what was given, unless ``state`` is a saved state
    dict of format ``expected`` (the one check of ``Network`` and ``Decomposition``'s
    ``from_state_dict``)."""
    if not isinstance(state, dict) or state.get("format") != expected:
        got = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(
            f"{reader} expects a saved {what} (format {expected!r}), got {got!r}; "
            f"saving.load(path) reads any saved state"
        )


@dataclass
class Network:
    """A chain of bilinear layers between a linear embedding and a linear head.

    Build one with ``to_network`` (an ``XNet``), ``from_module`` (your own bilinear
    ``nn.Module``) or ``from_factors`` (its weights); ``net(x)`` gives the logits.

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> net = xl.from_factors(torch.eye(3), blocks=[(torch.ones(2, 3), torch.ones(2, 3))],
        ...                       head_weight=torch.ones(1, 2))
        >>> net
        Network(d_input=3, widths=[4, 3], hidden=[3], n_classes=1, dtype=float64, device=cpu)
        >>> net(torch.tensor([1.0, 0.0, 1.0]))      # 2 · (1 + 1)²
        tensor([8.], dtype=torch.float64)

    Attributes:
        embed: (n₀, d_input + 1), row 0 = e₀ so that ``w₀[0]`` is the constant.
        layers: the bilinear layers, wire l → wire l+1.
        head: (1 + n_classes, n_L); row 0 reads the homogeneous scale.
        meta: free-form facts carried along (dataset, image shape, source model config).
    """

    embed: Tensor
    layers: list[BilinearLayer]
    head: Tensor
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        widths = [self.embed.shape[0]]
        for i, layer in enumerate(self.layers):
            if layer.n_in != widths[-1]:
                raise ValueError(
                    f"layer {i} reads a wire of size {layer.n_in}, but the wire "
                    f"before it has size {widths[-1]}"
                )
            widths.append(layer.n_out)
        if self.head.shape[1] != widths[-1]:
            raise ValueError(
                f"head reads a wire of size {self.head.shape[1]}, but the last wire "
                f"has size {widths[-1]}"
            )

    # -- shapes -------------------------------------------------------------------------
    @property
    def d_input(self) -> int:
        return self.embed.shape[1] - 1

    @property
    def n_classes(self) -> int:
        return self.head.shape[0] - 1

    @property
    def widths(self) -> list[int]:
        """Size of each wire, constant coordinate included: wire 0 (after the embedding) to
        wire L (read by the head)."""
        return [self.embed.shape[0]] + [layer.n_out for layer in self.layers]

    @property
    def n_copies(self) -> int:
        """How many copies of the input the unrolled tree has (its polynomial degree)."""
        return 2 ** len(self.layers)

    def num_parameters(self) -> int:
        """Numbers stored in the factored form (embedding, L, R, D of every layer, head)."""
        return sum(t.numel() for t in self.tensors())

    def tensors(self) -> list[Tensor]:
        out = [self.embed]
        for layer in self.layers:
            out += [layer.left, layer.right, layer.down]
        return out + [self.head]

    @property
    def dtype(self) -> torch.dtype:
        return self.embed.dtype

    @property
    def device(self) -> torch.device:
        return self.embed.device

    def to(self, *args, **kwargs) -> Network:
        """A copy on another device and/or in another dtype, called like ``Tensor.to``:
        ``net.to(torch.float32)``, ``net.to("cuda")``, ``net.to("cuda", torch.float64)``,
        ``net.to(device=..., dtype=...)`` or ``net.to(other_tensor)``. Returns ``self`` when
        nothing changes (as torch does)."""
        device, dtype = parse_to(args, kwargs)
        if (device is None or torch.device(device) == self.device) and (
            dtype is None or dtype == self.dtype
        ):
            return self
        fn = lambda t: t.to(device=device, dtype=dtype)  # noqa: E731
        return self.map(fn)

    def __repr__(self) -> str:
        hidden = [layer.n_hidden for layer in self.layers]
        return (
            f"Network(d_input={self.d_input}, widths={self.widths}, hidden={hidden}, "
            f"n_classes={self.n_classes}, dtype={str(self.dtype).removeprefix('torch.')}, "
            f"device={self.device})"
        )

    def state_dict(self) -> dict:
        """Plain tensors + JSON-able metadata: ``{"format", "meta" (a JSON string),
        "embed", "layers": [{"left", "right", "down"}], "head"}``. ``torch.save`` it and
        ``torch.load(path, weights_only=True)`` reads it back (``from_state_dict``), bit-exact;
        ``saving.save`` / ``saving.load`` do both."""
        return {
            "format": NETWORK_FORMAT,
            "meta": json.dumps(self.meta, default=str, sort_keys=True),
            "embed": self.embed,
            "layers": [dict(left=x.left, right=x.right, down=x.down) for x in self.layers],
            "head": self.head,
        }

    @classmethod
    def from_state_dict(cls, state: dict) -> Network:
        """The network saved by ``state_dict`` (bit-exact)."""
        check_saved_format(state, NETWORK_FORMAT, "Network.from_state_dict", "network")
        layers = [BilinearLayer(d["left"], d["right"], d["down"]) for d in state["layers"]]
        return cls(state["embed"], layers, state["head"], json.loads(state["meta"]))

    def map(self, fn: Callable[[Tensor], Tensor]) -> Network:
        return Network(
            fn(self.embed), [layer.map(fn) for layer in self.layers], fn(self.head), dict(self.meta)
        )

    @classmethod
    def from_factors(cls, *args, **kwargs) -> Network:
        """``network.from_factors``: the network of any bilinear model, from its weights."""
        return from_factors(*args, **kwargs)

    def replace(
        self,
        embed: Tensor | None = None,
        layers: list[BilinearLayer] | None = None,
        head: Tensor | None = None,
    ) -> Network:
        return Network(
            self.embed if embed is None else embed,
            list(self.layers if layers is None else layers),
            self.head if head is None else head,
            dict(self.meta),
        )

    # -- evaluation ---------------------------------------------------------------------
    def lift(self, x: Tensor) -> Tensor:
        """``x`` (batch, d_input) or images → ``x̃ = [1, x]`` (batch, d_input + 1)."""
        x = check_input(x, self.d_input).to(device=self.device, dtype=self.dtype)
        return torch.cat([torch.ones_like(x[:, :1]), x], dim=1)

    def wires(self, x: Tensor) -> list[Tensor]:
        """The value of every wire for a batch: a list of (batch, n_l) tensors."""
        w = self.lift(x) @ self.embed.T
        out = [w]
        for layer in self.layers:
            w = layer(w)
            out.append(w)
        return out

    def homogeneous(self, x: Tensor) -> Tensor:
        """``[scale, scale · logits]`` of shape (batch, 1 + n_classes)."""
        return self.wires(x)[-1] @ self.head.T

    def __call__(self, x: Tensor) -> Tensor:
        """Logits (batch, n_classes), dehomogenised: equal to the source model's logits.
        A single input (d_input,) gives (n_classes,), as an ``nn.Linear`` does."""
        if isinstance(x, Tensor) and x.dim() == 1 and x.numel() == self.d_input:
            return self(x[None])[0]
        out = self.homogeneous(x)
        return out[:, 1:] / out[:, :1]

    # -- dense form (tests and tiny models only) ----------------------------------------
    def dense(self, include_scale: bool = False) -> Tensor:
        """The whole network as one tensor ``T[c, i₁, …, i_N]`` over N = 2^L input copies,
        each of size d_input + 1, such that ``out_c = Σ T[c, i₁…i_N] x̃_{i₁} ⋯ x̃_{i_N}``.

        This is the tree's own tensor, built from each layer's L and R as they are; use
        ``symmetrise(net).dense()`` for the symmetrised tree that ODT's Grams refer to.
        Copies are ordered left subtree first. Only for tiny models: raises past
        ``MAX_DENSE_ELEMENTS`` numbers.
        """
        p = self.d_input + 1
        size = p**self.n_copies * self.head.shape[0]
        if size > MAX_DENSE_ELEMENTS:
            raise ValueError(
                f"the dense tensor would have {size:.3g} entries "
                f"((d_input+1)^{self.n_copies} per output); use a smaller model"
            )
        t = self.embed  # (n, P): wire as a function of the P flattened input indices
        for layer in self.layers:
            t = torch.einsum("oh,hp,hq->opq", layer.down, layer.left @ t, layer.right @ t)
            t = t.reshape(t.shape[0], -1)
        t = self.head @ t
        if not include_scale:
            t = t[1:]
        return t.reshape(t.shape[0], *([p] * self.n_copies))


# ---------------------------------------------------------------------------------------
# From a trained XNet
# ---------------------------------------------------------------------------------------
def affine(weight: Tensor, bias: Tensor | None) -> Tensor:
    """``W̃ = [[1, 0], [b, W]]``: an affine map as a linear map on homogeneous coordinates."""
    out_f, in_f = weight.shape
    m = weight.new_zeros(out_f + 1, in_f + 1)
    m[0, 0] = 1
    m[1:, 1:] = weight
    if bias is not None:
        m[1:, 0] = bias
    return m


def residual_block(left: Tensor, right: Tensor, down: Tensor, down_bias: Tensor) -> BilinearLayer:
    """``[1, x] ↦ [1, x + D(L̃x̃ ⊙ R̃x̃) + b_D]`` as a single bilinear layer.

    ``left``, ``right``: (h, d+1) already homogeneous (bias in column 0); ``down``: (d, h).
    The residual and the constant are the extra products ``(I x̃) ⊙ (e₀ᵀ x̃)``: d+1 hidden
    units whose left row is e_i and whose right row is e₀, giving ``x̃_i · 1``.
    """
    h, n = left.shape
    eye = torch.eye(n, dtype=left.dtype, device=left.device)
    e0 = eye[:1].expand(n, n)
    d_out = torch.zeros(n, h + n, dtype=left.dtype, device=left.device)
    d_out[0, h] = 1  # 1 · 1 → the constant coordinate
    d_out[1:, :h] = down
    d_out[1:, h] = down_bias  # b_D · (1 · 1)
    d_out[1:, h + 1 :] = eye[1:, 1:]  # x_i · 1 → the residual
    return BilinearLayer(torch.cat([left, eye]), torch.cat([right, e0.clone()]), d_out)


def direct_block(left: Tensor, right: Tensor) -> BilinearLayer:
    """``[1, x] ↦ [1 · 1, (A x + a) ⊙ (B x + b)]``: a direct block, ``D = I``.

    ``left``, ``right``: the homogeneous maps ``Ã = [[1, 0], [a, A]]``, ``B̃`` (d+1, d+1), so
    hidden unit 0 is ``1 · 1`` and carries the constant coordinate through unchanged (the
    output's constant is the product of the two input constants), and unit i is the i-th
    product. With a folded norm, ``A`` is already divided by its scale.
    """
    eye = torch.eye(left.shape[0], dtype=left.dtype, device=left.device)
    return BilinearLayer(left, right, eye)


def rms_layer(n: int, dtype: torch.dtype, device: torch.device) -> BilinearLayer:
    """The weight-free layer ``[w₀, w] ↦ [w₀², mean(w²), w₀ · w]`` (n = d+1 → d+2).

    With ``w = c·x`` and ``w₀ = c`` this is ``c² [1, s, x]`` where ``s = mean(x²)``: the RMS
    norm in homogeneous coordinates, with the division postponed to the block after it.
    """
    d = n - 1
    eye = torch.eye(n, dtype=dtype, device=device)
    e0 = eye[:1].expand(d, n)
    left = torch.cat([eye[:1], eye[1:], e0])  # w₀ | w_i | w₀
    right = torch.cat([eye[:1], eye[1:], eye[1:]])  # w₀ | w_i | w_i
    down = torch.zeros(d + 2, 1 + 2 * d, dtype=dtype, device=device)
    down[0, 0] = 1
    down[1, 1 : 1 + d] = 1.0 / d
    down[2:, 1 + d :] = torch.eye(d, dtype=dtype, device=device)
    return BilinearLayer(left, right, down)


def rms_block(left: Tensor, right: Tensor, down: Tensor, down_bias: Tensor) -> BilinearLayer:
    """``[a, σ, z] ↦ [aσ, σz + D(Lz ⊙ Rz) + b_D aσ]`` (d+2 → d+1).

    From ``c[1, s, x]`` this gives ``c² s [1, x + D(Lx/√s ⊙ Rx/√s) + b_D]``: the normalised
    residual block up to the positive scale ``c² s``. ``left``, ``right``: (h, d) without bias.
    """
    h, d = left.shape
    n = d + 2
    eye = torch.eye(n, dtype=left.dtype, device=left.device)
    pad = left.new_zeros(h, 2)
    lefts = torch.cat([eye[:1], eye[1:2].expand(d, n), torch.cat([pad, left], 1)])
    rights = torch.cat([eye[1:2], eye[2:], torch.cat([pad, right], 1)])
    d_out = left.new_zeros(d + 1, 1 + d + h)
    d_out[0, 0] = 1  # a σ
    d_out[1:, 0] = down_bias  # b_D a σ
    d_out[1:, 1 : 1 + d] = torch.eye(d, dtype=left.dtype, device=left.device)  # σ z
    d_out[1:, 1 + d :] = down
    return BilinearLayer(lefts, rights, d_out)


def rms_direct_block(left: Tensor, right: Tensor) -> BilinearLayer:
    """``[a, σ, z] ↦ [aσ, Lz ⊙ Rz]`` (d+2 → d+1), the direct block after ``rms_layer``.

    From ``c[1, s, x]`` this gives ``c² [s, Lx ⊙ Rx] = c² s [1, (Lx/√s) ⊙ (Rx/√s)]``: the
    normalised direct block up to the positive scale ``c² s``. ``left``, ``right``: (d, d)
    without bias; ``D = I``.
    """
    d = left.shape[0]
    eye = torch.eye(d + 2, dtype=left.dtype, device=left.device)
    pad = left.new_zeros(d, 2)
    lefts = torch.cat([eye[:1], torch.cat([pad, left], 1)])
    rights = torch.cat([eye[1:2], torch.cat([pad, right], 1)])
    return BilinearLayer(lefts, rights, torch.eye(d + 1, dtype=left.dtype, device=left.device))


@torch.no_grad()
def to_network(
    model: XNet, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> Network:
    """The exact tensor-network form of a trained ``XNet`` (see the module docstring).

    ``norm=None``: one bilinear layer per block (a tree of degree 2^L): ``residual_block``
    or ``direct_block``.
    ``norm="batch-rms"``: the same, with the weights of L and R (not their biases) divided by
    each norm's frozen ``running_rms + eps``, as [x-vla] exports it (J0YY/x-vla,
    ``xvla/train/canonical_odt.py``, ``export_homogeneous_network``:
    ``layer.left.weight.div_(scale)``): the model's **eval-mode** function, exactly (a model
    in train mode divides by each batch's RMS instead; a warning says so).
    ``norm="rms"``: two per block, ``rms_layer`` then ``rms_block`` (or
    ``rms_direct_block``), degree 4^L, exact up to a positive per-sample scale that
    ``Network.__call__`` divides out.

    Args:
        model: a trained ``XNet`` (for any other bilinear model: ``from_module``).
        dtype, device: of the network's tensors (float64 by default).

    Returns:
        The ``Network``: ``net(x)`` equals ``model(x)`` (eval mode).

    Shapes:
        ``x`` (batch, d_input) or images → (batch, n_classes); ``net.widths`` the wires.

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> model = xl.XNet(d_input=9, d_model=6, n_classes=3, n_layers=2).double().eval()
        >>> net = xl.to_network(model)
        >>> x = torch.rand(4, 9, dtype=torch.float64)
        >>> torch.allclose(net(x), model(x))
        True
    """
    if not isinstance(model, XNet):
        raise TypeError(
            f"to_network expects an XNet (a χ-net), got {type(model).__name__}; for your own "
            f"bilinear model use xnets_lite.from_module(model) (or from_factors with its "
            f"weights); a ReLU/GELU baseline has no tensor-network form"
        )
    if model.norm == "batch-rms" and model.training:
        warnings.warn(
            "to_network: this batch-rms χ-net is in train mode, where each block input is divided "
            "by the RMS of its batch; the network folds the frozen running value instead (the "
            "eval-mode function). Call model.eval() before comparing their outputs.",
            stacklevel=2,
        )
    cast = lambda t: None if t is None else t.detach().to(device=device, dtype=dtype)  # noqa: E731
    embed = affine(cast(model.embed.weight), cast(model.embed.bias))
    n = embed.shape[0]
    direct = model.block == "direct"
    layers = []
    for norm, block in zip(model.norms, model.blocks):
        lw, rw = cast(block.left.weight), cast(block.right.weight)
        if model.norm == "rms":
            layers.append(rms_layer(n, embed.dtype, embed.device))
            layers.append(
                rms_direct_block(lw, rw)
                if direct
                else rms_block(lw, rw, cast(block.down.weight), cast(block.down.bias))
            )
            continue
        if model.norm == "batch-rms":
            # n(x) = x / c with a constant c: L(x / c) + b = (L / c) x + b. The sum
            # running_rms + eps is formed in ``dtype``: in float32 it would round.
            scale = cast(norm.running_rms) + norm.eps
            lw, rw = lw / scale, rw / scale
        left = affine(lw, cast(block.left.bias))
        right = affine(rw, cast(block.right.bias))
        if direct:
            layers.append(direct_block(left, right))
        else:
            layers.append(
                residual_block(left[1:], right[1:], cast(block.down.weight), cast(block.down.bias))
            )
    head = affine(cast(model.head.weight), cast(model.head.bias))
    meta = dict(source=dict(model.config), norm=model.norm, block=model.block)
    return Network(embed, layers, head, meta)


# ---------------------------------------------------------------------------------------
# From plain factors: any bilinear model
# ---------------------------------------------------------------------------------------
#: The keys a block given as a mapping may have (``from_factors``).
BLOCK_KEYS = ("left", "right", "down", "left_bias", "right_bias", "down_bias", "residual")


def _block_factors(block: tuple[Tensor, ...] | dict, index: int, residual: bool) -> dict:
    """A block given as ``(L, R)``, ``(L, R, D)`` or a mapping → a dict of ``BLOCK_KEYS``."""
    if isinstance(block, dict):
        unknown = set(block) - set(BLOCK_KEYS)
        if unknown or "left" not in block or "right" not in block:
            raise ValueError(
                f"block {index}: a block mapping needs 'left' and 'right' and may "
                f"have {', '.join(BLOCK_KEYS[2:])}; got keys {sorted(block)}"
            )
        out = dict(block)
    elif isinstance(block, (tuple, list)) and len(block) in (2, 3):
        out = dict(zip(("left", "right", "down"), block))
    else:
        raise TypeError(
            f"block {index} must be (L, R), (L, R, D) or a dict with keys "
            f"{', '.join(BLOCK_KEYS)}; got {type(block).__name__}"
        )
    out.setdefault("residual", residual)
    return out


def _block_layer(f: dict, i: int) -> BilinearLayer:
    """Block ``i``'s factors (``BLOCK_KEYS``, cast) → its bilinear layer on homogeneous wires."""
    lw, rw = f["left"], f["right"]
    if lw.dim() != 2 or rw.shape != lw.shape:
        raise ValueError(
            f"block {i}: L and R must be matrices of one shape (h, d_in), got "
            f"{tuple(lw.shape)} and {tuple(rw.shape)}"
        )
    down = f.get("down")
    if down is None:
        down = torch.eye(lw.shape[0], dtype=lw.dtype, device=lw.device)
    if down.dim() != 2 or down.shape[1] != lw.shape[0]:
        raise ValueError(
            f"block {i}: D must be (d_out, h) with h = {lw.shape[0]} (the rows "
            f"of L and R), got {tuple(down.shape)}"
        )
    left, right = affine(lw, f.get("left_bias")), affine(rw, f.get("right_bias"))
    if not f["residual"]:
        return BilinearLayer(left, right, affine(down, f.get("down_bias")))
    if down.shape[0] != lw.shape[1]:
        raise ValueError(
            f"block {i} is residual, so D must map back to the width "
            f"d_in = {lw.shape[1]}; got D of shape {tuple(down.shape)}"
        )
    bias = f.get("down_bias")
    return residual_block(
        left[1:], right[1:], down, down.new_zeros(down.shape[0]) if bias is None else bias
    )


def _as_factor(t, name: str, device, dtype) -> Tensor | None:
    """One argument of ``from_factors`` as a tensor of ``dtype``, or a clear error."""
    if t is None:
        return None
    if isinstance(t, torch.nn.Module):
        hint = "its .weight (and its .bias as the matching *_bias)"
        raise TypeError(
            f"from_factors: {name} must be a tensor, got a {type(t).__name__} module; pass "
            f"{hint}, or import the whole model with from_module(model)"
        )
    try:
        return torch.as_tensor(t).detach().to(device=device, dtype=dtype)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(
            f"from_factors: {name} must be a tensor (or array), got {type(t).__name__}"
        ) from err


def _check_bias(bias: Tensor | None, n: int, name: str, of: str) -> None:
    if bias is not None and tuple(bias.shape) != (n,):
        raise ValueError(
            f"from_factors: {name} must have shape ({n},), one entry per row of {of}; got "
            f"{tuple(bias.shape)}"
        )


def _norm_arg(norm, i: int):
    """A block's entry of ``norms``: None, a positive scalar c, or ("rms", γ or None)."""
    if norm is None:
        return None
    if isinstance(norm, str) and norm == "rms":
        return ("rms", None)
    if isinstance(norm, tuple) and len(norm) == 2 and norm[0] == "rms":
        return norm
    try:
        c = float(norm)
    except (TypeError, ValueError):
        c = None
    if c is None or not c > 0:
        raise ValueError(
            f"from_factors: norms[{i}] must be None, a positive number c (the block reads "
            f"w / c: a frozen scalar norm such as running_rms + eps), 'rms' or ('rms', γ) "
            f"(a per-sample RMS norm with elementwise weight γ); got {norm!r}"
        )
    return c


def _rms_blocks(f: dict, i: int, norm, n: int) -> list[BilinearLayer]:
    """Block ``i`` after a per-sample RMS norm: ``rms_layer`` then ``rms_block`` /
    ``rms_direct_block``; the norm's weight γ is folded into the columns of L and R."""
    lw, rw = f["left"], f["right"]
    gamma = None if norm[1] is None else torch.as_tensor(norm[1]).to(lw)
    if gamma is not None:
        lw, rw = lw * gamma, rw * gamma
    if f.get("left_bias") is not None or f.get("right_bias") is not None:
        raise ValueError(
            f"from_factors: block {i} has a per-sample RMS norm and a bias on L or R: "
            f"(L x / rms(x) + b) is not a ratio of polynomials the network form holds; "
            f"only bias-free L and R can follow a per-sample norm"
        )
    down = f.get("down")
    first = rms_layer(n, lw.dtype, lw.device)
    if f["residual"]:
        if down is None:
            down = torch.eye(lw.shape[0], dtype=lw.dtype, device=lw.device)
        bias = f.get("down_bias")
        bias = down.new_zeros(down.shape[0]) if bias is None else bias
        return [first, rms_block(lw, rw, down, bias)]
    if down is not None or lw.shape[0] != lw.shape[1]:
        raise ValueError(
            f"from_factors: block {i}: after a per-sample RMS norm a direct block must be "
            f"(Lx) ⊙ (Rx) with square L, R and no D; got L {tuple(lw.shape)}"
            + ("" if down is None else f", D {tuple(down.shape)}")
        )
    return [first, rms_direct_block(lw, rw)]


@torch.no_grad()
def from_factors(
    embed_weight: Tensor | None = None,
    embed_bias: Tensor | None = None,
    blocks: Sequence[tuple[Tensor, ...] | dict] = (),
    head_weight: Tensor | None = None,
    head_bias: Tensor | None = None,
    *,
    residual: bool = False,
    norms: Sequence | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    check: torch.nn.Module | tuple | None = None,
    tol: float = 1e-6,
) -> Network:
    """The ``Network`` of any bilinear model, from its weights: embedding, blocks, head.

    The model is ``logits = H w_L + b_H`` with ``w₀ = E x + b_E`` and, per block,

        direct:    w ← D ((L n(w) + b_L) ⊙ (R n(w) + b_R)) + b_D
        residual:  w ← w + D ((L n(w) + b_L) ⊙ (R n(w) + b_R)) + b_D

    where ``n`` is the block's norm (``norms``; default none). Every bias may be left out
    (``None``: zero); a block without ``D`` has ``D = I`` (the paper's direct layer
    ``(Ax + a) ⊙ (Bx + b)``); without ``embed_weight`` the blocks read the input itself.
    Each factor is cast to ``dtype`` (float64 by default) and the biases become the constant
    coordinate (``affine``), so the result computes exactly the model's logits and every
    analysis of the package applies (``odt``, ``class_eigenvectors``, ``compositional_tree``,
    ``logit_degrees``, …). For a model written as an ``nn.Module`` ``from_module`` finds the
    factors itself.

    Args:
        embed_weight: ``E`` (d_0, d_input), or None for no embedding (``E = I``).
        embed_bias: ``b_E`` (d_0,) or None.
        blocks: one entry per bilinear layer, bottom to top: ``(L, R)``, ``(L, R, D)``, or a
            dict with keys ``left``, ``right`` and optionally ``down``, ``left_bias``,
            ``right_bias``, ``down_bias``, ``residual``. Shapes: ``L``, ``R`` (h, d_in),
            ``D`` (d_out, h), ``b_L``, ``b_R`` (h,), ``b_D`` (d_out,). A residual block needs
            ``d_out = d_in``.
        head_weight: ``H`` (n_classes, d_L); ``head_bias``: ``b_H`` (n_classes,) or None.
        residual: whether blocks without their own ``residual`` key are residual.
        norms: one entry per block, the norm applied to its input: None; a positive number
            ``c`` (a frozen scalar norm, ``w / c``, e.g. ``running_rms + eps``); ``"rms"`` or
            ``("rms", γ)`` (a per-sample RMS norm ``γ ⊙ w / rms(w)``, bias-free L and R only;
            exact up to a per-sample scale that ``Network.__call__`` divides out).
        dtype, device: of the network's tensors.
        check: the module the factors came from, or ``(module, inputs)``: the network is
            compared with it in float64 (``importing.check_network``), and a difference
            larger than ``tol`` (relative to the logits' size) raises with its likely cause.

    Returns:
        The ``Network``: ``net(x)`` (batch, d_input) → logits (batch, n_classes).

    Raises:
        TypeError / ValueError: an argument of the wrong kind or shape (the message names it
            and says what was expected); ``ImportCheckError``: the check failed.

    Examples::

        >>> import torch
        >>> from xnets_lite import from_factors, odt
        >>> E, L, R, H = torch.randn(6, 16), torch.randn(6, 6), torch.randn(6, 6), torch.randn(3, 6)
        >>> net = from_factors(E, blocks=[(L, R)], head_weight=H)   # logits = H (LEx ⊙ REx)
        >>> x = torch.randn(5, 16)
        >>> torch.allclose(net(x).float(), (x @ E.T @ L.T) * (x @ E.T @ R.T) @ H.T, atol=1e-4)
        True
        >>> dec = odt(net)
        >>> torch.allclose(dec.network(x), net(x))                  # the same function
        True
        >>> [len(s) for s in dec.spectra]                            # wires 0 and 1
        [7, 7]
        >>> torch.allclose(dec.truncate(energy=1.0)(x), net(x))     # all the energy, all of it
        True
    """
    _check_arguments(embed_weight, blocks, head_weight, norms)
    cast = lambda t, name: _as_factor(t, name, device, dtype)  # noqa: E731
    factors = _cast_blocks(blocks, residual, cast)
    hw = cast(head_weight, "head_weight")
    first_in = factors[0]["left"].shape[-1] if factors else hw.shape[-1]
    embed = _embedding(embed_weight, embed_bias, first_in, hw, cast, bool(factors))
    hb = cast(head_bias, "head_bias")
    layers, width, any_rms = _block_layers(factors, norms, embed.shape[0])
    head = _head(hw, hb, width)
    meta = dict(source="factors", norm="rms" if any_rms else None)
    try:
        net = Network(embed, layers, head, meta)
    except ValueError as err:
        raise ValueError(f"from_factors: the factors do not chain: {err}") from err
    if check is not None:
        module, inputs = check if isinstance(check, tuple) else (check, None)
        other = functools.partial(
            _residual_flipped,
            embed_weight,
            embed_bias,
            blocks,
            head_weight,
            head_bias,
            residual=residual,
            norms=norms,
            dtype=dtype,
            device=device,
        )
        check_network(net, module, inputs, tol=tol, alternative=other, what="from_factors")
    return net


def _check_arguments(embed_weight, blocks, head_weight, norms) -> None:
    """The mistakes in ``from_factors``'s arguments that show before any factor is read."""
    if head_weight is None:
        raise TypeError(
            "from_factors needs head_weight, the (n_classes, d_L) read-out (the last "
            "nn.Linear's .weight)"
        )
    if isinstance(embed_weight, (tuple, list)) and not blocks:
        raise TypeError(
            "from_factors: embed_weight is a list; did you pass the blocks first? Use "
            "from_factors(E, b_E, blocks=[...], head_weight=H)"
        )
    if isinstance(blocks, (Tensor, dict)) or not isinstance(blocks, Sequence):
        raise TypeError(
            f"from_factors: blocks must be a list with one entry per block ((L, R), (L, R, D) "
            f"or a dict), got {type(blocks).__name__}"
        )
    if norms is not None and len(norms) != len(blocks):
        raise ValueError(
            f"from_factors: norms has {len(norms)} entries for {len(blocks)} blocks; give one "
            f"per block (None where a block has no norm)"
        )


def _cast_blocks(blocks, residual: bool, cast: Callable) -> list[dict]:
    """Every block's factors (``BLOCK_KEYS``) cast to tensors, their biases' shapes checked."""
    factors = []
    for i, block in enumerate(blocks):
        f = _block_factors(block, i, residual)
        factors.append(
            {k: v if k == "residual" else cast(v, f"blocks[{i}]['{k}']") for k, v in f.items()}
        )
    for i, f in enumerate(factors):
        h = f["left"].shape[0] if f["left"].dim() == 2 else None
        if h is not None:
            _check_bias(f.get("left_bias"), h, f"blocks[{i}]['left_bias']", "L")
            _check_bias(f.get("right_bias"), h, f"blocks[{i}]['right_bias']", "R")
        down = f.get("down")
        if down is not None and down.dim() == 2:
            _check_bias(f.get("down_bias"), down.shape[0], f"blocks[{i}]['down_bias']", "D")
    return factors


def _embedding(
    embed_weight, embed_bias, first_in: int, hw: Tensor, cast: Callable, has_blocks: bool
) -> Tensor:
    """The embedding ``affine(E, b_E)`` (``E = I`` when absent), checked to feed a wire of
    width ``first_in`` (read by block 0 if ``has_blocks``, else by the head ``hw``)."""
    ew = cast(embed_weight, "embed_weight")
    if ew is None:
        ew = torch.eye(first_in, dtype=hw.dtype, device=hw.device)
    if ew.dim() != 2:
        raise ValueError(
            f"from_factors: embed_weight must be a matrix (d_0, d_input), got shape "
            f"{tuple(ew.shape)}"
        )
    if ew.shape[0] != first_in:
        reader = "block 0's L and R read" if has_blocks else "head_weight reads"
        hint = "; if it is transposed, pass embed_weight.T" if ew.shape[1] == first_in else ""
        raise ValueError(
            f"from_factors: the factors do not chain: embed_weight has shape {tuple(ew.shape)} "
            f"= (d_0, d_input), but "
            f"{reader} d_0 = {first_in}{hint}"
        )
    eb = cast(embed_bias, "embed_bias")
    _check_bias(eb, ew.shape[0], "embed_bias", "embed_weight")
    return affine(ew, eb)


def _block_layers(
    factors: list[dict], norms: Sequence | None, width: int
) -> tuple[list[BilinearLayer], int, bool]:
    """The blocks' layers on a first wire of (homogeneous) ``width``, each after its norm:
    ``(layers, width of the last wire, whether any norm is a per-sample RMS)``."""
    layers, widths, any_rms = [], [width], False
    for i, f in enumerate(factors):
        norm = None if norms is None else _norm_arg(norms[i], i)
        if isinstance(norm, tuple):
            any_rms = True
            if f["left"].dim() != 2 or f["left"].shape[1] != widths[-1] - 1:
                raise ValueError(
                    f"from_factors: block {i}'s L has shape {tuple(f['left'].shape)}, but the "
                    f"wire before it has width {widths[-1] - 1}"
                )
            new = _rms_blocks(f, i, norm, widths[-1])
        else:
            if norm is not None:
                f = dict(f, left=f["left"] / norm, right=f["right"] / norm)
            new = [_block_layer(f, i)]
        layers += new
        widths.append(new[-1].n_out)
    return layers, widths[-1], any_rms


def _head(hw: Tensor, hb: Tensor | None, width: int) -> Tensor:
    """The head ``affine(H, b_H)``, checked to read the last wire of (homogeneous) ``width``."""
    if hw.dim() != 2 or hw.shape[1] != width - 1:
        hint = (
            f"; if it is transposed, pass head_weight.T (else the blocks should end on a "
            f"wire of width {hw.shape[1]})"
            if hw.dim() == 2 and hw.shape[0] == width - 1
            else ""
        )
        raise ValueError(
            f"from_factors: the factors do not chain: head_weight has shape {tuple(hw.shape)} "
            f"= (n_classes, d_L), but "
            f"the last wire has width d_L = {width - 1}{hint}"
        )
    _check_bias(hb, hw.shape[0], "head_bias", "head_weight")
    return affine(hw, hb)


def _residual_flipped(
    embed_weight, embed_bias, blocks, head_weight, head_bias, *, residual, norms, dtype, device
) -> Network:
    """``from_factors`` with every block's residual flag flipped: the import check's
    alternative (if it matches the module, the flag was wrong)."""
    given = [_block_factors(b, i, residual) for i, b in enumerate(blocks)]
    flipped = [dict(f, residual=not f["residual"]) for f in given]
    alt = from_factors(
        embed_weight,
        embed_bias,
        flipped,
        head_weight,
        head_bias,
        norms=norms,
        dtype=dtype,
        device=device,
    )
    alt.meta["residual"] = not given[0]["residual"] if given else None
    return alt


def symmetrise(net: Network) -> Network:
    """Make every layer symmetric (``L = R``) without changing the function.

    ``L' = R' = [L + R; L − R]`` and ``D' = ¼ [D, −D]``, exact because
    ``(a + b)² − (a − b)² = 4ab``. Then every copy of a wire sees the same downstream
    Gram. Hidden units that are identically zero (e.g. ``L − R`` of a unit that was already
    symmetric) are dropped.

    Args:
        net: any ``Network``.

    Returns:
        A ``Network`` computing the same function, every layer with ``left is right``.

    Shapes:
        a layer of hidden size k becomes one of at most 2k.

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> model = xl.XNet(d_input=9, d_model=6, n_classes=3, n_layers=2).double().eval()
        >>> net = xl.to_network(model)
        >>> sym = xl.symmetrise(net)
        >>> x = torch.rand(4, 9, dtype=torch.float64)
        >>> all(layer.is_symmetric for layer in sym.layers), torch.allclose(sym(x), net(x))
        (True, True)
    """
    layers = []
    for layer in net.layers:
        if layer.is_symmetric:
            layers.append(layer)
            continue
        sym = torch.cat([layer.left + layer.right, layer.left - layer.right])
        down = 0.25 * torch.cat([layer.down, -layer.down], dim=1)
        keep = (sym != 0).any(1) & (down != 0).any(0)
        sym = sym[keep]
        layers.append(BilinearLayer(sym, sym, down[:, keep]))
    return net.replace(layers=layers)
