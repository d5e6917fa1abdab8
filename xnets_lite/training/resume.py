"""Resume files: the whole state of a training run, so an interrupted run goes on exactly.

While a model trains towards ``xnet.pt``, its **resume file** ``xnet.resume.pt``
(``resume_path_for``) holds the whole training state, tensors and JSON types only (it loads
with ``torch.load(weights_only=True)``)::

    {"format": "xnets-lite-resume", "format_version": 1,
     "key": {"recipe": {...}, "initial_weights": sha256, "train_data": sha256, "test_data": sha256},
     "device_type": "cpu", "epoch": 3, "history": {...}, "versions": {...},
     "model": state_dict, "optimizer": AdamW state_dict, "scheduler": CosineAnnealingLR state_dict,
     "rng": {"shuffle": uint8 tensor, "noise": ..., "torch": ..., ["torch_cuda": ...]}}

``train(..., resume_path=...)`` continues from it only when ``key`` equals the new run's
(``resume_key``); ``checkpoint.train_and_save`` removes it once the checkpoint is written.
On CPU the resumed run ends with exactly the weights of an uninterrupted one.

Imports point one way: ``storage`` and ``config`` ← ``resume`` ← ``train`` ← ``checkpoint``.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from xnets_lite.files import atomic_write
from xnets_lite.training.config import TrainConfig, run_record
from xnets_lite.training.storage import ResumeError, first_line, set_aside, versions

__all__ = [
    "ResumeError",
    "TrainState",
    "resume_path_for",
    "resume_key",
    "save_resume_state",
    "load_resume_state",
    "capture",
    "save",
    "restore",
    "digest",
]

RESUME_FORMAT = "xnets-lite-resume"
RESUME_FORMAT_VERSION = 1
FIELDS = ("key", "device_type", "epoch", "history", "model", "optimizer", "scheduler", "rng")


def resume_path_for(path: str | os.PathLike) -> Path:
    """The resume file of a run that trains towards the checkpoint ``path``: beside it,
    ``xnet.pt`` → ``xnet.resume.pt`` (any other name gets ``.resume.pt`` appended)."""
    path = Path(path)
    stem = path.name[: -len(".pt")] if path.name.endswith(".pt") else path.name
    return path.with_name(f"{stem}.resume.pt")


# ----------------------------------------------------------------------------- the run's key


def resume_key(model: nn.Module, train_data, test_data, seed: int, config: TrainConfig) -> dict:
    """What a resume state must match to be continued, as JSON: the run's record
    (``config.run_record``: model config, dataset name and split sizes, seed,
    hyper-parameters) plus sha256 digests of the initial weights and of the train and test
    images and labels, so that another dataset of the same name and size, or another
    initialisation, is noticed too."""
    key = {
        "recipe": run_record(model, train_data, test_data, seed, config),
        "initial_weights": digest(model.state_dict().values()),
        "train_data": digest([train_data.images, train_data.labels]),
        "test_data": None if test_data is None else digest([test_data.images, test_data.labels]),
    }
    return json.loads(json.dumps(key))


def digest(tensors) -> str:
    """sha256 of the tensors' shapes, dtypes and bytes (SVHN train+extra: ~0.4 s)."""
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{tuple(t.shape)}{t.dtype};".encode())
        # Viewed as bytes: numpy has no bfloat16, and a view copies nothing.
        h.update(t.reshape(-1).view(torch.uint8).numpy().data if t.numel() else b"")
    return h.hexdigest()


# ----------------------------------------------------------------------------- state of a run


def _to_cpu(obj):
    """A copy of a nested state (dicts, lists, tuples) with every tensor on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def _rng_states(generators: dict, device: torch.device) -> dict:
    """Every random state training may draw from, as uint8 tensors."""
    states = {name: g.get_state() for name, g in generators.items()}
    # torch's global generators: nothing in the default models draws from them, but a
    # model with randomness of its own (dropout) would, and they are cheap to keep.
    states["torch"] = torch.get_rng_state()
    if device.type == "cuda":
        states["torch_cuda"] = torch.cuda.get_rng_state(device)
    return states


@dataclass
class TrainState:
    """What a training run carries from one epoch to the next, in one place: the model, its
    AdamW optimiser and per-step schedule, the seeded generators (``"shuffle"``, a CPU
    generator, and ``"noise"``, on ``device``), the device, the history and the epochs done.

    ``train`` builds it (``train.new_state``), ``train_epoch`` advances it, ``capture`` /
    ``restore`` turn it into a resume file's fields and back."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generators: dict[str, torch.Generator]
    device: torch.device
    history: dict
    epoch: int = 0


def capture(key: dict, state: TrainState) -> dict:
    """The training state after ``state.epoch``, as ``save_resume_state`` writes it (on the
    CPU). Reads the state, changes nothing in it."""
    return {
        "key": key,
        "device_type": state.device.type,
        "epoch": int(state.epoch),
        "history": json.loads(json.dumps(state.history)),
        "model": _to_cpu(state.model.state_dict()),
        "optimizer": _to_cpu(state.optimizer.state_dict()),
        "scheduler": _to_cpu(state.scheduler.state_dict()),
        "rng": _rng_states(state.generators, state.device),
    }


def save(path, key: dict, state: TrainState) -> None:
    """``save_resume_state(path, capture(key, state))``."""
    save_resume_state(path, capture(key, state))


def restore(saved: dict, state: TrainState) -> float:
    """Load a resume file's fields into the run's ``state`` (``state.epoch`` becomes the epochs
    done); returns the seconds trained before."""
    state.model.load_state_dict(saved["model"])
    state.optimizer.load_state_dict(saved["optimizer"])  # moves the moments to the device
    state.scheduler.load_state_dict(saved["scheduler"])
    rng = saved["rng"]
    for name, g in state.generators.items():
        g.set_state(rng[name])
    torch.set_rng_state(rng["torch"])
    if state.device.type == "cuda" and "torch_cuda" in rng:
        torch.cuda.set_rng_state(rng["torch_cuda"], state.device)
    history, before = state.history, saved["history"]
    for k in ("epoch", "train_loss", "test_accuracy", "time"):
        history[k] = list(before[k])
    history["steps"] = int(before["steps"])
    history["resumed_at"] = list(before.get("resumed_at", [])) + [int(saved["epoch"])]
    state.epoch = int(saved["epoch"])
    return float(before["time"][-1]) if before["time"] else 0.0


def state_error(path, err: BaseException) -> ResumeError:
    """The error for a resume file of this run whose state does not load into it."""
    return ResumeError(
        f"resume file {path} matches this run but its state could not be loaded "
        f"({type(err).__name__}: {first_line(err)}); delete it (or move it "
        f"away) to train from the beginning"
    )


# ----------------------------------------------------------------------------- the file


def save_resume_state(path: str | os.PathLike, state: dict) -> Path:
    """Write a training state (the fields listed in this module's docstring) to ``path``
    atomically, with the format marker and the library versions added."""
    missing = [k for k in FIELDS if k not in state]
    if missing:
        raise ValueError(f"resume state lacks {', '.join(missing)}")
    payload = {
        "format": RESUME_FORMAT,
        "format_version": RESUME_FORMAT_VERSION,
        "versions": versions(),
        **state,
    }
    return atomic_write(path, lambda f: torch.save(payload, f))


def load_resume_state(path: str | os.PathLike, key: dict, device_type: str) -> dict | None:
    """The training state at ``path`` if it belongs to the run described by ``key``
    (``resume_key``), else None.

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
        return _discard(
            path,
            f"resume file {path} could not be read (corrupt, truncated, or not "
            f"written by xnets-lite: {type(err).__name__}: {first_line(err)})",
            warn=True,
        )
    if not isinstance(payload, dict) or payload.get("format") != RESUME_FORMAT:
        return _discard(path, f"{path} is not an xnets-lite resume file", warn=True)
    version = payload.get("format_version")
    if not isinstance(version, int) or version > RESUME_FORMAT_VERSION:
        return _discard(
            path,
            f"resume file {path} has format version {version!r}; this "
            f"xnets-lite reads up to {RESUME_FORMAT_VERSION}",
            warn=True,
        )
    missing = [k for k in FIELDS if k not in payload]
    if missing:
        return _discard(path, f"resume file {path} lacks {', '.join(missing)}", warn=True)
    if payload["key"] != key:
        what = "; ".join(_differences(payload["key"], key)) or "its run differs"
        return _discard(
            path,
            f"{path} is the resume file of another training run ({what}); "
            f"training starts from the beginning",
        )
    if payload["device_type"] != device_type:
        raise ResumeError(
            f"{path} holds this run after epoch {payload['epoch']}, trained on "
            f"{payload['device_type']}; continue it on {payload['device_type']} "
            f"(device={payload['device_type']!r}), or move the file away to start again on "
            f"{device_type}"
        )
    return payload


def _discard(path: Path, message: str, warn: bool = False) -> None:
    """Set an unusable resume file aside, say why, and return None (start from scratch)."""
    old = set_aside(path, reason=message, quiet=warn)
    if warn:
        # stacklevel: _discard ← load_resume_state ← train._resume_from ← train ← its caller
        warnings.warn(
            f"{message}; it is kept as {old} and training starts from the beginning", stacklevel=5
        )
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
