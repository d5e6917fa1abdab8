"""The machinery every checker shares: a registry, one short result line, and comparisons
that say *what* differs.

A checker is a function ``checker(answer, **context) -> str`` registered with
``@exercise(name, hint=...)``. It tests the student's ``answer`` (a function or a value)
against a reference implementation, in float64, on random shapes and on the course's model
(passed in ``context`` by the notebook's check cell), and returns a short description of what
passed. It signals a wrong answer by raising ``Mismatch`` (what differs, by how much);
``call`` runs the student's code and turns an exception in it into ``StudentError`` and a
``None`` result into ``NotAttempted``. ``evaluate`` turns all of this into a ``Result``
whose ``line`` is stable text (no timings, no addresses), so that nbval can compare it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

NOT_ATTEMPTED = "not attempted yet"
PASSED, FAILED = "passed", "failed"


class NotAttempted(Exception):
    """The stub is unchanged: the answer (or what the student's function returned) is None."""


class Mismatch(Exception):
    """The answer is wrong; ``str(self)`` says what differs. ``hint`` overrides the
    exercise's default hint."""

    def __init__(self, what: str, hint: str | None = None):
        super().__init__(what)
        self.hint = hint


class StudentError(Exception):
    """The student's code raised ``error``, on the case ``where`` (plain words, or None).
    A dtype clash (float32 against float64) is named as such: the checkers' random models
    are float64, the course's models float32."""

    def __init__(self, error: BaseException, where: str | None = None):
        text = f"{type(error).__name__}: {_short(str(error))}"
        if "dtype" in str(error) or ("Float" in str(error) and "Double" in str(error)):
            text += (
                " — a float32/float64 clash: the random χ-nets of this check are float64 and "
                "the course's model float32, so make new tensors in the model's dtype "
                "(dtype=next(model.parameters()).dtype)"
            )
        super().__init__(f"on {where}, {text}" if where else text)
        self.error, self.where, self.text = error, where, text


@dataclass
class Exercise:
    name: str
    checker: Callable[..., str]
    hint: str


@dataclass
class Result:
    """The outcome of one check: ``status`` is ``"passed"``, ``"failed"`` or
    ``"not attempted yet"``; ``message`` says what passed or what differs (and the hint)."""

    name: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def line(self) -> str:
        mark = {PASSED: "✓", FAILED: "✗"}.get(self.status, "…")
        return f"{mark} {self.name}: {self.message}"

    def __str__(self) -> str:
        return self.line


EXERCISES: dict[str, Exercise] = {}


def exercise(name: str, hint: str):
    """Register ``checker(answer, **context) -> str`` under ``name`` ("02.some_thing")."""

    def register(checker):
        if name in EXERCISES:
            raise ValueError(f"exercise {name!r} is registered twice")
        EXERCISES[name] = Exercise(name, checker, hint)
        return checker

    return register


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evaluate(name: str, answer, **context) -> Result:
    """Check ``answer`` for exercise ``name``; never raises (a notebook's Run All goes on)."""
    ex = EXERCISES.get(name)
    if ex is None:
        known = ", ".join(sorted(EXERCISES))
        return Result(name, FAILED, f"no such exercise; known: {known}")
    if answer is None:
        return Result(
            name, NOT_ATTEMPTED, f"{NOT_ATTEMPTED} (edit the cell above, run it, then run this one)"
        )
    try:
        detail = ex.checker(answer, **context)
    except NotAttempted:
        return Result(
            name,
            NOT_ATTEMPTED,
            f"{NOT_ATTEMPTED} (your function returns None: "
            f"fill it in, run its cell, then this one)",
        )
    except Mismatch as err:
        return Result(name, FAILED, f"{_short(err, 300)} Hint: {err.hint or ex.hint}")
    except StudentError as err:
        where = f"on {err.where}, " if err.where else ""  # the case first, in words
        return Result(name, FAILED, f"{where}your code raised {err.text}. Hint: {ex.hint}")
    except Exception as err:  # noqa: BLE001 - a checker must never stop Run All
        return Result(
            name,
            FAILED,
            f"could not check this answer ({type(err).__name__}: {_short(err)}). Hint: {ex.hint}",
        )
    return Result(name, PASSED, f"correct. {detail}".strip())


def check(name: str, answer, **context) -> None:
    """Print the one-line verdict on ``answer`` for exercise ``name``.

    It returns nothing, so that a notebook shows the line once (a returned value would be
    displayed again as the cell's result); ``evaluate`` gives the ``Result`` itself."""
    # one write (print writes the line and its newline separately: two stream outputs)
    sys.stdout.write(evaluate(name, answer, **context).line + "\n")


# ---------------------------------------------------------------------------------------
# Helpers for checkers
# ---------------------------------------------------------------------------------------
def call(fn, *args, where: str | None = None, **kwargs):
    """Run the student's ``fn``: their exception → ``StudentError`` (naming the case
    ``where``, e.g. ``"a random residual χ-net (float64)"``), ``None`` → ``NotAttempted``."""
    if not callable(fn):
        raise Mismatch(
            f"expected a function, got {type(fn).__name__}",
            hint="pass the function itself (its name, without calling it)",
        )
    try:
        out = fn(*args, **kwargs)
    except Exception as err:  # noqa: BLE001
        raise StudentError(err, where) from None
    if out is None:
        raise NotAttempted()
    return out


def as_float64(value, what: str) -> Tensor:
    """``value`` (tensor, array, list, number) as a float64 CPU tensor, or a ``Mismatch``."""
    try:
        if isinstance(value, Tensor):
            return value.detach().to(device="cpu", dtype=torch.float64)
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise Mismatch(
            f"{what} should be a tensor (or numbers), got {type(value).__name__}"
        ) from None


def expect_close(
    got,
    want: Tensor,
    what: str,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    index_names: str | Callable[[tuple], str] | None = None,
) -> None:
    """``Mismatch`` unless ``got`` ≈ ``want`` (float64): names the shape, or the entry with
    the largest error, by how much. ``index_names``: what the indices are (``"class"``), or a
    function of the index tuple that names the entry in words."""
    got = as_float64(got, what)
    if tuple(got.shape) != tuple(want.shape):
        raise Mismatch(f"{what}: shape {tuple(got.shape)}, expected {tuple(want.shape)}.")
    if not torch.isfinite(got).all():
        raise Mismatch(f"{what} contains NaN or inf.")
    err = (got - want).abs()
    tol = atol + rtol * want.abs()
    if (err <= tol).all():
        return
    flat = int((err - tol).argmax())
    idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), want.shape))
    if callable(index_names):  # the entry in words, e.g. "for test input 5, output 2"
        where = f" {index_names(idx)}"
    else:
        where = f" at {index_names or 'index'} {idx if len(idx) != 1 else idx[0]}" if idx else ""
    raise Mismatch(
        f"{what}{where}: yours {float(got[idx]):.6g}, expected "
        f"{float(want[idx]):.6g} (off by {float(err[idx]):.3g})."
    )


def expect_equal_ints(got, want: list[int], what: str, label: Callable[[int], str] = str) -> None:
    """``Mismatch`` unless the list of integers ``got`` equals ``want``."""
    try:
        got = [int(v) for v in got]
    except (TypeError, ValueError):
        raise Mismatch(f"{what} should be a list of integers, got {type(got).__name__}") from None
    if len(got) != len(want):
        raise Mismatch(f"{what}: {len(got)} values, expected {len(want)}.")
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            raise Mismatch(f"{what} at {label(i)}: yours {a}, expected {b}.")


def random_xnet(
    seed: int,
    d_input: int = 5,
    d_model: int = 4,
    d_hidden: int = 3,
    n_classes: int = 3,
    n_layers: int = 2,
    block: str = "residual",
    norm: str | None = None,
    std: float = 0.5,
):
    """A small XNet with O(1) random weights (biases included), float64, eval mode."""
    from xnets_lite.core.model import XNet

    gen = torch.Generator().manual_seed(seed)
    model = XNet(
        d_input,
        d_model,
        d_hidden if block == "residual" else None,
        n_classes,
        n_layers,
        norm=norm,
        block=block,
    ).double()
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p.shape[-1] if p.dim() > 1 else 1
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * std / fan_in**0.25)
        for n in model.norms:
            if hasattr(n, "running_rms"):
                n.running_rms.copy_(0.5 + torch.rand((), generator=gen, dtype=torch.float64))
                n.initialized.fill_(True)
    return model.eval()


def random_dataset(seed: int, n: int = 60, side: int = 3, n_classes: int = 3):
    """A tiny random image ``Dataset`` (every class present), for checking data functions."""
    from xnets_lite.data import Dataset

    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, side, side), generator=gen, dtype=torch.uint8)
    labels = torch.arange(n) % n_classes
    return Dataset(
        images, labels[torch.randperm(n, generator=gen)], "random", "test", n_classes=n_classes
    )
