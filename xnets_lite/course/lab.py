"""``make lab``: open the course in JupyterLab on the student's own working copy.

The committed notebooks (``notebooks/*.ipynb``) hold the outputs of ``make reproduce`` and a
fingerprint of them; JupyterLab rewrites whatever it opens (metadata on opening, autosave
every two minutes, a Run All's outputs), so a student never works in them. ``working_copy``
copies every notebook that is not there yet into ``my-notebooks/`` (ignored by git; an edited
copy is never overwritten), and ``main`` starts JupyterLab there. The copies sit one folder
below the repository root, as ``notebooks/`` does, so their default paths
(``../checkpoints``, ``../build/figures``, ``../solutions/``) point to the same places.

    python -m xnets_lite.course.lab            # copy what is missing, then start JupyterLab there
    python -m xnets_lite.course.lab --copy-only
    python -m xnets_lite.course.lab --fresh 02_decomposition   # a new copy of one notebook

To start a notebook afresh, delete its copy (or use ``--fresh NAME``) and run it again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from xnets_lite.files import REPO as ROOT

#: The working copy's folder, relative to the repository root (listed in .gitignore).
LAB_DIR = "my-notebooks"


def working_copy(
    source: Path = ROOT / "notebooks", dest: Path = ROOT / LAB_DIR, fresh=()
) -> list[Path]:
    """Copy each ``source/0*.ipynb`` missing from ``dest`` (and those named in ``fresh``,
    e.g. ``"02_decomposition"``, over their copies); returns the paths written."""
    dest.mkdir(parents=True, exist_ok=True)
    names = {p.stem for p in source.glob("0*.ipynb")}
    unknown = sorted(set(fresh) - names)
    if unknown:
        raise SystemExit(
            f"no such notebook: {', '.join(unknown)} (known: {', '.join(sorted(names))})"
        )
    written = []
    for nb in sorted(source.glob("0*.ipynb")):
        target = dest / nb.name
        if not target.exists() or nb.stem in fresh:
            shutil.copyfile(nb, target)
            written.append(target)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xnets_lite.course.lab", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dir", default=str(ROOT / LAB_DIR), help="the working copy's folder")
    parser.add_argument("--copy-only", action="store_true", help="copy, do not start JupyterLab")
    parser.add_argument("--fresh", nargs="*", default=[], help="notebooks to copy again")
    parser.add_argument("lab_args", nargs=argparse.REMAINDER, help="passed to jupyter lab")
    args = parser.parse_args(argv)
    dest = Path(args.dir)
    written = working_copy(dest=dest, fresh=args.fresh)
    print(
        f"Your working copy of the course: {dest} ({len(written)} notebook(s) copied now; "
        f"ignored by git). notebooks/ stays as committed: work here, not there."
    )
    if args.copy_only:
        return 0
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={dest}",
        *(a for a in args.lab_args if a != "--"),
    ]
    os.execv(sys.executable, command)  # replaces this process: Ctrl+C stops JupyterLab
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
