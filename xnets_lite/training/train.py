"""Training: AdamW, a per-step cosine schedule, Gaussian input noise, resumable.

``train(model, train_data, test_data, config)`` trains in place with a ``TrainConfig``
(``config.py``; the course's recipes are in ``recipes.py``) and returns the history. On CPU
a run is deterministic: the same seed and thread count give the same batches, noise, losses
and weights, whatever the machine's speed (``pin_threads``) and wherever the run was saved
or resumed. Everything a run carries between epochs is one ``TrainState`` (``resume.py``).

Long runs survive interruption: with ``resume_path`` the whole training state (weights,
optimiser, schedule, every random generator, the epoch and the history) is written there
atomically after epochs (``resume.py``), and the same call started again continues from it.
On CPU the resumed run ends with exactly the weights of an uninterrupted one.

The pieces, one idea each: ``train_step`` (one batch), ``train_epoch`` (one pass),
``Progress`` (the epoch bar and the nested batch bar), ``calibrate`` (the ``"batch-rms"``
χ-net's hook after every epoch, see ``default_hooks``), ``new_state`` (a run before its first
epoch), and ``train``, which ties them.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from xnets_lite.core.evaluation import BATCH_SIZE, accuracy, placement
from xnets_lite.core.model import calibrate_batch_rms
from xnets_lite.data import Dataset, add_noise, rgb_noise_to_gray
from xnets_lite.training import resume, status
from xnets_lite.training.config import RUN_OPTIONS, TrainConfig, split_train_kwargs
from xnets_lite.training.resume import TrainState

__all__ = [
    "train",
    "evaluate",
    "train_step",
    "train_epoch",
    "TrainState",
    "new_state",
    "pin_threads",
    "resolve_device",
    "seed_everything",
    "calibrate",
    "default_hooks",
    "Progress",
    "TrainConfig",
    "RUN_OPTIONS",
    "rgb_noise_to_gray",
]

#: The batch bar (a second, nested progress bar) is shown for epochs of more than this many
#: batches, and for runs expected to last longer than ``BATCH_BAR_SECONDS`` (judged after
#: the first epoch).
BATCH_BAR_STEPS = 200
BATCH_BAR_SECONDS = 60.0

#: What runs after every epoch, before the evaluation: ``hook(model, train_data, config,
#: seed, device)``.
EpochHook = Callable[[nn.Module, Dataset, TrainConfig, int, torch.device], None]


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"`` → CUDA when available, else CPU. Asking for CUDA without a GPU is an
    error rather than a silent fall-back to CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    available = {"cuda": torch.cuda.is_available, "mps": torch.backends.mps.is_available}
    if device.type in available and not available[device.type]():
        raise RuntimeError(
            f"device {str(device)!r} requested but {device.type.upper()} is not available "
            f"here; use device='cpu' (--device cpu)"
        )
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


def train_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """One optimiser step on a batch ``x`` (B, d_input), ``y`` (B,); returns the (detached) loss."""
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def evaluate(
    model: nn.Module,
    data: Dataset,
    device: str | torch.device | None = None,
    batch_size: int = BATCH_SIZE,
) -> float:
    """Accuracy of ``model`` on ``data`` in [0, 1] (no noise): ``evaluation.accuracy``.

    ``device`` is accepted for old callers and must be the model's (inputs always go where
    the model is). The model's train/eval mode is restored afterwards."""
    if device is not None and torch.device(device).type != placement(model)[0].type:
        raise ValueError(
            f"evaluate: the model is on {placement(model)[0]}, not {device}; move "
            f"it with model.to({str(device)!r}) or leave device out"
        )
    return accuracy(model, data, batch_size)


def train_epoch(
    state: TrainState,
    train_data: Dataset,
    config: TrainConfig,
    on_step: Callable[[], None] | None = None,
) -> float:
    """One pass over ``train_data`` in shuffled batches with input noise, one optimiser and
    schedule step per batch; returns the mean loss over the epoch's samples.

    Draws the batches from ``state.generators["shuffle"]`` (a CPU generator: the batches do
    not depend on the device) and the noise from ``state.generators["noise"]`` (on the
    device); ``state.history["steps"]`` counts the steps; ``on_step`` is called after each
    (the batch bar). ``state.epoch`` is left to the caller.
    """
    generators, device = state.generators, state.device
    total_loss = torch.zeros((), device=device)
    for x, y in train_data.batches(
        config.batch_size, shuffle=True, generator=generators["shuffle"], device=device
    ):
        x = add_noise(x, config.noise_std, generators["noise"])
        # Summing on the device avoids a host sync per step on CUDA.
        total_loss += train_step(state.model, state.optimizer, x, y) * len(y)
        state.scheduler.step()
        state.history["steps"] += 1
        if on_step is not None:
            on_step()
    return total_loss.item() / len(train_data)


class Progress:
    """The progress bars of a run: one over epochs (loss and test accuracy), and a nested
    one over the batches of each epoch when an epoch has more than ``BATCH_BAR_STEPS``
    batches or the run is expected to take more than ``BATCH_BAR_SECONDS`` (judged after its
    first epoch). ``enabled=False`` shows nothing. A context manager: it closes its bars."""

    def __init__(self, enabled: bool, epochs: int, done: int, steps_per_epoch: int, desc: str):
        from tqdm.auto import tqdm  # looked up here, so tests can record the bars

        self._tqdm, self.enabled, self.epochs, self.done = tqdm, enabled, epochs, done
        self.steps_per_epoch = steps_per_epoch
        self.bar = tqdm(
            total=epochs, initial=done, desc=desc, unit="epoch", disable=not enabled, leave=True
        )
        self.show_batches = enabled and steps_per_epoch > BATCH_BAR_STEPS
        self.batch_bar = None
        # ~50 updates of the batch bar per epoch: tqdm's own cost stays invisible next to a step.
        self.every = max(1, steps_per_epoch // 50)
        self.pending = 0
        # The status line for a listener outside the kernel (status.py: make reproduce).
        self.desc, self.status, self.throttle = desc, status.enabled(), status.Throttle(2.0)
        self.epoch = self.batch = 0

    def start_epoch(self, epoch: int) -> None:
        self.epoch_start = time.perf_counter()
        self.epoch, self.batch = epoch, 0
        if self.status:
            status.report(f"{self.desc}: epoch {epoch}/{self.epochs}")
        if not self.show_batches:
            return
        if self.batch_bar is None:
            self.batch_bar = self._tqdm(total=self.steps_per_epoch, unit="batch", leave=False)
        else:
            self.batch_bar.reset(total=self.steps_per_epoch)
        self.batch_bar.set_description(f"epoch {epoch}/{self.epochs}", refresh=False)

    def step(self) -> None:
        """One batch done (counted, shown every ``every`` batches)."""
        if self.status:
            self.batch += 1
            if self.throttle():
                status.report(
                    f"{self.desc}: epoch {self.epoch}/{self.epochs} · "
                    f"batch {self.batch}/{self.steps_per_epoch}"
                )
        if self.batch_bar is not None:
            self.pending += 1
            if self.pending == self.every:
                self.batch_bar.update(self.pending)
                self.pending = 0

    def end_epoch(
        self, epoch: int, train_loss: float, acc: float | None, now: float | None = None
    ) -> None:
        """Epoch ``epoch`` done at time ``now`` (``time.perf_counter()``; default: now)."""
        if self.batch_bar is not None and self.pending:
            self.batch_bar.update(self.pending)
        self.pending = 0
        self.bar.update(1)
        self.bar.set_postfix(
            loss=f"{train_loss:.4f}", **({} if acc is None else {"test_acc": f"{acc:.2%}"})
        )
        if self.status:
            test = "" if acc is None else f" · test {acc:.2%}"
            status.report(
                f"{self.desc}: epoch {epoch}/{self.epochs} done · loss {train_loss:.4f}{test}"
            )
        seconds = (time.perf_counter() if now is None else now) - self.epoch_start
        if (
            self.enabled
            and not self.show_batches
            and epoch == self.done + 1
            and seconds * (self.epochs - self.done) > BATCH_BAR_SECONDS
        ):
            self.show_batches = True

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.batch_bar is not None:
            self.batch_bar.close()
        self.bar.close()


def default_hooks(model: nn.Module) -> list[EpochHook]:
    """The epoch hooks a model needs: ``calibrate_hook`` for a ``"batch-rms"`` χ-net (its
    frozen scales are re-measured before every evaluation), none otherwise."""
    return [calibrate_hook] if getattr(model, "norm", None) == "batch-rms" else []


def calibrate_hook(
    model: nn.Module, train_data: Dataset, config: TrainConfig, seed: int, device: torch.device
) -> None:
    """``calibrate`` as an epoch hook."""
    calibrate(model, train_data, config.batch_size, seed, device)


def new_state(
    model: nn.Module, config: TrainConfig, steps_per_epoch: int, seed: int, device: torch.device
) -> TrainState:
    """A run's state before its first epoch: AdamW, its per-step cosine schedule to zero,
    the run's seeded generators and an empty history."""
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(config.epochs * steps_per_epoch, 1)
    )
    # Shuffling always draws from a CPU generator (so it does not depend on the device);
    # the noise is drawn where the batch lives.
    generators = dict(
        shuffle=torch.Generator().manual_seed(seed),
        noise=torch.Generator(device=device).manual_seed(seed + 1),
    )
    history = dict(epoch=[], train_loss=[], test_accuracy=[], time=[], device=str(device), steps=0)
    history.update(resumed_at=[], threads=torch.get_num_threads())
    return TrainState(model, optimizer, scheduler, generators, device, history)


def _resume_from(path, key: dict, state: TrainState, label: str, epochs: int) -> float:
    """Load this run's state from ``path`` if it has one; returns the seconds trained."""
    saved = resume.load_resume_state(path, key, state.device.type)
    if saved is None:
        return 0.0
    try:
        elapsed = resume.restore(saved, state)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise resume.state_error(path, err) from err
    print(f"{label}: resuming from {path} after epoch {state.epoch} of {epochs}", file=sys.stderr)
    before = saved["history"].get("threads")
    if state.device.type == "cpu" and before not in (None, torch.get_num_threads()):
        print(
            f"{label}: note: the run was saved with {before} torch threads and goes on with "
            f"{torch.get_num_threads()}; on CPU it matches a run in one go bit for bit only "
            f"with the same thread count (torch.set_num_threads, --threads)",
            file=sys.stderr,
        )
    return elapsed


def pin_threads(device: torch.device) -> None:
    """On CPU, fix MKL's thread count for the run at torch's (``torch.set_num_threads`` of
    the current count): left alone, MKL may pick fewer threads at run time
    (``MKL_DYNAMIC``), and a matrix product's rounding depends on its thread count, so a run
    on a busy machine could end with other weights. Nothing changes on CUDA."""
    if device.type == "cpu":
        torch.set_num_threads(torch.get_num_threads())


@dataclass
class _ResumeWriter:
    """Writes the resume file after an epoch when ``every`` seconds have passed since the
    last write, and always after the last epoch. Writing only reads the state
    (``resume.capture``), so when it happens never changes the weights."""

    path: str | os.PathLike
    key: dict
    every: float
    last: float

    def after_epoch(self, state: TrainState, final: bool, now: float) -> None:
        if final or now - self.last >= self.every:
            resume.save(self.path, self.key, state)
            self.last = time.perf_counter()


def _end_epoch(
    state: TrainState,
    train_data: Dataset,
    test_data: Dataset | None,
    config: TrainConfig,
    seed: int,
    hooks: Sequence[EpochHook],
    train_loss: float,
) -> float | None:
    """After the epoch's steps: the divergence check, the hooks, the test accuracy."""
    if not math.isfinite(train_loss):
        raise FloatingPointError(
            f"training diverged at epoch {state.epoch + 1} (loss {train_loss}); lower lr "
            f"(now {config.lr}) or use norm='rms'"
        )
    for hook in hooks:
        hook(state.model, train_data, config, seed, state.device)
    return evaluate(state.model, test_data) if test_data is not None else None


def _check(train_data: Dataset, resume_every: float) -> None:
    if len(train_data) == 0:
        raise ValueError("train_data is empty")
    if not resume_every >= 0:
        raise ValueError(f"resume_every must be >= 0 seconds, got {resume_every}")


def train(
    model: nn.Module,
    train_data: Dataset,
    test_data: Dataset | None = None,
    config: TrainConfig | None = None,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
    desc: str | None = None,
    resume_path: str | os.PathLike | None = None,
    resume_every: float = 10.0,
    hooks: Sequence[EpochHook] | None = None,
    **hyper,
) -> dict:
    """Train ``model`` in place and return its history.

    Args:
        model: an ``XNet`` or ``MLP`` (anything mapping (B, d_input) to logits); moved to
            ``device``.
        train_data, test_data: ``Dataset``s; ``test_data`` is evaluated after every epoch.
        config: the hyper-parameters (``TrainConfig``; default ``TrainConfig()``, the
            offline course's recipe). ``**hyper`` changes some of them
            (``epochs=3, noise_std=0.0``); any other keyword is a ``TypeError``.
        seed: seeds the shuffling and the noise. Model initialisation happens before
            ``train``; call ``seed_everything(seed)`` before building the model.
        device: ``"cuda"``, ``"cpu"`` or ``None`` (CUDA when available).
        progress: show the progress bars (``Progress``).
        desc: label of the progress bar (default: the model's class name).
        resume_path: file for the resume state (``resume.resume_path_for(checkpoint)``).
            If it holds the state of this same run (``resume.resume_key``), training goes
            on from it; a file of another run, or an unreadable one, is renamed to
            ``<name>.old<N>`` with a message; one written on another device type raises
            ``ResumeError``. Written after epochs (``resume_every``) and after the last;
            left in place at the end (``checkpoint.train_and_save`` removes it).
        resume_every: seconds of training between two writes of the resume state; 0 writes
            after every epoch. A write takes ~10 ms (width 128): below 0.1% at the default.
            When the writes happen never changes the weights.
        hooks: run after every epoch, before the evaluation (default: ``default_hooks``).

    Returns:
        dict with per-epoch lists ``epoch``, ``train_loss`` (mean over the epoch's samples),
        ``test_accuracy`` (``None`` entries without ``test_data``) and ``time`` (seconds of
        training since the start, at the end of each epoch, summed over resumed sessions);
        plus ``device``, ``steps``, ``threads`` (torch's CPU threads) and ``resumed_at``
        (the epochs after which an interrupted run was resumed, empty for a run in one go).

    Raises:
        FloatingPointError: the loss became NaN/inf (lower ``lr`` or use ``norm="rms"``).
    """
    config, _ = split_train_kwargs(hyper, config)
    _check(train_data, resume_every)
    device = resolve_device(device)
    pin_threads(device)
    model.to(device)
    steps_per_epoch = math.ceil(len(train_data) / config.batch_size)
    state = new_state(model, config, steps_per_epoch, seed, device)
    hooks = default_hooks(model) if hooks is None else list(hooks)
    label, writer, elapsed_before = desc or type(model).__name__, None, 0.0
    if resume_path is not None:
        key = resume.resume_key(model, train_data, test_data, seed, config)
        elapsed_before = _resume_from(resume_path, key, state, label, config.epochs)
    start = time.perf_counter()
    if resume_path is not None:
        writer = _ResumeWriter(resume_path, key, resume_every, last=start)
    # Deterministic kernels on CPU only: on CUDA they need CUBLAS_WORKSPACE_CONFIG, and
    # CUDA runs are seeded but not promised to be bit-identical.
    with (
        Progress(progress, config.epochs, state.epoch, steps_per_epoch, label) as bars,
        _deterministic(device.type == "cpu"),
    ):
        model.train()
        for epoch in range(state.epoch + 1, config.epochs + 1):
            bars.start_epoch(epoch)
            loss = train_epoch(state, train_data, config, bars.step)
            acc = _end_epoch(state, train_data, test_data, config, seed, hooks, loss)
            now = time.perf_counter()
            state.epoch = epoch
            for k, v in zip(
                ("epoch", "train_loss", "test_accuracy", "time"),
                (epoch, loss, acc, elapsed_before + now - start),
            ):
                state.history[k].append(v)
            if writer is not None:
                writer.after_epoch(state, epoch == config.epochs, now)
            bars.end_epoch(epoch, loss, acc, now)
    return state.history


CALIBRATION_BATCHES = 64


@torch.no_grad()
def calibrate(
    model: nn.Module, train_data: Dataset, batch_size: int, seed: int, device: torch.device
) -> list[float]:
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
    gen = torch.Generator().manual_seed(seed + 2)
    batches = []
    for i, (x, _) in enumerate(
        train_data.batches(batch_size, shuffle=True, generator=gen, device=device)
    ):
        if i == CALIBRATION_BATCHES:
            break
        batches.append(x)
    return calibrate_batch_rms(model, batches)
