"""How a model is trained, in one place: ``TrainConfig``, and the record a run leaves.

``train`` takes a ``TrainConfig`` (or its fields as keyword arguments), a recipe of the
course is a ``TrainConfig`` plus the model's sizes (``recipes.Recipe``), and the record a
checkpoint keeps of its run (``run_record``) holds ``asdict(config)``. Arguments of ``train``
that change how a run is carried out but never the model it produces (``RUN_OPTIONS``: the
device, progress bars, resuming) are no part of either.

Examples::

    >>> config = TrainConfig(epochs=2)
    >>> config.lr, config.replace(lr=0.01).lr
    (0.001, 0.01)
    >>> config.replace(epoch=3)
    Traceback (most recent call last):
    ...
    TypeError: unknown training arguments: epoch; a TrainConfig has epochs, batch_size, ...
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING

from torch import nn

from xnets_lite.training.kinds import model_config

if TYPE_CHECKING:
    from xnets_lite.data import Dataset

__all__ = ["TrainConfig", "RUN_OPTIONS", "split_train_kwargs", "run_record"]

#: Keyword arguments of ``train`` that change how a run is carried out, never the model it
#: produces: they are not part of a recipe or of a checkpoint's record.
RUN_OPTIONS = ("device", "progress", "desc", "resume_path", "resume_every")


@dataclass(frozen=True)
class TrainConfig:
    """The hyper-parameters of a training run: AdamW with a per-step cosine decay of the
    learning rate to zero, and Gaussian noise on every training input.

    The defaults are the offline course's recipe (``recipes.MNIST``, chosen from a recorded
    sweep, ``benchmarks/recipe_sweep.md``); ``recipes.py`` gives every value its source.

    Attributes:
        epochs: passes over the training data (0: no training).
        batch_size: samples per optimiser step.
        lr: AdamW's peak learning rate, decayed to zero over all ``epochs`` steps.
        weight_decay: AdamW's decoupled weight decay.
        noise_std: std of the Gaussian noise added to every training input in [0, 1]
            (0 disables it); never clipped.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.5
    noise_std: float = 0.5

    def __post_init__(self):
        if self.epochs < 0 or self.batch_size < 1:
            raise ValueError(
                f"need epochs >= 0 and batch_size >= 1, got {self.epochs}, {self.batch_size}"
            )
        if not self.lr > 0 or not self.weight_decay >= 0 or not self.noise_std >= 0:
            raise ValueError(
                f"need lr > 0, weight_decay >= 0 and noise_std >= 0, got "
                f"{self.lr}, {self.weight_decay}, {self.noise_std}"
            )

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def replace(self, **changes) -> TrainConfig:
        """A copy with some values changed; an unknown name is a ``TypeError``."""
        unknown = set(changes) - set(self.names())
        if unknown:
            raise TypeError(
                f"unknown training arguments: {', '.join(sorted(unknown))}; a "
                f"TrainConfig has {', '.join(self.names())}"
            )
        return replace(self, **changes)

    def asdict(self) -> dict:
        """The values as a plain dict: what a checkpoint records (``run_record``)."""
        return asdict(self)


def split_train_kwargs(kwargs: dict, config: TrainConfig | None = None) -> tuple[TrainConfig, dict]:
    """``kwargs`` of ``train`` → ``(config, run options)``: the hyper-parameters among them
    applied to ``config`` (or to ``kwargs["config"]``; default ``TrainConfig()``), the
    ``RUN_OPTIONS`` returned apart. Any other name is a ``TypeError``."""
    run = {k: v for k, v in kwargs.items() if k in RUN_OPTIONS}
    hyper = {k: v for k, v in kwargs.items() if k not in RUN_OPTIONS and k != "config"}
    base = kwargs.get("config") or config or TrainConfig()
    if not isinstance(base, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(base).__name__}")
    return base.replace(**hyper), run


def run_record(
    model: nn.Module, train_data: Dataset, test_data: Dataset | None, seed: int, config: TrainConfig
) -> dict:
    """Everything that determines a trained model, as a JSON-able dict: the architecture,
    the dataset and its split sizes, the seed and every training hyper-parameter. Two runs
    with equal records give the same model (on CPU)."""
    return {
        "model": model_config(model),
        "dataset": train_data.name,
        "train_split": train_data.split,
        "n_train": len(train_data),
        "n_test": len(test_data) if test_data is not None else 0,
        "seed": int(seed),
        "train": config.asdict(),
    }
