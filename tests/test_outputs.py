"""Committing executed outputs into the source notebooks, and detecting stale ones."""
import json

import nbformat
import pytest

from xnets_lite import outputs
from xnets_lite.outputs import (INFO_CLASS, KEY, WIDGET_VIEW, commit_outputs, figures_not_displayed,
                                merge_outputs, staleness)


def _source():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# title", id="m0"),
                nbformat.v4.new_code_cell("dataset = 'svhn'", id="p0", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(save(fig, run, 'x'))", id="c1"),
                nbformat.v4.new_code_cell("print(seconds)", id="c2", metadata={"tags": ["volatile"]}),
                nbformat.v4.new_code_cell("Panel().display()", id="c3")]
    return json.loads(nbformat.writes(nb))


def _executed(source):
    ex = json.loads(json.dumps(source))
    injected = nbformat.v4.new_code_cell("dataset = 'mnist'", id="inj",
                                         metadata={"tags": ["injected-parameters"]})
    ex["cells"].insert(2, json.loads(json.dumps(injected)))
    stream = lambda name, text: {"output_type": "stream", "name": name, "text": text}
    ex["cells"][3]["outputs"] = [
        stream("stdout", "saved figures/mnist/x.png\n"),
        {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Image>"},
         "metadata": {}},
        stream("stderr", "100%|####| 3/3\n"),
        {"output_type": "display_data", "data": {"text/html": "<div>trained</div>", "text/plain": "x"},
         "metadata": {INFO_CLASS: True}}]
    ex["cells"][4]["outputs"] = [stream("stdout", "0.123 s\n")]
    ex["cells"][5]["outputs"] = [
        {"output_type": "display_data", "data": {"text/html": "snapshot", "text/plain": "s"}, "metadata": {}},
        {"output_type": "display_data", "data": {WIDGET_VIEW: {"model_id": "abc"}, "text/plain": "VBox"},
         "metadata": {}}]
    ex["metadata"]["widgets"] = {"state": {}}
    ex["metadata"]["papermill"] = {"duration": 1.0}
    return ex


def test_merge_keeps_what_is_stable_and_drops_what_is_not():
    source = _source()
    merged = merge_outputs(source, _executed(source), "mnist")
    fig_cell, timing, panel = merged["cells"][2], merged["cells"][3], merged["cells"][4]
    assert [o.get("name") or list(o["data"]) for o in fig_cell["outputs"]] == \
        ["stdout", ["image/png", "text/plain"]]
    assert timing["outputs"] == []                     # volatile
    assert [o["data"]["text/html"] for o in panel["outputs"]] == ["snapshot"]  # no live view
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
    assert commit_outputs(src, ex, "mnist") is False   # a rerun with the same outputs
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
    executed["cells"][3]["outputs"] = [{"output_type": "execute_result", "execution_count": 1,
                                        "data": {"text/plain": "<Figure size 900x320 with 2 Axes>"},
                                        "metadata": {}}]
    assert figures_not_displayed(executed) == [3]


def test_stream_chunks_are_joined_so_timing_cannot_change_the_file():
    source = _source()
    one, two = _executed(source), _executed(source)
    stream = lambda text: {"output_type": "stream", "name": "stdout", "text": text}
    one["cells"][3]["outputs"][0] = stream("a\nb\n")
    two["cells"][3]["outputs"][0:1] = [stream("a\n"), stream(["b\n"])]
    first, second = (merge_outputs(source, nb, "mnist") for nb in (one, two))
    assert first == second
    assert first["cells"][2]["outputs"][0]["text"] == ["a\n", "b\n"]
