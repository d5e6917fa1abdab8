"""A model's weights at every epoch of its training: the trajectory notebook 06 compares.

``WeightSnapshots`` is an epoch hook (``train.train(..., hooks=[...])``, the public hook
interface ``hook(model, train_data, config, seed, device)``) that keeps a CPU copy of the
model's weights after every epoch. ``trajectory_or_load`` trains a model with it, or loads
the stored snapshots when the file holds this same recipe (``checkpoint.make_recipe``):
the list of models, one per epoch, the last one the trained model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from xnets_lite.data import Dataset
from xnets_lite.files import atomic_write
from xnets_lite.training.checkpoint import make_recipe
from xnets_lite.training.train import default_hooks, seed_everything, train

FORMAT = "xnets-lite trajectory 1"


class WeightSnapshots:
    """Epoch hook: ``states[e]`` is a CPU copy of the model's ``state_dict`` after epoch e+1."""

    def __init__(self):
        self.states: list[dict] = []

    def __call__(self, model: nn.Module, train_data, config, seed, device) -> None:
        self.states.append({k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()})


def trajectory_or_load(
    path: str | os.PathLike,
    make_model: Callable[[], nn.Module],
    train_data: Dataset,
    test_data: Dataset | None = None,
    *,
    seed: int = 0,
    progress: bool = False,
    **train_kwargs,
) -> tuple[list[nn.Module], bool]:
    """``(models, trained)``: one model per epoch (CPU, eval mode; the last is the trained
    model), from ``path`` if it holds the snapshots of this recipe, else trained now (seeded
    as ``checkpoint.train_or_load`` seeds, so the same recipe gives the same final weights)
    and saved there atomically. ``trained`` says which. ``train_kwargs``: ``train``'s
    hyper-parameters and ``device``."""
    path = Path(path)
    seed_everything(seed)
    model = make_model()
    recipe = make_recipe(model, train_data, test_data, seed, train_kwargs)
    stored = None
    if path.exists():
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # an unreadable file is retrained over, like a stale recipe
            stored = None
    trained = not (
        isinstance(stored, dict)
        and stored.get("format") == FORMAT
        and stored.get("recipe") == recipe
    )
    if trained:
        snaps = WeightSnapshots()
        hooks = default_hooks(model) + [snaps]
        train(
            model, train_data, test_data, seed=seed, progress=progress, hooks=hooks, **train_kwargs
        )
        stored = dict(format=FORMAT, recipe=recipe, states=snaps.states)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: torch.save(stored, f))
    models = []
    for state in stored["states"]:
        m = make_model()
        m.load_state_dict(state)
        models.append(m.cpu().eval())
    return models, trained
