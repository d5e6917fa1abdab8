"""The similarity measures against brute force on tiny networks, in float64."""

import math

import pytest
import torch

from helpers import random_inputs, random_xnet
from xnets_lite.analysis import similarity as sim
from xnets_lite.analysis.degrees import degree_energy, logit_degrees
from xnets_lite.analysis.interpret import compositional_tree
from xnets_lite.core.network import BilinearLayer, symmetrise, to_network
from xnets_lite.core.odt import Decomposition, gauge, odt

# (n_layers, d_input): small enough for Network.dense, (d+1)^(2^L) entries per class
DENSE = [(1, 3), (2, 2), (3, 1)]
BLOCKS = ["residual", "direct"]


def pair(n_layers, d_input, block_a="residual", block_b="residual", seeds=(0, 1)):
    a = random_xnet(d_input, 3, 4, 2, n_layers, seed=seeds[0], block=block_a)
    b = random_xnet(d_input, 4, 3, 2, n_layers, seed=seeds[1], block=block_b)
    return to_network(a), to_network(b)


def dense_by_degree(net):
    """(2^L + 1, C, …): the symmetrised tree tensor split by how many copies pick a pixel."""
    t = symmetrise(net).dense()
    n = t.dim() - 1
    idx = torch.meshgrid(*[torch.arange(t.shape[1])] * n, indexing="ij")
    degree = sum((i != 0).long() for i in idx)
    return torch.stack([t * (degree == d) for d in range(n + 1)])


def brute(na, nb):
    ta, tb = dense_by_degree(na), dense_by_degree(nb)
    return (ta * tb).flatten(2).sum(-1)  # (D, C)


@pytest.mark.parametrize("n_layers, d_input", DENSE)
@pytest.mark.parametrize("blocks", [("residual", "residual"), ("residual", "direct")])
def test_weight_similarity_equals_brute_force_per_degree(n_layers, d_input, blocks):
    na, nb = pair(n_layers, d_input, *blocks)
    ws = sim.weight_similarity(na, nb)
    for got, (x, y) in ((ws.ab, (na, nb)), (ws.aa, (na, na)), (ws.bb, (nb, nb))):
        want = brute(x, y)
        assert got.shape == want.shape
        scale = float(want.abs().max())
        assert float((got - want).abs().max()) <= 1e-12 * max(scale, 1.0)
    dense = lambda n: symmetrise(n).dense().flatten(1)  # noqa: E731
    cos = (dense(na) * dense(nb)).sum() / (dense(na).norm() * dense(nb).norm())
    assert abs(float(ws.cosine()) - float(cos)) < 1e-12


def test_self_similarity_is_degree_energy():
    net = to_network(random_xnet(5, 4, 3, 3, 2, seed=3))
    ws = sim.weight_similarity(net, net)
    assert torch.allclose(ws.aa, degree_energy(net), rtol=1e-12, atol=0)
    assert abs(float(ws.cosine()) - 1) < 1e-12


def permute_hidden(net, layer, perm):
    layers = list(net.layers)
    ly = layers[layer]
    layers[layer] = BilinearLayer(ly.left[perm], ly.right[perm], ly.down[:, perm])
    return net.replace(layers=layers)


def swap_left_right(net, layer):
    layers = list(net.layers)
    ly = layers[layer]
    layers[layer] = BilinearLayer(ly.right, ly.left, ly.down)
    return net.replace(layers=layers)


def random_gauge(net, wire, seed):
    n = net.widths[wire]
    g = torch.Generator().manual_seed(seed)
    p = torch.eye(n, dtype=torch.float64) + 0.3 * torch.randn(
        n, n, generator=g, dtype=torch.float64
    )
    return gauge(net, wire, p, torch.linalg.inv(p))


@pytest.mark.parametrize("block", BLOCKS)
def test_weight_similarity_is_invariant_to_permutations_swaps_and_gauges(block):
    na, nb = pair(3, 4, block, "residual")
    ref = sim.weight_similarity(na, nb)
    g = torch.Generator().manual_seed(0)
    moved = na
    for i, layer in enumerate(moved.layers):
        moved = permute_hidden(moved, i, torch.randperm(layer.n_hidden, generator=g))
        moved = swap_left_right(moved, i) if i % 2 == 0 else moved
    for wire in range(len(moved.layers) + 1):
        moved = random_gauge(moved, wire, seed=wire)
    variants = [moved, odt(na).network]
    for other in variants:
        ws = sim.weight_similarity(other, nb)
        for got, want in ((ws.ab, ref.ab), (ws.aa, ref.aa)):
            assert float((got - want).abs().max()) <= 1e-12 * float(want.abs().max())
    assert torch.allclose(
        sim.wire_similarity(odt(na).network, nb), sim.wire_similarity(na, nb), atol=1e-10
    )


def test_same_polynomial_different_trees():
    a, b = sim.same_polynomial_example()
    x = random_inputs(50, 2)
    assert torch.allclose(a(x), b(x), atol=1e-12)
    assert torch.allclose(a(x)[:, 0], x[:, 0] ** 2 * x[:, 1] ** 2, atol=1e-12)
    assert abs(sim.weight_cosine(a, b)) < 1e-12
    assert abs(sim.data_similarity(a, b, x).cosine() - 1) < 1e-12


def test_wire_similarity_is_one_for_a_network_with_itself_and_below_for_another():
    na, nb = pair(2, 3)
    assert torch.allclose(sim.wire_similarity(na, na), torch.ones(3, dtype=torch.float64))
    assert float(sim.wire_similarity(na, nb)[-1]) < 1


def test_data_similarity_per_degree_is_the_cosine_of_the_centred_parts():
    na, nb = pair(2, 3)
    x = random_inputs(200, 3)
    fs = sim.data_similarity(na, nb, x)
    fa, fb = na(x), nb(x)
    fa, fb = fa - fa.mean(0), fb - fb.mean(0)
    assert abs(fs.cosine() - float((fa * fb).sum() / (fa.norm() * fb.norm()))) < 1e-12
    pa, pb = logit_degrees(na, x), logit_degrees(nb, x)
    pa, pb = pa[2] - pa[2].mean(0), pb[2] - pb[2].mean(0)
    assert abs(fs.cosine(2) - float((pa * pb).sum() / (pa.norm() * pb.norm()))) < 1e-12
    assert math.isnan(fs.cosine(0))  # a constant is zero once centred


def test_data_similarity_across_depths():
    na = to_network(random_xnet(3, 3, 4, 2, 1, seed=0))
    nb = to_network(random_xnet(3, 3, 4, 2, 2, seed=1))
    fs = sim.data_similarity(na, nb, random_inputs(100, 3))
    assert len(fs.ab) == 5 and float(fs.ab[3:].abs().max()) == 0
    with pytest.raises(ValueError, match="different depths"):
        sim.weight_similarity(na, nb)


@pytest.mark.parametrize("n_layers", [1, 2])
def test_gaussian_closed_form_within_the_monte_carlo_error_bar(n_layers):
    na, nb = pair(n_layers, 4)
    gs = sim.gaussian_similarity(na, nb, n_samples=40_000, seed=0)
    assert abs(float(gs.mc[0, 0] - gs.exact[0, 0])) < 1e-12 * float(gs.exact[0, 0].abs())
    for d in (1, 2):  # degree 0 is the same constant on every sample
        z = (gs.mc[0, d] - gs.exact[d, d]) / gs.mc_se[0, d]
        assert abs(float(z)) < 4, (d, float(z))
    ln = sim.gaussian_low_degree(na, na)
    assert float((ln - sim.gaussian_low_degree(na, na).T).abs().max()) < 1e-12


def test_published_method_is_exact_for_one_layer():
    for blocks in (("residual", "residual"), ("direct", "residual")):
        na, nb = pair(1, 4, *blocks)
        ms = sim.moment_propagation(na, nb)
        # one layer: the logits are degree ≤ 2, so E[f_aᵀ f_b] is the closed form's sum
        exact = sim.gaussian_low_degree(na, nb).sum()
        assert abs(float(ms.ab.trace() - exact)) < 1e-12 * float(exact.abs())
        gs = sim.gaussian_similarity(na, nb, n_samples=40_000, seed=1)
        z = (float(ms.ab.trace()) - float(gs.mc_total[0])) / float(gs.mc_total_se[0])
        assert abs(z) < 4
        assert abs(ms.cosine - gs.cosine_total) < 4 * gs.cosine_total_se


def test_published_method_is_not_exact_beyond_one_layer():
    na, nb = pair(2, 4)
    ms = sim.moment_propagation(na, na)
    gs = sim.gaussian_similarity(na, na, n_samples=40_000, seed=2)
    z = (float(ms.aa.trace()) - float(gs.mc_total[1])) / float(gs.mc_total_se[1])
    assert abs(z) > 4  # the Gaussian assumption fails after one layer


def test_subspace_measures():
    u = torch.eye(4, dtype=torch.float64)[:2]
    v = torch.eye(4, dtype=torch.float64)[[1, 0]] * torch.tensor(
        [[-1.0], [1.0]], dtype=torch.float64
    )
    assert float(sim.subspace_similarity(u, v)) == pytest.approx(1)
    assert torch.allclose(sim.matched_cosines(u, v), torch.ones(2, dtype=torch.float64))
    assert float(sim.subspace_similarity(u, torch.eye(4, dtype=torch.float64)[2:])) == 0


def test_mismatched_networks_are_clear_errors():
    na = to_network(random_xnet(3, 3, 4, 2, 1))
    nb = to_network(random_xnet(4, 3, 4, 2, 1))
    with pytest.raises(ValueError, match="same input"):
        sim.weight_similarity(na, nb)


def test_weight_monte_carlo_agrees_within_its_error_bar():
    na, nb = pair(2, 3)
    cos, se = sim.weight_monte_carlo(na, nb, n_samples=40_000, seed=0)
    assert 0 < se < 0.05
    assert abs(cos - sim.weight_cosine(na, nb)) < 4 * se


def test_matrices_agree_with_the_pairwise_measures():
    nets = [to_network(random_xnet(3, 3, 4, 2, 2, seed=s)) for s in range(3)]
    w = sim.weight_matrix(nets)
    ws = sim.weight_similarity(nets[0], nets[2])
    assert torch.allclose(w[0, 2, :-1], ws.per_degree(), atol=1e-12)
    assert abs(float(w[0, 2, -1] - ws.cosine())) < 1e-12
    assert torch.allclose(w.diagonal(dim1=0, dim2=1), torch.ones(6, 3, dtype=torch.float64))
    x = random_inputs(100, 3)
    cos, se = sim.parts_matrix([logit_degrees(n, x) for n in nets])
    fs = sim.data_similarity(nets[1], nets[2], x)
    assert abs(float(cos[1, 2, -1]) - fs.cosine()) < 1e-12
    assert abs(float(cos[1, 2, 3]) - fs.cosine(3)) < 1e-12 and float(se.abs().max()) == 0
    _, se = sim.parts_matrix([logit_degrees(n, x) for n in nets], n_blocks=5)
    assert float(se[0, 1, -1]) > 0
    low = sim.gaussian_low_matrix([sim.low_degree_terms(n) for n in nets])
    g = sim.gaussian_low_degree(nets[0], nets[1])
    ga, gb = sim.gaussian_low_degree(nets[0], nets[0]), sim.gaussian_low_degree(nets[1], nets[1])
    assert abs(float(low[0, 1, 2] - g[2, 2] / (ga[2, 2] * gb[2, 2]).sqrt())) < 1e-12
    assert float(sim.mean_off_diagonal(torch.eye(3))) == 0


def test_matched_directions_are_cosines_of_odt_directions():
    na, nb = pair(2, 4)
    dec_a, dec_b = odt(na), odt(nb)
    self_match = sim.matched_directions(dec_a, dec_a, rank=3)
    assert all(torch.allclose(m, torch.ones_like(m), atol=1e-10) for m in self_match)
    other = sim.matched_directions(dec_a, dec_b, rank=3)
    assert len(other) == 3 and all(float(m.max()) <= 1 + 1e-10 for m in other)
    # the same as the cosine of the explicit tensors of wire 1's directions (tiny: dense)
    da, db = dec_a.network, dec_b.network

    def wire1(net):
        layer = net.layers[0]
        ell, r = layer.left @ net.embed, layer.right @ net.embed
        pairs = 0.5 * (torch.einsum("hi,hj->hij", ell, r) + torch.einsum("hi,hj->hij", r, ell))
        return torch.einsum("oh,hij->oij", layer.down, pairs).flatten(1)

    ta, tb = wire1(da), wire1(db)
    assert torch.allclose(ta @ ta.T, torch.eye(len(ta), dtype=torch.float64), atol=1e-10)
    want = (ta[1:4] @ tb[1:].T).abs().amax(1)
    assert torch.allclose(other[1], want, atol=1e-10)


def gauged_decomposition(dec, seed=0):
    """``dec`` with every wire's directions permuted and sign-flipped (the constant kept first):
    the same network in another gauge, importances carried along."""
    g = torch.Generator().manual_seed(seed)
    net, importance = dec.network, list(dec.importance)
    for w, n in enumerate(net.widths):
        perm = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.randperm(n - 1, generator=g)])
        signs = torch.randint(0, 2, (n - 1,), generator=g).double() * 2 - 1
        p = torch.zeros(n, n, dtype=torch.float64)
        p[torch.arange(n), perm] = torch.cat([torch.ones(1, dtype=torch.float64), signs])
        net = gauge(net, w, p, p.T)
        importance[w] = importance[w][perm]
    return Decomposition(net, dec.spectra, importance)


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_tree_similarity_of_a_gauged_copy_is_one(n_layers):
    dec = odt(to_network(random_xnet(6, 4, 5, 3, n_layers, seed=n_layers)))
    moved = gauged_decomposition(dec, seed=n_layers)
    # the gauge really moved the matrices: compared unmatched, they differ
    raw_a = compositional_tree(dec).class_matrices
    raw_b = compositional_tree(moved).class_matrices
    assert float((raw_a - raw_b).abs().max()) > 1e-3
    r = sim.tree_similarity(dec, moved)
    assert r.matched.shape == (n_layers,)
    assert float((r.matched - 1).abs().max()) < 1e-12
    assert float((r.matched_full - 1).abs().max()) < 1e-12
    assert all(float((c - 1).abs().max()) < 1e-12 for c in r.wire_cosines)
    # a random signed permutation of the same wires does not give 1, nor does b's own order
    assert float(r.baseline.max()) < 0.9 and float(r.ordered.max()) < 0.9


def test_tree_similarity_of_unrelated_networks_is_about_the_baseline():
    z = []
    for s in range(6):
        a = odt(to_network(random_xnet(30, 10, 12, 4, 2, seed=2 * s)))
        b = odt(to_network(random_xnet(30, 10, 12, 4, 2, seed=2 * s + 1)))
        r = sim.tree_similarity(a, b, rank=8, n_random=100, seed=s)
        assert r.ranks == [8, 8, 8]
        z.append((r.matched - r.baseline) / r.baseline_std)
    z = torch.stack(z)
    # each within 4 standard deviations of chance, and on average near it
    assert float(z.abs().max()) < 4 and float(z.mean(0).abs().max()) < 1.5


def test_tree_similarity_refuses_undecomposed_networks():
    net = to_network(random_xnet(6, 4, 5, 3, 2, seed=0))
    with pytest.raises(TypeError, match=r"tree_similarity\(odt\(net\)\)"):
        sim.tree_similarity(net, odt(net))
    with pytest.raises(TypeError, match="call odt"):
        sim.tree_similarity(odt(net), random_xnet(6, 4, 5, 3, 2, seed=1))
    deeper = odt(to_network(random_xnet(6, 4, 5, 3, 3, seed=0)))
    with pytest.raises(ValueError, match="bilinear layers"):
        sim.tree_similarity(odt(net), deeper)
