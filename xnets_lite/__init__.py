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

Names are loaded on first use (PEP 562), so ``import xnets_lite`` imports nothing heavy and
never matplotlib or ipywidgets. The package is in layers, imports pointing down only
(checked by import-linter in ``make lint``; see ARCHITECTURE.md)::

    course     the notebooks' pipeline, panels, report, exercises (ipywidgets, papermill)
    viz        every matplotlib figure
    training   config, recipes, the training loop, checkpoints
    analysis   readings of a network: eigenvectors, tree, degrees, interactions, usage
    core       the models, their exact network form, ODT, evaluation (torch only)
    data       datasets (beside core)

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
    "XNet": "core.model",
    "MLP": "core.model",
    "Network": "core.network",
    "BilinearLayer": "core.network",
    "to_network": "core.network",
    "from_factors": "core.network",
    "from_module": "core.importing",
    "symmetrise": "core.network",
    "odt": "core.odt",
    "Decomposition": "core.odt",
    "orthogonalise": "core.odt",
    "diagonalise": "core.odt",
    "truncate": "core.odt",
    "effective_dimension": "core.odt",
    "local_spectra": "core.odt",
    "class_eigenvectors": "analysis.interpret",
    "compositional_tree": "analysis.interpret",
    "trace_class": "analysis.interpret",
    "logit_degrees": "analysis.degrees",
    "quadratic_forms": "analysis.interactions",
    "save": "core.saving",
    "load": "core.saving",
    "to_module": "core.compress",
    "Dataset": "data",
    "accuracy": "core.evaluation",
    "eval_mode": "core.evaluation",
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
