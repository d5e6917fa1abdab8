"""Checkpoints: a state dict plus a JSON-able record of what produced it.

A checkpoint file is ``torch.save`` of a plain dict::

    {"format": "xnets-lite-checkpoint", "format_version": 1,
     "config": {"kind": "xnet", "d_input": 784, ...},   # enough to rebuild the model
     "meta": {"dataset": "mnist", "seed": 0, "test_accuracy": 0.957, "history": {...},
              "recipe": {...}, "versions": {...}, ...},  # JSON-able
     "state_dict": {...}}

Only tensors and JSON types are stored, so it loads with ``torch.load(weights_only=True)``:
opening a checkpoint never runs code from the file. Writes are atomic (a temporary file in
the same directory, then ``os.replace``), so a crash leaves either the old file or the new
one, never half of one.

While a model trains towards ``xnet.pt``, its resume file ``xnet.resume.pt`` holds the
whole training state (``resume.py``); ``train_and_save`` removes it once the checkpoint is
written.

Imports point one way: ``storage``, ``config`` ← ``resume`` ← ``train`` ← ``checkpoint``.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from xnets_lite.data import Dataset
from xnets_lite.files import atomic_write
from xnets_lite.training.config import TrainConfig, run_record, split_train_kwargs
from xnets_lite.training.kinds import build_model, model_config
from xnets_lite.training.resume import (
    RESUME_FORMAT,
    RESUME_FORMAT_VERSION,
    load_resume_state,
    resume_path_for,
    save_resume_state,
)
from xnets_lite.training.storage import (
    CheckpointError,
    ResumeError,
    first_line,
    set_aside,
    versions,
)
from xnets_lite.training.train import resolve_device, seed_everything, train

# CheckpointError, ResumeError, set_aside, model_config, make_recipe and the resume-file
# functions are imported here so that their old import path keeps working.
__all__ = [
    "CheckpointError",
    "ResumeError",
    "save_checkpoint",
    "load_checkpoint",
    "train_or_load",
    "train_and_save",
    "model_config",
    "make_recipe",
    "set_aside",
    "resume_path_for",
    "save_resume_state",
    "load_resume_state",
    "RESUME_FORMAT",
    "RESUME_FORMAT_VERSION",
]

FORMAT = "xnets-lite-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, model: nn.Module, meta: dict | None = None) -> Path:
    """Write ``model``'s weights and config plus ``meta`` to ``path`` atomically.

    Args:
        path: destination file; its directory is created if needed.
        model: an ``XNet`` or ``MLP``.
        meta: JSON-able facts about the run (dataset, seed, test_accuracy, history, ...);
            versions are added automatically.

    Returns the path. On any failure the previous file at ``path`` (if any) is untouched and
    no temporary file is left behind.
    """
    path = Path(path)
    meta = dict(meta or {})
    meta.setdefault("versions", versions())
    try:
        # The round trip also turns str subclasses (torch.__version__), tuples, ... into plain
        # JSON types, which is all that torch.load(weights_only=True) accepts.
        meta = json.loads(json.dumps(meta, allow_nan=True))
    except (TypeError, ValueError) as err:
        raise TypeError(f"checkpoint meta must be JSON-able: {err}") from err
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model_config(model),
        "meta": meta,
        # Saved from CPU so the file loads on any machine; clone() detaches from shared storage.
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    }
    atomic_write(path, lambda f: torch.save(payload, f))
    return path


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Rebuild the model stored at ``path``.

    Returns ``(model, meta)``: the model in eval mode on ``map_location``, and the stored
    ``meta`` with ``config`` (including ``kind``) added.

    Raises:
        CheckpointError: the file is missing, corrupt or truncated, not an xnets-lite
            checkpoint, or its weights do not fit its config. The message names the file.
    """
    path = Path(path)
    fix = "delete it and train again (e.g. `python -m xnets_lite train`)"
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint at {path}: train one first "
            f"(e.g. `python -m xnets_lite train --dataset mnist`)"
        )
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # UnpicklingError, EOFError, zip errors, RuntimeError, ...
        raise CheckpointError(
            f"checkpoint {path} could not be read (corrupt, truncated, or not "
            f"saved by xnets-lite: {type(err).__name__}: {first_line(err)}); "
            f"{fix}"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not an xnets-lite checkpoint (no '{FORMAT}' marker); {fix}"
        )
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {version!r}; this "
            f"xnets-lite reads up to {FORMAT_VERSION}: upgrade, or {fix}"
        )
    config, meta, state = payload.get("config"), payload.get("meta"), payload.get("state_dict")
    if not isinstance(config, dict) or not isinstance(meta, dict) or not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} lacks its config, meta or state_dict; {fix}")
    try:
        model = build_model(config)
    except (TypeError, ValueError) as err:
        raise CheckpointError(
            f"checkpoint {path} has an invalid model config {config}: {err}; {fix}"
        ) from err
    problems = _state_dict_problems(model, state)
    if problems:
        raise CheckpointError(
            f"checkpoint {path}: the weights do not match the stored config "
            f"{config} ({'; '.join(problems)}); {fix}"
        )
    model.load_state_dict(state)
    model.to(map_location).eval()
    return model, {**meta, "config": dict(config)}


def _state_dict_problems(model: nn.Module, state: dict) -> list[str]:
    """Every way ``state`` fails to fit ``model``, in words (empty when it fits)."""
    expected = model.state_dict()
    problems = []
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        problems.append(f"missing {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
    if unexpected:
        more = " …" if len(unexpected) > 5 else ""
        problems.append(f"unexpected {', '.join(unexpected[:5])}{more}")
    for key, value in state.items():
        if key in expected and (
            not isinstance(value, torch.Tensor) or value.shape != expected[key].shape
        ):
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            problems.append(f"{key} has shape {shape}, expected {tuple(expected[key].shape)}")
    return problems


# ----------------------------------------------------------------------------- train or load


def make_recipe(
    model: nn.Module,
    train_data: Dataset,
    test_data: Dataset | None,
    seed: int,
    train_kwargs: dict | TrainConfig,
) -> dict:
    """Everything that determines a trained model, as a JSON-able dict (``config.run_record``):
    the architecture, the dataset and its split sizes, the seed and every training
    hyper-parameter. ``train_kwargs``: a ``TrainConfig``, or keyword arguments of ``train``
    (hyper-parameters on top of ``TrainConfig()``, run options ignored)."""
    config = (
        train_kwargs
        if isinstance(train_kwargs, TrainConfig)
        else split_train_kwargs(train_kwargs)[0]
    )
    return run_record(model, train_data, test_data, seed, config)


def train_and_save(
    path: str | os.PathLike,
    model: nn.Module,
    train_data: Dataset,
    test_data: Dataset | None,
    *,
    seed: int = 0,
    meta: dict | None = None,
    keep_old: bool = False,
    resume: bool = True,
    **train_kwargs,
) -> dict:
    """Train ``model`` (already built under ``seed``) and save it to ``path``; returns its meta.

    With ``keep_old``, a file already at ``path`` is renamed to ``<name>.old<N>`` (after
    training, just before saving) instead of being replaced.

    With ``resume`` (the default) training keeps its state in ``resume_path_for(path)``
    (``train(resume_path=...)``): started again after an interruption, the same call goes on
    from the last state written instead of from scratch; the file is removed once the
    checkpoint is written."""
    recipe = make_recipe(model, train_data, test_data, seed, train_kwargs)
    if resume:
        train_kwargs.setdefault("resume_path", resume_path_for(path))
    history = train(model, train_data, test_data, seed=seed, **train_kwargs)
    accuracy = history["test_accuracy"][-1] if history["test_accuracy"] else None
    full_meta = {
        "dataset": train_data.name,
        "seed": int(seed),
        "test_accuracy": accuracy,
        "train_seconds": history["time"][-1] if history["time"] else 0.0,
        "history": history,
        "recipe": recipe,
        **(meta or {}),
    }
    if keep_old:
        set_aside(path)
    save_checkpoint(path, model, full_meta)
    # Only now: until the checkpoint is on disk, the resume file is the only copy of the run.
    if train_kwargs.get("resume_path") is not None:
        Path(train_kwargs["resume_path"]).unlink(missing_ok=True)
    return {**full_meta, "config": model_config(model), "versions": versions()}


def train_or_load(
    path: str | os.PathLike,
    make_model: Callable[[], nn.Module],
    train_data: Dataset,
    test_data: Dataset | None = None,
    *,
    seed: int = 0,
    meta: dict | None = None,
    resume: bool = True,
    **train_kwargs,
) -> tuple[nn.Module, dict]:
    """Load the checkpoint at ``path`` if it was trained with the same recipe, else train
    a fresh model and save it there. Returns ``(model, meta)``.

    ``make_model()`` builds the untrained model; it is called after seeding torch with
    ``seed``, so the initialisation is reproducible. The recipe (``make_recipe``: model
    config, dataset, split sizes, seed, epochs and all other hyper-parameters) decides
    whether the stored model fits; ``device`` and ``progress`` do not count.

    A checkpoint with another recipe, or an unreadable one, is never destroyed: once the
    new model has trained, the old file is renamed to ``<name>.old<N>`` (first free N), with
    a message, and the new one is written in its place atomically.

    Training is resumable (``resume``, see ``train_and_save``): if it is interrupted, calling
    ``train_or_load`` again with the same arguments continues from ``resume_path_for(path)``
    and ends with the same model (bit-identical on CPU) as an uninterrupted run.
    """
    seed_everything(seed)
    model = make_model()
    recipe = make_recipe(model, train_data, test_data, seed, train_kwargs)
    path = Path(path)
    device = train_kwargs.get("device")
    if path.exists():
        try:
            loaded, loaded_meta = load_checkpoint(path)
        except CheckpointError as err:
            warnings.warn(
                f"{err} — retraining; the old file will be kept beside the new one", stacklevel=2
            )
        else:
            if loaded_meta.get("recipe") == recipe:
                if device is not None:
                    loaded.to(resolve_device(device))
                return loaded, loaded_meta
            print(
                f"{path} was trained with a different recipe; retraining (the old file "
                f"will be kept beside the new one)",
                file=sys.stderr,
            )
    out_meta = train_and_save(
        path,
        model,
        train_data,
        test_data,
        seed=seed,
        meta=meta,
        keep_old=True,
        resume=resume,
        **train_kwargs,
    )
    model.eval()
    return model, out_meta
