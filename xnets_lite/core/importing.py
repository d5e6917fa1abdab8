"""Your own bilinear model in one call, verified: ``from_module`` and the import check.

``from_module(model)`` reads a PyTorch module's weights into the exact ``Network`` form:

    embedding  →  bilinear blocks (direct or residual, any hidden size, biases or not,
                  an optional norm before each)  →  head

Which ``nn.Linear`` plays which role is a short **layout** (plain dicts of module paths,
``model.get_submodule`` names), or is recognised automatically where the module leaves no
doubt. This is the organisation TransformerLens uses for pretrained models (one small
weight-conversion function per architecture that maps a model's own parameter names onto
one canonical set of roles), reduced to the one architecture χ-nets have; the layouts of the
public bilinear repositories are recognised (see ``recognise``):

* tdooms/bilinear-decomposition (``shared/components.py``): ``Bilinear(nn.Linear)`` holds L
  and R stacked in one weight (first half of the rows L, second R, optional ``gate``), ``MLP``
  is ``p(w(x))``; the image ``Model`` is ``embed → blocks (direct or x + block(x)) → head``;
* J0YY/x-vla: ``DirectBilinearLayer`` (``left``, ``right``: ``(Ax + a) ⊙ (Bx + b)``),
  ``BilinearFFN`` (``left``, ``right``, ``down``), the foldable ``RmsBatchNorm`` (a frozen
  scalar ``running_rms + eps``) and a forward that returns ``(logits, loss)``;
* the course's own ``XNet`` (``network.to_network``).

Every import is **checked**: the network and the module (a float64 copy, in eval mode) are
run on sample inputs, and a difference larger than ``tol`` raises ``ImportCheckError`` with
the largest difference and its likely cause — a nonlinearity (the module is not a polynomial
of the network's degree), a wrong residual flag (the other flag matches), a missing bias (the
outputs differ already at x = 0) or a weight in the wrong role. ``from_factors(...,
check=(module, inputs))`` runs the same check on factors given by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from xnets_lite.core.checking import CHECK_TOL, ImportCheckError, check_network
from xnets_lite.core.model import XNet
from xnets_lite.core.network import Network, from_factors, to_network

#: Child names read as L, R and D of a block whose L and R are separate ``nn.Linear``.
LEFT_NAMES = ("left", "l", "w_l", "lin_l", "A", "a")
RIGHT_NAMES = ("right", "r", "w_r", "lin_r", "B", "b")
DOWN_NAMES = ("down", "d", "p", "D", "out", "proj", "w_out", "o")

#: Modules that are nonlinear in their input: refused by name before any check.
NONLINEAR = (
    nn.ReLU,
    nn.GELU,
    nn.SiLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.Softmax,
    nn.LeakyReLU,
    nn.ELU,
    nn.Softplus,
    nn.Mish,
    nn.LayerNorm,
    nn.BatchNorm1d,
    nn.GroupNorm,
)


# ---------------------------------------------------------------------------------------
# The layout: which module is which
# ---------------------------------------------------------------------------------------
@dataclass
class BlockLayout:
    """One bilinear block: paths (``model.get_submodule`` names) of its linear maps.

    ``left`` / ``right`` may name one fused ``nn.Linear`` whose rows stack L over R, with the
    suffix ``":0"`` (first half of its rows) and ``":1"`` (second half). ``down`` is None for
    a block without output projection (``D = I``). ``residual``: ``w ← w + block(w)`` (None:
    found by the check). ``norm``: the path of a norm module applied to the block's input
    (a frozen scalar norm with ``running_rms`` and ``eps``, ``nn.RMSNorm`` or any per-sample
    RMS norm, ``nn.Identity``), or a number ``c`` (the block reads ``w / c``), or None.
    """

    left: str
    right: str
    down: str | None = None
    residual: bool | None = None
    norm: str | float | None = None


@dataclass
class Layout:
    """Which module is which: ``embed`` (None: the blocks read the input), ``blocks`` (bottom
    to top), ``head``. ``from_module`` accepts this or the same as a plain dict::

        {"embed": "embed", "head": "head",
         "blocks": [{"left": "blocks.0.left", "right": "blocks.0.right", "down": "blocks.0.down",
                     "residual": True}, ...]}
    """

    blocks: list[BlockLayout]
    head: str
    embed: str | None = None
    notes: list[str] = field(default_factory=list)


def as_layout(layout: Layout | Mapping) -> Layout:
    """A ``Layout`` from itself or from a dict (keys ``embed``, ``blocks``, ``head``)."""
    if isinstance(layout, Layout):
        return layout
    if not isinstance(layout, Mapping):
        raise TypeError(
            f"layout must be a dict with keys 'embed', 'blocks', 'head' (or a Layout), got "
            f"{type(layout).__name__}"
        )
    unknown = set(layout) - {"embed", "blocks", "head"}
    if unknown or "blocks" not in layout or "head" not in layout:
        raise ValueError(
            f"layout: expected keys 'blocks' and 'head' (and optionally 'embed'), got "
            f"{sorted(layout)}; e.g. {{'embed': 'embed', 'blocks': [{{'left': 'b.0.l', "
            f"'right': 'b.0.r'}}], 'head': 'head'}}"
        )
    blocks = []
    for i, b in enumerate(layout["blocks"]):
        if isinstance(b, BlockLayout):
            blocks.append(b)
            continue
        keys = {"left", "right", "down", "residual", "norm"}
        if not isinstance(b, Mapping) or not {"left", "right"} <= set(b) or set(b) - keys:
            raise ValueError(
                f"layout['blocks'][{i}] must be a dict with 'left' and 'right' (paths of "
                f"nn.Linear modules) and optionally 'down', 'residual', 'norm'; got {b!r}"
            )
        blocks.append(BlockLayout(**b))
    return Layout(blocks, layout["head"], layout.get("embed"))


def _is_fused(mod: nn.Module) -> bool:
    """A ``nn.Linear`` that holds L and R stacked (tdooms' ``Bilinear``)."""
    return (
        isinstance(mod, nn.Linear)
        and mod.out_features % 2 == 0
        and (hasattr(type(mod), "w_l") or type(mod).__name__.lower() == "bilinear")
    )


def _child_linear(mod: nn.Module, names: Sequence[str]) -> str | None:
    for name in names:
        child = getattr(mod, name, None)
        if isinstance(child, nn.Linear):
            return name
    return None


def _recognise_block(mod: nn.Module) -> dict | None:
    """Relative paths of a block's L, R, D, or None when ``mod`` is not a bilinear block."""
    if _is_fused(mod):
        return {"left": ":0", "right": ":1", "down": None, "gate": getattr(mod, "gate", None)}
    if isinstance(mod, nn.Linear):
        return None
    left, right = _child_linear(mod, LEFT_NAMES), _child_linear(mod, RIGHT_NAMES)
    if left and right and left != right:
        return {"left": left, "right": right, "down": _child_linear(mod, DOWN_NAMES)}
    fused = [n for n, c in mod.named_children() if _is_fused(c)]
    if len(fused) == 1:
        down = _child_linear(mod, DOWN_NAMES)
        return {
            "left": f"{fused[0]}:0",
            "right": f"{fused[0]}:1",
            "down": down,
            "gate": getattr(getattr(mod, fused[0]), "gate", None),
        }
    return None


def _is_norm(mod: nn.Module) -> bool:
    return (
        hasattr(mod, "running_rms")
        or isinstance(mod, getattr(nn, "RMSNorm", ()))
        or "rmsnorm" in type(mod).__name__.lower().replace("_", "")
    )


def recognise(model: nn.Module) -> Layout:
    """The layout of a model, where its modules leave no doubt; raises otherwise.

    Blocks are the modules (in registration order) with two linear children named as L and R
    (``left``/``right``, ``l``/``r``, ``A``/``B``, …, and optionally ``down``/``p``/``out``
    as D), or a fused ``Bilinear(nn.Linear)`` (tdooms), alone or with a ``p`` projection.
    The ``nn.Linear`` outside the blocks are the embedding and the head (the one after the
    blocks is the head; with only one, there is no embedding). Norm modules (a frozen scalar
    with ``running_rms``, a per-sample RMS norm) are matched to the blocks in order. The
    residual flag is left to the check.

    Raises:
        ValueError: the layout is ambiguous or unsupported; the message says what was found
            and how to give the layout by hand.
    """
    blocks, others, norms, order = _scan_modules(model)
    if not blocks:
        blocks, others = _model_as_block(model, others, order)
    if not blocks:
        raise ValueError(
            "from_module: found no bilinear block (a module with two nn.Linear children "
            "named like left/right, l/r or A/B, or a fused Bilinear(nn.Linear)); pass "
            "layout={'embed': ..., 'blocks': [{'left': ..., 'right': ..., 'down': ...}], "
            "'head': ...} with the paths of your modules (print(model) shows them)"
        )
    layout_blocks = [
        BlockLayout(_join(n, f["left"]), _join(n, f["right"]), _join(n, f["down"]))
        for n, f in blocks
    ]
    embed, head = _embed_and_head(blocks, others, order)
    if norms and len(norms) != len(blocks):
        raise ValueError(
            f"from_module: found {len(norms)} norm modules {norms} for {len(blocks)} blocks; "
            f"give each block's norm in layout=dict(blocks=[dict(..., norm='path')])"
        )
    for b, n in zip(layout_blocks, norms):
        b.norm = n
    return Layout(layout_blocks, head, embed)


def _scan_modules(model: nn.Module) -> tuple[list, list[str], list[str], dict[str, int]]:
    """One pass over ``model.named_modules()``: ``(blocks, other nn.Linear, norms, order)``,
    blocks as ``(path, relative paths of L, R, D)``; refuses a nonlinearity or a gate."""
    blocks, others, norms, order = [], [], [], {}
    skip: tuple[str, ...] = ()
    for i, (name, mod) in enumerate(model.named_modules()):
        order[name] = i
        if name and skip and any(name == s or name.startswith(s + ".") for s in skip):
            continue
        if isinstance(mod, NONLINEAR):
            raise ValueError(
                f"from_module: {name or 'the model'} is a {type(mod).__name__}, which is not "
                f"a polynomial of its input: such a model has no exact tensor-network form "
                f"(use xnets_lite's MLP tools for a baseline, or remove the nonlinearity)"
            )
        found = _recognise_block(mod) if name else None
        if found is not None:
            gate = found.pop("gate", None)
            if gate is not None and not isinstance(gate, nn.Identity):
                raise ValueError(
                    f"from_module: block {name!r} has gate {type(gate).__name__} applied to "
                    f"L: a gated (nonlinear) unit, not a bilinear one; only gate=None imports"
                )
            blocks.append((name, found))
            skip += (name,)
            continue
        if isinstance(mod, nn.Linear) and name:
            others.append(name)
        elif _is_norm(mod) and name:
            norms.append(name)
    return blocks, others, norms, order


def _model_as_block(model: nn.Module, others: list[str], order: dict[str, int]):
    """The model itself as the one block (``logits = head(L x ⊙ R x)``, no embedding):
    ``(blocks, the other nn.Linear)``, blocks empty when it is not one."""
    found = _recognise_block(model)
    if found is None or _is_fused(model):
        return [], others
    found.pop("gate", None)
    found["down"] = None
    mine = {found["left"].partition(":")[0], found["right"].partition(":")[0]}
    order[""] = min(order[n] for n in mine)
    return [("", found)], [n for n in others if n not in mine]


def _join(base: str, rel: str | None) -> str | None:
    """The path of ``rel`` (a child name, or ``":0"``/``":1"``, a fused half) under ``base``."""
    if rel is None:
        return None
    if not base:
        return rel
    return base + rel if rel.startswith(":") else f"{base}.{rel}"


def _embed_and_head(blocks: list, others: list[str], order: dict[str, int]):
    """``(embedding or None, head)``: the ``nn.Linear`` before the blocks and the one after."""
    last_block = order[blocks[-1][0]]
    before = [n for n in others if order[n] < order[blocks[0][0]]]
    after = [n for n in others if order[n] > last_block]
    if len(after) != 1 or len(before) > 1 or len(before) + len(after) != len(others):
        raise ValueError(
            f"from_module: cannot tell the embedding and the head apart: found blocks "
            f"{[n for n, _ in blocks]} and other nn.Linear {others} (expected at most one "
            f"before the blocks, the embedding, and exactly one after them, the head); pass "
            f"layout=dict(embed=..., blocks=[...], head=...)"
        )
    return (before[0] if before else None), after[0]


# ---------------------------------------------------------------------------------------
# Reading the weights
# ---------------------------------------------------------------------------------------
def _linear(model: nn.Module, ref: str, role: str) -> tuple[Tensor, Tensor | None]:
    """``(weight, bias)`` of the module at ``ref`` (``"path"`` or ``"path:0"``/``":1"``)."""
    path, _, half = ref.partition(":")
    try:
        mod = model.get_submodule(path) if path else model
    except AttributeError as err:
        raise ValueError(
            f"from_module: the layout's {role} {ref!r} is not a submodule of the model "
            f"(names as in model.named_modules())"
        ) from err
    weight, bias = getattr(mod, "weight", None), getattr(mod, "bias", None)
    if not isinstance(weight, Tensor) or weight.dim() != 2:
        raise ValueError(
            f"from_module: the layout's {role} {ref!r} is a {type(mod).__name__} without a "
            f"2-D weight; it must name an nn.Linear (or a module with .weight (out, in))"
        )
    if half:
        if half not in ("0", "1") or weight.shape[0] % 2:
            raise ValueError(
                f"from_module: {role} {ref!r}: the suffix ':0' / ':1' takes the first / second "
                f"half of the rows of a fused weight with an even number of rows"
            )
        k = int(half)
        weight = weight.chunk(2, 0)[k]
        bias = None if bias is None else bias.chunk(2, 0)[k]
    return weight.detach(), None if bias is None else bias.detach()


def _norm_factor(model: nn.Module, norm, i: int):
    """A block's norm as ``from_factors`` takes it: None, a scalar c, or ("rms", γ)."""
    if norm is None or isinstance(norm, (int, float)):
        return norm
    if isinstance(norm, Tensor) and norm.numel() == 1:
        return float(norm)
    mod = model.get_submodule(norm) if isinstance(norm, str) else norm
    if isinstance(mod, nn.Identity):
        return None
    if hasattr(mod, "running_rms"):
        kappa = getattr(mod, "kappa", None)
        if kappa is not None and float(kappa) != 1.0:
            raise ValueError(
                f"from_module: block {i}'s norm {norm!r} mixes a per-sample RMS with the frozen "
                f"scalar (kappa = {float(kappa)}): only kappa = 1, a constant, folds exactly"
            )
        return float(mod.running_rms.double() + getattr(mod, "eps", 0.0))
    if _is_norm(mod):
        gamma = getattr(mod, "weight", None)
        return ("rms", None if gamma is None else gamma.detach())
    raise ValueError(
        f"from_module: block {i}'s norm {norm!r} is a {type(mod).__name__}; supported: a "
        f"frozen scalar norm (running_rms, eps), nn.RMSNorm or another per-sample RMS norm, "
        f"nn.Identity"
    )


def _factors(model: nn.Module, layout: Layout, residual: bool | None) -> dict:
    """``from_factors``'s arguments from a model and its layout."""
    blocks, norms = [], []
    for i, b in enumerate(layout.blocks):
        lw, lb = _linear(model, b.left, f"blocks[{i}].left")
        rw, rb = _linear(model, b.right, f"blocks[{i}].right")
        f = dict(left=lw, right=rw, left_bias=lb, right_bias=rb)
        if b.down is not None:
            f["down"], f["down_bias"] = _linear(model, b.down, f"blocks[{i}].down")
        flag = b.residual if b.residual is not None else residual
        f["residual"] = bool(flag)
        blocks.append(f)
        norms.append(_norm_factor(model, b.norm, i))
    ew, eb = (None, None) if layout.embed is None else _linear(model, layout.embed, "embed")
    hw, hb = _linear(model, layout.head, "head")
    return dict(
        embed_weight=ew,
        embed_bias=eb,
        blocks=blocks,
        head_weight=hw,
        head_bias=hb,
        norms=norms if any(n is not None for n in norms) else None,
    )


# ---------------------------------------------------------------------------------------
# from_module
# ---------------------------------------------------------------------------------------
@torch.no_grad()
def from_module(
    model: nn.Module,
    layout: Layout | Mapping | None = None,
    *,
    residual: bool | None = None,
    inputs: Tensor | None = None,
    check: bool = True,
    tol: float = CHECK_TOL,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Network:
    """The exact ``Network`` of a bilinear model written in plain PyTorch, checked.

    Args:
        model: an ``nn.Module``: embedding (optional) → bilinear blocks → head, or an ``XNet``.
        layout: which module is which (``Layout`` or a dict ``{"embed", "blocks", "head"}``
            of ``model.get_submodule`` paths; see ``BlockLayout``). None: ``recognise(model)``.
        residual: whether the blocks add their input (``w ← w + block(w)``); None (default):
            tried both ways, the one the check accepts is kept.
        inputs: the check's sample inputs (a batch the model accepts; default: 64 standard
            normal vectors).
        check: compare the network with the model (float64 copy, eval mode) on ``inputs``.
        tol: largest accepted difference of the logits, relative to ``max(1, max |logit|)``.
        dtype, device: of the network's tensors (float64 by default).

    Returns:
        The ``Network``; ``net.meta["check"]`` holds the check's largest difference.

    Shapes:
        model input (batch, d_input) (or images the model flattens), logits (batch, n_classes).

    Raises:
        ValueError: a layout that cannot be recognised or does not fit the model.
        ImportCheckError: the network does not compute the model; the message gives the
            largest difference and its likely cause.

    Example::

        >>> import torch
        >>> from torch import nn
        >>> import xnets_lite as xl
        >>> class Block(nn.Module):
        ...     def __init__(self, d, h):
        ...         super().__init__()
        ...         self.left, self.right = nn.Linear(d, h), nn.Linear(d, h)
        ...         self.down = nn.Linear(h, d)
        ...     def forward(self, x):
        ...         return x + self.down(self.left(x) * self.right(x))
        >>> class Model(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.embed = nn.Linear(12, 6)
        ...         self.blocks = nn.ModuleList([Block(6, 8), Block(6, 5)])
        ...         self.head = nn.Linear(6, 3)
        ...     def forward(self, x):
        ...         x = self.embed(x)
        ...         for block in self.blocks:
        ...             x = block(x)
        ...         return self.head(x)
        >>> _ = torch.manual_seed(0)
        >>> model = Model()
        >>> net = xl.from_module(model)            # recognised, residual found, checked
        >>> net.meta["residual"], net.meta["check"]["max_abs_diff"] < 1e-12
        (True, True)
        >>> x = torch.randn(4, 12)
        >>> torch.allclose(net(x).float(), model(x), atol=1e-5)
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"from_module expects an nn.Module (your model), got {type(model).__name__}; for "
            f"weight tensors use from_factors(embed_weight, embed_bias, blocks, head_weight)"
        )
    if isinstance(model, XNet):
        net = to_network(model, dtype=dtype, device=device)
        if check:
            check_network(net, model, inputs, tol=tol, what="from_module")
        return net
    plan = recognise(model) if layout is None else as_layout(layout)
    if residual is not None and not isinstance(residual, bool):
        raise TypeError(f"residual must be True, False or None (find it), got {residual!r}")

    def build(flag: bool) -> Network:
        net = from_factors(**_factors(model, plan, flag), dtype=dtype, device=device)
        net.meta.update(source=type(model).__name__, residual=flag)
        return net

    chained = [b for b in plan.blocks if b.residual is None]
    if residual is None and chained and not check:
        raise ValueError(
            "from_module: with check=False pass residual=True or False: the check is what "
            "tells a residual model from a direct one"
        )
    if residual is None and chained:
        flags, errors = [False, True], []
        for flag in flags:
            try:
                net = build(flag)
            except ValueError as err:  # a residual block must map d → d
                errors.append(err)
                continue
            try:
                check_network(net, model, inputs, tol=tol, what="from_module")
                return net
            except ImportCheckError as err:
                errors.append(err)
        checked = [e for e in errors if isinstance(e, ImportCheckError)]
        if not checked:  # no build chained: the layout does not fit the model
            raise errors[0]
        if len(checked) == 1:
            raise checked[0]
        raise ImportCheckError(
            f"from_module: neither residual=False nor residual=True reproduces the model. "
            f"With residual=False: {checked[0]}"
        )
    flag = bool(residual)
    net = build(flag)
    if check:

        def other() -> Network:
            return build(not flag)

        check_network(net, model, inputs, tol=tol, alternative=other, what="from_module")
    return net
