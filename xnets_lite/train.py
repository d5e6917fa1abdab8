"""Training and evaluation: AdamW, a per-step cosine schedule, Gaussian input noise.

The default recipe is the one from the issue: batch 128, AdamW (lr 1e-3, weight decay 0.1),
cosine decay to zero over all steps, input noise std 0.3, 30 epochs. On CPU a run is
deterministic: the same seed gives the same batches, noise, losses and weights.

Long runs survive interruption: with ``resume_path`` the whole training state (weights,
optimiser, schedule, every random generator, the epoch and the history) is written there
atomically after epochs, and the same call started again continues from it. On CPU the
resumed run ends with exactly the weights of an uninterrupted one.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .data import LUMA, Dataset, add_noise

__all__ = ["train", "evaluate", "train_step", "resolve_device", "seed_everything", "TRAIN_DEFAULTS",
           "RUN_OPTIONS", "rgb_noise_to_gray"]

# The recipe's hyper-parameters; checkpoints record them, so keep this in sync with ``train``.
TRAIN_DEFAULTS = dict(epochs=30, batch_size=128, lr=1e-3, weight_decay=0.1, noise_std=0.3)

#: Keyword arguments of ``train`` that change how a run is carried out, never the model it
#: produces: they are not part of a recipe (``checkpoint.make_recipe``).
RUN_OPTIONS = ("device", "progress", "desc", "resume_path", "resume_every")

#: The batch bar (a second, nested progress bar) is shown for epochs of more than this many
#: batches, and for runs expected to last longer than ``BATCH_BAR_SECONDS`` (judged after
#: the first epoch).
BATCH_BAR_STEPS = 200
BATCH_BAR_SECONDS = 60.0


def rgb_noise_to_gray(std: float, weights: tuple[float, ...] = LUMA) -> float:
    """The std of Gaussian noise on a grayscale image that equals noise ``std`` on its RGB.

    The authors add noise to the RGB image and convert to gray afterwards
    (tdooms/tensor-similarity, ``src/datasets/svhn.py``)::

        train = nn.Sequential(
            RandomGaussianNoise(mean=0, std=noise, p=1),
            RgbToGrayscale() if grayscale else nn.Identity(),
        )

    with ``noise=0.3``. kornia's ``RandomGaussianNoise`` returns ``input + randn_like(input) *
    std`` (independent noise per channel and pixel, no clamping) and ``RgbToGrayscale``
    returns ``w_r r + w_g g + w_b b`` with ``w = (0.299, 0.587, 0.114)`` for float images (no
    clamping or rounding either). Gray is linear in RGB, so

        gray(rgb + σ ε) = gray(rgb) + σ (w · ε),    ε ~ N(0, I₃) per pixel,

    and ``w · ε ~ N(0, ‖w‖²)``: the gray image receives Gaussian noise of std ``σ ‖w‖``, the
    same distribution as adding ``N(0, (σ‖w‖)²)`` to the gray image. Our SVHN is stored as
    gray (``data.rgb_to_gray``, the same weights), so ``noise_std = rgb_noise_to_gray(0.3)``
    (≈ 0.2006) reproduces the authors' noise. ``tests/test_train.py`` checks it on random data.

    Args:
        std: noise std on each RGB channel (same units as the image, e.g. [0, 1]).
        weights: the grayscale weights, ITU-R BT.601 luma by default.
    """
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    return float(std) * math.sqrt(sum(float(w) ** 2 for w in weights))


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"`` → CUDA when available, else CPU. Asking for CUDA without a GPU is an
    error rather than a silent fall-back to CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {str(device)!r} requested but CUDA is not available "
                           f"here; use device='cpu' (--device cpu)")
    return device


def seed_everything(seed: int) -> None:
    """Seed torch's global generators (CPU and CUDA), e.g. before building a model."""
    torch.manual_seed(seed)


@contextlib.contextmanager
def _deterministic(enabled: bool):
    """Turn on ``torch.use_deterministic_algorithms`` for the block and restore the caller's
    setting afterwards (it is process-global state)."""
    before = torch.are_deterministic_algorithms_enabled()
    before_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    if enabled:
        torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=before_warn)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor) -> torch.Tensor:
    """One optimiser step on a batch ``x`` (B, d_input), ``y`` (B,); returns the (detached) loss."""
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


@torch.no_grad()
def evaluate(model: nn.Module, data: Dataset, device: str | torch.device | None = None,
             batch_size: int = 1024) -> float:
    """Accuracy of ``model`` on ``data`` in [0, 1] (no noise). ``device`` defaults to the
    model's. The model's train/eval mode is restored afterwards."""
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    correct = 0
    try:
        for x, y in data.batches(batch_size, device=device):
            correct += (model(x).argmax(-1) == y).sum().item()
    finally:
        model.train(was_training)
    return correct / max(len(data), 1)


def train(model: nn.Module, train_data: Dataset, test_data: Dataset | None = None, *,
          epochs: int = 30, batch_size: int = 128, lr: float = 1e-3, weight_decay: float = 0.1,
          noise_std: float = 0.3, seed: int = 0, device: str | torch.device | None = None,
          progress: bool = True, desc: str | None = None,
          resume_path: str | os.PathLike | None = None, resume_every: float = 10.0) -> dict:
    """Train ``model`` in place and return its history.

    Args:
        model: an ``XNet`` or ``MLP`` (anything mapping (B, d_input) to logits); moved to ``device``.
        train_data, test_data: ``Dataset``s; ``test_data`` is evaluated after every epoch.
        epochs, batch_size, lr, weight_decay: AdamW with a cosine decay of the learning rate
            to zero, stepped once per batch.
        noise_std: std of the Gaussian noise added to every training input (0 disables it).
        seed: seeds the shuffling and the noise. Model initialisation happens before
            ``train``; call ``seed_everything(seed)`` before building the model.
        device: ``"cuda"``, ``"cpu"`` or ``None`` (CUDA when available).
        progress: show a tqdm bar over epochs with the loss and test accuracy, and a nested
            bar over the batches of each epoch when an epoch has more than 200 batches or the
            run is expected to take more than a minute.
        desc: label of the progress bar (default: the model's class name).
        resume_path: file for the resume state (``checkpoint.resume_path_for(checkpoint)``
            gives the usual name). If it holds the state of this same run (same model
            config, initial weights, data, seed and hyper-parameters), training continues
            from it; a file of another run, or an unreadable one, is renamed to
            ``<name>.old<N>`` with a message and training starts from the beginning. A file
            written on another device type raises ``checkpoint.ResumeError``. The state is
            written after epochs (see ``resume_every``) and always after the last one; the
            file is left in place at the end: delete it once the model is saved
            (``checkpoint.train_and_save`` does). Needs an ``XNet`` or ``MLP``.
        resume_every: seconds of training between two writes of the resume state (written at
            the end of the first epoch that finishes this long after the last write). 0
            writes it after every epoch. A write takes ~10 ms (width 128), so the default
            keeps the cost below 0.1% and loses at most about 10 s of work.

    Returns:
        dict with per-epoch lists ``epoch``, ``train_loss`` (mean over the epoch's samples),
        ``test_accuracy`` (``None`` entries without ``test_data``) and ``time`` (seconds of
        training since the start, at the end of each epoch, summed over resumed sessions);
        plus ``device``, ``steps`` and ``resumed_at`` (the epochs after which an
        interrupted run was resumed, empty for a run in one go).

    Raises:
        FloatingPointError: the loss became NaN/inf (lower ``lr`` or use ``norm="rms"``).
    """
    from tqdm.auto import tqdm

    if epochs < 0 or batch_size < 1:
        raise ValueError(f"need epochs >= 0 and batch_size >= 1, got {epochs}, {batch_size}")
    if len(train_data) == 0:
        raise ValueError("train_data is empty")
    if not resume_every >= 0:
        raise ValueError(f"resume_every must be >= 0 seconds, got {resume_every}")
    device = resolve_device(device)
    model.to(device)
    # Shuffling always draws from a CPU generator (so it does not depend on the device);
    # the noise is drawn where the batch lives.
    shuffle_gen = torch.Generator().manual_seed(seed)
    noise_gen = torch.Generator(device=device).manual_seed(seed + 1)

    steps_per_epoch = math.ceil(len(train_data) / batch_size)
    total_steps = max(epochs * steps_per_epoch, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    generators = dict(shuffle=shuffle_gen, noise=noise_gen)

    history = dict(epoch=[], train_loss=[], test_accuracy=[], time=[], device=str(device), steps=0,
                   resumed_at=[])
    done, elapsed_before = 0, 0.0
    key = None
    if resume_path is not None:
        from .checkpoint import load_resume_state
        hyper = dict(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                     noise_std=noise_std)
        key = resume_key(model, train_data, test_data, seed, hyper)
        state = load_resume_state(resume_path, key, device.type)
        if state is not None:
            try:
                done, elapsed_before = _restore(state, model, optimizer, scheduler, generators,
                                                device, history)
            except (KeyError, TypeError, ValueError, RuntimeError) as err:
                from .checkpoint import ResumeError, _first_line
                raise ResumeError(f"resume file {resume_path} matches this run but its state "
                                  f"could not be loaded ({type(err).__name__}: {_first_line(err)}); "
                                  f"delete it (or move it away) to train from the beginning") from err
            print(f"{desc or type(model).__name__}: resuming from {resume_path} after epoch "
                  f"{done} of {epochs}", file=sys.stderr)

    start = time.perf_counter()
    last_write = start
    bar = tqdm(total=epochs, initial=done, desc=desc or type(model).__name__, unit="epoch",
               disable=not progress, leave=True)
    show_batches = progress and steps_per_epoch > BATCH_BAR_STEPS
    batch_bar = None
    # ~50 updates of the batch bar per epoch: tqdm's own cost stays invisible next to a step.
    bar_every = max(1, steps_per_epoch // 50)
    try:
        # Deterministic kernels on CPU only: on CUDA they need CUBLAS_WORKSPACE_CONFIG, and
        # CUDA runs are seeded but not promised to be bit-identical.
        with _deterministic(device.type == "cpu"):
            model.train()
            for epoch in range(done + 1, epochs + 1):
                epoch_start = time.perf_counter()
                if show_batches:
                    if batch_bar is None:
                        batch_bar = tqdm(total=steps_per_epoch, unit="batch", leave=False)
                    else:
                        batch_bar.reset(total=steps_per_epoch)
                    batch_bar.set_description(f"epoch {epoch}/{epochs}", refresh=False)
                total_loss = torch.zeros((), device=device)
                pending = 0
                for x, y in train_data.batches(batch_size, shuffle=True, generator=shuffle_gen,
                                               device=device):
                    x = add_noise(x, noise_std, noise_gen)
                    # Summing on the device avoids a host sync per step on CUDA.
                    total_loss += train_step(model, optimizer, x, y) * len(y)
                    scheduler.step()
                    history["steps"] += 1
                    if batch_bar is not None:
                        pending += 1
                        if pending == bar_every:
                            batch_bar.update(pending)
                            pending = 0
                if batch_bar is not None and pending:
                    batch_bar.update(pending)
                train_loss = total_loss.item() / len(train_data)
                if not math.isfinite(train_loss):
                    raise FloatingPointError(
                        f"training diverged at epoch {epoch} (loss {train_loss}); lower lr (now {lr}) "
                        f"or use norm='rms'")
                if getattr(model, "norm", None) == "batch-rms":
                    calibrate(model, train_data, batch_size, seed, device)
                acc = evaluate(model, test_data, device) if test_data is not None else None
                now = time.perf_counter()
                history["epoch"].append(epoch)
                history["train_loss"].append(train_loss)
                history["test_accuracy"].append(acc)
                history["time"].append(elapsed_before + now - start)
                if key is not None and (epoch == epochs or now - last_write >= resume_every):
                    _save(resume_path, key, epoch, model, optimizer, scheduler, generators, device,
                          history)
                    last_write = time.perf_counter()
                bar.update(1)
                bar.set_postfix(loss=f"{train_loss:.4f}", **({} if acc is None else {"test_acc": f"{acc:.2%}"}))
                if (progress and not show_batches and epoch == done + 1
                        and (now - epoch_start) * (epochs - done) > BATCH_BAR_SECONDS):
                    show_batches = True
    finally:
        if batch_bar is not None:
            batch_bar.close()
        bar.close()
    return history


CALIBRATION_BATCHES = 64


@torch.no_grad()
def calibrate(model: nn.Module, train_data: Dataset, batch_size: int, seed: int,
              device: torch.device) -> list[float]:
    """Set a ``norm="batch-rms"`` χ-net's frozen scales from clean training images.

    Training divides by each batch's own RMS and keeps an EMA of it; the EMA lags behind the
    weights and is measured on *noisy* inputs, so at inference it is the wrong constant.
    Like [x-vla] (J0YY/x-vla, ``calibrate_rbn_sequential``: "64 equal train-only batches, no
    noise") we re-measure it on 64 clean training batches, layer by layer
    (``model.calibrate_batch_rms``), before every evaluation. Training itself never reads
    the frozen value (train mode divides by the batch's RMS), so this changes what is
    evaluated and saved, not how the model learns. The batches come from their own seeded
    generator: the shuffling and noise streams are untouched.
    """
    from .model import calibrate_batch_rms

    gen = torch.Generator().manual_seed(seed + 2)
    batches = []
    for i, (x, _) in enumerate(train_data.batches(batch_size, shuffle=True, generator=gen,
                                                  device=device)):
        if i == CALIBRATION_BATCHES:
            break
        batches.append(x)
    return calibrate_batch_rms(model, batches)


# ----------------------------------------------------------------------------- resuming

def resume_key(model: nn.Module, train_data: Dataset, test_data: Dataset | None, seed: int,
               hyper: dict) -> dict:
    """What a resume state must match to be continued, as JSON: the recipe
    (``checkpoint.make_recipe``: model config, dataset name and split sizes, seed,
    hyper-parameters) plus sha256 digests of the initial weights and of the train and test
    images and labels, so that another dataset of the same name and size, or another
    initialisation, is noticed too."""
    from .checkpoint import make_recipe

    recipe = make_recipe(model, train_data, test_data, seed, hyper)
    key = {"recipe": recipe,
           "initial_weights": _digest(model.state_dict().values()),
           "train_data": _digest([train_data.images, train_data.labels]),
           "test_data": None if test_data is None else _digest([test_data.images, test_data.labels])}
    return json.loads(json.dumps(key))


def _digest(tensors) -> str:
    """sha256 of the tensors' shapes, dtypes and bytes (SVHN train+extra: ~0.4 s)."""
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{tuple(t.shape)}{t.dtype};".encode())
        # Viewed as bytes: numpy has no bfloat16, and a view copies nothing.
        h.update(t.reshape(-1).view(torch.uint8).numpy().data if t.numel() else b"")
    return h.hexdigest()


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


def _save(path, key: dict, epoch: int, model, optimizer, scheduler, generators: dict,
          device: torch.device, history: dict) -> None:
    from .checkpoint import save_resume_state

    save_resume_state(path, {
        "key": key,
        "device_type": device.type,
        "epoch": int(epoch),
        "history": json.loads(json.dumps(history)),
        "model": _to_cpu(model.state_dict()),
        "optimizer": _to_cpu(optimizer.state_dict()),
        "scheduler": _to_cpu(scheduler.state_dict()),
        "rng": _rng_states(generators, device),
    })


def _restore(state: dict, model, optimizer, scheduler, generators: dict, device: torch.device,
             history: dict) -> tuple[int, float]:
    """Load a resume state into the run; returns ``(epochs done, seconds trained)``."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])  # moves the moments to the params' device
    scheduler.load_state_dict(state["scheduler"])
    rng = state["rng"]
    for name, g in generators.items():
        g.set_state(rng[name])
    torch.set_rng_state(rng["torch"])
    if device.type == "cuda" and "torch_cuda" in rng:
        torch.cuda.set_rng_state(rng["torch_cuda"], device)
    saved = state["history"]
    for k in ("epoch", "train_loss", "test_accuracy", "time"):
        history[k] = list(saved[k])
    history["steps"] = int(saved["steps"])
    history["resumed_at"] = list(saved.get("resumed_at", [])) + [int(state["epoch"])]
    return int(state["epoch"]), float(saved["time"][-1]) if saved["time"] else 0.0
