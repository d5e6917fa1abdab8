"""One status line from a long job to whoever runs it: which model and epoch is training.

A notebook's kernel runs in a process of its own, and its progress bars go into the notebook,
not to the console of ``make reproduce``. The pipeline (``notebooks.run_notebooks``) names a
file in ``$XNETS_STATUS_FILE``; ``report`` (called by ``train.Progress``) writes the current
line there, atomically, and the pipeline shows it beside the notebook's bar (``read``).
Without the variable ``report`` does nothing; it never raises, so a status line can never
break a run.
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
    """Make ``line`` the current status (one line), if someone listens."""
    path = os.environ.get(ENV)
    if not path:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        Path(tmp).write_text(" ".join(line.split()) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def read(path: str | os.PathLike) -> str:
    """The current status line at ``path`` ("" when there is none yet)."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


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
