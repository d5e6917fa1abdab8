"""Writing files so that nothing the user made is ever half-written or lost."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: The package folder, and the folder holding it (the repository, in a checkout: the course
#: finds notebooks/ and solutions/ there).
PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it over ``path``.

    On any failure (an exception, Ctrl-C) the previous file at ``path`` is untouched and the
    temporary file is removed. The new file gets the usual permissions (0666 minus the
    umask), not the 0600 of a temporary file. Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file lives in the destination directory: os.replace is only atomic
    # within one file system.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every OS can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive(path: str | os.PathLike):
    """Inside: this process alone holds the lock file ``path`` (created if missing), among
    processes that take it the same way; others wait at the ``with``. For work two
    notebooks running side by side may both start (``findings.load_or_measure``): the second
    waits, then finds the first one's result. Where the platform has no ``fcntl``
    (Windows), it does not lock: there the course runs one notebook at a time."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
