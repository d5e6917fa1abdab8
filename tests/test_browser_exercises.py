"""An exercise in a real browser (JupyterLab + Debian's Chromium, driven by Playwright), as a
student does it: run the notebook with the stub unchanged ("not attempted yet"), type a wrong
answer into the cell and run it and its check (the checker's "✗ … Hint:" line), then the
right one ("✓ … correct").

It uses a small temporary notebook with one exercise (the cells of notebook 04's first
exercise, from ``xnets_lite.course.exercises.cells``) so that it stays fast; the server and browser
fixtures (``lab``, ``chromium``, ``page``) and ``_open`` are those of
``test_browser.py``. Skipped, with the reason, without Chromium or
Playwright.
"""

import json
import os

import pytest
from test_browser import CHROMIUM, _open, chromium, lab, page  # noqa: F401  (fixtures)

from xnets_lite.course.exercises.cells import notebook_cells

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y chromium`, "
    f"as .ci/run does) to run the browser test",
)


def _exercise_notebook(path):
    """The heading, the import, and exercise 1 of notebook 04 (statement, stub, check)."""
    cells = [
        c
        for c in notebook_cells("04_tree")
        if c["id"] in ("ex04-00", "ex04-00b", "ex04-01a", "ex04-01b", "ex04-01c")
    ]
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _answer(tab, source: str) -> None:
    """Replace the stub cell's text with ``source`` by typing, then run it and the check."""
    editor = tab.locator(".jp-CodeCell").nth(1).locator(".cm-content")
    editor.click()
    tab.keyboard.press("Control+A")
    tab.keyboard.type(source)
    tab.keyboard.press("Shift+Enter")  # the stub cell
    tab.keyboard.press("Shift+Enter")  # its check


def _check_output(tab):
    """The check cell's output area: exactly one output, the checker's line."""
    return tab.locator(".jp-CodeCell").nth(2).locator(".jp-OutputArea-output")


def test_a_wrong_then_a_right_answer_in_the_browser(lab, page):  # noqa: F811
    _exercise_notebook(lab.work / "exercise.ipynb")
    _open(page, lab.page_url("exercise"))
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    output = _check_output(page)
    output.get_by_text("not attempted yet").wait_for(timeout=120_000)
    assert output.count() == 1, "the check shows its line once"

    _answer(page, "carry = 1.0")
    output.get_by_text("✗ 04.carry_weight").wait_for(timeout=60_000)
    wrong = output.first.text_content()
    assert "yours: 1.0000" in wrong and "Hint:" in wrong and "Traceback" not in wrong

    _answer(page, "carry = 2 ** 0.5")
    output.get_by_text("✓ 04.carry_weight: correct").wait_for(timeout=60_000)
    assert "√2" in output.first.text_content()
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0
