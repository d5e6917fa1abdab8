"""Write each notebook's "## Exercises" section from ``cells.py`` into ``notebooks/``.

    python -m xnets_lite.course.exercises insert [NOTEBOOK_DIR]

``cells.notebook_cells(name)`` is the one source of the exercise cells; this puts them at the
end of ``<NOTEBOOK_DIR>/<name>.ipynb`` (default: the repository's ``notebooks/``), after
removing an earlier section wherever it is (its cells are recognised by their ids,
``exNN-…``), so running it twice gives the same file. Every other cell, with its id, tags
and outputs, is left as it is; files are written atomically. Run ``make reproduce`` after it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from xnets_lite.course.exercises.cells import SECTIONS, notebook_cells
from xnets_lite.course.notebooks import NOTEBOOKS, ROOT
from xnets_lite.files import atomic_write


def insert(path: Path, cells: list[dict]) -> bool:
    """Put ``cells`` at the end of the notebook at ``path``; returns whether it changed."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    pattern = re.compile(rf"ex{path.name[:2]}-\d\d[a-z]?$")
    ids = [c["id"] for c in cells]
    if not all(pattern.match(i) for i in ids) or len(set(ids)) != len(ids):
        raise ValueError(f"{path.name}: exercise cell ids must be unique ex{path.name[:2]}-NN…")
    kept = [c for c in nb["cells"] if not pattern.match(c.get("id", ""))]
    clash = {c.get("id") for c in kept} & set(ids)
    if clash:
        raise ValueError(f"{path.name}: ids already used by other cells: {sorted(clash)}")
    nb["cells"] = kept + cells
    new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if new == text:
        return False
    atomic_write(path, lambda f: f.write(new.encode("utf-8")))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xnets_lite.course.exercises", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("insert", help="write the exercise cells into the notebooks")
    cmd.add_argument("folder", nargs="?", default=str(ROOT / "notebooks"))
    args = parser.parse_args(argv)
    for name in NOTEBOOKS:
        if name not in SECTIONS:  # a notebook without exercises (07)
            continue
        cells = notebook_cells(name)
        changed = insert(Path(args.folder) / f"{name}.ipynb", cells)
        print(f"{name}: {len(cells)} exercise cells " + ("written" if changed else "unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
