"""One status line from a long job to whoever runs it: which model and epoch is training.

A notebook's kernel runs in a process of its own, and its progress bars go into the notebook,
not to the console of ``make reproduce``. The pipeline (``notebooks.run_notebooks``) names a
file in ``$XNETS_STATUS_FILE``; ``report`` (called by ``train.Progress``) appends one line
there (a few per epoch at most), and the pipeline follows the file (``Follower``): the last
line beside the notebook's bar, every line that ends an epoch in a log. Without the variable
``report`` does nothing; it never raises, so a status line can never break a run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["ENV", "enabled", "report", "read"]

ENV = "XNETS_STATUS_FILE"


def enabled() -> bool:
    """Whether someone listens (``$XNETS_STATUS_FILE`` is set)."""
    return bool(os.environ.get(ENV))


def report(line: str) -> None:
    """Append ``line`` (made one line) to the status file, if someone listens."""
    path = os.environ.get(ENV)
    if not path:
        return
    try:
        # One short write in append mode: a reader sees whole lines or nothing of the next.
        with open(path, "a", encoding="utf-8") as f:
            f.write(" ".join(line.split()) + "\n")
    except OSError:
        pass


def read(path: str | os.PathLike) -> str:
    """The current (last) status line at ``path`` ("" when there is none yet)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    return lines[-1].strip() if lines else ""


class Follower:
    """The lines appended to a status file since the last call (``new()``)."""

    def __init__(self, path: str | os.PathLike):
        self.path, self.offset, self.partial = Path(path), 0, b""

    def new(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        return [line.decode("utf-8", "replace").strip() for line in lines if line.strip()]


class Throttle:
    """True at most once every ``seconds`` (for status lines inside an epoch)."""

    def __init__(self, seconds: float):
        self.seconds, self.last = seconds, -float("inf")

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True
