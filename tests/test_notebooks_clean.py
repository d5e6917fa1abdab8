"""Committed notebooks: valid nbformat, one parameters cell whose defaults read the
environment, short code cells, allowed tags only, and the outputs of the full offline run
(``make reproduce`` on mnist) made from exactly the committed sources and package code."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from xnets_lite.course.notebooks import ENV, NOTEBOOKS
from xnets_lite.course.outputs import (
    KEY,
    VOLATILE,
    WIDGET_VIEW,
    figures_not_displayed,
    panel_problems,
    staleness,
)

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = [NB_DIR / f"{name}.ipynb" for name in NOTEBOOKS]
ALLOWED_TAGS = {"parameters", "nbval-ignore-output", VOLATILE}


def test_every_notebook_is_there():
    assert sorted(p.name for p in NB_DIR.glob("*.ipynb")) == sorted(p.name for p in PATHS)


@pytest.fixture(params=PATHS, ids=[p.stem for p in PATHS])
def nb(request):
    json.loads(request.param.read_text(encoding="utf-8"))  # plain valid JSON first
    notebook = nbformat.read(request.param, as_version=4)
    nbformat.validate(notebook)
    return notebook


def test_outputs_are_current(nb):
    problems = staleness(nb)
    assert not problems, "stale committed outputs: " + "; ".join(problems)


def test_outputs_are_the_full_offline_run(nb):
    assert nb.metadata[KEY]["dataset"] == "mnist"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any(c.outputs for c in code), "no outputs: readers would see no number or figure"
    text = json.dumps([c.outputs for c in code])
    assert "fast CI run" not in text, "outputs of the fast setting were committed"
    assert WIDGET_VIEW not in text, "live widget views cannot be shown without a kernel"
    assert not re.search(r"(/tmp/|/home/|/root/|/work/|[A-Z]:\\\\)", text), "a machine path leaked"
    for cell in code:
        assert not any(o.get("name") == "stderr" for o in cell.outputs)
        if VOLATILE in cell.metadata.get("tags", []):
            assert cell.outputs == []


def test_every_saved_figure_is_displayed(nb):
    assert figures_not_displayed(nb) == []


def test_every_panel_leaves_one_snapshot_for_readers_without_a_kernel(nb):
    """Each panel cell shows its snapshot once (text and figure), and no widget view."""
    assert panel_problems(nb, live=False) == []


def test_one_parameters_cell_reading_the_environment(nb):
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    source = cells[0].source
    for name, var in ENV.items():
        assert f"{name} = " in source and var in source, f"{name} should default to ${var}"
    assert '"svhn"' in source, "the default dataset is the paper's (svhn)"
    assert "injected-parameters" not in json.dumps([c.metadata for c in nb.cells])


def test_prose_first_and_short_cells(nb):
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert len(cell.source.splitlines()) <= 15, (
                f"cell {cell.get('id')}: move it into xnets_lite"
            )


def test_only_allowed_tags(nb):
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags", []))
        assert tags <= ALLOWED_TAGS, tags
        if "nbval-ignore-output" in tags:
            assert "Panel(" in cell.source or "seconds" in cell.source or VOLATILE in tags, (
                "nbval-ignore-output is only for widget and timing cells"
            )


def test_kernel_is_python3(nb):
    assert nb.metadata["kernelspec"]["name"] == "python3"
