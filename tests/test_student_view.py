"""Issue 21, what a student meets in JupyterLab, checked without a browser (the browser
checks are tests/test_browser.py): the committed notebooks' metadata and prose, the banner a
run prints, the working copy of ``make lab``, the panels' controls and typed values, and how
large every figure's text is where JupyterLab shows it."""

import json
import re
import subprocess
from pathlib import Path

import pytest
import torch

from xnets_lite.course.outputs import complete_metadata
from xnets_lite.viz.legibility import MIN_TEXT_PX, SHOWN_PX, smallest_text_px

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))


def _nb(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _text(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


# ---------------------------------------------------------------------------------------
# Item 1: a working copy, complete metadata, a banner printed by the run
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_metadata_is_what_jupyterlab_writes(path):
    """Opening a notebook with the course's kernel fills in kernelspec and language_info;
    when they are already complete, nothing changes (the browser test checks the tab stays
    clean and autosave writes nothing)."""
    meta = _nb(path)["metadata"]
    want = complete_metadata({})
    assert meta["kernelspec"] == want["kernelspec"]
    assert set(meta["language_info"]) == set(want["language_info"])
    assert meta["language_info"]["name"] == "python"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_fixed_banner_the_run_prints_its_own(path):
    nb = _nb(path)
    text = "\n".join(_text(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "Outputs shown: the full-MNIST run" not in text
    assert any("print(run)" in _text(c) for c in nb["cells"] if c["cell_type"] == "code")


def test_the_banner_names_the_run():
    from xnets_lite.course.notebooks import Run

    fast = Run("mnist", fast="1", seed="3")
    assert str(fast).splitlines()[0].startswith("OUTPUTS BELOW: this run's, MNIST")
    assert "fast CI setting" in fast.banner() and "seed 3" in fast.banner()
    assert "not SVHN results" in fast.banner()
    full = Run("mnist", fast="0")
    assert "full setting" in full.banner() and "fast" not in full.banner()
    assert repr(full) in str(full)


def test_make_lab_copies_into_an_ignored_folder_and_keeps_a_students_work(tmp_path):
    from xnets_lite.course.lab import LAB_DIR, working_copy

    ignored = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "-q", f"{LAB_DIR}/02_decomposition.ipynb"],
        check=False,
    )
    assert ignored.returncode == 0, f"{LAB_DIR}/ is not ignored by git"
    written = working_copy(dest=tmp_path)
    assert sorted(p.name for p in written) == [p.name for p in NOTEBOOKS]
    mine = tmp_path / "02_decomposition.ipynb"
    mine.write_text("my work")
    assert working_copy(dest=tmp_path) == [] and mine.read_text() == "my work"
    assert working_copy(dest=tmp_path, fresh=["02_decomposition"]) == [mine]
    assert mine.read_bytes() == (ROOT / "notebooks" / mine.name).read_bytes()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab: ", makefile, re.M) and "xnets_lite.course.lab" in makefile


# ---------------------------------------------------------------------------------------
# Item 8: prose
# ---------------------------------------------------------------------------------------
def _markdown(name):
    nb = _nb(ROOT / "notebooks" / f"{name}.ipynb")
    return {c["id"]: _text(c) for c in nb["cells"] if c["cell_type"] == "markdown"}


def test_prose_states_no_number_a_run_can_contradict():
    md = _markdown("01_training")
    for cell in ("c01-14-after", "c01-16-after"):
        assert not re.search(r"[+−-]?\d+\.\d+ ?(points|%)", md[cell]), md[cell]
        assert "committed full-MNIST run" in md[cell]
    tree = _markdown("04_tree")["c04-keep-md"]
    assert "75.8%" not in tree and "2.6×" not in tree and "11 directions" not in tree


def test_h1_is_defined_where_it_is_used():
    odt_md = _markdown("02_decomposition")["c02-odt-md"]
    assert "H₁ = H[1:]" in odt_md


def test_the_panel_text_agrees_with_section_3():
    """Section 3: truncation does not cut the plotted spectrum; so the panel draws what it
    does cut (the kept basis's energies), and its text says so."""
    assert "redraws the spectra with\nthe cut-off" not in _markdown("02_decomposition")["c02-22"]
    assert "kept basis" in _markdown("02_decomposition")["c02-22"]
    for name in ("02_decomposition", "04_tree"):
        assert not any("Error displaying" in t for t in _markdown(name).values())


def test_the_wide_mlp_is_called_mlp_wide(tmp_path, monkeypatch):
    import xnets_lite.course.notebooks as nbs

    nb = _nb(ROOT / "notebooks" / "01_training.ipynb")
    assert any('name="mlp-wide"' in _text(c) for c in nb["cells"])
    lines = []
    monkeypatch.setattr(nbs, "_info", lines.append)
    monkeypatch.setattr(
        "xnets_lite.training.checkpoint.train_or_load", lambda path, make, *a, **k: (make(), {})
    )
    run = nbs.Run("mnist", fast="1", checkpoints=str(tmp_path), figures=str(tmp_path))
    monkeypatch.setattr(run, "data", lambda: (_Tiny(), _Tiny()))
    run.model("mlp", width=12, name="mlp-wide")
    assert lines[0].startswith("mlp-wide: ")


class _Tiny:
    d_input, n_classes = 4, 3


# ---------------------------------------------------------------------------------------
# Item 5 and the controls of item 8: typed values, the same class control, a box for α
# ---------------------------------------------------------------------------------------
def test_a_typed_rank_that_is_not_offered_is_answered_with_a_note():
    pytest.importorskip("ipywidgets")
    from xnets_lite.course.widgets import rank_choices, snapped_slider

    slider, box, row = snapped_slider(rank_choices(129), 16, "wire w0", noun="rank")
    note = box.note
    assert note in row.children
    box.value = 37
    assert (slider.value, box.value) == (32, 32)
    assert note.value == "you typed 37: nearest allowed rank: 32"
    box.value = 500  # beyond the largest: its nearest, and said so
    assert (slider.value, box.value) == (128, 128)
    assert note.value == "you typed 500: nearest allowed rank: 128"
    box.value = 24  # offered: used as typed, the note cleared
    assert slider.value == 24 and note.value == ""
    slider.value = 64
    assert box.value == 64 and note.value == ""


@pytest.fixture(scope="module")
def small():
    from xnets_lite.analysis.interpret import class_eigenvectors
    from xnets_lite.analysis.validation import ablation_matrix, random_directions
    from xnets_lite.core.model import XNet
    from xnets_lite.core.odt import odt
    from xnets_lite.course.exercises.core import random_dataset

    torch.manual_seed(0)
    model = XNet(16, 8, 8, 3, 2).eval()
    data = random_dataset(0, n=60, side=4, n_classes=3)
    dec = odt(model)
    g = class_eigenvectors(dec, k=2, image_shape=(4, 4))
    ablations = [
        ablation_matrix(model, data, g.vectors, ks=(1, 2), name="class Gram (ODT)"),
        ablation_matrix(model, data, random_directions(3, 2, 16, seed=0), ks=(1, 2), name="random"),
    ]
    return model, data, dec, g, ablations


def test_every_panel_picks_a_class_with_the_same_control(small):
    pytest.importorskip("ipywidgets")
    import ipywidgets as w

    from xnets_lite.analysis.interactions import class_interactions
    from xnets_lite.analysis.interpret import class_eigenvectors, compositional_tree
    from xnets_lite.course.interaction_panels import InteractionPanel
    from xnets_lite.course.validation_panels import AblationPanel, SteeringPanel
    from xnets_lite.course.widgets import EigenvectorPanel, TracePanel

    model, data, dec, g, ablations = small
    controls = [
        EigenvectorPanel(class_eigenvectors(dec, k=2, image_shape=(4, 4))).klass,
        InteractionPanel(class_interactions(model, k=2, image_shape=(4, 4))).klass,
        TracePanel(compositional_tree(dec, rank=3, image_shape=(4, 4)), plot=False).picker,
        AblationPanel(ablations, plot=False).picker,
        SteeringPanel(model, data, g.vectors[:, 0], alpha_max=2.0, plot=False).picker,
    ]
    for control in controls:
        assert isinstance(control, w.ToggleButtons) and control.description == "class"
        assert list(control.options) == [0, 1, 2]


def test_alpha_has_a_box_to_type_into(small):
    pytest.importorskip("ipywidgets")
    from xnets_lite.course.validation_panels import SteeringPanel

    model, data, dec, g, _ = small
    panel = SteeringPanel(model, data, g.vectors[:, 0], alpha_max=2.0, alpha=1.0, plot=False)
    assert not panel.alpha.readout and "xnets-number-box" in panel.alpha_box._dom_classes
    panel.alpha_box.value = 0.5
    assert panel.alpha.value == 0.5 and panel.last["alpha"] == 0.5
    panel.alpha.value = 1.5
    assert panel.alpha_box.value == 1.5


def test_the_ablation_summary_is_short_lines(small):
    from xnets_lite.course.validation_panels import ablation_text, ablation_view

    *_, ablations = small
    lines = ablation_text(ablation_view(ablations, 1, 2)).split("\n")
    assert len(lines) == 1 + len(ablations) and "|" not in "".join(lines)
    assert lines[0].startswith("remove class 1's top 2 → (before:")
    assert all(len(line) <= 80 for line in lines), lines


# ---------------------------------------------------------------------------------------
# Item 6: figures drawn for the width they are shown at
# ---------------------------------------------------------------------------------------
def _figures(small):
    from xnets_lite.analysis.interactions import class_interactions
    from xnets_lite.analysis.interpret import compositional_tree
    from xnets_lite.core.model import XNet
    from xnets_lite.core.odt import odt
    from xnets_lite.course.validation_panels import ablation_view
    from xnets_lite.course.widgets import spectra_figure
    from xnets_lite.viz.interaction_figures import plot_interactions
    from xnets_lite.viz.panel_figures import ablation_figure, trace_figure
    from xnets_lite.viz.validation_figures import plot_ablation

    model, data, dec, g, ablations = small
    torch.manual_seed(0)
    wide = XNet(784, 16, 16, 10, 2).eval()  # ten classes of 28×28 images, as on MNIST
    wide_dec = odt(wide)
    tree = compositional_tree(wide_dec, rank=12, image_shape=(28, 28))
    seven = (ablations * 4)[:7]  # 05's ablation matrix has seven sets of directions
    return {
        "05 ablation matrix": lambda: plot_ablation(seven, k=2, title="Remove each class's top-2"),
        "03 signed interactions": lambda: plot_interactions(
            class_interactions(wide, k=2, image_shape=(28, 28)), n=2, title="Signed interactions"
        ),
        "04 trace panel": lambda: trace_figure(tree, 0),
        "02 rank panel": lambda: spectra_figure(wide_dec, [8] * len(wide_dec.widths), "MNIST"),
        "05 ablation panel": lambda: ablation_figure(ablation_view(ablations, 0, 2)),
    }


def test_every_label_is_readable_at_1400_px(small):
    for name, make in _figures(small).items():
        fig = make()
        px, text = smallest_text_px(fig)
        assert px >= MIN_TEXT_PX, f"{name}: {text!r} is {px:.1f} px high as shown"
        assert fig.get_figwidth() * 100 <= SHOWN_PX, f"{name} is scaled down to be shown"


def test_the_rank_panel_legend_is_clear_of_the_points(small):
    """The legend sits outside every axes (below them), so no line or point runs through it."""
    fig = _figures(small)["02 rank panel"]()
    from xnets_lite.viz.plots import png_bytes

    png_bytes(fig)
    assert not any(ax.get_legend() for ax in fig.axes)
    (legend,) = fig.legends
    box = legend.get_window_extent()
    for ax in fig.axes:
        if ax.axison:
            assert not box.overlaps(ax.get_window_extent()), "the legend overlaps a panel"


def test_the_alpha_box_shows_two_decimals_and_keeps_the_printed_alpha(small):
    pytest.importorskip("ipywidgets")
    from xnets_lite.course.validation_panels import SteeringPanel

    model, data, dec, g, _ = small
    alpha = 1.2345678
    panel = SteeringPanel(model, data, g.vectors[:, 0], alpha_max=2.0, alpha=alpha, plot=False)
    assert panel.alpha_box.value == 1.23 and panel.alpha.value == alpha
    assert panel.last["alpha"] == alpha  # the box's rounding never moves the panel
