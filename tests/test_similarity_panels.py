"""Notebook 06's panel: the callback reads the matrices it is given and matches eigenvectors
by |cos| with the right sign; the panel follows its controls."""

import pytest
import torch

from xnets_lite.course.similarity_panels import similarity_view


def stacks():
    eye = torch.eye(4, dtype=torch.float64)
    a = torch.stack([eye[:2], eye[2:]])  # (C=2, k=2, d=4)
    b = torch.stack([torch.stack([-eye[1], eye[0]]), torch.stack([eye[3], eye[0]])])
    return [a, b]


def measures():
    m = torch.arange(2 * 2 * 4, dtype=torch.float64).reshape(2, 2, 4) / 100
    return {"weights": m, "published": torch.tensor([[1.0, 0.25], [0.25, 1.0]])}


def test_the_view_reads_the_pair_and_degree_and_matches_with_sign():
    lines, va, vb, cos = similarity_view(measures(), stacks(), 0, 1, 2, 0)
    assert "+0.060  (degree 2)" in lines[0] and "+0.250  (all degrees)" in lines[1]
    # b's 2nd vector matches a's 1st; b's 1st, sign flipped, a's 2nd
    assert torch.equal(vb[0], torch.eye(4, dtype=torch.float64)[0])
    assert torch.equal(vb[1], torch.eye(4, dtype=torch.float64)[1])
    assert torch.allclose(cos, torch.ones(2, dtype=torch.float64))
    lines, *_ = similarity_view(measures(), stacks(), 1, 0, None, 1)
    assert "+0.110  (all degrees)" in lines[0]  # entry (1, 0, last)
    _, _, _, cos = similarity_view(measures(), stacks(), 0, 1, None, 1)
    assert torch.allclose(cos, torch.tensor([0.0, 1.0], dtype=torch.float64))


@pytest.mark.parametrize(
    "args, match",
    [((2, 0, None, 0), "model a"), ((0, 1, 3, 0), "degree"), ((0, 1, None, 5), "class")],
)
def test_bad_choices_are_clear_errors(args, match):
    with pytest.raises(ValueError, match=match):
        similarity_view(measures(), stacks(), *args)


def test_the_panel_follows_its_controls():
    pytest.importorskip("ipywidgets")
    from xnets_lite.course.similarity_panels import SimilarityPanel

    panel = SimilarityPanel(measures(), stacks(), ["s0", "s1"], (2, 2), title="t")
    assert "+0.070" in panel.update()[0]  # all degrees: the last entry
    assert panel.degree.label == "all"  # shown as "all", not as an empty box
    assert "images: class 0, s0&#x27;s top eigenvectors" in panel.caption.value
    panel.degree.value = 1
    assert "+0.050  (degree 1)" in panel.caption.value
    import ipywidgets as w

    assert isinstance(panel.klass, w.ToggleButtons)  # class buttons, as in every panel
    assert list(panel.klass.options) == [0, 1] and panel.klass.value == 0
    panel.klass.value = 1
    assert "images: class 1" in panel.caption.value
    assert torch.equal(panel.va, stacks()[0][1])  # class 1's vectors of model a
    html, png = panel.snapshot()
    assert "degree 1" in html and png[:4] == b"\x89PNG"
