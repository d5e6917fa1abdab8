"""Evaluation, written once: eval mode, batches, logits, argmax, restore.

Every measurement of the course that runs a model on data goes through this module: the
test accuracy after each training epoch (``train``), the accuracy of a truncated network,
the per-class accuracy of a steered input. A *model* is an ``nn.Module`` (``XNet``, ``MLP``,
a compressed ``to_module``) or a ``Network`` (the exact tensor-network form); the inputs
are cast to the model's own device and dtype. *Data* is any of

* a ``Dataset`` (uint8 images, scaled to float32 in [0, 1] one batch at a time);
* an ``(x, y)`` pair of tensors, ``x`` (N, d) or images (N, H, W), ``y`` (N,);
* an iterable of ``(x, y)`` batches (e.g. a ``torch.utils.data.DataLoader``).

``as_batches`` turns all three into one stream of ``(x, y)`` batches.

Examples::

    >>> import torch
    >>> from xnets_lite.core.model import XNet
    >>> model = XNet(d_input=4, d_model=3, n_classes=2, n_layers=1)
    >>> x, y = torch.rand(10, 4), torch.randint(0, 2, (10,))
    >>> logits(model, (x, y)).shape
    torch.Size([10, 2])
    >>> 0.0 <= accuracy(model, (x, y)) <= 1.0
    True
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Union

import torch
from torch import Tensor, nn

if TYPE_CHECKING:  # only for annotations: importing data here would cost nothing, but
    from xnets_lite.core.network import Network
    from xnets_lite.data import Dataset  # evaluation must not depend on how datasets are stored

__all__ = [
    "Data",
    "as_batches",
    "placement",
    "eval_mode",
    "logits",
    "predict",
    "accuracy",
    "per_class_accuracy",
    "error_ratio",
]

#: What the functions of this module accept as data.
Data = Union["Dataset", tuple[Tensor, Tensor], Tensor, Iterable[tuple[Tensor, Tensor]]]

#: Default number of samples per forward pass (what ``train.evaluate`` always used).
BATCH_SIZE = 1024


def _is_pair(data: object) -> bool:
    return (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and all(isinstance(t, Tensor) for t in data)
    )


def as_batches(
    data: Data, batch_size: int = BATCH_SIZE, device: torch.device | str | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield ``(x, y)`` batches of ``data`` (a ``Dataset``, an ``(x, y)`` pair, inputs ``x``
    alone, or an iterable of batches), moved to ``device`` (``None``: where they are). Inputs
    alone get the label −1 (no class): fine for ``logits`` and ``predict``, never correct for
    ``accuracy``.

    A ``Dataset`` yields ``x`` (B, H*W) float32 in [0, 1] (``Dataset.batches``, no
    shuffling); a pair is cut into consecutive slices of ``batch_size``; an iterable's own
    batches are passed through as they come (``batch_size`` does not apply).

    Raises:
        TypeError: ``data`` is none of the three, or a batch is not an ``(x, y)`` pair.
        ValueError: ``batch_size < 1``, or a pair whose ``x`` and ``y`` differ in length.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if hasattr(data, "batches") and hasattr(data, "images"):  # a Dataset (duck-typed)
        yield from data.batches(batch_size, device=device)
        return
    if isinstance(data, Tensor):  # inputs alone: logits and predictions need no labels
        data = (data, torch.full((len(data),), -1, dtype=torch.long, device=data.device))
    if _is_pair(data):
        x, y = data
        if len(x) != len(y):
            raise ValueError(
                f"x and y must have the same length, got {len(x)} inputs and {len(y)} labels"
            )
        for start in range(0, len(x), batch_size):
            yield (
                x[start : start + batch_size].to(device),
                y[start : start + batch_size].to(device),
            )
        return
    if not isinstance(data, Iterable):
        raise TypeError(
            f"data must be a Dataset, an (x, y) pair of tensors, inputs x (N, d) alone or an "
            f"iterable of (x, y) batches, got {type(data).__name__}"
        )
    for batch in data:
        if not _is_pair(batch):
            raise TypeError(
                f"each batch must be an (x, y) pair of tensors, got {type(batch).__name__}"
            )
        yield batch[0].to(device), batch[1].to(device)


def placement(model: nn.Module | Network) -> tuple[torch.device, torch.dtype]:
    """``(device, dtype)`` of a model's weights: where its inputs must go."""
    if isinstance(model, nn.Module):
        p = next(iter(model.parameters()), None)
        if p is None:
            raise ValueError(f"{type(model).__name__} has no parameters to tell its device")
        return p.device, p.dtype
    if hasattr(model, "device") and hasattr(model, "dtype"):  # a Network
        return model.device, model.dtype
    raise TypeError(f"expected an nn.Module or a Network, got {type(model).__name__}")


@contextlib.contextmanager
def eval_mode(model: nn.Module | Network) -> Iterator[nn.Module | Network]:
    """Run the block with ``model`` in eval mode and give it back its train/eval flag after.

    A ``Network`` (no modes) passes through unchanged. Gradients are not switched off: wrap
    in ``torch.no_grad()`` for that (the functions below do).

    Args:
        model: an ``nn.Module`` or a ``Network``.

    Returns:
        A context manager that yields ``model``.

    Examples::

        >>> from torch import nn
        >>> layer = nn.Dropout().train()
        >>> with eval_mode(layer):
        ...     layer.training
        False
        >>> layer.training
        True
    """
    was_training = getattr(model, "training", False)
    if was_training:
        model.eval()
    try:
        yield model
    finally:
        if was_training:
            model.train()


def _batched_logits(
    model: nn.Module | Network,
    data: Data,
    batch_size: int,
    transform: Callable[[Tensor], Tensor] | None,
) -> Iterator[tuple[Tensor, Tensor]]:
    """``(logits, y)`` per batch, on the model's device, in eval mode, without gradients."""
    device, dtype = placement(model)
    with torch.no_grad(), eval_mode(model):
        for x, y in as_batches(data, batch_size, device):
            if transform is not None:
                x = transform(x)
            yield model(x.to(device=device, dtype=dtype)), y


def logits(
    model: nn.Module | Network,
    data: Data,
    batch_size: int = BATCH_SIZE,
    *,
    transform: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Logits (N, n_classes) of ``model`` on ``data``, on the CPU, in the model's dtype.

    ``transform`` maps every batch of inputs (B, d) before the model sees it (e.g. a
    steering of the input); ``None`` passes them as they are.
    """
    return torch.cat([z.cpu() for z, _ in _batched_logits(model, data, batch_size, transform)])


def predict(
    model: nn.Module | Network,
    data: Data,
    batch_size: int = BATCH_SIZE,
    *,
    transform: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Predicted classes (N,) int64 on the CPU: the argmax of ``logits``."""
    return torch.cat(
        [z.argmax(-1).cpu() for z, _ in _batched_logits(model, data, batch_size, transform)]
    )


def accuracy(
    model: nn.Module | Network,
    data: Data,
    batch_size: int = BATCH_SIZE,
    *,
    transform: Callable[[Tensor], Tensor] | None = None,
) -> float:
    """Fraction of ``data`` that ``model`` classifies correctly, in [0, 1] (0 for no data).

    Counted on the model's device, one host sync per batch.

    Args:
        model: an ``nn.Module`` (run in eval mode) or a ``Network``.
        data: a ``Dataset``, an ``(x, y)`` pair or an iterable of ``(x, y)`` batches.
        batch_size: inputs per batch.
        transform: applied to each batch of inputs first.

    Returns:
        The accuracy, a float in [0, 1].

    Example::

        >>> import torch
        >>> from torch import nn
        >>> model = nn.Linear(2, 2, bias=False)
        >>> _ = model.weight.data.copy_(torch.eye(2))
        >>> x, y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 3.0]]), torch.tensor([0, 1, 0])
        >>> accuracy(model, (x, y))                # the third is classified 1
        0.6666666666666666
    """
    correct, total = 0, 0
    for z, y in _batched_logits(model, data, batch_size, transform):
        correct += (z.argmax(-1) == y.to(z.device)).sum().item()
        total += len(y)
    return correct / max(total, 1)


def per_class_accuracy(
    model: nn.Module | Network,
    data: Data,
    batch_size: int = BATCH_SIZE,
    *,
    transform: Callable[[Tensor], Tensor] | None = None,
    n_classes: int | None = None,
) -> Tensor:
    """Accuracy per true class (n_classes,) float64; a class absent from ``data`` gets NaN.

    ``n_classes`` defaults to ``data.n_classes`` (a ``Dataset``), else to the width of the
    model's output. ``transform`` maps every batch of inputs first (e.g. an ablation).
    """
    if n_classes is None:
        n_classes = getattr(data, "n_classes", None)
    if isinstance(data, Tensor):
        raise TypeError("per_class_accuracy needs labels: pass (x, y) or a Dataset, not x alone")
    correct = total = None
    for z, y in _batched_logits(model, data, batch_size, transform):
        if correct is None:
            n = z.shape[-1] if n_classes is None else int(n_classes)
            correct = torch.zeros(n, dtype=torch.float64)
            total = torch.zeros(n, dtype=torch.float64)
        y = y.cpu()
        hit = (z.argmax(-1).cpu() == y).double()
        correct += torch.bincount(y, hit, minlength=len(correct))
        total += torch.bincount(y, minlength=len(total)).double()
    if correct is None:
        n = 0 if n_classes is None else int(n_classes)
        return torch.full((n,), float("nan"), dtype=torch.float64)
    return correct / total


def error_ratio(accuracy: float, reference: float) -> float:
    """How many times the errors of ``reference`` a model of ``accuracy`` makes:
    ``(1 − accuracy) / (1 − reference)``, e.g. 95.5% against 98.1% is 2.4×.

    A perfect ``reference`` makes no errors to compare with: the ratio is then NaN (0/0 too).

    Examples::

        >>> round(error_ratio(0.955, 0.981), 1)
        2.4
    """
    if not 0.0 <= accuracy <= 1.0 or not 0.0 <= reference <= 1.0:
        raise ValueError(f"accuracies are fractions in [0, 1], got {accuracy} and {reference}")
    return (1.0 - accuracy) / (1.0 - reference) if reference < 1.0 else float("nan")
