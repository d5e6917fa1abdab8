"""Committing executed outputs into the source notebooks, and detecting stale ones."""

import json

import nbformat
import pytest

from xnets_lite.course import outputs
from xnets_lite.course.outputs import (
    INFO_CLASS,
    KEY,
    WIDGET_VIEW,
    commit_outputs,
    figures_not_displayed,
    merge_outputs,
    package_hash,
    panel_problems,
    staleness,
)

SNAPSHOT = '<div class="xnets-snapshot"><p>text</p><img src="data:image/png;base64,iVBOR"></div>'


def _source():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# title", id="m0"),
        nbformat.v4.new_code_cell("dataset = 'svhn'", id="p0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(save(fig, run, 'x'))", id="c1"),
        nbformat.v4.new_code_cell("print(seconds)", id="c2", metadata={"tags": ["volatile"]}),
        nbformat.v4.new_code_cell("Panel().display()", id="c3"),
    ]
    return json.loads(nbformat.writes(nb))


def _executed(source):
    ex = json.loads(json.dumps(source))
    injected = nbformat.v4.new_code_cell(
        "dataset = 'mnist'", id="inj", metadata={"tags": ["injected-parameters"]}
    )
    ex["cells"].insert(2, json.loads(json.dumps(injected)))

    def stream(name, text):
        return {"output_type": "stream", "name": name, "text": text}

    ex["cells"][3]["outputs"] = [
        stream("stdout", "saved figures/mnist/x.png\n"),
        {
            "output_type": "display_data",
            "data": {"image/png": "iVBOR", "text/plain": "<Image>"},
            "metadata": {},
        },
        stream("stderr", "100%|####| 3/3\n"),
        {
            "output_type": "display_data",
            "metadata": {INFO_CLASS: True},
            "data": {"text/html": "<div>trained</div>", "text/plain": "x"},
        },
    ]
    ex["cells"][4]["outputs"] = [stream("stdout", "0.123 s\n")]
    ex["cells"][5]["outputs"] = [  # a panel: one bundle, the live view and its snapshot
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {
                WIDGET_VIEW: {"model_id": "abc"},
                "text/html": SNAPSHOT,
                "image/png": "iVBOR",
                "text/plain": "Panel",
            },
        },
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {WIDGET_VIEW: {"model_id": "def"}, "text/plain": "VBox"},
        },
    ]  # a bare widget
    ex["metadata"]["widgets"] = {"state": {}}
    ex["metadata"]["papermill"] = {"duration": 1.0}
    return ex


def test_merge_keeps_what_is_stable_and_drops_what_is_not():
    source = _source()
    merged = merge_outputs(source, _executed(source), "mnist")
    fig_cell, timing, panel = merged["cells"][2], merged["cells"][3], merged["cells"][4]
    assert [o.get("name") or list(o["data"]) for o in fig_cell["outputs"]] == [
        "stdout",
        ["image/png", "text/plain"],
    ]
    assert timing["outputs"] == []  # volatile
    # the panel's one output keeps its snapshot, minus the live view; the bare widget goes
    assert [o["data"] for o in panel["outputs"]] == [
        {"text/html": SNAPSHOT, "image/png": "iVBOR", "text/plain": "Panel"}
    ]
    assert "widgets" not in merged["metadata"] and merged["metadata"][KEY]["dataset"] == "mnist"
    assert [c["source"] for c in merged["cells"]] == [c["source"] for c in source["cells"]]
    assert staleness(merged) == [] and figures_not_displayed(merged) == []


def test_commit_writes_only_when_the_content_changes(tmp_path):
    source = _source()
    src, ex = tmp_path / "nb.ipynb", tmp_path / "ex.ipynb"
    src.write_text(json.dumps(source))
    ex.write_text(json.dumps(_executed(source)))
    assert commit_outputs(src, ex, "mnist") is True
    first = src.read_text()
    assert commit_outputs(src, ex, "mnist") is False  # a rerun with the same outputs
    assert src.read_text() == first


def test_stale_sources_or_package_are_detected(monkeypatch):
    source = _source()
    merged = merge_outputs(source, _executed(source), "mnist")
    edited = json.loads(json.dumps(merged))
    edited["cells"][2]["source"] = "print(save(fig, run, 'y'))"
    assert any("cells changed" in p for p in staleness(edited))
    monkeypatch.setattr(outputs, "package_hash", lambda: "other code")
    assert any("package code" in p for p in staleness(merged))
    del merged["metadata"][KEY]
    assert "make reproduce" in staleness(merged)[0]


def test_an_executed_copy_of_another_version_is_refused():
    source = _source()
    executed = _executed(source)
    executed["cells"][3]["source"] = "something else"
    with pytest.raises(ValueError, match="another version"):
        merge_outputs(source, executed, "mnist")


def test_a_figure_cell_without_an_image_is_found():
    source = _source()
    executed = _executed(source)
    executed["cells"][3]["outputs"] = [
        {
            "output_type": "execute_result",
            "execution_count": 1,
            "data": {"text/plain": "<Figure size 900x320 with 2 Axes>"},
            "metadata": {},
        }
    ]
    assert figures_not_displayed(executed) == [3]


def test_stream_chunks_are_joined_so_timing_cannot_change_the_file():
    source = _source()
    one, two = _executed(source), _executed(source)

    def stream(text):
        return {"output_type": "stream", "name": "stdout", "text": text}

    one["cells"][3]["outputs"][0] = stream("a\nb\n")
    two["cells"][3]["outputs"][0:1] = [stream("a\n"), stream(["b\n"])]
    first, second = (merge_outputs(source, nb, "mnist") for nb in (one, two))
    assert first == second
    assert first["cells"][2]["outputs"][0]["text"] == ["a\n", "b\n"]


def test_panels_are_one_output_live_and_only_the_snapshot_committed():
    source = _source()
    executed = _executed(source)
    executed["cells"][5]["outputs"].pop()  # just the panel's bundle
    assert panel_problems(executed, live=True) == []
    merged = merge_outputs(source, executed, "mnist")
    assert panel_problems(merged, live=False) == []
    assert panel_problems(merged, live=True) == [
        "cell 4: the live widget is not in the snapshot's output, so JupyterLab would show both"
    ]
    # the old way: a snapshot, then the widget as a second output (both shown live)
    old = json.loads(json.dumps(executed))
    bundle = old["cells"][5]["outputs"][0]["data"]
    view = {WIDGET_VIEW: bundle.pop(WIDGET_VIEW), "text/plain": "VBox"}
    old["cells"][5]["outputs"].append({"output_type": "display_data", "data": view, "metadata": {}})
    assert any("JupyterLab would show both" in p for p in panel_problems(old, live=True))
    twice = json.loads(json.dumps(merged))
    twice["cells"][4]["outputs"] *= 2
    assert panel_problems(twice, live=False) == ["cell 4: 2 panel snapshots, not 1"]


def test_package_hash_covers_sub_packages(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    first = package_hash(pkg)
    (pkg / "sub" / "b.py").write_text("y = 3\n")  # a change in a sub-package counts
    second = package_hash(pkg)
    assert second != first
    (pkg / "sub" / "b.py").write_text("y = 3\r\n")  # line endings do not
    assert package_hash(pkg) == second
    (pkg / "sub" / "b.py").rename(pkg / "b.py")  # the relative path is part of it
    moved = package_hash(pkg)
    assert moved != second
    (pkg / "notes.txt").write_text("not code")
    (pkg / "sub" / "__pycache__").mkdir()
    (pkg / "sub" / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"\0")
    assert package_hash(pkg) == moved  # .py files only
    assert package_hash() == package_hash(outputs.PACKAGE)
