"""The model kinds the course trains and checkpoints: spelled once.

``MODEL_KINDS`` names each kind (its class, options and one line that says what it is);
``make_model`` builds one; ``model_config`` / ``build_model`` are the checkpoint format's
record of a model and its inverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from xnets_lite.core.model import MLP, XNet, num_parameters

Kind = Literal["xnet", "xnet-direct", "xnet-rms", "mlp"]

# ---------------------------------------------------------------------------------------
# Model kinds: spelled once
# ---------------------------------------------------------------------------------------
#: The model classes a checkpoint's config names in its ``"kind"`` field (part of the file
#: format: ``build_model`` reads it).
ARCHITECTURES: dict[str, type[nn.Module]] = {"xnet": XNet, "mlp": MLP}


@dataclass(frozen=True)
class ModelKind:
    """A model of the course: its class (``architecture``, a key of ``ARCHITECTURES``), the
    options it is built with, and one line that says what it is."""

    name: str
    architecture: str
    options: dict = field(default_factory=dict)
    description: str = ""


#: Every model the course trains, by name (``Run.model(kind)``, the recipes' ``main``).
MODEL_KINDS: dict[str, ModelKind] = {
    k.name: k
    for k in (
        ModelKind(
            "xnet",
            "xnet",
            dict(block="residual", norm=None),
            "χ-net, residual blocks x + D((Lx + b_L) ⊙ (Rx + b_R)) + b_D, no normalisation "
            "(a pure tree)",
        ),
        ModelKind(
            "xnet-direct",
            "xnet",
            dict(block="direct", norm="batch-rms"),
            "χ-net, the paper's direct layer (Ax + a) ⊙ (Bx + b) with a scalar running RMS",
        ),
        ModelKind(
            "xnet-rms",
            "xnet",
            dict(norm="rms"),
            "χ-net, residual blocks with a per-sample RMS norm (exact only up to a scale)",
        ),
        ModelKind(
            "mlp",
            "mlp",
            dict(activation="relu"),
            "ReLU MLP, residual blocks x + W₂ relu(W₁x + b₁) + b₂, the conventional baseline",
        ),
    )
}


def make_model(
    kind: Kind, d_input: int, width: int, n_classes: int, n_layers: int, **options
) -> nn.Module:
    """An untrained model of ``kind`` (a key of ``MODEL_KINDS``) with ``d_model = d_hidden =
    width``; ``options`` change the kind's own (e.g. ``norm=None`` for a direct χ-net
    without a norm, ``activation="gelu"`` for the MLP)."""
    spec = MODEL_KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}")
    return ARCHITECTURES[spec.architecture](
        d_input=d_input,
        d_model=width,
        d_hidden=width,
        n_classes=n_classes,
        n_layers=n_layers,
        **{**spec.options, **options},
    )


def width_for_parameters(
    kind: Kind, n_parameters: int, n_layers: int, d_input: int, n_classes: int, **options
) -> int:
    """The width whose model of ``kind`` (``make_model``'s, ``d_model = d_hidden = width``)
    has the parameter count closest to ``n_parameters``; a tie goes to the narrower model.

    The count grows with the width, so a bisection finds it; the models are built on the
    ``meta`` device (shapes only, no memory), and each count is ``num_parameters`` of the
    model ``make_model`` returns, exactly. On MNIST (784 inputs, 3 layers, 10 classes) the
    residual χ-net has 7,975 parameters at width 9 and 8,950 at width 10, so for 8,379:

    >>> width_for_parameters("xnet", 8_379, n_layers=3, d_input=784, n_classes=10)
    9
    """
    target = int(n_parameters)
    if target < 1:
        raise ValueError(f"n_parameters must be a positive count, got {n_parameters!r}")

    def count(width: int) -> int:
        with torch.device("meta"):
            return num_parameters(make_model(kind, d_input, width, n_classes, n_layers, **options))

    low, high = 1, 2  # count(low) < target <= count(high) once the loop below ends
    if count(low) >= target:
        return low
    while count(high) < target:
        low, high = high, 2 * high
        if high > 1 << 24:
            raise ValueError(f"no width up to {1 << 24} reaches {target:,} parameters")
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if count(mid) < target else (low, mid)
    return low if target - count(low) <= count(high) - target else high


def model_config(model: nn.Module) -> dict:
    """``model.config`` plus its ``kind`` (a key of ``ARCHITECTURES``): what ``build_model``
    needs."""
    kind = next((k for k, cls in ARCHITECTURES.items() if type(model) is cls), None)
    if kind is None:
        names = " or ".join(c.__name__ for c in ARCHITECTURES.values())
        raise TypeError(f"can only checkpoint {names} models, got {type(model).__name__}")
    return {"kind": kind, **model.config}


def build_model(config: dict) -> nn.Module:
    """Rebuild a model from the ``config`` dict stored in a checkpoint."""
    config = dict(config)
    kind = config.pop("kind", "xnet")
    cls = ARCHITECTURES.get(kind)
    if cls is None:
        raise ValueError(
            f"unknown model kind {kind!r}; expected {' or '.join(repr(k) for k in ARCHITECTURES)}"
        )
    return cls(**config)
