"""Exercises with checkers, for the end of every notebook.

Each notebook ends with "## Exercises": per exercise a statement, a stub cell the student
edits (harmless when run unchanged) and a check cell::

    from xnets_lite.course.exercises import check
    check("02.effective_dimension_without_constant", dims_without_constant, dec=dec)

``check(name, answer, **context)`` prints one line: ``✓ name: correct. …``, ``✗ name: what
differs. Hint: …`` or ``… name: not attempted yet …`` (for ``None``, or a function that
returns ``None``); it never raises, so Run All, papermill and nbval go on. The checkers
(``ch00`` … ``ch06``) test functions on random shapes and on the course's model (the
``context``) against reference implementations in float64 (``reference``).

The solutions live in ``solutions/<notebook>.py``, one ``# %% <name>`` section per exercise;
``fill_solutions(nb)`` puts them in place of the stubs (the pipeline's run with solutions).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from xnets_lite.course.exercises import ch00, ch01, ch02, ch03, ch04, ch05, ch06  # noqa: F401  (register the checkers)
from xnets_lite.course.exercises.cells import SECTIONS, notebook_cells, prefix
from xnets_lite.course.exercises.core import EXERCISES, NOT_ATTEMPTED, Result, check, evaluate
from xnets_lite.files import REPO

__all__ = [
    "EXERCISES",
    "NOT_ATTEMPTED",
    "SECTIONS",
    "SOLUTIONS_DIR",
    "Result",
    "check",
    "evaluate",
    "fill_solutions",
    "notebook_cells",
    "solutions",
]

#: ``solutions/`` at the repository root.
SOLUTIONS_DIR = REPO / "solutions"

_SECTION = re.compile(r"^# %% (\S+)[ \t]*$", re.MULTILINE)
_CHECK = re.compile(r'check\(\s*"([^"]+)"')


def solutions(notebook: str, directory: str | Path | None = None) -> dict[str, str]:
    """``{exercise name: solution code}`` from ``<directory>/<notebook>.py`` (default
    ``SOLUTIONS_DIR``), split at its ``# %% <name>`` lines (the text before the first one,
    a header, is left out)."""
    path = Path(directory or SOLUTIONS_DIR) / f"{notebook}.py"
    if not path.exists():
        raise FileNotFoundError(
            f"no solutions file {path}; expected one per notebook in "
            f"solutions/ (run from a checkout of the repository)"
        )
    text = path.read_text(encoding="utf-8")
    marks = list(_SECTION.finditer(text))
    return {
        m.group(1): text[m.end() : (marks[i + 1].start() if i + 1 < len(marks) else None)].strip(
            "\n"
        )
        + "\n"
        for i, m in enumerate(marks)
    }


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def fill_solutions(nb: dict, directory: str | Path | None = None) -> dict:
    """A copy of notebook ``nb`` (nbformat JSON as a dict) with every exercise's stub cell
    replaced by its solution.

    An exercise is a check cell ``exNN-iic`` calling ``check("<name>", …)``; its stub is the
    cell ``exNN-iib`` before it. The notebook's name comes from its cell ids (``exNN``).
    Raises ``ValueError`` if a stub, a check or a solution is missing; a notebook without
    exercises is returned unchanged (a copy)."""
    nb = copy.deepcopy(nb)
    cells = {c.get("id"): c for c in nb.get("cells", [])}
    checks = [c for c in nb.get("cells", []) if re.fullmatch(r"ex\d\d-\d\dc", c.get("id") or "")]
    if not checks:
        return nb
    names = {c["id"][:4] for c in checks}
    notebooks = [n for n in SECTIONS if prefix(n) in names]
    if len(notebooks) != 1:
        raise ValueError(f"exercise cells of {sorted(names)}: expected those of one notebook")
    answers = solutions(notebooks[0], directory)
    for cell in checks:
        match = _CHECK.search(_source(cell))
        stub = cells.get(cell["id"][:-1] + "b")
        if match is None or stub is None:
            raise ValueError(
                f'cell {cell["id"]}: expected a check("name", …) cell after a '
                f"stub cell {cell['id'][:-1]}b"
            )
        name = match.group(1)
        if name not in answers:
            raise ValueError(
                f"no solution for {name} in solutions/{notebooks[0]}.py (a '# %% {name}' section)"
            )
        stub["source"] = answers[name]
        stub["outputs"], stub["execution_count"] = [], None
    return nb
