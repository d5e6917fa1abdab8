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

While a model trains towards ``xnet.pt``, its **resume file** ``xnet.resume.pt``
(``resume_path_for``) holds the whole training state, also tensors and JSON types only::

    {"format": "xnets-lite-resume", "format_version": 1,
     "key": {"recipe": {...}, "initial_weights": sha256, "train_data": sha256, "test_data": sha256},
     "device_type": "cpu", "epoch": 3, "history": {...}, "versions": {...},
     "model": state_dict, "optimizer": AdamW state_dict, "scheduler": CosineAnnealingLR state_dict,
     "rng": {"shuffle": uint8 tensor, "noise": ..., "torch": ..., ["torch_cuda": ...]}}

``train(..., resume_path=...)`` continues from it only when ``key`` equals the new run's
(``train.resume_key``); ``train_and_save`` removes it once the checkpoint is written.
"""
from __future__ import annotations

import inspect
import json
import os
import platform
import sys
import warnings
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .files import atomic_write
from .model import MLP, XNet, build_model

__all__ = ["CheckpointError", "ResumeError", "save_checkpoint", "load_checkpoint", "train_or_load",
           "train_and_save", "model_config", "make_recipe", "set_aside", "resume_path_for",
           "save_resume_state", "load_resume_state"]

FORMAT = "xnets-lite-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(Exception):
    """A checkpoint is missing, unreadable, not ours, or does not match its own config."""


class ResumeError(CheckpointError):
    """A resume file of this very run exists but cannot be continued here (e.g. it was
    written on another device type); the message says what to do."""


def model_config(model: nn.Module) -> dict:
    """``model.config`` plus its ``kind`` ("xnet" or "mlp"): what ``build_model`` needs."""
    kinds = {XNet: "xnet", MLP: "mlp"}
    kind = kinds.get(type(model))
    if kind is None:
        raise TypeError(f"can only checkpoint XNet or MLP models, got {type(model).__name__}")
    return {"kind": kind, **model.config}


def _versions() -> dict:
    from . import __version__
    return {"xnets_lite": str(__version__), "torch": str(torch.__version__),
            "python": platform.python_version()}


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
    meta.setdefault("versions", _versions())
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


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"
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
        raise CheckpointError(f"no checkpoint at {path}: train one first "
                              f"(e.g. `python -m xnets_lite train --dataset mnist`)")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # UnpicklingError, EOFError, zip errors, RuntimeError, ...
        raise CheckpointError(f"checkpoint {path} could not be read (corrupt, truncated, or not "
                              f"saved by xnets-lite: {type(err).__name__}: {_first_line(err)}); "
                              f"{fix}") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an xnets-lite checkpoint (no '{FORMAT}' marker); "
                              f"{fix}")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {version!r}; this "
                              f"xnets-lite reads up to {FORMAT_VERSION}: upgrade, or {fix}")
    config, meta, state = payload.get("config"), payload.get("meta"), payload.get("state_dict")
    if not isinstance(config, dict) or not isinstance(meta, dict) or not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} lacks its config, meta or state_dict; {fix}")
    try:
        model = build_model(config)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} has an invalid model config {config}: {err}; "
                              f"{fix}") from err
    problems = _state_dict_problems(model, state)
    if problems:
        raise CheckpointError(f"checkpoint {path}: the weights do not match the stored config "
                              f"{config} ({'; '.join(problems)}); {fix}")
    model.load_state_dict(state)
    model.to(map_location).eval()
    return model, {**meta, "config": dict(config)}


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else ""


def _state_dict_problems(model: nn.Module, state: dict) -> list[str]:
    """Every way ``state`` fails to fit ``model``, in words (empty when it fits)."""
    expected = model.state_dict()
    problems = []
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        problems.append(f"missing {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
    if unexpected:
        problems.append(f"unexpected {', '.join(unexpected[:5])}{' …' if len(unexpected) > 5 else ''}")
    for key, value in state.items():
        if key in expected and (not isinstance(value, torch.Tensor) or value.shape != expected[key].shape):
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            problems.append(f"{key} has shape {shape}, expected {tuple(expected[key].shape)}")
    return problems


# ----------------------------------------------------------------------------- train or load

def make_recipe(model: nn.Module, train_data, test_data, seed: int, train_kwargs: dict) -> dict:
    """Everything that determines a trained model, as a JSON-able dict: the architecture,
    the dataset and its split sizes, the seed and every training hyper-parameter (defaults
    filled in). Two runs with equal recipes give the same model (on CPU)."""
    from .train import RUN_OPTIONS, train

    params = inspect.signature(train).parameters
    hyper = {name: p.default for name, p in params.items()
             if p.kind is p.KEYWORD_ONLY and name != "seed" and name not in RUN_OPTIONS}
    unknown = set(train_kwargs) - set(hyper) - set(RUN_OPTIONS)
    if unknown:
        raise TypeError(f"unknown training arguments: {', '.join(sorted(unknown))}")
    hyper.update({k: v for k, v in train_kwargs.items() if k in hyper})
    return {"model": model_config(model), "dataset": train_data.name,
            "train_split": train_data.split, "n_train": len(train_data),
            "n_test": len(test_data) if test_data is not None else 0,
            "seed": int(seed), "train": hyper}


def train_and_save(path: str | os.PathLike, model: nn.Module, train_data, test_data, *,
                   seed: int = 0, meta: dict | None = None, keep_old: bool = False,
                   resume: bool = True, **train_kwargs) -> dict:
    """Train ``model`` (already built under ``seed``) and save it to ``path``; returns its meta.

    With ``keep_old``, a file already at ``path`` is renamed to ``<name>.old<N>`` (after
    training, just before saving) instead of being replaced.

    With ``resume`` (the default) training keeps its state in ``resume_path_for(path)``
    (``train(resume_path=...)``): started again after an interruption, the same call goes on
    from the last state written instead of from scratch; the file is removed once the
    checkpoint is written."""
    from .train import train

    recipe = make_recipe(model, train_data, test_data, seed, train_kwargs)
    if resume:
        train_kwargs.setdefault("resume_path", resume_path_for(path))
    history = train(model, train_data, test_data, seed=seed, **train_kwargs)
    accuracy = history["test_accuracy"][-1] if history["test_accuracy"] else None
    full_meta = {"dataset": train_data.name, "seed": int(seed), "test_accuracy": accuracy,
                 "train_seconds": history["time"][-1] if history["time"] else 0.0,
                 "history": history, "recipe": recipe, **(meta or {})}
    if keep_old:
        set_aside(path)
    save_checkpoint(path, model, full_meta)
    # Only now: until the checkpoint is on disk, the resume file is the only copy of the run.
    if train_kwargs.get("resume_path") is not None:
        Path(train_kwargs["resume_path"]).unlink(missing_ok=True)
    return {**full_meta, "config": model_config(model), "versions": _versions()}


def set_aside(path: str | os.PathLike, reason: str | None = None, quiet: bool = False) -> Path | None:
    """Rename an existing file to ``<name>.old<N>`` (the first free N) and say so on stderr
    (after ``reason``, if given; nothing with ``quiet``). Returns the new path, or None if
    there was no file."""
    path = Path(path)
    if not path.exists():
        return None
    n = 1
    while (old := path.with_name(f"{path.name}.old{n}")).exists():
        n += 1
    os.replace(path, old)
    if not quiet:
        print(f"{reason + '; ' if reason else ''}kept the previous {path.name} as {old}",
              file=sys.stderr)
    return old


# ----------------------------------------------------------------------------- resume files

RESUME_FORMAT = "xnets-lite-resume"
RESUME_FORMAT_VERSION = 1
_RESUME_FIELDS = ("key", "device_type", "epoch", "history", "model", "optimizer", "scheduler", "rng")


def resume_path_for(path: str | os.PathLike) -> Path:
    """The resume file of a run that trains towards the checkpoint ``path``: beside it,
    ``xnet.pt`` → ``xnet.resume.pt`` (any other name gets ``.resume.pt`` appended)."""
    path = Path(path)
    stem = path.name[:-len(".pt")] if path.name.endswith(".pt") else path.name
    return path.with_name(f"{stem}.resume.pt")


def save_resume_state(path: str | os.PathLike, state: dict) -> Path:
    """Write a training state (the fields listed in this module's docstring) to ``path``
    atomically, with the format marker and the library versions added."""
    missing = [k for k in _RESUME_FIELDS if k not in state]
    if missing:
        raise ValueError(f"resume state lacks {', '.join(missing)}")
    payload = {"format": RESUME_FORMAT, "format_version": RESUME_FORMAT_VERSION,
               "versions": _versions(), **state}
    return atomic_write(path, lambda f: torch.save(payload, f))


def load_resume_state(path: str | os.PathLike, key: dict, device_type: str) -> dict | None:
    """The training state at ``path`` if it belongs to the run described by ``key``
    (``train.resume_key``), else None.

    Never uses a file silently that does not fit: a file that cannot be read, is not a
    resume file, or belongs to another run (another recipe, dataset, initialisation) is
    renamed to ``<name>.old<N>`` with a message (a ``UserWarning`` for an unreadable one, a
    line on stderr naming what differs for another run), and None is returned, so that
    training starts from the beginning.

    Raises:
        ResumeError: the file is this run's but was written on another device type (its
            noise generator cannot be continued here). The file is left in place.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError, EOFError, zip errors, RuntimeError, ...
        return _discard(path, f"resume file {path} could not be read (corrupt, truncated, or not "
                              f"written by xnets-lite: {type(err).__name__}: {_first_line(err)})",
                        warn=True)
    if not isinstance(payload, dict) or payload.get("format") != RESUME_FORMAT:
        return _discard(path, f"{path} is not an xnets-lite resume file", warn=True)
    version = payload.get("format_version")
    if not isinstance(version, int) or version > RESUME_FORMAT_VERSION:
        return _discard(path, f"resume file {path} has format version {version!r}; this "
                              f"xnets-lite reads up to {RESUME_FORMAT_VERSION}", warn=True)
    missing = [k for k in _RESUME_FIELDS if k not in payload]
    if missing:
        return _discard(path, f"resume file {path} lacks {', '.join(missing)}", warn=True)
    if payload["key"] != key:
        what = "; ".join(_differences(payload["key"], key)) or "its run differs"
        return _discard(path, f"{path} is the resume file of another training run ({what}); "
                              f"training starts from the beginning")
    if payload["device_type"] != device_type:
        raise ResumeError(
            f"{path} holds this run after epoch {payload['epoch']}, trained on "
            f"{payload['device_type']}; continue it on {payload['device_type']} "
            f"(device={payload['device_type']!r}), or move the file away to start again on "
            f"{device_type}")
    return payload


def _discard(path: Path, message: str, warn: bool = False) -> None:
    """Set an unusable resume file aside, say why, and return None (start from scratch)."""
    old = set_aside(path, reason=message, quiet=warn)
    if warn:
        # stacklevel: _discard ← load_resume_state ← train ← the caller of train
        warnings.warn(f"{message}; it is kept as {old} and training starts from the beginning",
                      stacklevel=4)
    return None


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``["train.epochs: 2 → 3", ...]``: the leaves where two nested dicts differ."""
    out = []
    for k in sorted(set(old) | set(new), key=str):
        a, b = old.get(k, "—"), new.get(k, "—")
        name = f"{prefix}{k}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, name + ".")
        elif a != b:
            if k in ("initial_weights", "train_data", "test_data"):
                out.append(f"{name} differ")
            else:
                out.append(f"{name}: {a!r} → {b!r}")
    return out


def train_or_load(path: str | os.PathLike, make_model: Callable[[], nn.Module], train_data,
                  test_data=None, *, seed: int = 0, meta: dict | None = None,
                  resume: bool = True, **train_kwargs) -> tuple[nn.Module, dict]:
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
    from .train import seed_everything

    seed_everything(seed)
    model = make_model()
    recipe = make_recipe(model, train_data, test_data, seed, train_kwargs)
    path = Path(path)
    device = train_kwargs.get("device")
    if path.exists():
        try:
            loaded, loaded_meta = load_checkpoint(path)
        except CheckpointError as err:
            warnings.warn(f"{err} — retraining; the old file will be kept beside the new one",
                          stacklevel=2)
        else:
            if loaded_meta.get("recipe") == recipe:
                if device is not None:
                    from .train import resolve_device
                    loaded.to(resolve_device(device))
                return loaded, loaded_meta
            print(f"{path} was trained with a different recipe; retraining (the old file "
                  f"will be kept beside the new one)", file=sys.stderr)
    out_meta = train_and_save(path, model, train_data, test_data, seed=seed, meta=meta,
                              keep_old=True, resume=resume, **train_kwargs)
    model.eval()
    return model, out_meta
