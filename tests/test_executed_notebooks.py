"""The notebooks as papermill executed them (``make test-notebooks`` sets
``XNETS_EXECUTED`` to their folder and runs this file after papermill): every cell that
saves a figure also shows it as an image, no cell shows a bare ``<Figure …>`` text, and
every panel is one output holding both the live widget and its snapshot."""

import json
import os
from pathlib import Path

import pytest

from xnets_lite.course.notebooks import NOTEBOOKS
from xnets_lite.course.outputs import figures_not_displayed, panel_problems

FOLDER = os.environ.get("XNETS_EXECUTED")
pytestmark = pytest.mark.skipif(
    not FOLDER,
    reason="needs executed notebooks: run by "
    "`make test-notebooks` "
    "(XNETS_EXECUTED=<folder of papermill copies>)",
)


@pytest.fixture(params=NOTEBOOKS)
def executed(request):
    path = Path(FOLDER or ".") / f"{request.param}.ipynb"
    assert path.is_file(), f"{path} was not executed"
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_saved_figure_is_displayed(executed):
    assert figures_not_displayed(executed) == []


def test_every_panel_is_one_output_live_widget_plus_snapshot(executed):
    """JupyterLab shows the widget view of that output and nothing else (no snapshot above
    the live panel); a static rendering of the same file falls back to the snapshot."""
    assert panel_problems(executed, live=True) == []


def test_no_figure_shows_as_text(executed):
    for cell in executed["cells"]:
        for out in cell.get("outputs", []):
            text = "".join(out.get("data", {}).get("text/plain", ""))
            assert not text.startswith("<Figure size"), cell["source"]


def test_status_lines_are_information_not_stderr(executed):
    """ "xnet: loaded …" is shown as a grey information line; nothing lands on stderr (which
    JupyterLab draws as a pink warning box) in the fast setting, where progress bars are off."""
    outputs = [o for cell in executed["cells"] for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("name") == "stderr"]
    if any("run.model" in "".join(c["source"]) for c in executed["cells"]):  # run.models too
        info = [o for o in outputs if o.get("metadata", {}).get("xnets-info")]
        assert info and all("xnets-info" in "".join(o["data"]["text/html"]) for o in info)
