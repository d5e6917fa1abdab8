"""xnets-lite: χ-nets (stacked bilinear layers) and the ODT decomposition, small and exact.

The public surface, in the order of the chain model → network → ODT → reading::

    XNet, MLP                       the models (model.py)
    Network, BilinearLayer          the exact tensor-network form (network.py)
    to_network, from_factors        ... of a trained XNet, or of any bilinear model's weights
    from_module                     ... of your own bilinear nn.Module, checked (importing.py)
    symmetrise                      L = R on every layer, the same function
    odt, Decomposition              orthogonalise, diagonalise (odt.py)
    orthogonalise, diagonalise, truncate, effective_dimension, local_spectra
    class_eigenvectors, compositional_tree, trace_class     the reading (interpret.py)
    logit_degrees                   every logit split exactly by polynomial degree (degrees.py)
    quadratic_forms                 every class's signed Q_c = ½ Hessian (interactions.py)
    save, load                      keep any of them as plain tensors + JSON (saving.py)
    to_module                       a truncated network as a plain nn.Module (compress.py)
    Dataset, accuracy, eval_mode    data and evaluation (data.py, evaluation.py)

Names are loaded on first use (PEP 562; only ``odt`` and the core it needs are imported at
once, see the end of this file), so ``import xnets_lite`` never imports matplotlib or
ipywidgets; the figures and notebook panels live in their own
modules (``plots``, ``widgets``, ``notebooks``), imported only by those who draw.

Examples::

    >>> import torch, xnets_lite as xl
    >>> model = xl.XNet(d_input=16, d_model=8, n_classes=3, n_layers=2).double().eval()
    >>> dec = xl.odt(model)
    >>> x = torch.rand(4, 16, dtype=torch.float64)
    >>> torch.allclose(dec.network(x), model(x))
    True
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name → the module (under ``xnets_lite``) that defines it.
_WHERE = {
    "XNet": "model",
    "MLP": "model",
    "Network": "network",
    "BilinearLayer": "network",
    "to_network": "network",
    "from_factors": "network",
    "from_module": "importing",
    "symmetrise": "network",
    "odt": "odt",
    "Decomposition": "odt",
    "orthogonalise": "odt",
    "diagonalise": "odt",
    "truncate": "odt",
    "effective_dimension": "odt",
    "local_spectra": "odt",
    "class_eigenvectors": "interpret",
    "compositional_tree": "interpret",
    "trace_class": "interpret",
    "logit_degrees": "degrees",
    "quadratic_forms": "interactions",
    "save": "saving",
    "load": "saving",
    "to_module": "compress",
    "Dataset": "data",
    "accuracy": "evaluation",
    "eval_mode": "evaluation",
}

__all__ = list(_WHERE) + ["__version__"]


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'xnets_lite' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# ``odt`` is both a module and its main function. Importing a submodule binds it as an
# attribute of the package, which would shadow the function the first time anything
# imported ``xnets_lite.odt``; binding the function here, after that import, keeps
# ``xnets_lite.odt`` the function for good. The module stays ``sys.modules["xnets_lite.odt"]``
# and ``from xnets_lite.odt import Decomposition`` works as before; only
# ``import xnets_lite.odt as m`` gives the function (use ``importlib.import_module``).
from .odt import odt as odt  # noqa: E402  (the redundant alias marks a re-export)
