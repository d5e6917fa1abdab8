"""pytest plugin for strict nbval on the papermill-executed notebooks in ``build/``.

Loaded with ``-p tests.nbval.plugin`` (see the Makefile's ``test-notebooks``), because the
executed notebooks live outside ``tests/`` and so would not see a conftest here. It drops
from the comparison what legitimately differs between two executions: stderr (warnings,
progress bars, "trained/loaded" messages) and HTML/JavaScript renderings. Times, addresses
and devices are handled by ``sanitize.cfg``; every other printed number must match.

``--xnets-solutions`` makes the re-execution the course's *solved* run, so that each notebook
is executed only twice in ``make test`` (papermill with the stubs unchanged, then nbval with
the solutions): every exercise's stub cell (``exNN-iib``) runs its solution from
``solutions/`` instead (``exercises.fill_solutions``; its outputs are not compared with the
stub's, any exception still fails it), and its check cell (``exNN-iic``) is
compared by a rule instead of literally: the reference (the unchanged run) says ``… <name>:
not attempted yet``, the re-execution prints the one line ``✓ <name>: correct. …``. Every
other cell (the exercises are the notebooks' last cells) is compared as without the option.
``--xnets-record DIR`` writes every re-executed notebook to ``DIR/<name>.ipynb`` with the
sources it ran and the outputs it got, for ``tests/test_exercises.py`` (``XNETS_SOLVED``).
"""

import json
import re
from pathlib import Path

_STUB = re.compile(r"ex\d\d-\d\db")
_CHECK = re.compile(r"ex\d\d-\d\dc")
_NAME = re.compile(r'check\(\s*"([^"]+)"')
_RECORDED: dict[Path, dict[str, list]] = {}


def pytest_addoption(parser):
    group = parser.getgroup("xnets", "xnets-lite's nbval run")
    group.addoption(
        "--xnets-solutions",
        action="store_true",
        help="re-execute with every exercise's solution; check cells compared by rule",
    )
    group.addoption(
        "--xnets-record",
        default=None,
        metavar="DIR",
        help="write each re-executed notebook (sources run, outputs got) to DIR",
    )


def pytest_collectstart(collector):
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += (
            "text/html",
            "application/javascript",
            "stderr",
            "application/vnd.jupyter.widget-view+json",
        )


def _solved_sources(path: Path) -> dict[str, str]:
    """``{stub cell id: solution source}`` for the notebook at ``path``: the cells that
    ``fill_solutions`` changes."""
    from xnets_lite.course.exercises import fill_solutions

    def source(cell):
        return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]

    nb = json.loads(path.read_text(encoding="utf-8"))
    before = {c.get("id"): source(c) for c in nb["cells"]}
    return {
        c["id"]: source(c)
        for c in fill_solutions(nb)["cells"]
        if _STUB.fullmatch(c.get("id") or "") and source(c) != before[c["id"]]
    }


def pytest_itemcollected(item):
    cell = getattr(item, "cell", None)
    if cell is None or not item.config.getoption("xnets_solutions"):
        return
    cell_id = cell.get("id") or ""
    if _STUB.fullmatch(cell_id):
        solved = getattr(item.parent, "_xnets_solved", None)
        if solved is None:
            solved = item.parent._xnets_solved = _solved_sources(item.path)
        if cell_id in solved:
            cell.source = solved[cell_id]
            item.compare_outputs = _solution_rule(item)
    elif _CHECK.fullmatch(cell_id):
        item.compare_outputs = _check_rule(item)


def _solution_rule(item):
    """The comparison of a stub cell that ran its solution: the reference ran other code (the
    stub), so there is nothing to compare its outputs with (a solution may show a status
    line, e.g. "xnet: loaded …"); an exception still fails the cell, as in every cell."""

    def compare(test, ref, skip_compare=None):
        item.comparison_traceback = []
        return True

    return compare


def _stdout(outputs) -> tuple[str, list]:
    """The cell's stdout text, and every output that is neither stdout nor a status line
    ("xnet: loaded …", HTML that nbval never compares: a checker may load a model)."""
    from xnets_lite.course.outputs import INFO_CLASS

    text = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    other = [
        o
        for o in outputs
        if o.get("name") != "stdout" and not (o.get("metadata") or {}).get(INFO_CLASS)
    ]
    return text, other


def _check_rule(item):
    """The comparison of a check cell in the solved re-execution: the unchanged run said
    "not attempted yet", the solved one says "✓ <name>: correct." in one line, nothing else."""
    match = _NAME.search(item.cell.source)
    name = match.group(1) if match else "?"

    def compare(test, ref, skip_compare=None):
        from xnets_lite.course.exercises import NOT_ATTEMPTED

        problems = []
        before, other_before = _stdout(ref)
        after, other_after = _stdout(test)
        if not (before.startswith(f"… {name}:") and NOT_ATTEMPTED in before) or other_before:
            problems.append(f"the unchanged run's check should say '{NOT_ATTEMPTED}'")
            problems.append(
                f"it printed: {before!r}" + (f" and {other_before}" if other_before else "")
            )
        lines = after.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith(f"✓ {name}: correct.") or other_after:
            problems.append(f"the solved run's check should print one '✓ {name}: correct.' line")
            problems.append(
                f"it printed: {after!r}" + (f" and {other_after}" if other_after else "")
            )
        item.comparison_traceback = problems
        return not problems

    return compare


def pytest_runtest_makereport(item, call):
    if call.when == "call" and getattr(item, "cell", None) is not None:
        if item.config.getoption("xnets_record") and item.test_outputs is not None:
            cells = _RECORDED.setdefault(Path(item.path), {})
            cells[item.cell.get("id")] = (item.cell.source, list(item.test_outputs))


def _as_output(out) -> dict:
    """An nbval output (a kernel message's content) as an nbformat output."""
    out = dict(out)
    kind = out.get("output_type")
    if kind == "stream":
        return {"output_type": "stream", "name": out["name"], "text": out["text"]}
    if kind in ("display_data", "execute_result"):
        keep = {"output_type": kind, "data": out["data"], "metadata": out.get("metadata", {})}
        if kind == "execute_result":
            keep["execution_count"] = out.get("execution_count")
        return keep
    return out  # error: ename, evalue, traceback


def pytest_sessionfinish(session):
    folder = session.config.getoption("xnets_record")
    if not folder or not _RECORDED:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for path, cells in _RECORDED.items():
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell.get("id") in cells:
                cell["source"], outputs = cells[cell["id"]]
                cell["outputs"] = [_as_output(o) for o in outputs]
            elif cell["cell_type"] == "code":  # not re-executed (a failure stopped the run)
                cell["outputs"], cell["execution_count"] = [], None
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        (Path(folder) / path.name).write_text(text, encoding="utf-8")
