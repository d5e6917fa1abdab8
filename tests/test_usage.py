"""usage.py: the data-weighted split of every layer into constant, linear and product terms,
exact in float64 on tiny models, against the dense layer tensor and the model's logits."""

import pytest
import torch

from helpers import assert_close, random_inputs, random_xnet
from xnets_lite.analysis.interpret import compositional_tree, top_pairs
from xnets_lite.analysis.usage import (
    LayerTerms,
    coverage_summary,
    kept_variance,
    layer_terms,
    network_terms,
    pair_contributions,
    product_share,
    product_usage,
    sparsity_rows,
    trace_coverage,
    usage_row,
)
from xnets_lite.core.network import BilinearLayer, Network, to_network
from xnets_lite.core.odt import odt
from xnets_lite.course.lines import sparsity_line


@pytest.fixture(params=["residual", "direct"])
def model(request):
    return random_xnet(
        d_input=6, d_model=4, d_hidden=5, n_classes=3, n_layers=2, block=request.param, seed=3
    )


def test_layer_terms_are_the_dense_tensor_split(model):
    net = odt(model).network
    x = random_inputs(7, 6)
    for layer, w in zip(net.layers, net.wires(x)):
        terms = layer_terms(layer, w)
        assert_close(terms.total(), layer(w))
        b = layer.dense(symmetric=True)  # (n_out, n_in, n_in)
        assert_close(terms.constant, (b[:, 0, 0] * w[:, :1] ** 2))
        assert_close(terms.linear, 2 * torch.einsum("oj,n,nj->no", b[:, 0, 1:], w[:, 0], w[:, 1:]))
        assert_close(terms.product, torch.einsum("oij,ni,nj->no", b[:, 1:, 1:], w[:, 1:], w[:, 1:]))


def test_network_terms_sum_to_wires_and_logits(model):
    net = to_network(model)
    x = random_inputs(9, 6)
    terms = network_terms(net, x)
    wires = net.wires(x)
    assert len(terms) == len(net.layers)
    assert_close(terms[0].total(), wires[1][:, 1:])
    assert_close(terms[-1].total(), model(x).detach())  # the last layer, through the head


def test_a_pure_carry_has_no_products_and_a_pure_product_no_linear_terms():
    # 2 → 2 wire [1, x]: layer A carries x (x·1), layer B squares it (x·x)
    eye = torch.eye(2, dtype=torch.float64)
    carry = BilinearLayer(eye, eye[:1].expand(2, 2).clone(), eye)  # [1·1, x·1]
    square = BilinearLayer(eye, eye, eye)  # [1·1, x·x]
    embed = torch.tensor([[1.0, 0.0], [0.5, 2.0]], dtype=torch.float64)
    head = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    x = random_inputs(50, 1)
    rows = product_usage(Network(embed, [carry, square], head), x)
    assert rows[0]["variance_share"] == pytest.approx(0.0, abs=1e-12)  # the carry: all linear
    assert rows[0]["writes"] == "w1" and rows[1]["writes"] == "logits"
    # "linear" is linear in the wire below, not in the pixels: w = 0.5 + 2x is one direction
    t = network_terms(Network(embed, [square], head), x)[0]
    w = 0.5 + 2 * x[:, 0]
    assert_close(t.product[:, 0], w**2)
    assert_close(t.linear[:, 0], torch.zeros_like(w))
    # a biased product (0.5 + w) · w = 0.5 w + w²: its bias times the direction is linear
    biased = BilinearLayer(torch.tensor([[1.0, 0.0], [0.5, 1.0]], dtype=torch.float64), eye, eye)
    t = network_terms(Network(embed, [biased], head), x)[0]
    assert_close(t.linear[:, 0], 0.5 * w)
    assert_close(t.product[:, 0], w**2)
    assert_close(t.constant[:, 0], torch.zeros_like(w))


def variance(t):
    return ((t - t.mean(0)) ** 2).mean(0).sum()


def test_usage_row_definitions():
    gen = torch.Generator().manual_seed(0)
    lin, prod = (torch.randn(200, 3, generator=gen, dtype=torch.float64) for _ in range(2))
    terms = LayerTerms(torch.ones(200, 3, dtype=torch.float64), lin, 0.5 * prod)
    row = usage_row(terms)
    small = 0.5 * prod
    assert row["size_ratio"] == pytest.approx(float((variance(small) / variance(lin)).sqrt()))
    assert row["variance_share"] == pytest.approx(float(variance(small) / variance(lin + small)))
    assert row["linear_r2"] == pytest.approx(1 - row["variance_share"])
    assert 0.1 < row["size_ratio"] < 1  # the products are the smaller part


def test_kept_variance(model):
    dec = odt(model)
    x = random_inputs(40, 6)
    full = [n - 1 for n in dec.widths]
    assert torch.allclose(
        kept_variance(dec.network, dec.truncate(full), x), torch.ones(3, dtype=torch.float64)
    )
    cut = kept_variance(dec.network, dec.truncate(1), x)
    f, g = dec.network(x), dec.truncate(1)(x)
    expect = 1 - (f - g).var(0, unbiased=False) / f.var(0, unbiased=False)
    assert_close(cut, expect)
    assert (cut < 1 - 1e-6).all()
    with pytest.raises(ValueError, match="shapes"):
        kept_variance(dec.network, lambda z: dec.network(z)[:, :2], x)


def test_pair_contributions_cover_the_class_logits(model):
    dec = odt(model)
    tree = compositional_tree(dec, rank=2, image_shape=(2, 3))
    net = dec.truncate(2)
    x = random_inputs(11, 6)
    w = net.wires(x)[-2]  # the wire the class matrices read
    logits = net(x)
    for c in range(3):
        m = tree.class_matrices[c]
        every = [(i, j) for i in range(3) for j in range(i, 3)]
        named, rest = pair_contributions(m, w, every)
        assert_close(named, logits[:, c])
        assert_close(rest, torch.zeros_like(rest))
        pairs = [(i, j) for i, j, _ in top_pairs(m, 2)]
        named, rest = pair_contributions(m, w, pairs)
        assert_close(named + rest, logits[:, c])
        i, j = pairs[0]
        scale = 1.0 if i == j else 2.0
        single, _ = pair_contributions(m, w, [(i, j)])
        assert_close(single, scale * m[i, j] * w[:, i] * w[:, j])


def test_clear_errors(model):
    net = to_network(model)
    x = random_inputs(4, 6)
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        layer_terms(net.layers[0], x)
    with pytest.raises(TypeError, match="Network"):
        product_usage(model, x)
    with pytest.raises(ValueError, match="per-sample"):
        product_usage(to_network(random_xnet(norm="rms")), x)
    with pytest.raises(ValueError, match="no bilinear layer"):
        product_usage(net.replace(layers=[], head=net.head[:, : net.widths[0]]), x)
    with pytest.raises(ValueError, match="0 ≤ i ≤ j"):
        pair_contributions(torch.eye(3), torch.ones(2, 3), [(2, 1)])


def test_plot_spectrum_vs_kept_draws_both_bases(model):
    from xnets_lite.viz.spectrum_plots import plot_spectrum_vs_kept

    dec = odt(model)
    fig = plot_spectrum_vs_kept(dec, title="toy")
    axes = fig.axes
    assert len(axes) == len(dec.widths)
    for wire, ax in enumerate(axes):
        dots, kept, const = ax.get_lines()
        total = float(dec.spectra[wire].sum())
        # both are shares of the same trace: the kept basis holds all of it
        assert float(dec.importance[wire].sum()) == pytest.approx(total)
        assert const.get_ydata()[0] == pytest.approx(float(dec.importance[wire][0]) / total)
        assert dots.get_ydata()[0] == pytest.approx(float(dec.spectra[wire][0]) / total)
        assert kept.get_ydata()[0] == pytest.approx(float(dec.importance[wire][1]) / total)
    with pytest.raises(TypeError, match="Decomposition"):
        plot_spectrum_vs_kept(model)


@pytest.mark.parametrize("block", ["residual", "direct"])
def test_the_constants_energy_is_fixed_by_the_degrees(block):
    """Notebook 02's explanation of why the constant dominates the lower wires: at w0 its
    share of the global energy is Σ_d (1 − d/2^L) E_d (each degree-d term reads d of the
    2^L input copies, spread evenly by the tree's symmetry), at the top wire it is E_0."""
    from xnets_lite.analysis.degrees import degree_energy

    model = random_xnet(
        d_input=5, d_model=4, d_hidden=3, n_classes=2, n_layers=2, block=block, seed=7
    )
    dec = odt(model)
    const = [float(imp[0] / imp.sum()) for imp in dec.importance]
    energy = degree_energy(model).sum(-1)
    e_d, n_copies = energy / energy.sum(), len(energy) - 1
    at_w0 = float(sum((1 - d / n_copies) * e for d, e in enumerate(e_d)))
    assert at_w0 == pytest.approx(const[0], abs=1e-10)
    assert float(e_d[0]) == pytest.approx(const[-1], abs=1e-10)
    assert 0 < const[0] < 1


def test_product_share_is_the_weight_outside_row_and_column_0():
    m = torch.zeros(3, 3, dtype=torch.float64)
    m[0, 0], m[0, 1], m[1, 0], m[1, 2], m[2, 1] = 3.0, 1.0, 1.0, 2.0, 2.0
    assert product_share(m) == pytest.approx(8 / 19)  # 2² + 2² of 3² + 1 + 1 + 4 + 4
    assert product_share(torch.stack([m, torch.zeros(3, 3, dtype=torch.float64)])) == (
        pytest.approx(8 / 19)
    )
    assert product_share(torch.zeros(2, 2)) == 0.0


def test_sparsity_rows_set_weights_beside_data(model):
    dec = odt(model)
    tree = compositional_tree(dec, rank=2, image_shape=(2, 3))
    net, x = dec.truncate(2), random_inputs(30, 6)
    rows = sparsity_rows(tree, net, x)
    usage = product_usage(net, x)
    mats = [m[1:] for m in tree.interactions] + [tree.class_matrices]
    assert len(rows) == len(usage) == len(mats)
    for row, use, m in zip(rows, usage, mats):
        assert {k: row[k] for k in use} == use
        assert row["weights"] == pytest.approx(product_share(m))
        assert row["ratio"] == pytest.approx(row["variance_share"] / row["weights"])
        line = sparsity_line(row, "toy")
        assert f"{row['weights']:.1%}" in line and f"{row['variance_share']:.1%}" in line
        assert f"{row['ratio']:.1f}×" in line and line.startswith(f"toy, layer {row['layer']} (")


def test_trace_coverage_is_the_share_the_named_pairs_explain(model):
    dec = odt(model)
    tree = compositional_tree(dec, rank=2, image_shape=(2, 3))
    net, x = dec.truncate(2), random_inputs(25, 6)
    w = net.wires(x)[-2]
    rows = trace_coverage(tree.class_matrices, w, top=2)
    assert len(rows) == 3
    for c, row in enumerate(rows):
        m = tree.class_matrices[c]
        assert row["pairs"] == top_pairs(m, 2)
        named, rest = pair_contributions(m, w, [(i, j) for i, j, _ in row["pairs"]])
        logit = named + rest
        expect = 1 - rest.var(unbiased=False) / logit.var(unbiased=False)
        assert row["explained"] == pytest.approx(float(expect))
        assert (row["rest_std"], row["named_std"]) == (float(rest.std()), float(named.std()))
    every = trace_coverage(tree.class_matrices, w, top=6)  # all 6 pairs of a 3×3 matrix
    assert all(r["explained"] == pytest.approx(1.0) for r in every)
    fake = [
        dict(explained=e, rest_std=r, named_std=n)
        for e, r, n in ((0.4, 2.0, 1.0), (0.7, 1.0, 2.0), (0.55, 3.0, 1.0))
    ]
    summary = coverage_summary(fake)
    assert summary["lowest"] == (0, 0.4) and summary["highest"] == (1, 0.7)
    assert summary["under"] == [0] and summary["rest_larger"] == [0, 2]
