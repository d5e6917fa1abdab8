"""The nbval plugin's solved re-execution (tests/nbval/plugin.py, ``--xnets-solutions``): the
stubs get their solutions, and a check cell passes only when the unchanged run said "not
attempted yet" and the solved run prints one "✓ <name>: correct." line."""

from types import SimpleNamespace

import pytest
from nbformat import NotebookNode

from tests.nbval import plugin
from xnets_lite.course.exercises import NOT_ATTEMPTED, SECTIONS, notebook_cells, solutions
from xnets_lite.course.outputs import INFO_CLASS

NAME = "04.carry_weight"
BEFORE = f"… {NAME}: {NOT_ATTEMPTED} (fill it in)\n"


def _stdout(text):
    return [NotebookNode(output_type="stream", name="stdout", text=text)]


def _compare(after, before=BEFORE):
    item = SimpleNamespace(cell=NotebookNode(source=f'check("{NAME}", carry)\n'))
    ok = plugin._check_rule(item)(after, before if isinstance(before, list) else _stdout(before))
    return ok, item.comparison_traceback


def test_a_solved_check_passes():
    assert _compare(_stdout(f"✓ {NAME}: correct. √2 it is.\n")) == (True, [])


@pytest.mark.parametrize(
    "after",
    [
        _stdout(BEFORE),  # the solution did not reach the check
        _stdout(f"✗ {NAME}: yours: 0.7071. Hint: …\n"),
        _stdout("✓ 04.split_layer: correct.\n"),  # another exercise's line
        _stdout(f"✓ {NAME}: correct.\n✓ {NAME}: correct.\n"),  # two lines
        _stdout(f"✓ {NAME}: correct.\n")
        + [NotebookNode(output_type="error", ename="E", evalue="", traceback=[])],
    ],
)
def test_anything_else_fails_and_says_what_it_printed(after):
    ok, problems = _compare(after)
    assert not ok and "✓ 04.carry_weight: correct." in problems[0] and "printed" in problems[1]


def test_a_status_line_beside_the_check_line_is_allowed():
    """A checker may load the course's model: "xnet: loaded …" is HTML, never compared."""
    info = NotebookNode(
        output_type="display_data",
        data={"text/plain": "<IPython.core.display.HTML object>", "text/html": "<div>ℹ</div>"},
        metadata={INFO_CLASS: True},
    )
    assert _compare(_stdout(f"✓ {NAME}: correct.\n") + [info]) == (True, [])


def test_the_reference_must_be_the_unchanged_run():
    ok, problems = _compare(_stdout(f"✓ {NAME}: correct.\n"), before=f"✓ {NAME}: correct.\n")
    assert not ok and NOT_ATTEMPTED in problems[0]


def test_the_stubs_get_the_solutions_and_nothing_else(tmp_path):
    import json

    nb = {"cells": notebook_cells("04_tree"), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "04_tree.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    solved = plugin._solved_sources(path)
    answers = solutions("04_tree")
    assert sorted(solved) == [f"ex04-{i:02d}b" for i in range(1, len(SECTIONS["04_tree"]) + 1)]
    assert list(solved.values()) == [answers[c.name] for c in SECTIONS["04_tree"]]


def test_a_recorded_output_is_an_nbformat_output():
    import nbformat

    outs = [
        NotebookNode(output_type="stream", name="stdout", text="x\n"),
        NotebookNode(output_type="execute_result", data={"text/plain": "1"}, metadata={}),
    ]
    outs[1].execution_count = 3
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1", outputs=[plugin._as_output(o) for o in outs])
    cell["execution_count"] = 3
    nb.cells = [cell]
    nbformat.validate(nb)


def test_only_the_exercise_cells_change_how_they_are_compared(tmp_path):
    """With --xnets-solutions a stub cell runs its solution (its outputs, which the stub did
    not have, are not compared), a check cell is compared by the rule, any other cell as is."""
    import json

    cells = notebook_cells("04_tree")
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "04_tree.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    config = SimpleNamespace(getoption=lambda name: name == "xnets_solutions")
    parent = SimpleNamespace()
    items = {
        c["id"]: SimpleNamespace(cell=NotebookNode(c), config=config, parent=parent, path=path)
        for c in cells
        if c["cell_type"] == "code"
    }
    for item in items.values():
        plugin.pytest_itemcollected(item)
    stub, check, other = items["ex04-01b"], items["ex04-01c"], items["ex04-00b"]
    assert stub.cell.source == solutions("04_tree")[SECTIONS["04_tree"][0].name]
    assert stub.compare_outputs(_stdout("anything\n"), []) is True
    assert check.compare_outputs(_stdout(BEFORE), _stdout(BEFORE)) is False
    assert not hasattr(other, "compare_outputs") and other.cell.source == cells[1]["source"]
