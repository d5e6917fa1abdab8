"""The README's results section carries no hand-typed number: its block between the markers is
what ``xnets_lite.course.readme`` builds from the committed notebooks' printed lines and
``figures/mnist/findings.md``, and ``make reproduce`` (mnist, full) rewrites it."""

import json
from pathlib import Path

import pytest

from xnets_lite.course import notebooks, readme
from xnets_lite.course.findings import Finding, findings_markdown
from xnets_lite.course.readme import BEGIN, END, Quote, current_block, results_block, with_block

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_block_is_the_committed_run():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert current_block(text) == results_block(), (
        "README.md's results block is stale: run `python -m xnets_lite.course.readme`"
    )


def test_every_quote_names_a_notebook_of_the_course():
    for _, group in readme.QUOTES:
        for q in group:
            assert q.notebook in notebooks.NOTEBOOKS, q
            assert not any(ch.isdigit() for ch in q.caption), f"a number in a caption: {q}"


def _cell(cid, *outputs):
    return {"cell_type": "code", "id": cid, "metadata": {}, "source": "", "outputs": list(outputs)}


def _stdout(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


@pytest.fixture
def fake(tmp_path):
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# x"},
            _cell(
                "a",
                _stdout(["accuracy 98.1%   \n", "saved figures/x.png\n"]),
                {"output_type": "stream", "name": "stderr", "text": "progress 50%\n"},
                _stdout("\nloss 0.25\n"),
            ),
            _cell("b", {"output_type": "display_data", "data": {"text/plain": "7"}}),
        ]
    }
    (tmp_path / "01_toy.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    rows = [
        Finding(
            "cos [raw]", "s", "c", "raw (x/1)", {"xnet s0": "0.90–0.99", "xnet s1": "0.95–1.00"}
        ),
        Finding(
            "acc", "s", "c", "on data", {"xnet s0": "worse (-1 pts)", "xnet s1": "tie (+0 pts)"}
        ),
    ]
    rows[0].passed = {"xnet s0": False, "xnet s1": True}
    (tmp_path / "findings.md").write_text(findings_markdown(rows, "Toy"), encoding="utf-8")
    return tmp_path


def test_the_block_quotes_printed_lines_verbatim_and_the_table_compactly(fake):
    quotes = (("Toy", (Quote("01_toy", "a", "all of it"), Quote("01_toy", "a", "one", "^loss"))),)
    block = results_block(fake, fake / "findings.md", quotes)
    assert "| cos [raw] | raw (x/1) | 0.90–1.00 | does not hold (1 of 2 models) |" in block
    assert "worse (-1 pts) [1 of 2]; tie (+0 pts) [1 of 2]" in block
    assert "[`notebooks/01_toy.ipynb`](notebooks/01_toy.ipynb)" in block
    lines = block.split("```text\n")[1].split("```")[0].splitlines()
    assert lines == [
        "# a: all of it",
        "accuracy 98.1%",
        "saved figures/x.png",
        "loss 0.25",
        "# a: one",
        "loss 0.25",
    ]
    assert "progress" not in block  # stderr is not what the run printed for the reader


def test_a_quote_that_finds_nothing_says_where_to_look(fake):
    for quote, match in (
        (Quote("01_toy", "b", "nothing printed"), "01_toy, cell b: no printed line"),
        (Quote("01_toy", "a", "x", "^nope"), "matching '\\^nope'"),
        (Quote("01_toy", "zz", "x"), "no code cell 'zz'"),
    ):
        with pytest.raises(ValueError, match=match):
            results_block(fake, fake / "findings.md", (("T", (quote,)),))


def test_the_block_replaces_what_is_between_the_markers_only():
    text = f"# R\n\nprose 1\n{BEGIN}\nold 2\n{END}\nafter 3\n"
    assert with_block(text, "new\n") == f"# R\n\nprose 1\n{BEGIN}\nnew\n{END}\nafter 3\n"
    assert current_block(with_block(text, "new\n")) == "new\n"
    with pytest.raises(ValueError, match="needs one line"):
        current_block("no markers")


def test_update_readme_writes_only_a_changed_block(fake, tmp_path):
    quotes = (("T", (Quote("01_toy", "a", "all"),)),)
    path = tmp_path / "README.md"
    path.write_text(f"top\n{BEGIN}\nstale\n{END}\nend\n", encoding="utf-8")
    assert readme.update_readme(path, fake, fake / "findings.md", quotes) is True
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"top\n{BEGIN}\n<!-- Generated") and text.endswith(f"{END}\nend\n")
    assert "accuracy 98.1%" in text
    assert readme.update_readme(path, fake, fake / "findings.md", quotes) is False


@pytest.mark.parametrize(
    "fast, dataset, commit, figures, expected",
    [
        (False, "mnist", True, "repo", 1),
        (True, "mnist", False, "repo", 0),  # the fast setting: never
        (False, "svhn", False, "repo", 0),  # another dataset: never
        (False, "mnist", True, "elsewhere", 0),  # figures written elsewhere: never
        (False, "mnist", False, "repo", 0),  # outputs not committed (a run with solutions)
    ],
)
def test_the_pipeline_rewrites_the_readme_only_after_a_committed_mnist_run(
    monkeypatch, tmp_path, fast, dataset, commit, figures, expected
):
    calls = []
    monkeypatch.setattr(readme, "update_readme", lambda: calls.append(1) or True)
    where = notebooks.ROOT / "figures" if figures == "repo" else tmp_path
    plan = notebooks._Plan(dataset, None, tmp_path, where, {}, [], commit, False)
    notebooks._update_readme(plan, fast)
    assert len(calls) == expected
