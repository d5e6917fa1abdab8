"""Where the data lives: ``data/`` at the root of the repository holding this package (an
editable install), whatever the working directory, or the directory an environment variable
names."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "XNETS_DATA"
# The repository this package sits in (an editable install), if any: data/ there is the
# default data directory, whatever the working directory (notebook kernels run in notebooks/).
_REPO = Path(__file__).resolve().parents[2]
_IN_CHECKOUT = (_REPO / "pyproject.toml").is_file() and (_REPO / "xnets_lite").is_dir()
DEFAULT_ROOT = str(_REPO / "data") if _IN_CHECKOUT else "./data"


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The SVHN data directory: ``root`` if given, else ``$XNETS_DATA``, else ``data/`` at
    the root of the repository holding this package (``./data`` outside a checkout)."""
    if root is None:
        root = os.environ.get(DATA_ENV) or DEFAULT_ROOT
    return Path(root).expanduser()
