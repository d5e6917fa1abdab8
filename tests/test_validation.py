"""Causal checks of the weights-only reading (notebook 05): ablation, steering, per-image
explanations, truncation per class and the noise table — on a hand-built χ-net whose
answer is known, and exactness checks in float64 on random ones."""

import pytest
import torch

from helpers import (
    SIDE,
    U1,
    U2,
    D,
    V,
    assert_close,
    hand_built,
    random_inputs,
    random_xnet,
    toy_data,
)
from xnets_lite.analysis.interpret import class_eigenvectors, measure_truncation
from xnets_lite.analysis.validation import (
    ablation_accuracy,
    ablation_destinations,
    ablation_matrix,
    class_accuracy_vs_rank,
    explain_image,
    first_block,
    local_directions,
    noise_tradeoff,
    orthonormalise,
    pair_terms,
    project_out,
    random_directions,
    steered_gallery,
    steering,
)
from xnets_lite.core.evaluation import per_class_accuracy
from xnets_lite.core.network import to_network
from xnets_lite.core.odt import odt
from xnets_lite.course.lines import destination_line
from xnets_lite.data import Dataset
from xnets_lite.viz.validation_figures import (
    plot_ablation,
    plot_ablation_vs_k,
    plot_class_truncation,
    plot_explanation,
    plot_noise_rows,
    plot_noise_tradeoff,
    plot_steering,
    plot_steering_gallery,
)


@pytest.fixture(scope="module")
def toy():
    model = hand_built()
    return model, odt(model), toy_data()


def overlap(a, b):
    return float((a @ b).abs() / (a.norm() * b.norm()))


# ---------------------------------------------------------------------------------------
# Projections and directions
# ---------------------------------------------------------------------------------------
def test_project_out_removes_exactly_the_span():
    directions = random_inputs(3, 10, seed=4)
    basis = orthonormalise(directions)
    assert_close(basis @ basis.T, torch.eye(3, dtype=torch.float64))
    x = random_inputs(7, 10, seed=5)
    y = project_out(x, basis)
    assert_close(y @ directions.T, torch.zeros(7, 3, dtype=torch.float64))
    assert_close(project_out(y, basis), y)  # a projection
    other = torch.linalg.qr(torch.cat([basis.T, random_inputs(10, 1, seed=6)], 1)).Q[:, 3]
    assert_close(y @ other, x @ other)  # the rest is untouched
    with pytest.raises(ValueError, match="linearly dependent"):
        orthonormalise(torch.stack([directions[0], 2 * directions[0]]))


def test_random_directions_are_orthonormal_per_class_and_seeded():
    r = random_directions(4, 3, 12, seed=1)
    assert r.shape == (4, 3, 12)
    assert_close(r @ r.mT, torch.eye(3, dtype=torch.float64).expand(4, 3, 3))
    assert torch.equal(r, random_directions(4, 3, 12, seed=1))
    assert not torch.equal(r, random_directions(4, 3, 12, seed=2))
    assert overlap(r[0, 0], r[1, 0]) < 0.99  # a fresh draw per class


def test_first_block_is_the_model_without_its_later_blocks():
    model = random_xnet(6, 4, 5, 3, n_layers=3, seed=7)
    x = random_inputs(5, 6)
    cut = first_block(model)
    with torch.no_grad():
        for block in model.blocks[1:]:  # a removed residual block adds nothing
            block.down.weight.zero_()
            block.down.bias.zero_()
    assert len(cut.layers) == 1
    with torch.no_grad():
        assert_close(cut(x), model(x))
    rms = random_xnet(6, 4, 5, 3, n_layers=2, norm="rms", seed=8)
    assert len(first_block(rms).layers) == 2  # rms: two bilinear layers per block


def test_local_reading_of_a_one_layer_model_is_the_global_reading():
    model = random_xnet(9, 4, 6, 3, n_layers=1, seed=3)
    glob, loc = class_eigenvectors(odt(model), 2, (3, 3)), local_directions(model, 2, (3, 3))
    for c in range(3):
        for i in range(2):
            assert overlap(glob.vectors[c, i], loc.vectors[c, i]) == pytest.approx(1, abs=1e-8)
    two = random_xnet(9, 4, 6, 3, n_layers=2, seed=3)  # later layers change the reading
    assert (
        overlap(
            class_eigenvectors(odt(two), 1, (3, 3)).vectors[0, 0],
            local_directions(two, 1, (3, 3)).vectors[0, 0],
        )
        < 1 - 1e-6
    )


# ---------------------------------------------------------------------------------------
# The hand-built χ-net: ablation removes the class, steering creates it
# ---------------------------------------------------------------------------------------
def test_hand_built_reading_finds_the_one_direction(toy):
    model, dec, data = toy
    assert per_class_accuracy(model, data).tolist() == [1.0, 1.0, 1.0]
    ce = class_eigenvectors(dec, 1, (SIDE, SIDE))
    assert overlap(ce.vectors[0, 0], V) == pytest.approx(1, abs=1e-10)
    assert overlap(ce.vectors[1, 0], U1) == pytest.approx(1, abs=1e-10)


def test_hand_built_ablation_removes_the_class_and_only_it(toy):
    model, dec, data = toy
    ab = ablation_matrix(
        model, data, class_eigenvectors(dec, 1, (SIDE, SIDE)).vectors, ks=(1,), name="global"
    )
    assert ab.accuracy.shape == (1, 3, 3)
    assert ab.accuracy[0, 0].tolist() == [0.0, 1.0, 1.0]  # class 0 gone, others intact
    assert float(ab.diagonal_drop(1)[0]) == 1.0
    assert float(ab.off_diagonal_drop(1)[0]) == 0.0
    # removing a direction class 0 does not use changes nothing for it
    assert ablation_accuracy(model, data, U2[None])[0] == 1.0
    with pytest.raises(ValueError, match="k=3 was not measured"):
        ab.diagonal_drop(3)


def test_hand_built_steering_creates_the_class(toy):
    model, dec, data = toy
    vectors = class_eigenvectors(dec, 1, (SIDE, SIDE)).vectors[:, 0]
    result = steering(model, data, vectors, alphas=[0.0, 1.0, 3.0], seed=0)
    # logit_0 = (V·x + α)² − 1 against logit_1 or logit_2 = 2: class 0 from α > √3 on
    assert result.share[0].tolist() == [0.0, 0.0, 1.0]
    assert result.share.shape == result.random_share.shape == (3, 3)
    assert_close(result.directions.norm(dim=1), torch.ones(3, dtype=torch.float64))
    assert overlap(result.directions[0], V) == pytest.approx(1, abs=1e-6)
    assert result.random_share[:, 0].tolist() == [0.0, 0.0, 0.0]
    gallery = steered_gallery(model, data, result.directions, [0], [0.0, 3.0], (SIDE, SIDE))
    assert gallery["predicted"].tolist() == [[1, 0]]


def test_steering_sign_points_up_the_logit():
    # logit_1 = U1·x is linear: the direction −U1 must be flipped to +U1
    model, data = hand_built(), toy_data()
    result = steering(model, data, torch.stack([V, -U1, U2]), alphas=[0.0, 4.0])
    assert float(result.directions[1] @ U1) == pytest.approx(1.0, abs=1e-6)
    assert result.share[1, -1] == 1.0


def test_ablation_rejects_bad_directions(toy):
    model, _, data = toy
    with pytest.raises(ValueError, match="directions must be"):
        ablation_matrix(model, data, torch.zeros(3, 1, 5))
    with pytest.raises(ValueError, match="every k must be"):
        ablation_matrix(model, data, random_directions(3, 2, D), ks=(3,))


def test_ablation_runs_on_the_rms_network_form():
    model = random_xnet(D, 4, 5, 3, n_layers=2, norm="rms", seed=9)
    data = toy_data(per_class=5)
    net = to_network(model)
    ab = ablation_matrix(net, data, random_directions(3, 2, D), ks=(1, 2), name="random")
    same = ablation_matrix(model, data, random_directions(3, 2, D), ks=(1, 2))
    assert torch.equal(ab.accuracy, same.accuracy)  # Network and XNet agree
    assert ab.accuracy.shape == (2, 3, 3)


# ---------------------------------------------------------------------------------------
# Per-image explanation: exact sums
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm", [None, "rms"])
def test_contributions_sum_to_the_logit(norm):
    model = random_xnet(9, 4, 5, 3, n_layers=2, norm=norm, seed=11)
    dec = odt(model)
    for x in random_inputs(4, 9, seed=12):
        expl = explain_image(dec, x, top=2, image_shape=(3, 3))
        with torch.no_grad():
            assert_close(expl.logits, model(x[None])[0])
        assert_close(expl.contributions.sum(1), expl.logits)
        assert len(expl.top_terms(expl.predicted, 3)) == 3
        assert expl.predicted != expl.runner_up
        for step in expl.steps:  # every traced value = its pairs + the rest
            assert step["value"] == pytest.approx(
                sum(p[2] for p in step["pairs"]) + step["rest"], abs=1e-10
            )
        assert expl.feature_images.shape == (len(expl.features), 3, 3)
        if norm is None:
            assert expl.scale == pytest.approx(1, abs=1e-12)


def test_pair_terms_sum_to_every_wire_and_match_the_dense_tensor():
    dec = odt(random_xnet(9, 4, 5, 3, n_layers=2, seed=13))
    wires = [w[0] for w in dec.network.wires(random_inputs(1, 9, seed=14))]
    for layer, below, above in zip(dec.network.layers, wires, wires[1:]):
        for o in range(layer.n_out):
            p = pair_terms(layer, below, o)
            assert_close(p, p.T)
            assert float(p.sum()) == pytest.approx(float(above[o]), abs=1e-10)
            assert_close(p, layer.dense(symmetric=True)[o] * torch.outer(below, below))


def test_explanation_of_the_hand_built_model(toy):
    _model, dec, data = toy
    x, y = data[0]
    expl = explain_image(dec, x.double(), int(y), top=2, image_shape=(SIDE, SIDE))
    assert expl.predicted == 0
    assert float(expl.logits[0]) == pytest.approx(3.0, abs=1e-10)  # (V·x)² − 1 = 4 − 1
    truncated = explain_image(dec, x.double(), int(y), rank=1, image_shape=(SIDE, SIDE))
    assert_close(truncated.contributions.sum(1), truncated.logits)


# ---------------------------------------------------------------------------------------
# Truncation per class, the noise table
# ---------------------------------------------------------------------------------------
def test_class_accuracy_vs_rank(toy):
    _, _, data = toy
    model = random_xnet(D, 5, 5, 3, n_layers=2, seed=15)
    dec = odt(model)
    full_rank = [n - 1 for n in dec.widths]
    result = class_accuracy_vs_rank(dec, data, [1, 2, full_rank])
    assert result["accuracy"].shape == (3, 3)
    assert torch.equal(result["accuracy"][-1], result["full"])
    counts = torch.bincount(data.labels).double()
    for r, row in zip(result["ranks"], result["accuracy"]):
        overall = float((row * counts).sum() / counts.sum())
        assert overall == pytest.approx(measure_truncation(dec, data, r)["accuracy"], abs=1e-12)


def test_noise_tradeoff_table(toy):
    model, _, data = toy
    other = random_xnet(D, 4, 5, 3, n_layers=1, seed=16)
    result = noise_tradeoff({0.5: other, 0.0: model}, data, k=1)
    assert [r["std"] for r in result.rows] == [0.0, 0.5]
    first = result.rows[0]
    assert first["accuracy"] == 1.0
    # removing its direction costs classes 0 and 2 everything; class 1 keeps its images
    # because an image with no class block left is read as class 1 (logits −1, 0, 0)
    assert first["ablation_diagonal"] == pytest.approx(2 / 3)
    assert first["ablation_off_diagonal"] == 0.0
    assert first["selectivity"] == pytest.approx(2 / 3)  # own − others
    assert first["effective_dimensions"] == odt(model).effective_dimensions(0.99)
    for r in result.rows:
        assert 0 <= r["top_share_min"] <= r["top_share_mean"] <= 1
    table = result.table().splitlines()
    assert len(table) == 3 and "pts" in table[0] and "66.7" in table[1]  # points, not %
    assert "own − others" in table[0] and table[1].split()[-1] == "66.7"
    with pytest.raises(ValueError, match="models is empty"):
        noise_tradeoff({}, data)


def test_ablation_destinations_follow_the_images():
    """z0 = 0.5 − x1, z1 = x1: pixel 1 keeps class-1 images out of class 0. Removing it
    (class 0's direction) sends every class-1 image to class 0; removing pixel 0 (class
    1's direction) moves nothing."""
    lin = torch.nn.Linear(2, 2).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, -1.0], [0.0, 1.0]]))
        lin.bias.copy_(torch.tensor([0.5, 0.0]))
    images = torch.tensor([[0, 0], [0, 0], [0, 255], [0, 255], [0, 255]], dtype=torch.uint8)
    data = Dataset(images.reshape(-1, 1, 2), torch.tensor([0, 0, 1, 1, 1]), "toy", "test", 2)
    directions = torch.tensor([[[0.0, 1.0]], [[1.0, 0.0]]], dtype=torch.float64)
    dest = ablation_destinations(lin.eval(), data, directions, k=1)
    assert dest["before"].tolist() == [0.0, 0.0]
    assert dest["after"].tolist() == [1.0, 0.0]  # all three class-1 images → 0
    assert dest["of_lost"][0] == 1.0 and dest["of_lost"][1].isnan()  # none lost for c = 1
    line = destination_line("toy", 1, dest)
    assert "0.0% before, 50.0% after" in line and "100% go to c" in line
    with pytest.raises(ValueError, match="1 ≤ k ≤ K"):
        ablation_destinations(lin, data, directions, k=2)


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------
def test_figures(toy):
    model, dec, data = toy
    ce = class_eigenvectors(dec, 2, (SIDE, SIDE))
    results = [
        ablation_matrix(model, data, ce.vectors, ks=(1, 2), name="global"),
        ablation_matrix(model, data, random_directions(3, 2, D), ks=(1, 2), name="random"),
    ]
    fig = plot_ablation(results, k=2, title="toy")
    assert len(fig.axes) == 3  # two heat maps and one colour bar
    assert len(plot_ablation_vs_k(results).axes[0].lines) == 4
    s = steering(model, data, ce.vectors[:, 0], [0.0, 3.0])
    assert len(plot_steering(s).axes[0].lines) == 2 * 3 + 1
    gallery = steered_gallery(model, data, s.directions, [0, 1], [0.0, 3.0], (SIDE, SIDE))
    assert len(plot_steering_gallery(gallery).axes) == 4
    expl = explain_image(dec, data[0][0].double(), 0, image_shape=(SIDE, SIDE))
    assert plot_explanation(expl).axes
    trunc = class_accuracy_vs_rank(dec, data, [1, 2])
    assert len(plot_class_truncation(trunc).axes[0].lines) == 3
    table = noise_tradeoff({0.0: model, 0.3: model}, data, k=1)
    assert len(plot_noise_rows(table).axes) == 2 * 3 + 1  # and the sign colour bar
    assert len(plot_noise_tradeoff(table).axes) == 3


def texts_cut_off(fig) -> list[str]:
    """What of ``fig`` reaches past its edges once it is laid out as ``plots.png_bytes``
    lays it out for every saved and shown PNG: each axes with all it draws (title, labels,
    tick labels, texts), the figure's own title and y label."""
    from xnets_lite.viz.plots import png_bytes

    png_bytes(fig)
    renderer = fig._get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    parts = [
        (t.get_text(), t.get_window_extent(renderer))
        for t in (fig._suptitle, fig._supylabel)
        if t is not None and t.get_text()
    ]
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)
        if box is not None:
            parts.append((ax.get_title() or ax.get_ylabel() or "axes", box))
    return [
        name
        for name, box in parts
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1
    ]


def test_no_figure_text_is_cut_off(toy):
    """The steering curves' title ran past the figure's right edge, and the ablation heat
    maps' y label past its left edge (05, full MNIST): as many panels as 05 draws, and its
    titles."""
    model, dec, data = toy
    ce = class_eigenvectors(dec, 2, (SIDE, SIDE))
    one = ablation_matrix(model, data, ce.vectors, ks=(1, 2), name="class Gram (ODT)")
    label = "MNIST (full, offline)"
    for n in (1, 2, 7):
        fig = plot_ablation([one] * n, k=1, title=f"Remove each class's top eigenvector — {label}")
        assert texts_cut_off(fig) == [], n
    s = steering(model, data, ce.vectors[:, 0], [0.0, 1.0, 3.0])
    title = f"Steering other classes' images along the class Gram's v_c — {label}"
    fig = plot_steering(s, title=title)
    assert texts_cut_off(fig) == []
    assert fig.axes[0].get_title().split() == title.replace(" — ", " ").split()  # all of it
    trunc = class_accuracy_vs_rank(dec, data, [1, 2])
    fig = plot_class_truncation(trunc, title=f"Accuracy per class against rank — {label}")
    assert texts_cut_off(fig) == []
    fig = plot_ablation_vs_k([one], title=f"Accuracy lost against directions removed — {label}")
    assert texts_cut_off(fig) == []


# ---------------------------------------------------------------------------------------
# Panels: setting a widget's value fires update()
# ---------------------------------------------------------------------------------------
def test_explanation_panel_follows_the_image_picker(toy):
    pytest.importorskip("ipywidgets")
    from xnets_lite.course.validation_panels import ExplanationPanel, explanation_lines

    _model, dec, data = toy
    panel = ExplanationPanel(dec, data, index=0, top=2, plot=False)
    assert panel.explanation.predicted == 0 and panel.lines[0].startswith("label 0")
    panel.index.value = 25  # an image of class 1
    assert panel.explanation.label == 1 and panel.explanation.predicted == 1
    assert "label 1, predicted 1" in panel.text.value
    assert explanation_lines(panel.explanation)[-1].startswith("first-wire features")
    drawn = ExplanationPanel(dec, data, index=3, plot=True)
    drawn.index.value = 4  # draws outside a kernel
    text, png = drawn.snapshot()
    assert "label 0" in text and png.startswith(b"\x89PNG")


def test_steering_panel_follows_class_and_alpha(toy):
    pytest.importorskip("ipywidgets")
    from xnets_lite.course.validation_panels import SteeringPanel, steering_view

    model, dec, data = toy
    directions = class_eigenvectors(dec, 1, (SIDE, SIDE)).vectors[:, 0]
    panel = SteeringPanel(model, data, directions, alpha_max=4.0, n_show=3, plot=False)
    assert panel.last["share"] == 0.0
    panel.alpha.value = 3.0
    assert panel.last["share"] == 1.0 and panel.last["n"] == 40
    assert "100.0% of 40 images" in panel.text.value
    assert panel.last["images"].shape == (3, SIDE, SIDE)
    panel.picker.value = 2
    assert panel.last["c"] == 2
    with pytest.raises(ValueError, match="class must be"):
        steering_view(model, data, directions, 3, 1.0)
    drawn = SteeringPanel(model, data, directions, alpha_max=4.0, plot=True)
    drawn.alpha.value = 1.0
    assert "α = 1.00" in drawn.snapshot()[0]


def test_ablation_panel_reads_the_precomputed_results(toy):
    pytest.importorskip("ipywidgets")
    from xnets_lite.course.validation_panels import AblationPanel

    model, dec, data = toy
    results = [
        ablation_matrix(
            model, data, class_eigenvectors(dec, 2, (SIDE, SIDE)).vectors, ks=(1, 2), name="global"
        ),
        ablation_matrix(model, data, random_directions(3, 2, D), ks=(1, 2), name="random"),
    ]
    panel = AblationPanel(results, plot=False)
    assert panel.last["k"] == 2 and panel.last["c"] == 0
    panel.k.value = 1
    assert torch.equal(panel.last["accuracy"]["global"], results[0].accuracy[0, 0])
    assert "class 0 0.0%" in panel.text.value
    panel.picker.value = 2
    assert torch.equal(panel.last["accuracy"]["random"], results[1].accuracy[0, 2])
    drawn = AblationPanel(results, plot=True)
    drawn.picker.value = 1
    assert "class 1&#x27;s top 2 →" in drawn.snapshot()[0]


# ---------------------------------------------------------------------------------------
# Controls: the linear template, the class mean, the signed interactions, the verdict
# ---------------------------------------------------------------------------------------
def test_template_directions_of_the_hand_built_model(toy):
    from xnets_lite.analysis.validation import template_directions

    model, _, data = toy
    x = data[0 : len(data)][0]
    t = template_directions(model, x, 3)
    assert t.shape == (3, 3, D)
    assert overlap(t[1, 0], U1) == pytest.approx(1.0) and float(t[1, 0] @ U1) > 0
    assert overlap(t[2, 2], U2) == pytest.approx(1.0)  # a linear logit: the same anywhere
    # class 0 is (V·x)² − 1: no slope at 0, slope ∝ V at the mean (where V·x > 0)
    assert overlap(t[0, 1], V) == pytest.approx(1.0) and float(t[0, 1] @ V) > 0
    with pytest.raises(ValueError, match="k in 1…3"):
        template_directions(model, x, 4)


def test_class_mean_directions_use_only_the_data(toy):
    from xnets_lite.analysis.validation import class_mean_directions

    _, _, data = toy
    x, y = data[0 : len(data)]
    dirs = class_mean_directions(data, 2)
    assert dirs.shape == (3, 2, D)
    m = x[y == 1].double().mean(0) - x.double().mean(0)
    assert_close(dirs[1, 0], m / m.norm())
    assert_close(dirs.norm(dim=-1), torch.ones(3, 2, dtype=torch.float64))
    # the second direction is the top principal component of the class's own images
    xc = x[y == 1].double()
    pc = torch.linalg.svd(xc - xc.mean(0), full_matrices=False).Vh[0]
    assert overlap(dirs[1, 1], pc) == pytest.approx(1.0)
    assert_close(class_mean_directions((x, y), 2), dirs)


def test_compare_readings_names_the_best_control():
    from xnets_lite.analysis.validation import Ablation, compare_readings, selectivity
    from xnets_lite.course.lines import ablation_lines, verdict_line

    base = torch.ones(3, dtype=torch.float64)

    def ablation(name, own, others):
        acc = torch.full((1, 3, 3), 1 - others, dtype=torch.float64)
        acc[0].diagonal().fill_(1 - own)
        return Ablation((1,), acc, base, name)

    abl = [ablation("reading", 0.5, 0.1), ablation("a", 0.45, 0.0), ablation("b", 0.2, 0.0)]
    assert selectivity(abl[0], 1) == pytest.approx(0.4)
    out = compare_readings(abl, "reading", 1)
    assert out["best_control"] == "a" and out["verdict"] == "worse"
    assert verdict_line(out).endswith("→ worse") and "40.0 pts" in verdict_line(out)
    assert "40.0" in ablation_lines(abl)[1]
    assert compare_readings(abl, "reading", 1, tie=0.1)["verdict"] == "tie"
    assert compare_readings(abl[:1] + abl[2:], "reading", 1)["verdict"] == "better"
    with pytest.raises(ValueError, match="no ablation named"):
        compare_readings(abl, "c", 1)


def test_steering_without_its_random_control(toy):
    model, dec, data = toy
    vectors = class_eigenvectors(dec, 1, (SIDE, SIDE)).vectors[:, 0]
    result = steering(model, data, vectors, alphas=[0.0, 3.0], random_control=False)
    assert torch.isnan(result.random_share).all() and not torch.isnan(result.share).any()


def test_quadratic_directions_of_the_hand_built_model(toy):
    from xnets_lite.analysis.validation import quadratic_directions

    model, _, data = toy
    # logit_0 = (V·x)² − 1: Q_0 = V Vᵀ, one positive eigenvalue, along V
    plus = quadratic_directions(model, 1, "+", sign_data=data[0 : len(data)][0])
    assert overlap(plus[0, 0], V) == pytest.approx(1.0) and float(plus[0, 0] @ V) > 0


def test_best_steering_step_and_the_readings_figure(toy):
    from xnets_lite.viz.validation_figures import plot_readings

    model, dec, data = toy
    vectors = class_eigenvectors(dec, 1, (SIDE, SIDE)).vectors
    result = steering(model, data, vectors[:, 0], alphas=[0.0, 1.0, 3.0])
    i, share = result.best()
    assert share == float(result.share.mean(0).max()) and result.share.mean(0)[i] == share
    abl = [
        ablation_matrix(model, data, vectors, ks=(1,), name="a"),
        ablation_matrix(model, data, random_directions(3, 1, D), ks=(1,), name="random"),
    ]
    assert plot_readings(abl, title="t").axes
