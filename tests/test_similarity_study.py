"""Notebook 06's study of seeds (analysis.similarity_study) on tiny networks, in float64,
against brute force or the inline computations the chapter used to carry."""

import pytest
import torch

from helpers import random_inputs, random_xnet
from xnets_lite.analysis import similarity as sim
from xnets_lite.analysis import similarity_study as st
from xnets_lite.analysis.interactions import class_interactions
from xnets_lite.analysis.interpret import class_eigenvectors
from xnets_lite.core.network import from_factors, symmetrise, to_network
from xnets_lite.core.odt import odt


def tiny_pair(n_layers=2, d_input=2):
    a = random_xnet(d_input, 3, 4, 2, n_layers, seed=0)
    b = random_xnet(d_input, 4, 3, 2, n_layers, seed=1, block="direct")
    return to_network(a), to_network(b)


def hand_built():
    g = torch.Generator().manual_seed(0)
    rand = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    a = from_factors(
        rand(4, 3),
        rand(4),
        [dict(left=rand(5, 4), right=rand(5, 4), down=rand(3, 5), left_bias=rand(5))],
        rand(2, 3),
    )
    b = from_factors(rand(3, 3), rand(3), [(rand(4, 3), rand(4, 3), rand(3, 4))], rand(2, 3))
    return a, b


# -- checks by hand ---------------------------------------------------------------------
def test_wire1_tensors_contracted_with_two_copies_give_wire_1():
    a, _ = hand_built()
    t = st.wire1_tensors(a)
    assert torch.equal(t, t.transpose(1, 2))  # symmetrised
    x = random_inputs(7, 3)
    xt = a.lift(x)
    by_tensor = torch.einsum("oij,ni,nj->no", t, xt, xt)
    layer, w0 = a.layers[0], xt @ a.embed.T
    direct = ((w0 @ layer.left.T) * (w0 @ layer.right.T)) @ layer.down.T
    assert torch.allclose(by_tensor, direct, rtol=1e-12, atol=1e-12)


def test_explicit_wire1_gram_is_the_recursion_in_total_and_per_degree():
    a, b = hand_built()
    total, parts = st.explicit_wire1_gram(a, b)
    rec = sim.cross_grams(a, b)[1]
    assert parts.shape == (3, 4, 4)  # 3 outputs + the constant each
    assert torch.allclose(parts.sum(0), total, rtol=1e-12, atol=1e-12)
    assert torch.allclose(rec, parts, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n_layers, d_input", [(1, 3), (2, 2), (3, 1)])
def test_dense_by_degree_sums_to_the_tensor_and_matches_the_recursion(n_layers, d_input):
    a, b = tiny_pair(n_layers, d_input)
    parts = st.dense_by_degree(a)
    assert parts.shape[0] == 2**n_layers + 1
    assert torch.allclose(parts.sum(0), symmetrise(a).dense(), rtol=0, atol=1e-14)
    # degree 0 is the constant entry only
    assert torch.count_nonzero(parts[0].flatten(1)[:, 1:]) == 0
    brute = st.dense_inner_by_degree(a, b)
    want = sim.weight_similarity(a, b).ab
    assert torch.allclose(brute, want, rtol=1e-12, atol=1e-12)


def test_invariance_moves_keep_the_tree_and_change_the_weights():
    a, b = tiny_pair(2, 2)
    moved = st.invariance_moves(a, torch.Generator().manual_seed(3))
    assert not torch.allclose(moved.embed, a.embed)
    assert torch.allclose(symmetrise(moved).dense(), symmetrise(a).dense(), atol=1e-12)
    assert st.relative_change(moved, a, b) < 1e-12
    other = to_network(random_xnet(2, 3, 4, 2, 2, seed=5))
    ref = sim.weight_similarity(a, b).ab
    want = float((sim.weight_similarity(other, b).ab - ref).abs().max() / ref.abs().max())
    assert st.relative_change(other, a, b) == pytest.approx(want, rel=1e-12)
    assert want > 1e-3


# -- seed × seed ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def three():
    return [random_xnet(3, 4, 5, 2, 2, seed=s) for s in range(3)]


def test_seed_matrices_are_each_measure(three):
    x, xg = random_inputs(40, 3, seed=1), random_inputs(40, 3, seed=2)
    sm = st.seed_matrices(three, x, xg, n_blocks=4)
    assert torch.equal(sm.weights, sim.weight_matrix(three))
    assert sm.data.shape == (3, 3, 6) and sm.published.shape == (3, 3)
    assert sm.data[0, 1, -1] == pytest.approx(sim.data_similarity(*three[:2], x).cosine(), 1e-12)
    with torch.no_grad():
        fa, fb = three[0](xg).double(), three[2](xg).double()
    uncentred = float((fa * fb).sum() / (fa.norm() * fb.norm()))
    assert float(sm.gauss[0, 2, -1]) == pytest.approx(uncentred, rel=1e-10)
    assert float(sm.gauss_se[0, 2, -1]) > 0
    assert float(sm.published[1, 2]) == pytest.approx(
        sim.moment_propagation(three[1], three[2]).cosine, rel=1e-12
    )
    low = sim.gaussian_low_degree(three[0], three[1]).diagonal()
    aa, bb = (sim.gaussian_low_degree(m, m).diagonal() for m in three[:2])
    assert torch.allclose(sm.gauss_low[0, 1], low / (aa * bb).sqrt(), rtol=1e-12)
    rows = st.summary_rows(sm)
    assert len(rows) == 11 and torch.equal(rows["weights, degree 2"], sm.weights[..., 2])
    assert torch.equal(rows["data, degree 3"], sm.data[..., 3])
    assert torch.equal(rows["published (moment propagation)"], sm.published)


def test_group_summary_means_within_and_across():
    m = torch.arange(16, dtype=torch.float64).reshape(4, 4)
    within, across = st.group_summary(m, {"a": slice(0, 2), "b": slice(2, 4)})
    assert within == {"a": (1 + 4) / 2, "b": (11 + 14) / 2}
    assert across == pytest.approx((2 + 3 + 6 + 7) / 4)


def test_energy_by_group_is_the_mean_energy_share(three):
    out = st.energy_by_group(three, {"first": slice(0, 1), "rest": slice(1, 3)})
    shares = [sim.weight_similarity(m, m).energy_share()[0] for m in three]
    assert torch.allclose(out["first"], shares[0])
    assert torch.allclose(out["rest"], (shares[1] + shares[2]) / 2, rtol=1e-12)
    assert float(out["rest"].sum()) == pytest.approx(1, abs=1e-12)


def test_untrained_cosines_are_the_three_measures(three):
    x = random_inputs(30, 3)
    out = st.untrained_cosines(three[0], three[1], x)
    assert list(out) == ["weights", "data", "published"]
    assert out["weights"] == sim.weight_cosine(three[0], three[1])
    assert out["data"] == sim.data_similarity(three[0], three[1], x).cosine()
    assert out["published"] == sim.moment_propagation(three[0], three[1]).cosine


def test_wire_space_similarity_mean_and_wire0_rank(three):
    wires, rank0, n_coords = st.wire_space_similarity(three)
    pairs = [sim.wire_similarity(three[i], three[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    assert torch.allclose(wires, torch.stack(pairs).mean(0))
    want = int(torch.linalg.matrix_rank(three[0].embed.weight.double())) + 1
    assert (rank0, n_coords) == (want, 4)
    same, _, _ = st.wire_space_similarity([three[0], three[0]])
    assert torch.allclose(same, torch.ones_like(same), atol=1e-10)


# -- the published method's drift ------------------------------------------------------
def test_moment_drift_is_exact_for_one_layer():
    models = {1: random_xnet(3, 4, 5, 2, 1, seed=0), 2: random_xnet(3, 4, 5, 2, 2, seed=0)}
    rows = st.moment_drift(models, n_samples=400, seed=0)
    assert [r["depth"] for r in rows] == [1, 2] and "exact" not in rows[1]
    one = rows[0]
    assert one["published"] == pytest.approx(one["exact"], rel=1e-10)
    gs = sim.gaussian_similarity(models[2], models[2], n_samples=400, seed=0)
    assert rows[1]["mc"] == float(gs.mc_total[1]) and rows[1]["mc_se"] == float(gs.mc_total_se[1])
    for r in rows:
        assert r["ratio"] == r["published"] / r["mc"]
        assert r["agrees"] == (abs(r["ratio"] - 1) <= 0.1)


def test_published_gaps_per_pair_in_standard_errors():
    pub = torch.full((4, 4), 0.5, dtype=torch.float64)
    gauss = torch.zeros(4, 4, 2, dtype=torch.float64)
    gauss[2, 3, -1] = 0.25
    se = torch.full((4, 4, 2), 0.05, dtype=torch.float64)
    gaps, z = st.published_gaps(pub, gauss, se, slice(2, 4))
    assert gaps == [0.25] and z == [pytest.approx(5.0)]
    gaps, z = st.published_gaps(pub, gauss, se, slice(0, 3))
    assert gaps == [0.5, 0.5, 0.5] and z == [pytest.approx(10.0)] * 3  # (0, 1), (0, 2), (1, 2)


# -- what carries over ------------------------------------------------------------------
def test_carryover_verdict_thresholds():
    assert st.carryover_verdict(0.5) == "carries over"
    assert st.carryover_verdict(0.3) == "partly" and st.carryover_verdict(0.2) == "partly"
    assert st.carryover_verdict(0.19) == "of the seed"


def test_seed_readings_and_their_carryover():
    models = [random_xnet(4, 5, 6, 3, 2, seed=s) for s in range(2)]
    x = random_inputs(50, 4)
    readings = {}
    for s, m in enumerate(models):
        ce = class_eigenvectors(odt(m), k=2, sign_data=x)
        readings[s] = st.seed_readings(ce.vectors, class_interactions(m, k=2, sign_data=x))
    r = readings[0]
    assert r["template"].shape == (3, 1, 4)
    assert torch.allclose(r["template"].norm(dim=-1), torch.ones(3, 1, dtype=torch.float64))
    assert r["Q_c excitatory top-3"].shape == (3, 2, 4)
    itself = st.reading_carryover({0: r, 1: r}, [0, 1])
    for span, top in itself.values():
        assert span == pytest.approx(1) and top == pytest.approx(1)
    carry = st.reading_carryover(readings, [0, 1])
    name = "class Gram top-3"
    want = sim.subspace_similarity(readings[0][name], readings[1][name]).mean()
    top = sim.matched_cosines(readings[0][name][:, :1], readings[1][name]).mean()
    assert carry[name] == (pytest.approx(float(want)), pytest.approx(float(top)))


def test_random_match_baseline_is_seeded_and_explicit():
    v = st.random_match_baseline(20, 3, 5, seed=1)
    assert v == st.random_match_baseline(20, 3, 5, seed=1) and 0 < v < 1
    gen = torch.Generator().manual_seed(1)
    qa = torch.linalg.qr(torch.randn(20, 3, generator=gen, dtype=torch.float64))[0]
    qb = torch.linalg.qr(torch.randn(20, 5, generator=gen, dtype=torch.float64))[0]
    assert v == float((qa.T @ qb).abs().amax(1).mean())
    assert st.random_match_baseline(4, 2, 4, seed=0) >= 0.5  # rows of a full basis: Σ cos² = 1


def test_direction_carryover_of_one_decomposition_with_itself_is_one():
    dec = odt(random_xnet(4, 5, 6, 3, 2, seed=0))
    other = odt(random_xnet(4, 5, 6, 3, 2, seed=1))
    cos, cos2 = st.direction_carryover([dec, dec], rank=3)
    assert cos.shape == (3,) and torch.allclose(cos, torch.ones(3, dtype=torch.float64))
    cos, cos2 = st.direction_carryover([dec, other, dec], rank=3)
    pairs = [(dec, other), (dec, dec), (other, dec)]
    want = torch.stack(
        [torch.stack([w.mean() for w in sim.matched_directions(a, b, 3)]) for a, b in pairs]
    ).mean(0)
    assert torch.allclose(cos, want) and bool((cos2 <= cos + 1e-12).all())


# -- the trajectory ---------------------------------------------------------------------
def test_trajectory_helpers():
    models = [random_xnet(3, 4, 5, 2, 2, seed=s) for s in range(3)]
    assert st.max_weight_difference(models[0], models[0]) == 0
    moved = random_xnet(3, 4, 5, 2, 2, seed=0)
    with torch.no_grad():
        moved.head.weight[0, 0] += 0.25
    assert st.max_weight_difference(models[0], moved) == pytest.approx(0.25)
    x = random_inputs(30, 3)
    w, d = st.trajectory_cosines(models, x)
    assert torch.allclose(w, sim.weight_matrix(models)[..., -1])
    assert float(d[0, 2]) == pytest.approx(sim.data_similarity(models[0], models[2], x).cosine())
    assert st.settles([0.5, 0.995, 0.98, 0.995, 1.0]) == 4
    assert st.settles([0.995, 0.999, 1.0]) == 1 and st.settles([0.2, 0.6], level=0.5) == 2
