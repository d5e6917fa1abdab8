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
    language_info,
    merge_outputs,
    package_hash,
    panel_problems,
    staleness,
)

SNAPSHOT = (
    "<style>.jp-OutputArea:has(.xnets-panel) {}</style>"
    '<div class="xnets-snapshot"><p>text</p><img src="data:image/png;base64,iVBOR"></div>'
)


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
    ex["cells"][5]["outputs"] = [  # a panel: its snapshot, then the live view alone
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {"text/html": SNAPSHOT, "image/png": "iVBOR", "text/plain": "Panel"},
        },
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {WIDGET_VIEW: {"model_id": "def"}, "text/plain": ""},
        },
    ]
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


def test_panels_are_a_snapshot_and_a_view_live_and_only_the_snapshot_committed():
    source = _source()
    executed = _executed(source)
    assert panel_problems(executed, live=True) == []
    merged = merge_outputs(source, executed, "mnist")
    assert panel_problems(merged, live=False) == []
    assert panel_problems(merged, live=True) == ["cell 4: no live widget view"]
    # the way before issue 21: the view in the snapshot's bundle (JupyterLab renders the
    # view first: "Error displaying widget" once saved and reopened without a kernel)
    old = json.loads(json.dumps(executed))
    view = old["cells"][5]["outputs"].pop()
    old["cells"][5]["outputs"][0]["data"].update({WIDGET_VIEW: view["data"][WIDGET_VIEW]})
    assert any("Error displaying widget" in p for p in panel_problems(old, live=True))
    # without the style sheet, JupyterLab would show both the snapshot and the view
    bare = json.loads(json.dumps(executed))
    bare["cells"][5]["outputs"][0]["data"]["text/html"] = SNAPSHOT.split("</style>")[1]
    assert any("show both" in p for p in panel_problems(bare, live=True))
    twice = json.loads(json.dumps(merged))
    twice["cells"][4]["outputs"] *= 2
    assert panel_problems(twice, live=False) == ["cell 4: 2 panel snapshots, not 1"]


def test_a_run_saved_over_the_committed_outputs_is_flagged():
    """Issue 21, item 1: a run in JupyterLab (fast, say) saved over a committed notebook
    keeps its sources, so only the outputs hash can tell; it does."""
    source = _source()
    merged = merge_outputs(source, _executed(source), "mnist")
    assert not [p for p in staleness(merged) if "outputs" in p]
    resaved = json.loads(json.dumps(merged))
    for cell in resaved["cells"]:  # the same outputs, stored as JupyterLab may (one string)
        for o in cell.get("outputs", []):
            if isinstance(o.get("text"), list):
                o["text"] = "".join(o["text"])
    assert not [p for p in staleness(resaved) if "outputs" in p]
    other = json.loads(json.dumps(merged))
    other["cells"][2]["outputs"][0]["text"] = ["width=64 … fast CI run\n"]
    assert any("not those of the committed run" in p for p in staleness(other))


def test_merged_metadata_is_what_jupyterlab_writes():
    """Kernelspec and the kernel's full language_info, so opening changes nothing."""
    source = _source()
    executed = _executed(source)
    info = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python"}
    executed["metadata"]["language_info"] = info
    merged = merge_outputs(source, executed, "mnist")
    assert merged["metadata"]["language_info"] == info
    assert merged["metadata"]["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
    bare = merge_outputs(source, _executed(source), "mnist")  # none reported: ipykernel's
    assert bare["metadata"]["language_info"] == language_info()
    assert {"codemirror_mode", "pygments_lexer", "version"} <= set(language_info())


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
