"""What the package's own files share: their error type, the versions they record, and
setting an old file aside instead of destroying it.

Both file formats of the package, checkpoints (``checkpoint.py``) and resume states
(``resume.py``), build on this module, so neither needs the other.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import torch

__all__ = ["CheckpointError", "ResumeError", "versions", "first_line", "set_aside"]


class CheckpointError(Exception):
    """A checkpoint is missing, unreadable, not ours, or does not match its own config."""


class ResumeError(CheckpointError):
    """A resume file of this very run exists but cannot be continued here (e.g. it was
    written on another device type); the message says what to do."""


def versions() -> dict:
    """The library versions every file records: xnets_lite, torch and python."""
    from xnets_lite import __version__

    return {
        "xnets_lite": str(__version__),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
    }


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), for one-line errors."""
    text = str(err).strip().splitlines()
    return text[0][:200] if text else ""


def set_aside(
    path: str | os.PathLike, reason: str | None = None, quiet: bool = False
) -> Path | None:
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
        print(
            f"{reason + '; ' if reason else ''}kept the previous {path.name} as {old}",
            file=sys.stderr,
        )
    return old
