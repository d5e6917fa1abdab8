"""Training and evaluation: AdamW, a per-step cosine schedule, Gaussian input noise.

The default recipe is the one from the issue: batch 128, AdamW (lr 1e-3, weight decay 0.1),
cosine decay to zero over all steps, input noise std 0.3, 30 epochs. On CPU a run is
deterministic: the same seed gives the same batches, noise, losses and weights.
"""
from __future__ import annotations

import contextlib
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from .data import Dataset, add_noise

__all__ = ["train", "evaluate", "train_step", "resolve_device", "seed_everything", "TRAIN_DEFAULTS"]

# The recipe's hyper-parameters; checkpoints record them, so keep this in sync with ``train``.
TRAIN_DEFAULTS = dict(epochs=30, batch_size=128, lr=1e-3, weight_decay=0.1, noise_std=0.3)


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
          progress: bool = True, desc: str | None = None) -> dict:
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
        progress: show a tqdm bar over epochs with the loss and test accuracy.

    Returns:
        dict with per-epoch lists ``epoch``, ``train_loss`` (mean over the epoch's samples),
        ``test_accuracy`` (``None`` entries without ``test_data``) and ``time`` (seconds since
        the start, at the end of each epoch); plus ``device`` and ``steps``.

    Raises:
        FloatingPointError: the loss became NaN/inf (lower ``lr`` or use ``norm="rms"``).
    """
    from tqdm.auto import tqdm

    if epochs < 0 or batch_size < 1:
        raise ValueError(f"need epochs >= 0 and batch_size >= 1, got {epochs}, {batch_size}")
    if len(train_data) == 0:
        raise ValueError("train_data is empty")
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

    history = dict(epoch=[], train_loss=[], test_accuracy=[], time=[], device=str(device), steps=0)
    start = time.perf_counter()
    bar = tqdm(range(1, epochs + 1), desc=desc or type(model).__name__, unit="epoch",
               disable=not progress, leave=True)
    # Deterministic kernels on CPU only: on CUDA they need CUBLAS_WORKSPACE_CONFIG, and
    # CUDA runs are seeded but not promised to be bit-identical.
    with _deterministic(device.type == "cpu"):
        model.train()
        for epoch in bar:
            total_loss = torch.zeros((), device=device)
            for x, y in train_data.batches(batch_size, shuffle=True, generator=shuffle_gen,
                                           device=device):
                x = add_noise(x, noise_std, noise_gen)
                # Summing on the device avoids a host sync per step on CUDA.
                total_loss += train_step(model, optimizer, x, y) * len(y)
                scheduler.step()
                history["steps"] += 1
            train_loss = total_loss.item() / len(train_data)
            if not math.isfinite(train_loss):
                bar.close()
                raise FloatingPointError(
                    f"training diverged at epoch {epoch} (loss {train_loss}); lower lr (now {lr}) "
                    f"or use norm='rms'")
            acc = evaluate(model, test_data, device) if test_data is not None else None
            history["epoch"].append(epoch)
            history["train_loss"].append(train_loss)
            history["test_accuracy"].append(acc)
            history["time"].append(time.perf_counter() - start)
            bar.set_postfix(loss=f"{train_loss:.4f}", **({} if acc is None else {"test_acc": f"{acc:.2%}"}))
    bar.close()
    return history
