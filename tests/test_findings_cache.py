"""The findings measured once per run: ``load_or_measure`` keeps the rows beside the table,
keyed by the checkpoints and the code, and notebooks print the rows they are about."""

import json

import pytest
import torch

from xnets_lite.course import findings
from xnets_lite.course.findings import Finding, load_or_measure, print_rows, select
from xnets_lite.course.notebooks import Run

ROWS = [
    Finding("top-share [raw input]", "s", "c", "raw", {"xnet s0": "0.70"}, {"xnet s0": True}),
    Finding("top-share [big]", "s", "c", "big", {"xnet s0": "0.10"}, {"xnet s0": False}),
    Finding("degrees", "d", "c", "on data", {"xnet s0": "1 / 2 / 3"}, {"xnet s0": True}),
]


@pytest.fixture
def run(tmp_path, monkeypatch):
    run = Run("mnist", fast=True, checkpoints=str(tmp_path / "c"), figures=str(tmp_path / "f"))
    calls = []

    def fake_measure_all(r, kinds, seeds, per_class):
        calls.append((kinds, seeds))
        torch.manual_seed(123)  # training and measuring use the global generator
        return {}

    monkeypatch.setattr(findings, "measure_all", fake_measure_all)
    monkeypatch.setattr(findings, "findings_rows", lambda measured: list(ROWS))
    run.calls = calls
    return run


def _save(path, value: float, seconds: float = 1.0):
    """A checkpoint as training writes one: weights, and meta with the training time."""
    state = {"w": torch.full((2, 3), value)}
    torch.save({"state_dict": state, "meta": {"train_seconds": seconds}}, path)


def _checkpoints(run, value=1.0):
    paths = []
    for s in (0, 1):
        other = Run(
            run.dataset, fast=run.fast, seed=s, checkpoints=run.checkpoints, figures=run.figures
        )
        path = other.checkpoint_path("xnet")
        path.parent.mkdir(parents=True, exist_ok=True)
        _save(path, value + s)
        paths.append(path)
    return paths


def test_measured_once_then_read_back_and_measured_again_when_a_checkpoint_changes(run):
    paths = _checkpoints(run)
    state = torch.get_rng_state()
    first = load_or_measure(run, kinds=("xnet",), seeds=(0, 1))
    assert torch.equal(torch.get_rng_state(), state)  # the cells after it print the same
    again = load_or_measure(run, kinds=("xnet",), seeds=(0, 1))
    assert len(run.calls) == 1 and first == again == ROWS
    data = json.loads((run.figure_dir / "findings.json").read_text(encoding="utf-8"))
    assert data["label"] == run.label and len(data["fingerprint"]) == 64
    assert data["rows"][0]["values"] == {"xnet s0": "0.70"}
    _save(paths[1], 2.0, seconds=99.0)  # retrained to the same weights, in another time
    load_or_measure(run, kinds=("xnet",), seeds=(0, 1))
    assert len(run.calls) == 1
    _save(paths[1], 5.0)  # other weights
    load_or_measure(run, kinds=("xnet",), seeds=(0, 1))
    assert len(run.calls) == 2
    load_or_measure(run, kinds=("xnet",), seeds=(0, 1), per_class=5)  # other arguments
    assert len(run.calls) == 3


def test_missing_checkpoints_or_a_broken_file_mean_measuring(run):
    load_or_measure(run, kinds=("xnet",), seeds=(0, 1))  # no checkpoints: no fingerprint
    load_or_measure(run, kinds=("xnet",), seeds=(0, 1))
    assert len(run.calls) == 2
    _checkpoints(run)
    (run.figure_dir / "findings.json").write_text("{not json", encoding="utf-8")
    assert load_or_measure(run, kinds=("xnet",), seeds=(0, 1)) == ROWS
    assert len(run.calls) == 3


def test_print_rows_by_key_or_by_finding(capsys):
    print_rows(ROWS, ["degrees", "top-share"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("]")[0] for line in lines] == [
        "[degrees",
        "[top-share [raw input",
        "[top-share [big",
    ]
    assert lines[0] == ROWS[2].line()
    assert select(ROWS, ["top-share [big]"]) == [ROWS[1]]
    with pytest.raises(KeyError, match="no findings row 'sparsity'.*degrees"):
        select(ROWS, ["sparsity"])


def test_one_status_line_whether_it_measures_or_reads(run, monkeypatch):
    """nbval compares the number of a cell's outputs: measuring (models trained or loaded,
    each with a status line) and reading the file must show as many, one."""
    from xnets_lite.course import notebooks

    shown = []
    monkeypatch.setattr(notebooks, "_show_info", shown.append)

    def measure_all_with_models(r, kinds, seeds, per_class):
        for s in seeds:
            notebooks._info(f"xnet: trained seed {s}")  # what Run.model shows per model
        return {}

    monkeypatch.setattr(findings, "measure_all", measure_all_with_models)
    _checkpoints(run)
    load_or_measure(run, kinds=("xnet",), seeds=(0, 1))
    assert len(shown) == 1 and "measured" in shown[0] and "xnet: trained seed 1" in shown[0]
    load_or_measure(run, kinds=("xnet",), seeds=(0, 1))
    assert len(shown) == 2 and "read" in shown[1]
