"""Keep results: networks, decompositions and compressed modules as plain tensors + JSON.

Every state is a dict of tensors, strings and numbers only (metadata as one JSON string), so
``torch.load(path, weights_only=True)`` — torch's safe default — reads it back and no class
of this package is pickled. Round trips are bit-exact (the tensors are stored as they are).
``save(obj, path)`` / ``load(path)`` do it for any of the three::

    >>> import io, torch
    >>> import xnets_lite as xl
    >>> from xnets_lite.core.saving import save, load
    >>> _ = torch.manual_seed(0)
    >>> dec = xl.odt(xl.XNet(d_input=9, d_model=6, n_classes=3, n_layers=2))
    >>> buffer = io.BytesIO()
    >>> save(dec, buffer)
    >>> _ = buffer.seek(0)
    >>> again = load(buffer)
    >>> all(torch.equal(a, b) for a, b in zip(again.network.tensors(), dec.network.tensors()))
    True
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

import torch

from xnets_lite.core.compress import Quadratic, TreeNet
from xnets_lite.core.network import NETWORK_FORMAT, Network
from xnets_lite.core.odt import DECOMPOSITION_FORMAT, Decomposition

#: The ``format`` field of a saved ``TreeNet`` (part of the file format).
MODULE_FORMAT = "xnets-lite/treenet/1"


def module_state(module: TreeNet) -> dict[str, Any]:
    """A ``TreeNet`` as its ``state_dict`` plus what rebuilds it (its layers' kinds, d_input)."""
    return {
        "format": MODULE_FORMAT,
        "d_input": int(module.d_input),
        "kinds": ["quadratic" if isinstance(m, Quadratic) else "factored" for m in module.layers],
        "state_dict": dict(module.state_dict()),
    }


def state_of(obj) -> dict[str, Any]:
    """The state of a ``Network``, ``Decomposition`` or ``TreeNet``."""
    if isinstance(obj, (Network, Decomposition)):
        return obj.state_dict()
    if isinstance(obj, TreeNet):
        return module_state(obj)
    raise TypeError(
        f"save keeps a Network, a Decomposition or a TreeNet (to_module), got "
        f"{type(obj).__name__}; for a model of your own use torch.save(model.state_dict())"
    )


def from_state(state: dict):
    """Rebuild whatever ``state_of`` saved, by its ``format``."""
    fmt = state.get("format") if isinstance(state, dict) else None
    if fmt == NETWORK_FORMAT:
        return Network.from_state_dict(state)
    if fmt == DECOMPOSITION_FORMAT:
        return Decomposition.from_state_dict(state)
    if fmt == MODULE_FORMAT:
        return TreeNet.from_state_dict(state["state_dict"], state["kinds"], state["d_input"])
    raise ValueError(
        f"not a saved xnets-lite state: its 'format' is {fmt!r}, expected one of "
        f"{[NETWORK_FORMAT, DECOMPOSITION_FORMAT, MODULE_FORMAT]}"
    )


def save(obj: Network | Decomposition | TreeNet, path: str | os.PathLike | BinaryIO) -> None:
    """Write a ``Network``, ``Decomposition`` or ``TreeNet`` as plain tensors + JSON metadata.

    Args:
        obj: what to keep.
        path: a file name (``str``, ``pathlib.Path``) or a binary file object.

    Returns:
        None (the file is written; ``load`` reads it back).

    Example: see the module docstring (``save(dec, buffer)`` then ``load(buffer)``).
    """
    torch.save(state_of(obj), path)


def load(
    path: str | os.PathLike | BinaryIO, map_location: str | torch.device | None = None
) -> Network | Decomposition | TreeNet:
    """Read what ``save`` wrote with ``torch.load(weights_only=True)`` (no code runs).

    Args:
        path: the file name or file object.
        map_location: as ``torch.load`` (e.g. ``"cpu"``).

    Returns:
        The ``Network``, ``Decomposition`` or ``TreeNet``, bit-exact.

    Example: see the module docstring (``save(dec, buffer)`` then ``load(buffer)``).
    """
    return from_state(torch.load(path, map_location=map_location, weights_only=True))
